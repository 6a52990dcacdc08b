"""The tokens chart: tokens per task per mode, on a log scale (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["draw_tokens_chart"]

SERIES = (
    ("classic", "Classic (one tool per action)", "#b0b7c3"),
    ("klaviyo", "Klaviyo MCP server (definitions only)", "#f2c14e"),
    ("peer", "FastMCP CodeMode", "#6c8ebf"),
    ("code", "klaviyo-codemode", "#2a9d54"),
)


def draw_tokens_chart(result: Mapping[str, Any], path: Path) -> Path:
    """Draw one horizontal group of bars per task and write a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(result["tasks"])
    height = 0.2
    fig, ax = plt.subplots(figsize=(11, 0.62 * len(rows) + 1.8), dpi=110)
    for index, (key, label, color) in enumerate(SERIES):
        values: list[float] = []
        for row in rows:
            if key == "klaviyo":
                values.append(float(row.get("klaviyo_mcp", {}).get("definition_tokens") or 0))
            else:
                record = row["modes"].get(key, {})
                values.append(0.0 if "error" in record else float(record.get("total_tokens", 0)))
        positions = [i + (index - 1.5) * height for i in range(len(rows))]
        ax.barh(
            positions,
            [v if v > 0 else float("nan") for v in values],
            height=height,
            color=color,
            label=label,
        )
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([row["id"] for row in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(left=1_000)
    ax.set_xlabel("tokens entering the model's context per task (o200k_base, log scale)")
    summary = result["summary"]
    ax.set_title(
        "Tokens per task: median reduction vs classic "
        f"{summary['median_reduction_vs_classic'] * 100:.1f}%, "
        f"fewer than FastMCP CodeMode on {summary['tasks_fewer_than_peer']}/{summary['tasks_compared_with_peer']} tasks",
        fontsize=10,
    )
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

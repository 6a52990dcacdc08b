"""The tokens chart (matplotlib, Agg backend): tokens per task per system on a log scale, and
where the code-mode systems' tokens go, by kind of round trip, summed over the tasks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["draw_tokens_chart"]

SERIES = (
    ("classic", "Classic (one tool per action)", "#b0b7c3"),
    ("klaviyo", "Klaviyo's MCP server (run end to end)", "#f2c14e"),
    ("peer", "FastMCP CodeMode", "#6c8ebf"),
    ("code", "klaviyo-codemode", "#2a9d54"),
)
KIND_COLORS = {
    "definitions": "#9aa5b1",
    "search": "#6c8ebf",
    "signature": "#a98bd1",
    "code": "#f2c14e",
    "output": "#2a9d54",
}


def _value(row: Mapping[str, Any], key: str) -> float:
    record = row["modes"].get(key, {})
    if "error" in record or "unsupported" in record:
        return float("nan")
    return float(record.get("total_tokens", 0)) or float("nan")


def _breakdown(rows: list[Mapping[str, Any]], mode: str) -> dict[str, float]:
    sums = dict.fromkeys(KIND_COLORS, 0.0)
    for row in rows:
        record = row["modes"].get(mode, {})
        for kind, tokens in (record.get("breakdown") or {}).items():
            sums[kind] = sums.get(kind, 0.0) + tokens
    return sums


def draw_tokens_chart(result: Mapping[str, Any], path: Path) -> Path:
    """Per-task bars (left) and the breakdown by round-trip kind (right); writes a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(result["tasks"])
    height = 0.2
    fig, (ax, bx) = plt.subplots(
        1,
        2,
        figsize=(15, 0.42 * len(rows) + 2.2),
        dpi=100,
        gridspec_kw={"width_ratios": [3, 1.3]},
    )
    for index, (key, label, color) in enumerate(SERIES):
        positions = [i + (index - 1.5) * height for i in range(len(rows))]
        ax.barh(positions, [_value(r, key) for r in rows], height=height, color=color, label=label)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([row["id"] for row in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(left=1_000)
    ax.set_xlabel("tokens entering the model's context per task (o200k_base, log scale)")
    summary = result["summary"]
    ax.set_title(
        f"{summary['tasks']} tasks: median vs classic "
        f"{summary['median_reduction_vs_classic'] * 100:.1f}% fewer; vs FastMCP CodeMode "
        f"{(summary.get('median_reduction_vs_peer') or 0) * 100:.1f}% "
        f"(fewer on {summary['tasks_fewer_than_peer']}/{summary['tasks_compared_with_peer']})",
        fontsize=10,
    )
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.legend(loc="lower right", fontsize=8)

    systems = [("peer", "FastMCP\nCodeMode"), ("code", "klaviyo-\ncodemode")]
    left = [0.0] * len(systems)
    for kind, color in KIND_COLORS.items():
        values = [_breakdown(rows, mode)[kind] for mode, _ in systems]
        bx.bar([s for _, s in systems], values, bottom=left, color=color, label=kind)
        left = [a + b for a, b in zip(left, values, strict=True)]
    bx.set_ylabel("tokens, all tasks (same plans)")
    bx.set_title("Where the tokens go, by round trip", fontsize=10)
    bx.legend(fontsize=8)
    bx.grid(axis="y", alpha=0.25)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

"""Generate the README's results section from benchmarks/results/*.json.

The section lives between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md. Run
``python tools/gen_readme_results.py`` after ``make bench``; ``--check`` exits 1 when the README
does not match the JSON (CI runs it), without writing anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _cell(record: dict[str, Any]) -> str:
    if "error" in record:
        return "failed"
    return f"{record['total_tokens']:,}" + ("" if record.get("correct") else " (wrong)")


def _totals_rows(s: dict[str, Any], n: int) -> list[str]:
    rows = []
    for key, label in (
        ("definition_tokens", "definitions x turns"),
        ("argument_tokens", "call arguments"),
        ("result_tokens", "tool results"),
        ("total_tokens", "total"),
    ):
        if key in s:
            v = s[key]
            rows.append(
                f"| {label}, {n} tasks | {_n(v['classic'])} | {_n(v['peer'])} | - | {_n(v['code'])} |"
            )
    return rows


def render_tokens(data: dict[str, Any]) -> list[str]:
    """The tokens part: headline, chart, mode table and the per-task table."""
    s = data["summary"]
    k = data.get("klaviyo_mcp", {})
    rows = data["tasks"]
    n = s["tasks"]

    def per_turn(mode: str) -> str:
        values = {
            r["modes"][mode].get("definition_tokens_per_turn") for r in rows if mode in r["modes"]
        }
        values.discard(None)
        return _n(values.pop()) if len(values) == 1 else "varies"

    klaviyo_defs = _n(k["definition_tokens"]) if k.get("available") else "not measured"
    out = [
        "### Tokens: the same tasks, four ways",
        "",
        f"{n} tasks on the demo simulator (anchor date {data['anchor_date']}), every answer checked against "
        f"ground truth from the simulator's store; tokens counted with {data['tokenizer']}. "
        f"{data['counting'].capitalize()}.",
        "",
        f"- **{_pct(s['median_reduction_vs_classic'])} median reduction** against a classic one-tool-per-action "
        f"server ({_pct(s['total_reduction_vs_classic'])} in total; "
        f"{_pct(s.get('total_reduction_vs_classic_without_definitions'))} counting only call arguments and tool results).",
        f"- Against FastMCP CodeMode over the same server: median {_pct(s['median_reduction_vs_peer'])}, "
        f"total {_pct(s['total_reduction_vs_peer'])}; fewer tokens on {s['tasks_fewer_than_peer']} of "
        f"{s['tasks_compared_with_peer']} tasks.",
        f"- Klaviyo's own MCP server ({k.get('package', 'klaviyo-mcp-server')}): {klaviyo_defs} tokens of tool "
        f"definitions on every turn; its tools cover {s['klaviyo_mcp_tasks_covered']} of {n} tasks by endpoint "
        "(they call the live API, so only definitions are measured offline).",
        f"- All answers correct: {'yes' if s['all_correct'] else 'no'} "
        f"(classic {s['correct']['classic']}/{n}, FastMCP CodeMode {s['correct']['peer']}/{n}, "
        f"klaviyo-codemode {s['correct']['code']}/{n}).",
        "",
        "![Tokens per task and mode](benchmarks/tokens.png)",
        "",
        "| | classic | FastMCP CodeMode | Klaviyo MCP | klaviyo-codemode |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| tool definitions per turn | {per_turn('classic')} | {per_turn('peer')} | {klaviyo_defs} | {per_turn('code')} |",
        *_totals_rows(s, n),
        "",
        "<details><summary>Per task</summary>",
        "",
        "| task | classic | FastMCP CodeMode | klaviyo-codemode | vs classic | vs peer | Klaviyo MCP |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in rows:
        m = r["modes"]
        covered = "covered" if r.get("klaviyo_mcp", {}).get("covered") else "-"
        out.append(
            f"| `{r['id']}` | {_cell(m['classic'])} | {_cell(m['peer'])} | {_cell(m['code'])} | "
            f"{_pct(r.get('reduction_vs_classic'))} | {_pct(r.get('reduction_vs_peer'))} | {covered} |"
        )
    out += ["", "</details>"]
    return out


def render_other(name: str, data: dict[str, Any]) -> list[str]:
    """One line per other benchmark: its headline figures as written in its JSON summary."""
    parts = []
    for key, value in sorted(data.get("summary", {}).items()):
        if isinstance(value, int | float | str | bool):
            parts.append(f"{key.replace('_', ' ')} {value}")
    return [f"- **{name}**: " + ("; ".join(parts) if parts else "no summary")]


def render(results: Path = RESULTS) -> str:
    """The whole generated section (without the markers)."""
    lines = [
        "<!-- generated by tools/gen_readme_results.py from benchmarks/results/*.json; do not edit -->",
        "",
    ]
    tokens = results / "tokens.json"
    if tokens.is_file():
        lines += render_tokens(json.loads(tokens.read_text(encoding="utf-8")))
    else:
        lines.append("No tokens results yet: run `make bench`.")
    present = [
        (path.stem, path) for path in sorted(results.glob("*.json")) if path.stem != "tokens"
    ]
    if present:
        lines += ["", "### Other benchmarks", ""]
        for name, path in present:
            lines += render_other(name, json.loads(path.read_text(encoding="utf-8")))
    lines += ["", "Rerun everything with `make bench` (results in `benchmarks/results/`)."]
    return "\n".join(lines) + "\n"


def splice(readme: str, section: str) -> str:
    """``readme`` with the text between the markers replaced by ``section``."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(
            f"README.md has no {START} ... {END} markers; add them where the results go"
        )
    return readme[: start + len(START)] + "\n" + section + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when README.md is stale; write nothing"
    )
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    try:
        wanted = splice(current, render(args.results))
    except ValueError as exc:
        print(f"gen_readme_results: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if wanted != current:
            print(
                "README.md results are stale: run `python tools/gen_readme_results.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    if wanted != current:
        args.readme.write_text(wanted, encoding="utf-8")
        print(f"updated {args.readme.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

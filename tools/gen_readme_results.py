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


# The headline figures of each other benchmark: (summary key, label, format, target or "").
HEADLINES: dict[str, tuple[str, list[tuple[str, str, str, str]]]] = {
    "search": (
        "search_api on the 288 dev queries",
        [
            ("top1", "top-1", "pct", ">= 85%"),
            ("top5", "top-5", "pct", ">= 98%"),
            ("mrr", "MRR", "f3", ""),
            ("baseline_bm25_top1", "BM25 baseline top-1 (same run)", "pct", ""),
            ("half_B_heldout_top1", "top-1 on the half not used for tuning", "pct", ""),
            ("cpu_p50_ms", "latency p50 per query", "ms", "< 1 ms"),
            ("build_cpu_ms", "index build", "ms", "< 300 ms"),
            (
                "summary_reachability_top3",
                "actions found in the top 3 by their own summary",
                "str",
                "162/162",
            ),
        ],
    ),
    "scan": (
        "Injection scanner: leave-one-family-out (model retrained and retuned per fold), dev, "
        "StackOne Defender in the same run",
        [
            ("model_intent_f1", "F1, leave-one-intent-out, pooled (model only)", "f3", ">= 0.90"),
            ("model_framing_f1", "F1, leave-one-framing-out, pooled (model only)", "f3", ">= 0.90"),
            (
                "model_language_f1",
                "F1, leave-one-language-out, pooled (model only)",
                "f3",
                ">= 0.90",
            ),
            ("model_source_f1", "F1, leave-one-source-out, pooled (model only)", "f3", ">= 0.90"),
            (
                "splits_meeting_targets",
                "held-out splits with F1 >= 0.90 and recall >= 0.85",
                "str",
                "",
            ),
            ("splits", "held-out splits", "str", ""),
            ("f1_dev", "F1 on dev (shipped model, in-distribution)", "f3", ""),
            ("fpr_marketing", "false positives on benign marketing (dev)", "pct", "<= 2%"),
            ("fpr_hardneg", "false positives on command-sounding marketing (dev)", "pct", "<= 10%"),
            ("p50_ms", "p50 per item (one core)", "ms", "<= 5 ms"),
            ("p95_ms", "p95 per item (one core)", "ms", "<= 25 ms"),
            ("f1_same_items", "F1 on the dev items both scanners saw", "f3", ""),
            ("defender_f1_same_items", "StackOne Defender F1 on those items", "f3", ""),
            ("defender_p50_ratio", "Defender CPU time / ours (p50)", "x", ""),
        ],
    ),
    "sandbox": (
        "Sandbox (execute_code engine), against direct SDK calls on the same simulator",
        [
            ("trivial_p50_ms", "trivial script round trip p50", "ms", "< 25 ms"),
            ("trivial_p95_ms", "trivial script round trip p95", "ms", ""),
            ("per_call_overhead_ms", "overhead per SDK call", "ms", "< 1 ms"),
            ("per_call_ratio", "sandboxed / direct call time", "x", ""),
            ("executions_per_s_8_callers", "executions per second, 8 concurrent callers", "f1", ""),
        ],
    ),
    "load": (
        "Load: 32 sessions over streamable HTTP for 3 minutes (not part of `make bench`)",
        [
            ("sessions", "concurrent sessions, each with its own key", "str", ">= 32"),
            ("requests", "execute_code requests", "str", ""),
            ("failures", "failed requests", "str", "0"),
            ("leaks", "cross-session leaks", "str", "0"),
            ("keys_in_logs_audit_or_results", "keys found in logs, audit or results", "str", "0"),
            ("p95_ms", "latency p95", "ms", ""),
            ("peak_rss_mb", "peak server memory (MB)", "f1", ""),
            ("rss_growth_pct", "memory, last third vs first third (%)", "f1", ""),
        ],
    ),
}


def _format(value: Any, kind: str) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    return {
        "pct": f"{value * 100:.1f}%",
        "f3": f"{value:.3f}",
        "f1": f"{value:.1f}",
        "ms": f"{value:.2f} ms",
        "x": f"x{value:.1f}",
    }.get(kind, str(value))


def render_other(name: str, data: dict[str, Any]) -> list[str]:
    """A labelled table of a benchmark's headline figures (every summary key if it is unknown)."""
    summary = data.get("summary", {})
    if name not in HEADLINES:
        parts = [
            f"{key.replace('_', ' ')} {value}"
            for key, value in sorted(summary.items())
            if isinstance(value, int | float | str | bool)
        ]
        return [f"- **{name}**: " + ("; ".join(parts) if parts else "no summary")]
    title, rows = HEADLINES[name]
    out = [
        f"**{title}** (`codemode bench {name}`)",
        "",
        "| measure | value | target |",
        "| --- | ---: | --- |",
    ]
    for key, label, kind, target in rows:
        if key in summary:
            out.append(f"| {label} | {_format(summary[key], kind)} | {target} |")
    machine = data.get("machine") or data.get("environment")
    if isinstance(machine, str):
        out += ["", f"Measured on {machine}."]
    return [*out, ""]


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
        lines += [
            "",
            "### Search, scanner, sandbox and load",
            "",
            "Times are from one run on a shared 2-core machine; each ratio compares with a baseline "
            "measured in the same run.",
            "",
        ]
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

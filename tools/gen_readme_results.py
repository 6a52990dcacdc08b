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
    if "unsupported" in record:
        return "n/a"
    if "error" in record:
        return "failed"
    return f"{record['total_tokens']:,}" + ("" if record.get("correct") else " (wrong)")


SYSTEMS = (
    ("classic", "classic"),
    ("peer", "FastMCP CodeMode"),
    ("klaviyo", "Klaviyo MCP"),
    ("code", "klaviyo-codemode"),
)
KINDS = ("definitions", "search", "signature", "code", "output")


def _machine(data: dict[str, Any]) -> str:
    m = data.get("machine") or {}
    if isinstance(m, dict) and "date" not in m and "load_average" in m and m.get("cores"):
        return f"{m.get('cores')} cores, load average {m['load_average']} at the start"
    if not isinstance(m, dict) or "date" not in m:
        return "machine not recorded"
    return (
        f"{m['date']}, {m.get('cores')} cores, 1-minute load {m.get('load_before')} before and "
        f"{m.get('load_after')} after"
    )


def _by_kind(rows: list[dict[str, Any]], mode: str) -> dict[str, int]:
    sums = dict.fromkeys(KINDS, 0)
    for r in rows:
        for kind, tokens in (r["modes"].get(mode, {}).get("breakdown") or {}).items():
            sums[kind] = sums.get(kind, 0) + int(tokens)
    return sums


def _counts(rows: list[dict[str, Any]], mode: str, key: str) -> int:
    return sum(len(r["modes"].get(mode, {}).get(key) or []) for r in rows)


def _klaviyo_line(s: dict[str, Any], k: dict[str, Any]) -> str:
    if not k.get("available"):
        return f"- Klaviyo's own MCP server did not run: {k.get('reason')}."
    return (
        f"- Klaviyo's own MCP server ({k.get('package')}, {k.get('tools')} tools, "
        f"{_n(k.get('definition_tokens'))} tokens of definitions on every turn), run end to end "
        f"offline against the simulator on the {s.get('tasks_run_with_klaviyo_mcp')} tasks its "
        f"tools cover: klaviyo-codemode used {_pct(s.get('median_reduction_vs_klaviyo_mcp'))} "
        f"fewer tokens (median; {_pct(s.get('total_reduction_vs_klaviyo_mcp'))} in total)."
    )


def render_tokens(data: dict[str, Any]) -> list[str]:
    """The tokens part: headline, chart, breakdown by round trip and the per-task table."""
    s = data["summary"]
    k = data.get("klaviyo_mcp", {})
    rows = data["tasks"]
    n = s["tasks"]
    pending = data.get("pending_tasks") or {}
    skipped = s.get("unsupported") or {}
    correct = ", ".join(
        f"{label} {s['correct'].get(mode, 0)}/{n - skipped.get(mode, 0)}" for mode, label in SYSTEMS
    )
    out = [
        "### Tokens: the same tasks, four ways",
        "",
        f"{n} tasks on the demo simulator (anchor date {data['anchor_date']}), every answer checked "
        "against ground truth from the simulator's store (and, for writes, the state left behind); "
        f"tokens counted with {data['tokenizer']}. {data['counting'].capitalize()}. "
        f"Run of {_machine(data)}.",
        "",
        "**One plan per task.** Each task states its search queries once; every code-mode system "
        "is sent exactly those queries in that order, then one more search per function its "
        "script needs that no result has named yet (by the words of its name; the same rule for "
        "all, counted per system), then reads the signatures it has not seen in one call (FastMCP "
        "at `detailed`, or `full` when the script sends a request body) and runs one script. "
        "A test checks that every system's first searches are the plan's queries.",
        "",
        f"- **{_pct(s['median_reduction_vs_classic'])} median reduction** against a classic "
        f"one-tool-per-action server ({_pct(s['total_reduction_vs_classic'])} in total; "
        f"{_pct(s.get('total_reduction_vs_classic_without_definitions'))} counting only call "
        "arguments and tool results).",
        f"- Against FastMCP CodeMode over the same server, with the same plans: median "
        f"{_pct(s['median_reduction_vs_peer'])}, total {_pct(s['total_reduction_vs_peer'])}; fewer "
        f"tokens on {s['tasks_fewer_than_peer']} of {s['tasks_compared_with_peer']} tasks "
        f"({_counts(rows, 'peer', 'searches')} searches sent to it, "
        f"{_counts(rows, 'code', 'searches')} to klaviyo-codemode).",
        _klaviyo_line(s, k),
        f"- All answers correct: {'yes' if s['all_correct'] else 'no'} ({correct}).",
    ]
    if pending:
        out.append(
            f"- Pending, not run on this build ({len(pending)}): "
            + "; ".join(f"`{t}` ({why})" for t, why in sorted(pending.items()))
            + "."
        )
    out += [
        "",
        "![Tokens per task and system, and where they go](benchmarks/tokens.png)",
        "",
        "Where the tokens go, summed over the tasks each system ran (`round_trips` in the JSON):",
        "",
        "| round trip | " + " | ".join(label for _, label in SYSTEMS) + " |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    sums = {mode: _by_kind(rows, mode) for mode, _ in SYSTEMS}
    for kind in KINDS:
        out.append(f"| {kind} | " + " | ".join(_n(sums[m][kind]) for m, _ in SYSTEMS) + " |")
    out.append("| **total** | " + " | ".join(_n(sum(sums[m].values())) for m, _ in SYSTEMS) + " |")
    out += [
        "",
        "<details><summary>Per task</summary>",
        "",
        "| task | " + " | ".join(label for _, label in SYSTEMS) + " | vs classic | vs FastMCP |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        m = r["modes"]
        cells = " | ".join(_cell(m.get(mode, {"unsupported": ""})) for mode, _ in SYSTEMS)
        out.append(
            f"| `{r['id']}` | {cells} | {_pct(r.get('reduction_vs_classic'))} | "
            f"{_pct(r.get('reduction_vs_peer'))} |"
        )
    out += ["", "</details>"]
    return out


# The headline figures of each other benchmark: (summary key, label, format, target or "").
HEADLINES: dict[str, tuple[str, list[tuple[str, str, str, str]]]] = {
    "search": (
        "search_api over all 345 operations (held-out sets) and on the 288 dev queries",
        [
            ("untouched_top1", "top-1, untouched held-out set (never tuned on)", "pct", ">= 92%"),
            ("untouched_top5", "top-5, untouched held-out set", "pct", ">= 98%"),
            ("untouched_mrr", "MRR, untouched held-out set", "f3", ""),
            ("untouched_core_top1", "top-1 untouched, 162 core actions", "pct", ""),
            ("untouched_other_top1", "top-1 untouched, the other 183 operations", "pct", ""),
            (
                "untouched_unserved_said_none",
                "unserved requests answered 'no operation'",
                "str",
                "",
            ),
            ("untouched2_top1", "top-1, second untouched set (heldout2)", "pct", ">= 92%"),
            ("untouched2_top5", "top-5, second untouched set", "pct", ">= 98%"),
            (
                "untouched3_top1",
                "top-1, third untouched set (heldout3, new styles)",
                "pct",
                ">= 92%",
            ),
            ("untouched3_top5", "top-5, third untouched set", "pct", ">= 98%"),
            ("untouched3_mrr", "MRR, third untouched set", "f3", ""),
            (
                "untouched3_unserved_said_none",
                "unserved requests answered 'no operation' (third set)",
                "str",
                "",
            ),
            (
                "untouched4_top1",
                "top-1, fifth untouched set (heldout4: task, non-native, vague)",
                "pct",
                ">= 92%",
            ),
            ("untouched4_top5", "top-5, fifth untouched set", "pct", ">= 98%"),
            ("untouched4_core_top1", "top-1 fifth set, core actions", "pct", ""),
            ("outsider_top1", "top-1, outsider set (an outside writer's queries)", "pct", ">= 92%"),
            ("outsider_top5", "top-5, outsider set", "pct", ">= 98%"),
            ("outsider2_top1", "top-1, second outsider set", "pct", ">= 92%"),
            ("outsider3_top1", "top-1, third outsider set", "pct", ">= 92%"),
            ("outsider4_top1", "top-1, fourth outsider set", "pct", ">= 92%"),
            (
                "outsider5_top1",
                "top-1, fifth outsider set (written before round 6's tuning)",
                "pct",
                ">= 92%",
            ),
            ("outsider5_top5", "top-5, fifth outsider set", "pct", ">= 98%"),
            (
                "untouched5_top1",
                "top-1, sixth untouched set (heldout5: shorthand, verb-last, UI screens)",
                "pct",
                ">= 92%",
            ),
            (
                "untouched6_top1",
                "top-1, seventh untouched set (heldout6: agent plans, code comments, values)",
                "pct",
                ">= 92%",
            ),
            ("untouched6_top5", "top-5, seventh untouched set", "pct", ">= 98%"),
            (
                "untouched6_unserved_said_none",
                "unserved requests answered 'no operation' (seventh set)",
                "str",
                "",
            ),
            ("tuning_top1", "top-1, tuning set (looked at while tuning)", "pct", ""),
            ("top1", "top-1, dev queries (tuned on)", "pct", ">= 85%"),
            ("top5", "top-5, dev queries", "pct", ">= 98%"),
            ("baseline_bm25_top1", "BM25 baseline top-1 on the dev queries (same run)", "pct", ""),
            ("cpu_p50_ms", "latency p50 per query", "ms", "< 1 ms"),
            ("p95_ms", "latency p95 per query (wall; unsure queries reach the encoder)", "ms", ""),
            ("build_cpu_ms", "index build", "ms", "< 300 ms"),
            ("agent_first_scripts_ok", "agent tasks: first scripts that ran", "str", ">= 90%"),
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
                "model_domain_f1",
                "F1, leave-one-domain-out (non-Klaviyo domains), pooled (model only)",
                "f3",
                ">= 0.90",
            ),
            (
                "splits_meeting_targets",
                "held-out splits with F1 >= 0.90 and recall >= 0.85",
                "str",
                "",
            ),
            ("splits", "held-out splits", "str", ""),
            ("f1_dev", "F1 on dev (shipped model, in-distribution)", "f3", ""),
            (
                "heldout_f1",
                "F1, held-out styles and languages (never trained or tuned on)",
                "f3",
                "",
            ),
            ("heldout_recall", "recall, held-out styles and languages", "f3", ""),
            ("heldout_fpr", "false positives, held-out styles' benign twins", "pct", ""),
            ("defender_heldout_f1", "StackOne Defender F1 on the held-out styles", "f3", ""),
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
}


_SCRIPTS = {
    "mixed": "SDK reads and a write",
    "trivial": "no SDK call",
    "pages": "20 SDK calls",
}


def render_load(data: dict[str, Any]) -> list[str]:
    """One row per run, script and session count: throughput, latency, failures, CPU per run
    (server, worker, and the simulator when it ran apart), RSS."""
    settings = data.get("settings", {})
    apart = settings.get("simulator") == "process"
    client = settings.get("client", "mcp")
    command = "codemode bench load --json"
    if settings.get("levels"):
        command += f" --levels {','.join(map(str, settings['levels']))}"
    if settings.get("workloads") and settings["workloads"] != ["mixed"]:
        command += f" --workload {','.join(settings['workloads'])}"
    command += " --client raw" if client == "raw" else ""
    command += " --simulator process" if apart else ""
    if any(run.get("label") == "baseline release" for run in data.get("runs", [])):
        command += " --baseline-python PREVIOUS_RELEASE_VENV/bin/python"
    out = [
        f"**Load: concurrent MCP sessions over streamable HTTP, "
        f"{settings.get('runs_per_session', 5)} `execute_code` runs each** "
        f"(`{command}`; not part of `make bench`)",
        "",
        "Client: "
        + (
            "one stateless JSON-RPC POST per call (`--client raw`), the same for both servers"
            if client == "raw"
            else "the official MCP client, one session each"
        )
        + ". "
        + (
            "Klaviyo's stand-in runs in its own process (`--simulator process`): the server's "
            "CPU is the host's alone, the simulator's is in its own column."
            if apart
            else "The simulator runs inside the server (`--demo`): its CPU counts as the server's."
        ),
        "",
        "| server | scripts | sessions | runs/s | p50 / p99 ms | failed | server CPU ms/run "
        "| worker CPU ms/run | simulator CPU ms/run | RSS before / peak / after MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in data.get("runs", []):
        scripts = _SCRIPTS.get(run.get("workload", "mixed"), run.get("workload", "mixed"))
        for r in run.get("levels", []):
            rss = "/".join(
                f"{r.get(k, 0):.0f}" for k in ("rss_before_mb", "rss_peak_mb", "rss_after_mb")
            )
            out.append(
                f"| {run.get('label')} | {scripts} | {r.get('sessions')} "
                f"| {r.get('throughput_per_s')} | {r.get('p50_ms')} / {r.get('p99_ms')} "
                f"| {r.get('failures')} | {r.get('server_cpu_ms_per_run')} "
                f"| {r.get('worker_cpu_ms_per_run')} | {r.get('simulator_cpu_ms_per_run', '-')} "
                f"| {rss} |"
            )
    summary = data.get("summary", {})
    if summary.get("vs_baseline"):
        ratios = ", ".join(f"{k} sessions x{v}" for k, v in summary["vs_baseline"].items())
        first = _SCRIPTS.get((settings.get("workloads") or ["mixed"])[0], "")
        out += [
            "",
            f"Throughput against the baseline run in the same bench ({first}): {ratios}.",
        ]
    ratios = summary.get("host_over_worker") or {}
    if ratios:
        parts = [
            f"{_SCRIPTS.get(w, w)}: " + ", ".join(f"x{v} at {k}" for k, v in levels.items())
            for w, levels in ratios.items()
        ]
        out += [
            "",
            "Server CPU over worker CPU per run (target: at most x1): " + "; ".join(parts) + ".",
        ]
    out += ["", f"Run of {_machine(data)}."]
    return [*out, ""]


def render_startup(data: dict[str, Any]) -> list[str]:
    """Start times against a bare interpreter measured in the same run."""
    f = data.get("figures", {})
    bare, serve, ex = f.get("bare", {}), f.get("serve", {}), f.get("exec", {})
    target = data.get("target_ratio", 20)
    out = [
        f"**Start times, median of {data.get('repeats')} alternating runs** "
        "(`codemode bench startup`)",
        "",
        "| start | wall ms | x bare | target |",
        "| --- | ---: | ---: | --- |",
        f"| `python -c pass` | {bare.get('wall_ms', 0):.0f} | 1 | |",
        f"| `serve --demo` (stdio) answers initialize | {serve.get('wall_ms', 0):.0f} "
        f"| {serve.get('wall_ratio', 0):.1f} | <= {target:.0f} x |",
        f"| `serve --demo` answers tools/list | {serve.get('tools_list_ms', 0):.0f} "
        f"| {serve.get('tools_list_ratio', 0):.1f} | <= {target:.0f} x |",
    ]
    if "tools_call_ms" in serve:
        out.append(
            f"| `serve --demo` answers the first tools/call (`print(1)`) "
            f"| {serve['tools_call_ms']:.0f} | {serve.get('tools_call_ratio', 0):.1f} | |"
        )
    out += [
        f"| `exec print(1)` --demo | {ex.get('wall_ms', 0):.0f} | {ex.get('wall_ratio', 0):.1f} "
        f"| <= {target:.0f} x |",
    ]
    if "cpu_ms" in bare and "cpu_ms" in ex:
        out += [
            "",
            f"CPU (user + system, children included): bare {bare['cpu_ms']:.0f} ms, "
            f"`exec print(1)` {ex['cpu_ms']:.0f} ms ({ex.get('cpu_ratio', 0):.1f} x), `serve` "
            f"from spawn to exit after its first tools/call {serve.get('cpu_ms', 0):.0f} ms "
            f"({serve.get('cpu_ratio', 0):.1f} x).",
        ]
    out += ["", f"Run of {_machine(data)}."]
    return [*out, ""]


def render_load_replicas(data: dict[str, Any]) -> list[str]:
    """Replicas sharing Redis against one: CPU-bound and latency-modelled, with the CPU ceiling."""
    summary = data.get("summary", {})
    n = summary.get("replicas", 2)
    workers = summary.get("workers_per_replica")
    settings = data.get("settings", {})
    command = f"codemode bench load --replicas {n} --client {settings.get('client', 'raw')}"
    levels = [str(v) for v in settings.get("levels", [])]
    command += f" --sessions {levels[0]}" if len(levels) == 1 else ""
    command += f" --levels {','.join(levels)}" if len(levels) > 1 else ""
    command += f" --runs {settings['runs_per_session']}" if "runs_per_session" in settings else ""
    command += "".join(f" --latency-ms {v:g}" for v in settings.get("latencies_ms", []))
    out = [
        f"**Scale-out: {n} replicas sharing Redis against 1, requests alternating between them** "
        f"(`{command}`; {workers} workers per replica in every fleet)",
        "",
        f"| figure | sessions | 1 replica runs/s | {n} replicas runs/s | ratio "
        "| CPU ceiling ratio | 1 replica with all the workers | CPU ms/run server + worker "
        "+ client + Redis (1 / N) | other processes' cores (1 / N) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for figure in data.get("figures", []):
        latency = figure.get("latency_ms", 0)
        name = f"latency {latency:g} ms per API call" if latency else "CPU-bound"
        for item in figure.get("levels", []):

            def cost(key: str, item: dict[str, Any] = item) -> str:
                parts = item.get(key, {})
                return " + ".join(
                    f"{parts.get(p, 0):g}" for p in ("server", "worker", "client", "redis")
                )

            others = item.get("other_processes_cores") or {}
            control = item.get("control_one_replica_all_workers_per_s")
            shown = f"{control} (x{item.get('control_ratio')})" if control is not None else "-"
            out.append(
                f"| {name} | {item.get('sessions')} | {item.get('one_per_s')} "
                f"| {item.get('many_per_s')} | x{item.get('ratio')} "
                f"| x{item.get('cpu_ceiling', {}).get('ratio')} | {shown} "
                f"| {cost('cpu_ms_per_run_one')} / {cost('cpu_ms_per_run_many')} "
                f"| {others.get('one', '-')} / {others.get('many', '-')} |"
            )
    out += [
        "",
        f"Failures {summary.get('failures')}, cross-principal leaks {summary.get('leaks')}; "
        f"target x{summary.get('target_ratio')}. The CPU ceiling is what the cores allow at the "
        "CPU measured per run if the bench had the cores to itself; other processes' cores is the "
        "load other users put on the machine meanwhile; see docs/deploy.md for how to read these "
        "figures.",
        "",
        f"Run of {_machine(data)}.",
    ]
    return [*out, ""]


RENDERERS = {
    "load": render_load,
    "load_replicas": render_load_replicas,
    "startup": render_startup,
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
    if name in RENDERERS:
        return RENDERERS[name](data)
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
    out += ["", f"Run of {_machine(data)}."]
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
            "Each benchmark records the date, the core count and the load of its run (below each "
            "table); every ratio compares with a baseline or peer measured in that same run.",
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

"""``codemode bench tokens``: what each way of giving an agent the Klaviyo API costs in context.

The same tasks run against the same demo simulator in four systems, each through its real MCP
server and the real ``mcp`` / ``fastmcp`` clients:

- **classic**: one tool per classic action (``_classic``), every raw response in the context;
- **peer**: FastMCP's CodeMode transform over that same server (``_peers``);
- **klaviyo**: Klaviyo's own MCP server, run end to end offline (``_klaviyo_server``) on the tasks
  its 28 tools cover (``_tasks_klaviyo``);
- **code**: this project's ``search_api`` / ``get_signature`` / ``execute_code``.

The two code-mode systems follow one plan per task (``_tasks.run_plan``). Every count is
o200k_base (``_tokens``); every answer is checked against ground truth computed from the
simulator's store (and, for writes, the state left behind). A system that cannot run is reported
with its reason; the others still run.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codemode.bench import _tokens
from codemode.bench._harness import (
    ANCHOR,
    Bench,
    ClassicAgent,
    KlaviyoAgent,
    Usage,
    World,
    new_world,
    open_bench,
)
from codemode.bench._klaviyo_mcp import coverage
from codemode.bench._peers import model_view
from codemode.bench._tasks import Task, context_for, fill, run_classic, run_plan
from codemode.bench._tasks_commerce import COMMERCE_TASKS
from codemode.bench._tasks_insights import INSIGHT_TASKS
from codemode.bench._tasks_jobs import JOB_TASKS
from codemode.bench._tasks_klaviyo import KLAVIYO_PLANS
from codemode.bench._tasks_marketing import MARKETING_TASKS
from codemode.bench._tasks_more import MORE_TASKS
from codemode.bench._tasks_people import PEOPLE_TASKS
from codemode.bench._tasks_writes import WRITE_TASKS

__all__ = ["MODES", "TASKS", "pending_reason", "run", "summarize"]

TASKS: tuple[Task, ...] = tuple(
    replace(task, klaviyo=KLAVIYO_PLANS.get(task.id))
    for task in INSIGHT_TASKS
    + PEOPLE_TASKS
    + MARKETING_TASKS
    + COMMERCE_TASKS
    + MORE_TASKS
    + WRITE_TASKS
    + JOB_TASKS
)
MODES = ("classic", "peer", "code", "klaviyo")
QUICK_TASKS = ("customer_city_and_lists", "set_loyalty_tier")
REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "benchmarks" / "tokens.png"


async def _run_mode(
    bench: Bench, task: Task, mode: str, world: World, truth: Any
) -> tuple[dict[str, Any], list[str]]:
    """Run one task in one mode on ``world``; returns the record and the tools called."""
    started = time.perf_counter()
    if mode in task.unsupported:
        return {"unsupported": task.unsupported[mode]}, []
    if mode in ("classic", "peer") and not set(task.peer.tools) <= bench.classic_tools:
        missing = ", ".join(sorted(set(task.peer.tools) - bench.classic_tools))
        return {"unsupported": f"the classic server (core actions) has no {missing} tool"}, []
    if mode == "klaviyo" and bench.klaviyo is None:
        return {"unsupported": "Klaviyo's server did not run"}, []
    if mode == "klaviyo" and task.klaviyo is None:
        return {"unsupported": "its 28 tools do not cover this task"}, []
    ctx = context_for(task, world)
    found: bool | None = None
    usage = Usage()
    try:
        agent = bench.agent(mode, world)
        usage = agent.usage
        if isinstance(agent, ClassicAgent):
            answer = await run_classic(task, agent, ctx)
        elif isinstance(agent, KlaviyoAgent):
            assert task.klaviyo is not None  # tasks without a plan are "unsupported" above
            answer = await task.klaviyo(agent, ctx)
        else:
            answer, found = await run_plan(task, agent, ctx)
    except Exception as exc:  # a failed mode is a result to report, not a crash
        return {"error": f"{type(exc).__name__}: {_first_line(exc)}", **usage.as_dict()}, []
    if task.expect_error is not None:
        correct = bool(re.search(task.expect_error, json.dumps(answer, default=str)))
    else:
        correct = task.compare(answer, truth)
    verified = task.verify(world, ctx, mode) if task.verify is not None else None  # type: ignore[arg-type]
    record: dict[str, Any] = {
        **usage.as_dict(),
        "correct": bool(correct and verified is not False),
        "answer": answer,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if verified is not None:
        record["state_verified"] = verified
    if found is not None:
        record["search_found_all"] = found
    return record, [c["tool"] for c in usage.calls]


def pending_reason(task: Task) -> str | None:
    """Why a task cannot run on this build yet (its operation is not in the catalog, or the
    simulator has no handler that carries it out), or None when it can."""
    if task.needs_api is None:
        return None
    from codemode.catalog import load_catalog
    from codemode.simulator.handlers._registry import EXPLICIT

    if task.needs_api not in load_catalog():
        return f"needs {task.needs_api}, not in this build's catalog yet"
    if task.needs_api not in EXPLICIT:
        return f"needs {task.needs_api}, which the simulator does not carry out yet"
    return None


def _first_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


async def _run_tasks(
    bench: Bench, tasks: Sequence[Task], advance: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    shared: World | None = (
        None  # read-only tasks share one simulator; writers get a fresh one per mode
    )
    for task in tasks:
        row: dict[str, Any] = {
            "id": task.id,
            "category": task.category,
            "prompt": task.prompt,
            "modes": {},
        }
        truth: Any = None
        for index, mode in enumerate(MODES):
            advance(f"{task.id} [{mode}]")
            if task.verify is None:
                shared = shared or new_world()
                world = shared
            else:
                world = new_world()
            if index == 0:
                ctx = context_for(task, world)
                row["queries"] = [fill(q, ctx) for q in task.queries]
                truth = await task.truth(world, ctx)
            record, calls = await _run_mode(bench, task, mode, world, truth)
            row["modes"][mode] = record
            if mode == "classic":
                row["classic_calls"] = calls
        row["truth"] = truth
        rows.append(row)
    advance("done")
    return rows


def _reduction(ours: int, theirs: int) -> float:
    return round(1 - ours / theirs, 4) if theirs else 0.0


def _ok(row: Mapping[str, Any], mode: str) -> bool:
    record = row["modes"].get(mode, {"error": "not run"})
    return "error" not in record and "unsupported" not in record


def _pair(rows: Sequence[Mapping[str, Any]], other: str) -> tuple[list[float], float | None]:
    """Per-task reductions of code mode against ``other``, and the total one, over tasks both ran."""
    both = [r for r in rows if _ok(r, "code") and _ok(r, other)]
    per_task = [
        _reduction(r["modes"]["code"]["total_tokens"], r["modes"][other]["total_tokens"])
        for r in both
    ]
    theirs = sum(r["modes"][other]["total_tokens"] for r in both)
    ours = sum(r["modes"]["code"]["total_tokens"] for r in both)
    return per_task, (_reduction(ours, theirs) if theirs else None)


def summarize(rows: list[dict[str, Any]], klaviyo: Mapping[str, Any]) -> dict[str, Any]:
    """Headline figures over the per-task rows (pure; tested on synthetic rows)."""
    vs_classic, total_classic = _pair(rows, "classic")
    vs_peer, total_peer = _pair(rows, "peer")
    vs_klaviyo, total_klaviyo = _pair(rows, "klaviyo")

    def total(key: str) -> dict[str, int]:
        return {m: sum(r["modes"][m][key] for r in rows if _ok(r, m)) for m in MODES}

    totals = total("total_tokens")
    both = [r for r in rows if _ok(r, "code") and _ok(r, "classic")]
    correct = {m: sum(1 for r in rows if r["modes"].get(m, {}).get("correct")) for m in MODES}
    attempted = {
        m: sum(1 for r in rows if "unsupported" not in r["modes"].get(m, {"unsupported": ""}))
        for m in MODES
    }
    return {
        "tasks": len(rows),
        "median_reduction_vs_classic": round(statistics.median(vs_classic), 4)
        if vs_classic
        else None,
        "total_reduction_vs_classic": total_classic,
        "median_reduction_vs_peer": round(statistics.median(vs_peer), 4) if vs_peer else None,
        "total_reduction_vs_peer": total_peer,
        "tasks_fewer_than_peer": sum(1 for x in vs_peer if x > 0),
        "tasks_compared_with_peer": len(vs_peer),
        "median_reduction_vs_klaviyo_mcp": round(statistics.median(vs_klaviyo), 4)
        if vs_klaviyo
        else None,
        "total_reduction_vs_klaviyo_mcp": total_klaviyo,
        "tasks_run_with_klaviyo_mcp": len(vs_klaviyo),
        "tasks_fewer_than_klaviyo_mcp": sum(1 for x in vs_klaviyo if x > 0),
        # Without the definitions (as if a client cached them): tool results and arguments only.
        "total_reduction_vs_classic_without_definitions": _reduction(
            sum(
                r["modes"]["code"]["total_tokens"] - r["modes"]["code"]["definition_tokens"]
                for r in both
            ),
            sum(
                r["modes"]["classic"]["total_tokens"] - r["modes"]["classic"]["definition_tokens"]
                for r in both
            ),
        )
        if both
        else None,
        "total_tokens": totals,
        "definition_tokens": total("definition_tokens"),
        "result_tokens": total("result_tokens"),
        "argument_tokens": total("argument_tokens"),
        "correct": correct,
        "all_correct": all(correct[m] == attempted[m] for m in MODES),
        "unsupported": {m: len(rows) - attempted[m] for m in MODES},
        "klaviyo_mcp_tool_definition_tokens": klaviyo.get("definition_tokens"),
        "klaviyo_mcp_tools": klaviyo.get("tools"),
        "klaviyo_mcp_tasks_covered": sum(
            1 for r in rows if r.get("klaviyo_mcp", {}).get("covered")
        ),
    }


def run(*, quick: bool, console: Console) -> dict[str, Any]:
    """Run the benchmark, print a table, draw the chart (full runs) and return the JSON result."""
    chosen = [t for t in TASKS if t.id in QUICK_TASKS] if quick else list(TASKS)
    pending = {t.id: reason for t in chosen if (reason := pending_reason(t)) is not None}
    tasks = [t for t in chosen if t.id not in pending]
    _tokens.encoding()  # fail fast, before any run, when the tokenizer is not installed
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]tokens[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("starting", total=len(tasks) * len(MODES) + 1)
        plain = not console.is_terminal  # a log, not a terminal: one line per task instead

        def advance(label: str) -> None:
            progress.update(bar, description=label)
            if label != "starting":
                progress.advance(bar)
            if plain and (label.endswith("[classic]") or label == "done"):
                console.print(f"tokens: {label.removesuffix(' [classic]')}", highlight=False)

        def note(message: str) -> None:
            progress.update(bar, description=message)
            if plain:
                console.print(f"tokens: {message}", highlight=False)

        async def main() -> tuple[list[dict[str, Any]], dict[str, Any]]:
            note("seeding the demo account, starting the servers (Klaviyo's own included)")
            async with open_bench(klaviyo=True, log=note) as bench:
                progress.advance(bar)
                rows = await _run_tasks(bench, tasks, advance)
                return rows, bench.klaviyo_info

        rows, klaviyo = anyio.run(main)
    for row in rows:
        row["klaviyo_mcp"] = coverage(
            row.get("classic_calls", []), klaviyo, row["modes"]["classic"].get("turns", 0)
        )
        code = row["modes"]["code"].get("total_tokens")
        for other in ("classic", "peer", "klaviyo"):
            theirs = row["modes"][other].get("total_tokens")
            if code and theirs and "error" not in row["modes"][other]:
                row[f"reduction_vs_{other}"] = _reduction(code, theirs)
    summary = summarize(rows, klaviyo)
    result: dict[str, Any] = {
        "benchmark": "tokens",
        "quick": quick,
        "tokenizer": _tokens.describe(),
        "anchor_date": ANCHOR.date().isoformat(),
        "counting": (
            "definitions (name, description, input schema of every listed tool) x model turns, plus "
            "each call's arguments and each result's text; turns = rounds of tool calls + the final answer"
        ),
        "summary": summary,
        "klaviyo_mcp": klaviyo,
        "pending_tasks": pending,
        "classic_server": _classic_info(),
        "tasks": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    _print(console, rows, summary, klaviyo)
    for task_id, reason in pending.items():
        console.print(f"pending, not run: {task_id} ({reason})")
    if not quick:
        from codemode.bench._chart import draw_tokens_chart

        draw_tokens_chart(result, CHART)
        console.print(f"chart: {CHART.relative_to(REPO)}")
    return result


def _classic_info() -> dict[str, Any]:
    """The classic server's size: all its tools, and the 162 product actions alone."""
    from codemode.bench._classic import tool_definitions
    from codemode.catalog import load_catalog

    catalog = load_catalog()
    views = [
        model_view(t.model_dump(mode="json", by_alias=True, exclude_none=True))
        for t in tool_definitions(catalog)
    ]
    builtin = [v for v in views if catalog[v["name"]].core]
    return {
        "tools": len(views),
        "definition_tokens": _tokens.count_json(views),
        "builtin_actions": len(builtin),
        "builtin_definition_tokens": _tokens.count_json(builtin),
        "note": (
            f"{len(views)} tools: the {len(builtin)} core actions and the job reads they need "
            "(classic_actions); builtin_* counts the core actions alone"
        ),
    }


def _fmt(record: Mapping[str, Any]) -> str:
    if "unsupported" in record:
        return "[yellow]n/a[/]"
    if "error" in record:
        return "[red]error[/]"
    mark = "" if record.get("correct") else " [red]✗[/]"
    return f"{record['total_tokens']:,}{mark}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _print(
    console: Console,
    rows: list[dict[str, Any]],
    summary: Mapping[str, Any],
    klaviyo: Mapping[str, Any],
) -> None:
    notes = []
    peer_errors = {r["modes"]["peer"].get("error") for r in rows if "error" in r["modes"]["peer"]}
    if peer_errors and all("error" in r["modes"]["peer"] for r in rows):
        notes.append(f"FastMCP CodeMode did not run: {sorted(peer_errors)[0]}")
    if not klaviyo.get("available"):
        notes.append(f"Klaviyo MCP did not run: {klaviyo.get('reason')}")
    table = Table(
        title="Tokens per task (o200k_base): definitions x turns + arguments + results",
        caption="\n".join(notes) or None,
        caption_justify="left",
    )
    for name, justify in (
        ("task", "left"),
        ("classic", "right"),
        ("FastMCP CodeMode", "right"),
        ("Klaviyo MCP", "right"),
        ("code mode", "right"),
        ("vs classic", "right"),
        ("vs FastMCP", "right"),
        ("vs Klaviyo", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        m = r["modes"]
        table.add_row(
            r["id"],
            _fmt(m["classic"]),
            _fmt(m["peer"]),
            _fmt(m["klaviyo"]) if klaviyo.get("available") else "[yellow]unavailable[/]",
            _fmt(m["code"]),
            _pct(r.get("reduction_vs_classic")),
            _pct(r.get("reduction_vs_peer")),
            _pct(r.get("reduction_vs_klaviyo")),
        )
    console.print(table)
    console.print(
        f"median reduction vs classic {_pct(summary['median_reduction_vs_classic'])}, total {_pct(summary['total_reduction_vs_classic'])}; "
        f"vs FastMCP CodeMode median {_pct(summary['median_reduction_vs_peer'])}, fewer tokens on "
        f"{summary['tasks_fewer_than_peer']}/{summary['tasks_compared_with_peer']} tasks; all correct: {summary['all_correct']}",
        highlight=False,
    )
    if klaviyo.get("available"):
        console.print(
            f"Klaviyo's own MCP server ({klaviyo['package']}): {klaviyo['tools']} tools, "
            f"{klaviyo['definition_tokens']:,} tokens of definitions on every turn; run end to end "
            f"on the {summary['tasks_run_with_klaviyo_mcp']} tasks its tools cover: code mode "
            f"median {_pct(summary['median_reduction_vs_klaviyo_mcp'])} fewer tokens"
        )
    else:
        console.print(f"Klaviyo's own MCP server not measured: {klaviyo.get('reason')}")

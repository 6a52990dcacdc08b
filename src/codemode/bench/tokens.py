"""``codemode bench tokens``: what each way of giving an agent the Klaviyo API costs in context.

The same 23 tasks run against the same demo simulator in three modes, each through its real MCP
server and the real ``mcp`` / ``fastmcp`` clients:

- **classic**: one tool per catalog action (``_classic``), every raw response in the context;
- **peer**: FastMCP's CodeMode transform over that same server (``_peers``);
- **code**: this project's ``search_api`` / ``get_signature`` / ``execute_code``.

A fourth, **Klaviyo's own MCP server**, is started offline and its real ``tools/list`` counted; its
tools call the real API, so only its definitions (and which tasks its tools cover) are reported.
Every count is o200k_base (``_tokens``); every answer is checked against ground truth computed
from the simulator's store (and, for writes, the state left behind).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
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
    PeerAgent,
    Usage,
    World,
    new_world,
    open_bench,
)
from codemode.bench._klaviyo_mcp import coverage
from codemode.bench._peers import PeerUnavailable, list_klaviyo_mcp_tools, model_view
from codemode.bench._tasks import Task, context_for, run_classic, run_code, run_peer
from codemode.bench._tasks_commerce import COMMERCE_TASKS
from codemode.bench._tasks_insights import INSIGHT_TASKS
from codemode.bench._tasks_marketing import MARKETING_TASKS
from codemode.bench._tasks_people import PEOPLE_TASKS

__all__ = ["MODES", "TASKS", "run", "summarize"]

TASKS: tuple[Task, ...] = INSIGHT_TASKS + PEOPLE_TASKS + MARKETING_TASKS + COMMERCE_TASKS
MODES = ("classic", "peer", "code")
QUICK_TASKS = ("customer_city_and_lists", "set_loyalty_tier")
REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "benchmarks" / "tokens.png"
SHARED = REPO.parent / "shared"


async def _run_mode(
    bench: Bench, task: Task, mode: str, world: World, truth: Any
) -> tuple[dict[str, Any], list[str]]:
    """Run one task in one mode on ``world``; returns the record and the tools called."""
    started = time.perf_counter()
    ctx = context_for(task, world)
    found: bool | None = None
    usage = Usage()
    try:
        agent = bench.agent(mode, world)
        usage = agent.usage
        if isinstance(agent, ClassicAgent):
            answer = await run_classic(task, agent, ctx)
        elif isinstance(agent, PeerAgent):
            answer, found = await run_peer(task, agent, ctx)
        else:
            answer, found = await run_code(task, agent, ctx)
    except Exception as exc:  # a failed mode is a result to report, not a crash
        return {"error": f"{type(exc).__name__}: {_first_line(exc)}", **usage.as_dict()}, []
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
                truth = await task.truth(world, context_for(task, world))
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
    return "error" not in row["modes"].get(mode, {"error": "not run"})


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

    def total(key: str) -> dict[str, int]:
        return {m: sum(r["modes"][m][key] for r in rows if _ok(r, m)) for m in MODES}

    totals = total("total_tokens")
    both = [r for r in rows if _ok(r, "code") and _ok(r, "classic")]
    correct = {m: sum(1 for r in rows if r["modes"].get(m, {}).get("correct")) for m in MODES}
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
        "all_correct": all(correct[m] == len(rows) for m in MODES),
        "klaviyo_mcp_tool_definition_tokens": klaviyo.get("definition_tokens"),
        "klaviyo_mcp_tools": klaviyo.get("tools"),
        "klaviyo_mcp_tasks_covered": sum(
            1 for r in rows if r.get("klaviyo_mcp", {}).get("covered")
        ),
    }


async def _klaviyo(log: Callable[[str], None]) -> dict[str, Any]:
    try:
        listing = await list_klaviyo_mcp_tools(REPO, SHARED, log)
    except PeerUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    views = [model_view(t) for t in listing.tools]
    return {
        "available": True,
        "package": f"klaviyo-mcp-server {listing.version}",
        "tools": len(views),
        "tool_names": [t["name"] for t in views],
        "definition_tokens": _tokens.count_json(views),
        "tools_list_tokens": _tokens.count_json(listing.tools),
    }


def run(*, quick: bool, console: Console) -> dict[str, Any]:
    """Run the benchmark, print a table, draw the chart (full runs) and return the JSON result."""
    tasks = [t for t in TASKS if t.id in QUICK_TASKS] if quick else list(TASKS)
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

        def advance(label: str) -> None:
            progress.update(bar, description=label)
            if label != "starting":
                progress.advance(bar)

        async def main() -> tuple[list[dict[str, Any]], dict[str, Any]]:
            progress.update(bar, description="Klaviyo's own MCP server")
            klaviyo = await _klaviyo(lambda m: progress.update(bar, description=m))
            progress.advance(bar)
            progress.update(bar, description="seeding the demo account, starting the three servers")
            async with open_bench() as bench:
                rows = await _run_tasks(bench, tasks, advance)
            return rows, klaviyo

        rows, klaviyo = anyio.run(main)
    for row in rows:
        row["klaviyo_mcp"] = coverage(
            row.get("classic_calls", []), klaviyo, row["modes"]["classic"].get("turns", 0)
        )
        code = row["modes"]["code"].get("total_tokens")
        for other in ("classic", "peer"):
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
        "classic_server": _classic_info(),
        "tasks": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    _print(console, rows, summary, klaviyo)
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
        "note": "162 product actions plus the async-job reads the bulk actions need (the coupon task polls one)",
    }


def _fmt(record: Mapping[str, Any]) -> str:
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
    table = Table(title="Tokens per task (o200k_base): definitions x turns + arguments + results")
    for name, justify in (
        ("task", "left"),
        ("classic", "right"),
        ("FastMCP CodeMode", "right"),
        ("code mode", "right"),
        ("vs classic", "right"),
        ("vs peer", "right"),
        ("Klaviyo MCP", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        m = r["modes"]
        table.add_row(
            r["id"],
            _fmt(m["classic"]),
            _fmt(m["peer"]),
            _fmt(m["code"]),
            _pct(r.get("reduction_vs_classic")),
            _pct(r.get("reduction_vs_peer")),
            "covered" if r.get("klaviyo_mcp", {}).get("covered") else "-",
        )
    console.print(table)
    console.print(
        f"median reduction vs classic {_pct(summary['median_reduction_vs_classic'])}, total {_pct(summary['total_reduction_vs_classic'])}; "
        f"vs FastMCP CodeMode median {_pct(summary['median_reduction_vs_peer'])}, fewer tokens on "
        f"{summary['tasks_fewer_than_peer']}/{summary['tasks_compared_with_peer']} tasks; all correct: {summary['all_correct']}"
    )
    if klaviyo.get("available"):
        console.print(
            f"Klaviyo's own MCP server ({klaviyo['package']}): {klaviyo['tools']} tools, "
            f"{klaviyo['definition_tokens']:,} tokens of definitions on every turn; covers "
            f"{summary['klaviyo_mcp_tasks_covered']}/{summary['tasks']} tasks by endpoint"
        )
    else:
        console.print(f"Klaviyo's own MCP server not measured: {klaviyo.get('reason')}")

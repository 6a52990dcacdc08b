"""What a benchmark task is, and how each system runs it.

A task is one realistic request to an agent ("the three email campaigns with the best open rate").
It states the user's words and **one plan** that every code-mode system follows alike:

1. the agent's search queries (``Task.queries``), sent in that order to each system's search tool;
2. the rule for further searches, the same for every system (:func:`_search_missing`): a function
   the script needs that no search result has named yet is searched once by the words of its name;
3. the signatures (schemas) of the functions the script calls, read in one call at the system's
   best documented detail (:func:`_peer_detail` for FastMCP), unless search already showed them;
4. one script, run once: this project's SDK script (``CodePlan``) or FastMCP CodeMode's
   ``call_tool`` code (``PeerPlan``); both compute the same answer the same way.

The classic baseline has no search: its agent makes the same API calls one per turn
(``Task.classic``), and every raw response enters the context. ``truth`` computes the right answer
from the simulator's own store before any agent runs; ``verify`` checks the state a write task
leaves behind. Scripts are ``string.Template`` text: ``$today``, ``$days_ago_30``... and whatever
``setup`` adds. A task a system cannot do in this shape says so (``unsupported``) instead of
receiving another plan.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from string import Template
from typing import Any, Literal

from codemode.bench._harness import (
    ClassicAgent,
    CodeAgent,
    KlaviyoAgent,
    PeerAgent,
    ToolFailed,
    World,
)
from codemode.catalog import load_catalog

__all__ = [
    "CodePlan",
    "PeerPlan",
    "Task",
    "classic_from_peer",
    "context_for",
    "fill",
    "peer_detail",
    "records",
    "run_classic",
    "run_plan",
    "same",
]

Mode = Literal["classic", "peer", "code"]


@dataclass(frozen=True)
class CodePlan:
    """This project's script and the SDK functions (``group.id``) it calls."""

    functions: tuple[str, ...]
    script: str
    dry_run: bool = False


@dataclass(frozen=True)
class PeerPlan:
    """FastMCP CodeMode's ``execute`` code and the tools it calls through ``call_tool``."""

    tools: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class Task:
    """One benchmark task: the user's words, the plan's search queries, each system's script."""

    id: str
    category: str
    prompt: str
    queries: tuple[str, ...]
    truth: Callable[[World, Mapping[str, Any]], Awaitable[Any]]
    classic: Callable[[ClassicAgent, Mapping[str, Any]], Awaitable[Any]]
    code: CodePlan
    peer: PeerPlan
    setup: Callable[[World], Mapping[str, Any]] | None = None
    verify: Callable[[World, Mapping[str, Any], Mode], bool] | None = None
    compare: Callable[[Any, Any], bool] = field(default=lambda a, b: same(a, b))
    unsupported: Mapping[str, str] = field(default_factory=dict)
    """System -> why it cannot do this task in the plan's shape (shown in the table)."""
    expect_error: str | None = None
    """A task that fails on purpose: a regular expression the error the agent reads must match."""
    needs_api: str | None = None
    """An operation id the task needs that this build's catalog or simulator may lack."""
    klaviyo: Callable[[KlaviyoAgent, Mapping[str, Any]], Awaitable[Any]] | None = None
    """How an agent does the task with Klaviyo's own MCP server (None: its tools do not cover it)."""


def same(answer: Any, truth: Any) -> bool:
    """Equal as JSON (tuples and lists alike; floats to 2 decimals)."""
    return bool(_norm(answer) == _norm(truth))


def _norm(value: Any) -> Any:
    value = json.loads(json.dumps(value))
    return _round(value)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def context_for(task: Task, world: World) -> dict[str, Any]:
    """Placeholders for the task's scripts: dates around the demo's "today" plus the task's own."""
    now = world.now
    ctx: dict[str, Any] = {"today": now.isoformat()}
    for days in (7, 30, 60, 90):
        ctx[f"days_ago_{days}"] = (now - timedelta(days=days)).isoformat()
    if task.setup is not None:
        ctx.update(task.setup(world))
    return ctx


def fill(text: str, ctx: Mapping[str, Any]) -> str:
    return Template(text).substitute({k: str(v) for k, v in ctx.items()})


def _last_json_line(output: str) -> Any:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        raise ValueError("the script printed nothing")
    return json.loads(lines[-1])


async def run_classic(task: Task, agent: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    """The classic agent's answer."""
    return await task.classic(agent, ctx)


async def run_plan(
    task: Task, agent: CodeAgent | PeerAgent, ctx: Mapping[str, Any]
) -> tuple[Any, bool]:
    """Follow the task's one plan with a code-mode system; returns its answer and whether the
    plan's own queries surfaced every function its script calls.

    The same steps for every system, so only the product differs: the plan's queries in order,
    then :func:`_search_missing`, then one signature read, then one script.
    """
    if isinstance(agent, CodeAgent):
        names = [name.rsplit(".", 1)[-1] for name in task.code.functions]
        script = fill(task.code.script, ctx)
    else:
        names = list(task.peer.tools)
        script = fill(task.peer.code, ctx)
    seen: set[str] = set()
    for query in task.queries:
        seen.update(await agent.search(fill(query, ctx)))
    found_by_plan = set(names) <= seen
    await _search_missing(agent, names, seen)
    unread = [name for name in names if name not in agent.shown_signatures]
    if isinstance(agent, CodeAgent):
        if unread:
            await agent.signatures(
                [f for f in task.code.functions if f.rsplit(".", 1)[-1] in unread]
            )
        try:
            result = await agent.execute(script, dry_run=task.code.dry_run)
        except ToolFailed as exc:
            if task.expect_error:
                return {"error": str(exc)}, found_by_plan
            raise
        if result.get("error"):
            if task.expect_error:
                return {"error": result["error"]}, found_by_plan
            raise RuntimeError(f"execute_code failed: {result['error']}")
        return _last_json_line(str(result.get("output", ""))), found_by_plan
    if unread:
        await agent.get_schema(unread, detail=peer_detail(task))
    try:
        answer = await agent.execute(script)
    except ToolFailed as exc:
        if task.expect_error:
            return {"error": str(exc)}, found_by_plan
        raise
    return answer, found_by_plan


async def _search_missing(agent: CodeAgent | PeerAgent, names: list[str], seen: set[str]) -> None:
    """The one rule for further searches, identical for every system.

    A function the script calls that no result has named yet (``get_metrics``) is searched once,
    by the words of its name (``get metrics``), in the order the script needs them; what each
    search returns counts as seen for the next.
    """
    for name in names:
        if name not in seen:
            seen.update(await agent.search(name.replace("_", " ")))


def peer_detail(task: Task) -> str:
    """FastMCP's best documented detail for the tools this task's code calls.

    ``get_schema`` defaults to ``detailed`` (parameter names, types, enums, defaults: what its own
    description calls "the detail needed to call a tool"); a request body's structure appears only
    in ``full``, so a script that sends a body reads ``full``. Filter syntax is not a reason for
    ``full`` here (it would be, strictly: ``detailed`` omits the filter fields), which keeps the
    comparison conservative.
    """
    catalog = load_catalog()
    actions = [catalog[t] for t in task.peer.tools if t in catalog]
    return "full" if any(a.body is not None for a in actions) else "detailed"


def classic_from_peer(
    code: str, *, expect_error: bool = False
) -> Callable[[ClassicAgent, Mapping[str, Any]], Awaitable[Any]]:
    """A classic agent making exactly the calls of FastMCP CodeMode's ``code``, one per turn.

    The code is the body of an ``async`` function calling ``await call_tool(name, args)``; here each
    such call becomes a classic tool call whose raw result enters the context. With
    ``expect_error``, a failed call ends the task with the error as its answer.
    """
    source = "async def _plan(call_tool):\n" + "".join(
        f"    {line}\n" for line in code.splitlines()
    )

    async def run(agent: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
        namespace: dict[str, Any] = {}
        exec(compile(fill(source, ctx), "<classic plan>", "exec"), namespace)

        async def call_tool(name: str, arguments: dict[str, Any]) -> Any:
            return await agent.call(name, **arguments)

        try:
            return await namespace["_plan"](call_tool)
        except ToolFailed as exc:
            if expect_error:
                return {"error": str(exc)}
            raise

    return run


def records(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Flatten a JSON:API document's primary data the way a reader of the raw JSON would."""
    if not doc or doc.get("data") is None:
        return []
    data = doc["data"]
    items = data if isinstance(data, list) else [data]
    return [{"id": item.get("id"), **(item.get("attributes") or {})} for item in items]

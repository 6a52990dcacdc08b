"""What a benchmark task is, and how each mode runs it.

A task is one realistic request to an agent ("the three email campaigns with the best open rate")
with, for every mode, the calls a competent agent makes:

- ``classic``: an async function driving :class:`ClassicAgent` (one tool per action, raw JSON back);
- ``code``: this project's plan: search queries, the functions whose signatures it reads, and the
  script it runs with ``execute_code`` (which prints the answer as JSON on its last line);
- ``peer``: FastMCP CodeMode's plan: one search, one ``get_schema``, and the code for ``execute``
  (which returns the answer).

``truth`` computes the right answer from the simulator's own store (or an independent raw HTTP
read) before any agent runs; ``verify`` checks the state a write task must leave behind. Scripts are
``string.Template`` text: ``$today``, ``$days_ago_30``... and whatever ``setup`` adds.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from string import Template
from typing import Any, Literal

from codemode.bench._harness import ClassicAgent, CodeAgent, PeerAgent, World
from codemode.catalog import load_catalog

__all__ = [
    "CodePlan",
    "PeerPlan",
    "Task",
    "context_for",
    "run_classic",
    "run_code",
    "run_peer",
    "same",
]

Mode = Literal["classic", "peer", "code"]


@dataclass(frozen=True)
class CodePlan:
    """This project's path: search_api queries, get_signature names, execute_code script(s)."""

    queries: tuple[str, ...]
    functions: tuple[str, ...]
    script: str
    dry_run: bool = False


@dataclass(frozen=True)
class PeerPlan:
    """FastMCP CodeMode's path: search (one or more queries), get_schema, execute."""

    queries: tuple[str, ...]
    tools: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class Task:
    """One benchmark task and the plan of each mode."""

    id: str
    category: str
    prompt: str
    truth: Callable[[World, Mapping[str, Any]], Awaitable[Any]]
    classic: Callable[[ClassicAgent, Mapping[str, Any]], Awaitable[Any]]
    code: CodePlan
    peer: PeerPlan
    setup: Callable[[World], Mapping[str, Any]] | None = None
    verify: Callable[[World, Mapping[str, Any], Mode], bool] | None = None
    compare: Callable[[Any, Any], bool] = field(default=lambda a, b: same(a, b))


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


def _fill(text: str, ctx: Mapping[str, Any]) -> str:
    return Template(text).substitute({k: str(v) for k, v in ctx.items()})


def _last_json_line(output: str) -> Any:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        raise ValueError("the script printed nothing")
    return json.loads(lines[-1])


async def run_classic(task: Task, agent: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    """The classic agent's answer."""
    return await task.classic(agent, ctx)


async def run_code(task: Task, agent: CodeAgent, ctx: Mapping[str, Any]) -> tuple[Any, bool]:
    """This project's answer, and whether search surfaced every function the plan used."""
    found: set[str] = set()
    for query in task.code.queries:
        found.update(await agent.search(_fill(query, ctx)))
    ids = {name.rsplit(".", 1)[-1] for name in task.code.functions}
    found.update(await _search_missing(agent, ids - found))
    await agent.signatures(list(task.code.functions))
    result = await agent.execute(_fill(task.code.script, ctx), dry_run=task.code.dry_run)
    if result.get("error"):
        raise RuntimeError(f"execute_code failed: {result['error']}")
    return _last_json_line(str(result.get("output", ""))), ids <= found


async def _search_missing(agent: CodeAgent | PeerAgent, missing: set[str]) -> set[str]:
    """One more search per function the agent needs but has not seen, by the words of its name.

    The same rule for both code modes: an agent that has not yet seen a function it expects
    (``get_metrics``) searches for it by name before reading its signature.
    """
    found: set[str] = set()
    for name in sorted(missing):
        if name not in found:
            found.update(await agent.search(name.replace("_", " ")))
    return found


def _peer_detail(tools: tuple[str, ...]) -> str:
    # "detailed" lists parameter names and types only; a body's structure (and the filter
    # syntax) is only in "full", which a competent agent asks for when it must write a body.
    catalog = load_catalog()
    return "full" if any(catalog[t].body is not None for t in tools if t in catalog) else "detailed"


async def run_peer(task: Task, agent: PeerAgent, ctx: Mapping[str, Any]) -> tuple[Any, bool]:
    """The peer's answer, and whether its search surfaced every tool the plan used."""
    found: set[str] = set()
    for query in task.peer.queries:
        found.update(await agent.search(_fill(query, ctx)))
    found.update(await _search_missing(agent, set(task.peer.tools) - found))
    await agent.get_schema(list(task.peer.tools), detail=_peer_detail(task.peer.tools))
    answer = await agent.execute(_fill(task.peer.code, ctx))
    return answer, set(task.peer.tools) <= found


def records(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Flatten a JSON:API document's primary data the way a reader of the raw JSON would."""
    if not doc or doc.get("data") is None:
        return []
    data = doc["data"]
    items = data if isinstance(data, list) else [data]
    return [{"id": item.get("id"), **(item.get("attributes") or {})} for item in items]

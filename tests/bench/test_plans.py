"""One plan per task: every code-mode system sends the plan's queries first, in order, then only
the documented extra searches, reads signatures once and runs one script."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codemode.bench._harness import CodeAgent, PeerAgent, Usage, new_world
from codemode.bench._tasks import Task, context_for, fill, run_plan
from codemode.bench.tokens import TASKS


class _Recorder:
    """Answers like a system whose search finds nothing (the worst case for extra searches)."""

    def __init__(self, found: dict[str, list[str]] | None = None) -> None:
        self.usage = Usage()
        self.shown_signatures: set[str] = set()
        self.found = found or {}
        self.steps: list[tuple[str, Any]] = []

    async def search(self, query: str, limit: int = 5) -> list[str]:
        self.usage.searches.append(query)
        self.steps.append(("search", query))
        return self.found.get(query, [])


class _FakeCode(_Recorder, CodeAgent):
    async def signatures(self, names: list[str]) -> None:
        self.steps.append(("signature", names))

    async def execute(self, code: str, *, dry_run: bool = False) -> dict[str, Any]:
        self.steps.append(("code", code))
        return {"output": json.dumps({"ok": 1}), "error": None}


class _FakePeer(_Recorder, PeerAgent):
    async def get_schema(self, tools: list[str], detail: str = "detailed") -> None:
        self.steps.append(("signature", tools))

    async def execute(self, code: str) -> Any:
        self.steps.append(("code", code))
        return {"ok": 1}


@pytest.fixture(scope="module")
def world() -> Any:
    return new_world()


def _needed(task: Task, agent: Any) -> list[str]:
    if isinstance(agent, CodeAgent):
        return [f.rsplit(".", 1)[-1] for f in task.code.functions]
    return list(task.peer.tools)


@pytest.mark.parametrize("system", [_FakeCode, _FakePeer], ids=["code", "peer"])
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
async def test_every_system_first_sends_the_plans_queries_in_order(
    task: Task, system: type[_Recorder], world: Any
) -> None:
    ctx = context_for(task, world)
    agent = system()
    await run_plan(task, agent, ctx)  # type: ignore[arg-type]
    queries = [fill(q, ctx) for q in task.queries]
    assert agent.usage.searches[: len(queries)] == queries
    # Nothing was found, so the rule searches each needed function once, by its name's words.
    extra = agent.usage.searches[len(queries) :]
    assert extra == [name.replace("_", " ") for name in _needed(task, agent)]
    kinds = [kind for kind, _ in agent.steps]
    assert kinds == ["search"] * len(agent.usage.searches) + ["signature", "code"]


@pytest.mark.parametrize("system", [_FakeCode, _FakePeer], ids=["code", "peer"])
async def test_no_extra_search_when_the_plans_queries_found_every_function(
    system: type[_Recorder], world: Any
) -> None:
    task = next(t for t in TASKS if len(t.queries) == 1)
    ctx = context_for(task, world)
    probe = system()
    names = _needed(task, probe)
    agent = system(found={fill(task.queries[0], ctx): names})
    answer, found_all = await run_plan(task, agent, ctx)  # type: ignore[arg-type]
    assert found_all
    assert agent.usage.searches == [fill(task.queries[0], ctx)]
    assert answer == {"ok": 1}


async def test_signatures_shown_in_search_results_are_not_read_again(world: Any) -> None:
    task = next(t for t in TASKS if len(t.queries) == 1 and len(t.code.functions) == 1)
    ctx = context_for(task, world)
    name = task.code.functions[0].rsplit(".", 1)[-1]
    agent = _FakeCode(found={fill(task.queries[0], ctx): [name]})
    agent.shown_signatures.add(name)
    await run_plan(task, agent, ctx)
    assert [kind for kind, _ in agent.steps] == ["search", "code"]

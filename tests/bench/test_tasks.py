"""The task suite's shape: enough tasks, across the categories, each plan naming real actions."""

from __future__ import annotations

from string import Template

import pytest

from codemode.bench._tasks import Task, same
from codemode.bench.tokens import QUICK_TASKS, TASKS, pending_reason
from codemode.catalog import load_catalog


def test_at_least_forty_runnable_tasks_with_unique_ids_across_eight_categories() -> None:
    ids = [t.id for t in TASKS]
    assert len([t for t in TASKS if pending_reason(t) is None]) >= 40
    assert len(set(ids)) == len(ids)
    assert len({t.category for t in TASKS}) >= 8
    assert set(QUICK_TASKS) <= set(ids)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_every_plan_names_catalog_actions_and_uses_them(task: Task) -> None:
    catalog = load_catalog()
    for name in task.code.functions:
        group, op = name.split(".")
        if op not in catalog:  # an operation of the whole API not in this build yet
            assert op == task.needs_api, f"{op} is not in the catalog and not marked needs_api"
            continue
        assert catalog[op].group == group
    for tool in task.peer.tools:
        assert tool in catalog or tool == task.needs_api
        assert f'call_tool("{tool}"' in task.peer.code
    for name in task.code.functions:
        assert f"klaviyo.{name}(" in task.code.script, name


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_scripts_only_use_placeholders_the_context_fills(task: Task) -> None:
    known = {
        "today",
        "days_ago_7",
        "days_ago_30",
        "days_ago_60",
        "days_ago_90",
        "email",
        "placed_order",
    }
    for text in (
        task.code.script,
        task.peer.code,
        task.prompt,
        *task.queries,
    ):
        names = {
            m.group("named") or m.group("braced")
            for m in Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")
        }
        assert names <= known, names - known


def test_answers_compare_as_json_with_floats_to_two_decimals() -> None:
    assert same([("a", 1.004)], [["a", 1.0]])
    assert not same({"n": 1}, {"n": 2})
    assert same({"x": [1, 2]}, {"x": (1, 2)})


def test_a_task_on_an_operation_this_build_lacks_is_pending_with_the_reason() -> None:
    from dataclasses import replace

    task = replace(TASKS[0], needs_api="no_such_operation")
    assert pending_reason(task) == "needs no_such_operation, not in this build's catalog yet"
    assert pending_reason(replace(TASKS[0], needs_api="delete_tag_group")) is None
    errors = [t for t in TASKS if t.expect_error]
    assert len(errors) >= 2 and all(t.category == "errors" for t in errors)


async def test_a_task_needing_a_tool_the_classic_server_lacks_is_unsupported_there() -> None:
    from types import SimpleNamespace

    from codemode.bench.tokens import _run_mode

    task = next(t for t in TASKS if t.needs_api == "bulk_subscribe_profiles")
    bench = SimpleNamespace(classic_tools=frozenset({"get_lists", "get_profiles_for_list"}))
    for mode in ("classic", "peer"):
        record, calls = await _run_mode(bench, task, mode, None, None)  # type: ignore[arg-type]
        assert record == {
            "unsupported": "the classic server (core actions) has no bulk_subscribe_profiles tool"
        }
        assert calls == []

"""Agent-style tasks through the official MCP client on the demo server (search, signature, script)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from codemode.bench._agent_more import MORE_TASKS
from codemode.bench._peers import model_view
from codemode.bench._tokens import count_json
from codemode.bench.agent import TASKS, answer_holds, demo_account, run_tasks
from codemode.config import Settings
from codemode.server import DEMO_BASE_URL, build_server
from codemode.simulator import SimConfig, create_app

pytestmark = pytest.mark.asyncio


def _server(tmp_path: Path, app: Any = None) -> Any:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app or create_app(SimConfig())), base_url=DEMO_BASE_URL
    )
    settings = Settings(demo=True, audit_db=tmp_path / "audit.sqlite3")
    return build_server(settings, transport="memory", http_client=client, log_level="ERROR")


async def test_at_least_nine_in_ten_first_scripts_run_and_search_finds_what_they_call(
    tmp_path: Path,
) -> None:
    assert len(TASKS) >= 50
    app = create_app(SimConfig())
    built = _server(tmp_path, app)
    async with built.running(), Client(built.mcp) as client:
        rows = await run_tasks(client, account=lambda: demo_account(app))
    ok = [r for r in rows if r["first_script_ok"]]
    assert len(ok) >= 0.9 * len(rows), [r for r in rows if not r["first_script_ok"]]
    assert sum(r["found_in_search"] for r in rows) >= 0.9 * len(rows)
    assert all(r["round_trips"] in (3, 4) and r["result_tokens"] > 0 for r in rows)
    # Every answer that can be held to the simulator's store is right, writes included.
    checked = [r for r in rows if r["checked"] is not None]
    assert len(checked) >= len(MORE_TASKS), len(checked)
    assert [r["task"] for r in checked if not r["checked"]] == []


async def test_a_task_that_fails_on_purpose_reads_an_error_saying_what_to_do(
    tmp_path: Path,
) -> None:
    # The first script's error must match what the task expects (the fix it names), and the
    # retry written from it must hold; a wrong answer is refused by the same check.
    tasks = [t for t in MORE_TASKS if t.expect_error]
    assert len(tasks) >= 2
    app = create_app(SimConfig())
    built = _server(tmp_path, app)
    async with built.running(), Client(built.mcp) as client:
        rows = await run_tasks(client, tasks, account=lambda: demo_account(app))
    assert all(r["first_script_ok"] and r["checked"] and r["round_trips"] == 4 for r in rows), rows
    account = demo_account(app)
    for t in MORE_TASKS:
        assert t.check is not None, t.name
        assert not answer_holds(t, account, '{"count": -1, "first": []}'), t.name


async def test_the_three_tool_definitions_fit_in_300_tokens_and_name_the_sdk_conventions(
    tmp_path: Path,
) -> None:
    built = _server(tmp_path)
    async with built.running(), Client(built.mcp) as client:
        tools = (await client.list_tools()).tools
    views = [model_view(t.model_dump(mode="json", by_alias=True, exclude_none=True)) for t in tools]
    assert count_json(views) <= 300
    execute = next(v["description"] for v in views if v["name"] == "execute_code")
    for convention in (
        "F.equals(",
        ".next_cursor",
        ".included",
        ".all()",
        "NotFoundError",
        "print",
    ):
        assert convention in execute, convention
    search = next(v["description"] for v in views if v["name"] == "search_api")
    assert "get_signature" in search and "signature" in search

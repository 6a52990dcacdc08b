"""``codemode serve --demo`` over stdio, spawned as a subprocess and driven by the official client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from codemode.audit import AuditLog
from tests.server.conftest import text_of

CODEMODE = Path(sys.executable).parent / "codemode"


def _server(tmp_path: Path, *flags: str) -> StdioServerParameters:
    env = {"CODEMODE_AUDIT_DB": str(tmp_path / "audit.sqlite3"), "HOME": str(tmp_path)}
    return StdioServerParameters(command=str(CODEMODE), args=["serve", "--demo", *flags], env=env)


async def test_the_stdio_server_runs_the_whole_workflow_on_the_demo_account(tmp_path: Path) -> None:
    with anyio.fail_after(120):
        async with Client(_server(tmp_path)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            found = await client.call_tool("search_api", {"query": "get events of a profile"})
            sig = await client.call_tool("get_signature", {"names": ["klaviyo.events.get_events"]})
            script = "events = klaviyo.events.get_events(page_size=5)\nstore['seen'] = len(events)\nprint(len(events))"
            ran = await client.call_tool("execute_code", {"code": script})
            kept = await client.call_tool("execute_code", {"code": "print(store['seen'] * 2)"})
            plan = await client.call_tool(
                "execute_code",
                {
                    "code": "klaviyo.lists.create_list(attributes={'name': 'planned'})\nprint('ok')",
                    "dry_run": True,
                },
            )
    assert sorted(tools) == ["execute_code", "get_signature", "search_api"]
    assert (
        tools["search_api"].annotations is not None
        and tools["search_api"].annotations.read_only_hint
    )
    assert all(t.output_schema for t in tools.values())
    assert found.structured_content is not None
    assert "get_events" in [r["id"] for r in found.structured_content["results"]]
    assert "page_size" in text_of(sig)
    assert ran.structured_content is not None and ran.structured_content["output"].strip() == "5", (
        text_of(ran)
    )
    assert kept.structured_content is not None and kept.structured_content["output"].strip() == "10"
    assert (
        plan.structured_content is not None and len(plan.structured_content["planned_writes"]) == 1
    )
    rows = AuditLog(tmp_path / "audit.sqlite3").rows()
    assert len(rows) == 3 and {r["transport"] for r in rows} == {"stdio"}
    assert rows[0]["dry_run"] is True


async def test_a_read_only_stdio_server_refuses_writes(tmp_path: Path) -> None:
    with anyio.fail_after(120):
        async with Client(_server(tmp_path, "--read-only")) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            ran = await client.call_tool(
                "execute_code", {"code": "klaviyo.lists.create_list(attributes={'name': 'x'})"}
            )
    assert tools["execute_code"].annotations is not None
    assert tools["execute_code"].annotations.read_only_hint is True
    assert ran.is_error and ran.structured_content is not None
    assert "read-only" in ran.structured_content["error"]["message"]


async def test_stdout_carries_only_protocol_messages_and_logs_go_to_stderr(tmp_path: Path) -> None:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    env = {**os.environ, "CODEMODE_AUDIT_DB": "off", "HOME": str(tmp_path)}
    command = [str(CODEMODE), "serve", "--demo", "--log-level", "DEBUG"]
    received = b""
    with anyio.fail_after(120):
        async with await anyio.open_process(command, env=env) as process:
            assert (
                process.stdin is not None
                and process.stdout is not None
                and process.stderr is not None
            )
            await process.stdin.send("".join(json.dumps(m) + "\n" for m in messages).encode())
            while received.count(b"\n") < 2:  # one line per response: initialize, tools/list
                received += await process.stdout.receive()
            await process.stdin.aclose()
            errors = b"".join([chunk async for chunk in process.stderr])
    lines = [json.loads(line) for line in received.decode().splitlines() if line.strip()]
    assert [m.get("id") for m in lines] == [1, 2], received[:300]
    assert len(lines[1]["result"]["tools"]) == 3
    assert errors.strip(), "DEBUG logging wrote nothing to stderr"  # and nothing stray to stdout

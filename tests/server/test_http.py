"""Streamable HTTP end to end: uvicorn on 127.0.0.1, the official MCP client, both protocol eras."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from mcp_types import CallToolResult

from codemode.audit import AuditLog, AuditRecord
from codemode.errors import ConfigError
from codemode.server import CodemodeServer, key_principal
from tests.server.conftest import BuildServer, http_client, serving, text_of

KEY_A = "pk_test_alice_0123456789abcdef"
KEY_B = "pk_test_bob_fedcba9876543210"
BUMP = "store['n'] = store.get('n', 0) + 1\nprint(store['n'])\n"


def _keyed(make_server: BuildServer, **overrides: Any) -> CodemodeServer:
    """An HTTP server that needs each caller's own key (not the demo), backed by the simulator."""
    return make_server(transport="http", demo=False, base_url="http://simulator", **overrides)


def _out(result: CallToolResult) -> str:
    assert result.structured_content is not None, text_of(result)
    return str(result.structured_content["output"]).strip()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_loopback_demo_server_needs_no_credentials_in_either_protocol_era(
    make_server: BuildServer, mode: str
) -> None:
    built = make_server(transport="http")
    async with serving(built.http_app()) as url, http_client(url, mode=mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        tools = await client.list_tools()
        assert sorted(t.name for t in tools.tools) == [
            "execute_code",
            "get_signature",
            "search_api",
        ]
        assert all(t.output_schema for t in tools.tools)
        ran = await client.call_tool(
            "execute_code", {"code": "print(len(klaviyo.lists.get_lists().data) > 0)"}
        )
    assert _out(ran) == "True"


async def test_a_foreign_origin_is_refused_with_403(make_server: BuildServer) -> None:
    built = make_server(transport="http")
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    async with serving(built.http_app()) as url, httpx.AsyncClient(timeout=10) as raw:
        evil = await raw.post(url, json=body, headers={**headers, "origin": "https://evil.example"})
        local = await raw.post(
            url, json=body, headers={**headers, "origin": "http://localhost:3000"}
        )
    assert evil.status_code == 403 and "CODEMODE_ALLOWED_ORIGINS" in evil.text
    assert local.status_code != 403


async def test_without_a_key_the_endpoint_answers_401_saying_how_to_authenticate(
    make_server: BuildServer,
) -> None:
    built = _keyed(make_server)
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    async with serving(built.http_app()) as url, httpx.AsyncClient(timeout=10) as raw:
        missing = await raw.post(url, json=body, headers=headers)
        wrong = await raw.post(
            url, json=body, headers={**headers, "authorization": "Klaviyo-API-Key nope"}
        )
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert "Klaviyo-API-Key" in answer.headers["www-authenticate"]
        assert "Klaviyo-API-Key pk_" in answer.json()["error_description"]


async def test_two_api_keys_never_share_a_store_even_with_the_same_session_id(
    make_server: BuildServer, audit_path: Path
) -> None:
    built = _keyed(make_server)
    async with serving(built.http_app()) as url:
        async with http_client(url, {"Authorization": f"Klaviyo-API-Key {KEY_A}"}) as alice:
            mine = await alice.call_tool(
                "execute_code", {"code": "store['secret'] = 'alice'\nprint('saved')"}
            )
            assert mine.structured_content is not None
            session = mine.structured_content["session"]
            back = await alice.call_tool(
                "execute_code", {"code": "print(store['secret'])", "session": session}
            )
            assert _out(back) == "alice"
        async with http_client(url, {"X-Klaviyo-API-Key": KEY_B}) as bob:
            stolen = await bob.call_tool(
                "execute_code",
                {"code": "print(store.get('secret', 'nothing'))", "session": session},
            )
    assert _out(stolen) == "nothing"
    assert stolen.structured_content is not None and stolen.structured_content["session"] != session
    assert "unknown or expired" in text_of(stolen)
    principals = {row["principal"] for row in AuditLog(audit_path).rows()}
    assert principals == {key_principal(KEY_A), key_principal(KEY_B)}
    raw_db = audit_path.read_bytes() + (audit_path.parent / "audit.sqlite3-wal").read_bytes()
    assert KEY_A.encode() not in raw_db and KEY_B.encode() not in raw_db


async def test_the_mcp_session_keeps_the_store_by_default_under_the_handshake(
    make_server: BuildServer,
) -> None:
    built = _keyed(make_server)
    headers = {"Authorization": f"Klaviyo-API-Key {KEY_A}"}
    async with serving(built.http_app()) as url:
        async with http_client(url, headers, mode="legacy") as client:
            await client.call_tool("execute_code", {"code": BUMP})
            second = await client.call_tool("execute_code", {"code": BUMP})
        async with http_client(
            url, headers, mode="legacy"
        ) as fresh:  # a new MCP session: a new store
            other = await fresh.call_tool("execute_code", {"code": BUMP})
    assert _out(second) == "2"
    assert _out(other) == "1"


async def test_stateless_requests_keep_the_store_only_through_the_returned_session(
    make_server: BuildServer,
) -> None:
    built = _keyed(make_server)
    headers = {"Authorization": f"Klaviyo-API-Key {KEY_A}"}
    async with serving(built.http_app()) as url, http_client(url, headers, mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        first = await client.call_tool("execute_code", {"code": BUMP})
        unnamed = await client.call_tool("execute_code", {"code": BUMP})
        assert first.structured_content is not None
        named = await client.call_tool(
            "execute_code", {"code": BUMP, "session": first.structured_content["session"]}
        )
    assert _out(first) == "1" and _out(unnamed) == "1"
    assert _out(named) == "2"


def _process_table() -> dict[int, tuple[int, str]]:
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        table[int(entry)] = (int(ppid), state)
    return table


def _live_grandchildren() -> list[int]:
    """Live processes two or more levels below this one: the sandbox's workers."""
    table = _process_table()
    me = os.getpid()
    children = {pid for pid, (ppid, _) in table.items() if ppid == me}
    found: list[int] = []
    frontier = children
    while frontier:
        below = {pid for pid, (ppid, state) in table.items() if ppid in frontier and state != "Z"}
        found.extend(below)
        frontier = below
    return found


async def test_cancelling_a_call_kills_its_worker(make_server: BuildServer) -> None:
    built = make_server(transport="http")
    assert built.runtime.audit is not None
    running, cancelled = anyio.Event(), anyio.Event()
    record = built.runtime.audit.record

    def watching(rec: AuditRecord) -> None:
        record(rec)
        if rec.outcome == "cancelled":
            cancelled.set()

    built.runtime.audit.record = watching  # type: ignore[method-assign]

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        running.set()

    spin = "while True:\n    pass\n"
    async with serving(built.http_app()) as url, http_client(url, mode="legacy") as client:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    partial(
                        client.call_tool,
                        "execute_code",
                        {"code": spin},
                        progress_callback=on_progress,
                    )
                )
                await running.wait()
                assert _live_grandchildren(), "the script's worker should be running"
                tg.cancel_scope.cancel()
            await cancelled.wait()
        assert _live_grandchildren() == []
        after = await client.call_tool("execute_code", {"code": "print('still serving')"})
    assert _out(after) == "still serving"


def test_the_demo_refuses_to_start_unauthenticated_beyond_loopback(
    make_server: BuildServer,
) -> None:
    built = make_server(transport="http", host="0.0.0.0")
    with pytest.raises(ConfigError, match="refusing to serve the demo without authentication"):
        built.http_app()


async def test_with_oauth_the_endpoint_points_clients_to_the_authorization_server(
    make_server: BuildServer,
) -> None:
    built = make_server(
        transport="http", demo=False, base_url="http://127.0.0.1:1", oauth_client_id=None
    )
    assert built.oauth is None  # no OAuth app configured: keys only
    oauthed = _keyed_oauth(make_server)
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    async with serving(oauthed.http_app()) as url, httpx.AsyncClient(timeout=10) as raw:
        denied = await raw.post(
            url, json=body, headers={"accept": "application/json, text/event-stream"}
        )
        challenge = denied.headers["www-authenticate"]
        metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
        # The advertised URLs use the configured public address; fetch its path from this server.
        metadata = await raw.get(url.removesuffix("/mcp") + urlsplit(metadata_url).path)
        keyed = await raw.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={
                "accept": "application/json, text/event-stream",
                "authorization": f"Klaviyo-API-Key {KEY_A}",
                "mcp-protocol-version": "2026-07-28",
            },
        )
    assert denied.status_code == 401 and challenge.startswith("Bearer")
    assert metadata.status_code == 200 and metadata.json()["resource"].rstrip("/").endswith("/mcp")
    assert metadata.json()["authorization_servers"]
    assert keyed.status_code != 401  # a private key still works beside OAuth


def _keyed_oauth(make_server: BuildServer) -> CodemodeServer:
    from codemode.config import Settings
    from codemode.server import build_server

    built = make_server(transport="http", demo=False, base_url="http://127.0.0.1:1")
    settings = Settings(
        demo=False,
        base_url="http://127.0.0.1:1",
        audit_disabled=True,
        transport="http",
        host="127.0.0.1",
    )
    return build_server(
        settings, http_client=built.runtime.http_client, oauth=True, log_level="ERROR"
    )


async def test_an_mcp_session_opened_with_one_key_is_not_found_with_another(
    make_server: BuildServer,
) -> None:
    built = _keyed(make_server)
    accept = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    async with serving(built.http_app()) as url, httpx.AsyncClient(timeout=10) as raw:
        opened = await raw.post(url, json=init, headers={**accept, "x-klaviyo-api-key": KEY_A})
        session = {"mcp-session-id": opened.headers["mcp-session-id"]}
        await raw.post(
            url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**accept, **session, "x-klaviyo-api-key": KEY_A},
        )
        theirs = await raw.post(
            url, json=listing, headers={**accept, **session, "x-klaviyo-api-key": KEY_B}
        )
        mine = await raw.post(
            url, json=listing, headers={**accept, **session, "x-klaviyo-api-key": KEY_A}
        )
    assert opened.status_code == 200
    assert theirs.status_code == 404
    assert mine.status_code == 200 and "execute_code" in mine.text

"""The real server over Streamable HTTP with per-user OAuth, driven by the official MCP client.

``build_server`` serves on 127.0.0.1 (uvicorn); the MCP client's own OAuth support discovers the
protected-resource metadata from the 401, registers itself (DCR), runs PKCE through our consent
page and the simulator's Klaviyo login (the test plays the browser), and then lists the tools
and runs a script, once per demo user. Each script must see its own user's Klaviyo account.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import httpx2
import uvicorn
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from starlette.types import ASGIApp

from codemode.audit import AuditLog
from codemode.config import Settings
from codemode.server import build_server
from codemode.server.listener import uvicorn_options
from codemode.simulator.app import create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, DEMO_USERS, SimConfig

from ._support import CLIENT_REDIRECT, SIM, Router, browse

SCRIPT = "print(','.join(a['id'] for a in klaviyo.accounts.get_accounts().data))"


class MemoryStorage:
    """The MCP client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@asynccontextmanager
async def serving(sock: socket.socket, app: ASGIApp) -> AsyncIterator[None]:
    """Serve ``app`` on an already listening socket as ``codemode serve`` does, stopping within a
    bounded time."""
    options = uvicorn_options(Settings(), log_level="error")
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **options))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield
        finally:
            server.should_exit = True
            tg.cancel_scope.deadline = anyio.current_time() + 10
    sock.close()


async def _run_as(
    user: str, url: str, browser: httpx.AsyncClient, balance: Any = None
) -> tuple[list[str], str, str]:
    """Sign in as ``user`` with the official client and run ``SCRIPT``; ``balance()`` makes the
    transport of a balancer in front of replicas (default: straight to ``url``)."""
    codes: asyncio.Queue[AuthorizationCodeResult] = asyncio.Queue()

    async def redirect_handler(authorization_url: str) -> None:
        final = await browse(browser, authorization_url, stop_at=CLIENT_REDIRECT, user=user)
        query = parse_qs(final.query.decode())
        codes.put_nowait(AuthorizationCodeResult(code=query["code"][0], state=query["state"][0]))

    async def callback_handler() -> AuthorizationCodeResult:
        return await asyncio.wait_for(codes.get(), 30)

    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata.model_validate(
            {
                "redirect_uris": [CLIENT_REDIRECT],
                "client_name": f"agent of {user}",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    transport = balance() if balance is not None else None
    raw = httpx2.AsyncClient(auth=auth, timeout=30, transport=transport)
    async with raw, Client(streamable_http_client(url, http_client=raw)) as client:  # type: ignore[arg-type]
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)
        ran = await client.call_tool("execute_code", {"code": SCRIPT})
    assert ran.structured_content is not None, ran.content
    assert storage.tokens is not None
    return tools, str(ran.structured_content["output"]).strip(), storage.tokens.access_token


async def test_official_client_signs_in_per_user_and_each_script_sees_its_own_account(
    tmp_path: Path,
) -> None:
    sim = create_app(SimConfig(profiles=8, events=10))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    settings = Settings(
        base_url=SIM,
        oauth_client_id=DEMO_OAUTH_CLIENT,
        oauth_client_secret=DEMO_OAUTH_SECRET,
        host="127.0.0.1",
        port=port,
        audit_db=tmp_path / "audit.sqlite3",
    )
    upstream = httpx.AsyncClient(transport=Router({"127.0.0.1:9000": sim}), timeout=30)
    built = build_server(settings, transport="http", http_client=upstream, log_level="ERROR")
    assert built.oauth is not None
    state = sim.state.sim
    expected = {user: state.accounts[state.users[user]].company_id for user in DEMO_USERS}

    seen: dict[str, str] = {}
    our_tokens: list[str] = []
    async with serving(sock, built.http_app()):
        async with httpx.AsyncClient(timeout=30) as unauthenticated:
            refused = await unauthenticated.post(url, json={})
        assert refused.status_code == 401
        assert "resource_metadata=" in refused.headers["www-authenticate"]
        for user in DEMO_USERS:
            browser_transport = Router({"127.0.0.1:9000": sim}, fallback=httpx.AsyncHTTPTransport())
            async with httpx.AsyncClient(transport=browser_transport, timeout=30) as browser:
                tools, output, token = await _run_as(user, url, browser)
            assert tools == ["execute_code", "get_signature", "search_api"]
            seen[user] = output
            our_tokens.append(token)

    assert seen == expected
    assert len(set(seen.values())) == 2
    # The MCP clients held only our tokens; Klaviyo never saw them.
    assert not set(our_tokens) & set(state.tokens)
    rows = AuditLog(settings.audit_db).rows()  # type: ignore[arg-type]
    principals = {row["principal"] for row in rows}
    assert len({p for p in principals if p.startswith("oauth:")}) == 2
    written = repr(rows) + (tmp_path / "audit.sqlite3").read_bytes().decode("latin-1")
    for secret in [*state.tokens, *state.refresh, *our_tokens]:
        assert secret not in written  # neither Klaviyo's tokens nor ours reach the audit log

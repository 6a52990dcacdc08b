"""The local server (stdio/in-process transport) runs on the tokens `codemode login` stored."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from mcp import Client

from codemode.config import Settings
from codemode.server import build_server
from codemode.server.oauth import FileVault, Secret, StoredLogin, UpstreamTokens
from codemode.server.oauth.upstream import KlaviyoOAuthClient, Pkce
from codemode.simulator.app import create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, DEMO_USERS, SimConfig

from ._support import SIM, Router

SCRIPT = "print(','.join(a['id'] for a in klaviyo.accounts.get_accounts().data))"
LOOPBACK = "http://127.0.0.1:5555/callback"


async def _sign_in(http: httpx.AsyncClient, user: str) -> UpstreamTokens:
    """What `codemode login` does, minus the listener: consent at the simulator, then exchange."""
    upstream = KlaviyoOAuthClient(
        client_id=DEMO_OAUTH_CLIENT,
        client_secret=Secret(DEMO_OAUTH_SECRET),
        base_url=SIM,
        authorize_url=f"{SIM}/oauth/authorize",
        http=http,
        clock=time.time,
    )
    pkce = Pkce.new()
    url = upstream.authorization_url(
        redirect_uri=LOOPBACK, scopes=["accounts:read"], state="s", pkce=pkce
    )
    redirect = await http.get(url + f"&user={user}")
    code = httpx.URL(redirect.headers["location"]).params["code"]
    return await upstream.exchange_code(code=code, redirect_uri=LOOPBACK, pkce=pkce)


async def test_local_server_uses_the_stored_login_and_refreshes_an_expired_token(
    tmp_path: Path,
) -> None:
    sim = create_app(SimConfig(profiles=4, events=4))
    state = sim.state.sim
    http = httpx.AsyncClient(transport=Router({"127.0.0.1:9000": sim}), timeout=30)
    tokens = await _sign_in(http, DEMO_USERS[1])
    vault = FileVault(tmp_path / "cfg")
    # Stored an hour ago: the access token has expired on our side, so first use must refresh.
    expired = UpstreamTokens(
        tokens.access_token, tokens.refresh_token, time.time() - 1, tokens.scopes
    )
    vault.save(StoredLogin(expired, SIM, DEMO_OAUTH_CLIENT, time.time() - 3600))

    settings = Settings(
        base_url=SIM, config_dir=tmp_path / "cfg", token_store="file", audit_disabled=True
    )
    built = build_server(settings, transport="memory", http_client=http, log_level="ERROR")
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": SCRIPT})
    assert ran.structured_content is not None, ran.content
    summit = state.accounts[state.users[DEMO_USERS[1]]].company_id
    assert ran.structured_content["output"].strip() == summit

    stored = vault.load()
    assert stored is not None
    assert stored.tokens.access_token != tokens.access_token  # refreshed and written back
    assert stored.tokens.access_token.reveal() in state.tokens
    assert tokens.refresh_token is not None
    assert tokens.refresh_token.reveal() not in state.refresh  # the old one was rotated away


async def test_local_server_without_a_login_tells_the_agent_to_run_codemode_login(
    tmp_path: Path,
) -> None:
    sim = create_app(SimConfig(profiles=4, events=4))
    http = httpx.AsyncClient(transport=Router({"127.0.0.1:9000": sim}), timeout=30)
    settings = Settings(
        base_url=SIM, config_dir=tmp_path / "empty", token_store="file", audit_disabled=True
    )
    built = build_server(settings, transport="memory", http_client=http, log_level="ERROR")
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": SCRIPT})
    text = " ".join(getattr(c, "text", "") for c in ran.content)
    assert "codemode login" in text

"""Secrets: the API key, OAuth tokens and refresh tokens never show up anywhere they could leak.

A canary key (``pk_canary_<random>``) is the server's credential; every kind of tool call runs
(success, an SDK error, a 401 from Klaviyo, a script that raises, a policy refusal, a dry run,
a host-side failure that is logged with its traceback), and the canary is looked for in every
log record (DEBUG and up, with tracebacks), every tool result (text and structured), the audit
database's bytes, and the strings and reprs of the SDK's exceptions and of the objects that hold
the key. The OAuth flow does the same for every token it handles, and its persisted state must
be encrypted and private to the user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import stat
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from codemode import AsyncKlaviyo
from codemode.config import Settings
from codemode.server import DEMO_BASE_URL, KlaviyoCredentials, build_server
from codemode.server.credentials import KeyUser, key_principal
from codemode.simulator import FaultConfig, SimConfig, create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, DEMO_USERS
from tests.server.oauth._support import CLIENT_REDIRECT, SIM, Router, browse
from tests.server.oauth.test_mcp_end_to_end import MemoryStorage, serving

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("ok", {"code": "print(len(klaviyo.lists.get_lists().data) > 0)"}),
    ("sdk_404", {"code": "klaviyo.profiles.get_profile('nope-not-there')"}),
    ("sdk_invalid", {"code": "klaviyo.profiles.get_profiles(page_size='many')"}),
    ("script_raises", {"code": "raise ValueError('boom ' + str(klaviyo))"}),
    (
        "script_caught",
        {
            "code": "try:\n    klaviyo.profiles.get_profile('x')\nexcept Exception as e:\n    print(repr(e), e.args)"
        },
    ),
    (
        "policy",
        {
            "code": "klaviyo.webhooks.create_webhook(name='x', endpoint_url='https://e.example', secret_key='k')"
        },
    ),
    (
        "dry_run",
        {
            "code": "klaviyo.lists.create_list(attributes={'name': 'planned'})\nprint('ok')",
            "dry_run": True,
        },
    ),
    ("probe_key", {"code": "print(klaviyo._caller)"}),
    ("search", {}),
]


def _dump(result: Any) -> str:
    parts = [getattr(c, "text", "") for c in result.content]
    parts.append(json.dumps(result.structured_content, default=str))
    return "\n".join(parts)


def _log_text(records: list[logging.LogRecord]) -> str:
    out = []
    for record in records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info:
            out.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            out.append(record.exc_text)
    return "\n".join(out)


def _everything_in(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_the_api_key_appears_in_no_log_result_audit_row_or_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "pk_canary_" + secrets.token_hex(12)
    rejected = "xk_canary_" + secrets.token_hex(12)  # the demo simulator answers 401 to it
    healthy = create_app(SimConfig(profiles=20, events=50))
    broken = create_app(SimConfig(profiles=5, events=5, faults=FaultConfig(drop_rate=1.0)))
    texts: list[str] = []
    for key, app in ((canary, healthy), (rejected, healthy), (canary, broken)):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=DEMO_BASE_URL)
        settings = Settings(
            api_key=key, base_url=DEMO_BASE_URL, audit_db=tmp_path / "audit.sqlite3"
        )
        built = build_server(settings, transport="memory", http_client=http, log_level="DEBUG")
        texts.append(repr(settings))
        with anyio.fail_after(120):
            async with built.running(), Client(built.mcp) as client:
                for name, args in CALLS:
                    if name == "search":
                        result = await client.call_tool("search_api", {"query": "api key"})
                    else:
                        result = await client.call_tool("execute_code", args)
                    texts.append(_dump(result))
    by_name = dict(zip([n for n, _ in CALLS], texts[1 : 1 + len(CALLS)], strict=True))
    assert '"output": "True' in by_name["ok"]
    assert "NotFoundError" in by_name["sdk_404"] and "PolicyError" in by_name["policy"]
    assert "planned_writes" in by_name["dry_run"] and "ValueError" in by_name["script_raises"]
    assert any("AuthenticationError" in t for t in texts), "the rejected key should give a 401"
    assert any("retry later" in t for t in texts), "the dropped connection should be reported"
    assert any(r.exc_info for r in caplog.records), (
        "the host-side failure is logged with its traceback"
    )

    # The SDK's own exceptions, their reprs and tracebacks, and the objects holding the key.
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=healthy), base_url=DEMO_BASE_URL)
    for key in (canary, rejected):
        async with AsyncKlaviyo(api_key=key, base_url=DEMO_BASE_URL, http_client=http) as k:
            texts.append(repr(k))
            for op, params in (
                ("get_profile", {"id": "nope"}),
                ("get_profiles", {"page_size": "x"}),
            ):
                try:
                    await k.call(op, **params)
                except Exception as exc:
                    texts += [str(exc), repr(exc), json.dumps(getattr(exc, "to_dict", dict)())]
                    texts.append("".join(traceback.format_exception(exc)))
    await http.aclose()
    texts += [repr(KlaviyoCredentials(principal="p", api_key=canary)), repr(KeyUser(canary))]

    haystack = "\n".join(texts) + _log_text(caplog.records) + caplog.text
    stored = _everything_in(tmp_path)
    # positive controls: what was searched really holds the runs (fingerprints, not keys)
    assert key_principal(canary).encode() in stored and key_principal(rejected).encode() in stored
    assert {r.name for r in caplog.records} >= {"httpx", "codemode.sandbox"}
    for secret in (canary, rejected):
        assert secret not in haystack
        assert secret.encode() not in stored
        assert secret[3:].encode() not in stored  # not even without its prefix


async def test_oauth_tokens_appear_in_no_log_result_or_audit_row_and_persist_only_encrypted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = create_app(SimConfig(profiles=8, events=10))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    oauth_key = secrets.token_urlsafe(32)
    settings = Settings(
        base_url=SIM,
        oauth_client_id=DEMO_OAUTH_CLIENT,
        oauth_client_secret=DEMO_OAUTH_SECRET,
        oauth_key=oauth_key,
        state_dir=tmp_path / "state",
        host="127.0.0.1",
        port=port,
        audit_db=tmp_path / "audit.sqlite3",
    )
    upstream = httpx.AsyncClient(transport=Router({"127.0.0.1:9000": sim}), timeout=30)
    built = build_server(settings, transport="http", http_client=upstream, log_level="DEBUG")
    results: list[str] = []
    storage = MemoryStorage()
    codes: asyncio.Queue[AuthorizationCodeResult] = asyncio.Queue()
    browser = httpx.AsyncClient(
        transport=Router({"127.0.0.1:9000": sim}, fallback=httpx.AsyncHTTPTransport()), timeout=30
    )

    async def redirect_handler(authorization_url: str) -> None:
        final = await browse(
            browser, authorization_url, stop_at=CLIENT_REDIRECT, user=DEMO_USERS[0]
        )
        query = parse_qs(final.query.decode())
        codes.put_nowait(AuthorizationCodeResult(code=query["code"][0], state=query["state"][0]))

    async def callback_handler() -> AuthorizationCodeResult:
        return await asyncio.wait_for(codes.get(), 30)

    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata.model_validate(
            {
                "redirect_uris": [CLIENT_REDIRECT],
                "client_name": "canary agent",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    with anyio.fail_after(120):
        async with serving(sock, built.http_app()), browser:
            raw = httpx2.AsyncClient(auth=auth, timeout=30)
            async with raw, Client(streamable_http_client(url, http_client=raw)) as client:  # type: ignore[arg-type]
                for _, args in CALLS[:-1]:
                    results.append(_dump(await client.call_tool("execute_code", args)))
    state = sim.state.sim
    assert storage.tokens is not None and storage.tokens.refresh_token
    secrets_seen = {
        storage.tokens.access_token,
        storage.tokens.refresh_token,
        *state.tokens,  # Klaviyo's access tokens held by our server
        *state.refresh,  # and Klaviyo's refresh tokens
        DEMO_OAUTH_SECRET,
        oauth_key,
    }
    assert len(secrets_seen) >= 5
    assert '"output": "True' in results[0]

    haystack = "\n".join(results) + _log_text(caplog.records) + caplog.text
    audit = (tmp_path / "audit.sqlite3").read_bytes()
    state_file = tmp_path / "state" / "oauth-state.db"
    persisted = state_file.read_bytes()
    for secret in secrets_seen:
        assert secret not in haystack
        assert secret.encode() not in audit
        assert secret.encode() not in persisted
    assert b"refresh_token" not in persisted  # encrypted, not merely without the values
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) & 0o077 == 0
    assert b"oauth:" in audit + _everything_in(tmp_path)  # the runs were audited, by subject


class EchoingProxy(httpx.AsyncBaseTransport):
    """A misbehaving hop in front of Klaviyo that echoes the request's Authorization header
    into every JSON:API answer (a debugging proxy, a broken gateway)."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = json.loads(await response.aread() or b"null")
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            for record in body["data"]:
                record.setdefault("attributes", {})["debug"] = request.headers["authorization"]
        return httpx.Response(response.status_code, json=body, request=request)


async def test_a_key_echoed_back_by_the_upstream_is_redacted_before_the_script_sees_it(
    tmp_path: Path,
) -> None:
    canary = "pk_canary_" + secrets.token_hex(12)
    sim = create_app(SimConfig(profiles=5, events=5))
    http = httpx.AsyncClient(transport=EchoingProxy(sim), base_url=DEMO_BASE_URL)
    settings = Settings(api_key=canary, base_url=DEMO_BASE_URL, audit_db=tmp_path / "audit.db")
    built = build_server(settings, transport="memory", http_client=http, log_level="ERROR")
    script = "lists = klaviyo.lists.get_lists()\nprint([r['debug'] for r in lists.data][:1])"
    with anyio.fail_after(60):
        async with built.running(), Client(built.mcp) as client:
            result = await client.call_tool("execute_code", {"code": script})
    text = _dump(result)
    assert "Klaviyo-API-Key" in text  # the echo reached the script...
    assert canary not in text  # ...without the key itself


def test_the_local_login_file_holds_no_token_in_clear_and_is_refused_once_others_can_read_it(
    tmp_path: Path,
) -> None:
    from codemode.server.oauth import InsecureFileError, Secret
    from codemode.server.oauth.upstream import UpstreamTokens
    from codemode.server.oauth.vault import FileVault, StoredLogin

    access, refresh = "at_canary_" + secrets.token_hex(16), "rt_canary_" + secrets.token_hex(16)
    tokens = UpstreamTokens(Secret(access), Secret(refresh), expires_at=1e12, scopes=("a:read",))
    login = StoredLogin(tokens, base_url="https://a.klaviyo.com", client_id="c", created_at=0.0)
    vault = FileVault(tmp_path / "codemode")
    vault.save(login)
    assert access not in repr(login) and refresh not in repr(tokens)

    for path in (vault.path, vault.key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    raw = vault.path.read_bytes()
    assert access.encode() not in raw and refresh.encode() not in raw
    assert b"refresh_token" not in raw
    loaded = vault.load()
    assert loaded is not None and loaded.tokens.refresh_token == Secret(refresh)

    for path in (vault.path, vault.key_path):
        path.chmod(0o644)
        with pytest.raises(InsecureFileError) as refused:
            vault.load()
        assert "chmod 600" in str(refused.value) and access not in str(refused.value)
        path.chmod(0o600)

"""Red team of the HTTP server, written as an outsider attacks it: each attack, its precise outcome.

The server here is the real one (uvicorn on loopback, the official MCP client or raw HTTP) in
front of a *strict* simulator that accepts only the account's real private key, as Klaviyo does.
Attacks: made-up ``pk_`` keys (one, many, concurrent, with OAuth configured), session floods,
unknown and missing session ids, fresh-session-per-run rate evasion, one principal starving the
others, store floods, and oversized requests.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from codemode.config import Settings
from codemode.server import CodemodeServer, build_server, key_principal
from codemode.simulator import SimConfig, create_app
from codemode.simulator.config import DEMO_PRIVATE_KEY
from tests.server.conftest import http_client, serving, text_of

CANARY = "pk_canary_" + "c" * 24  # never valid; must appear nowhere in answers or the audit log
REAL = DEMO_PRIVATE_KEY
ACCEPT = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "attacker", "version": "1"},
    },
}
MODERN = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28"}


@pytest.fixture(scope="module")
def strict_sim() -> Any:
    """A simulator that, like Klaviyo, accepts only the account's own private key."""
    return create_app(SimConfig(profiles=20, events=40, demo=False))


def _server(strict_sim: Any, tmp_path: Path, **overrides: Any) -> CodemodeServer:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=strict_sim), base_url="http://simulator"
    )
    options: dict[str, Any] = {
        "demo": False,
        "base_url": "http://simulator",
        "transport": "http",
        "audit_db": tmp_path / "audit.sqlite3",
        **overrides,
    }
    return build_server(
        Settings(**options), transport="http", http_client=client, log_level="ERROR"
    )


@asynccontextmanager
async def _raw(built: CodemodeServer) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    async with serving(built.http_app()) as url, httpx.AsyncClient(timeout=20) as raw:
        yield url, raw


OTHER = "pk_second_user_key_000000000"


def _whole(key: str) -> str:
    """An allow-list entry naming ``key`` by its whole SHA-256 (admitted with no Klaviyo call)."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _two_users(strict_sim: Any, tmp_path: Path, **overrides: Any) -> CodemodeServer:
    """A server that admits exactly the real key and one other user's key (no Klaviyo check)."""
    allowed = (_whole(REAL), _whole(OTHER))
    return _server(
        strict_sim, tmp_path, api_keys="allowlist", allowed_principals=allowed, **overrides
    )


def _key(key: str) -> dict[str, Any]:
    value = f"Klaviyo-API-Key {key}"
    return {"authorization": value if value.isascii() else value.encode()}


def _tool_call(code: str, **args: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "execute_code", "arguments": {"code": code, **args}},
    }


def _keys_seen(built: CodemodeServer) -> int:
    """Runs in the audit log (read after the server closed it)."""
    from codemode.audit import AuditLog

    path = built.runtime.settings.audit_db
    if path is None or not path.exists():
        return 0
    log = AuditLog(path)
    try:
        return len(log.rows())
    finally:
        log.close()


# -- made-up keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fake",
    [
        "pk_made_up_0000000000000000",
        "pk_" + "a" * 40,
        "pk_x",
        CANARY,
        "pk_\u00e9t\u00e9",  # sent as UTF-8 bytes in the header below
    ],
)
async def test_a_made_up_private_key_is_not_a_login(
    strict_sim: Any, tmp_path: Path, fake: str
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        opened = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(fake)})
        ran = await raw.post(url, json=_tool_call("print(1)"), headers={**MODERN, **_key(fake)})
    for answer in (opened, ran):
        assert answer.status_code == 401
        description = answer.json()["error_description"]
        if fake.isascii():
            assert "Klaviyo rejected this API key" in description
        else:  # not even a well-formed key: refused before Klaviyo is asked
            assert "authentication required" in description
        assert fake not in answer.text
    assert _keys_seen(built) == 0  # no script ran for a key Klaviyo never accepted


async def test_a_script_that_makes_no_sdk_call_does_not_run_for_a_fake_key(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path)
    spin = "while True:\n    pass\n"
    async with _raw(built) as (url, raw):
        answers = [
            await raw.post(url, json=_tool_call(spin), headers={**MODERN, **_key(CANARY)})
            for _ in range(5)
        ]
    assert [a.status_code for a in answers] == [401] * 5
    assert await built.runtime.admission.store.held() == 0 and _keys_seen(built) == 0


async def test_a_rejected_key_is_asked_about_once_then_answered_from_the_cache(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        for _ in range(6):
            answer = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(CANARY)})
            assert answer.status_code == 401
    assert gate() == 1


async def test_many_fake_keys_from_one_address_stop_costing_klaviyo_calls(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        answers = [
            await raw.post(url, json=INIT, headers={**ACCEPT, **_key(f"pk_fake_{n:04d}")})
            for n in range(40)
        ]
        real = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
    assert all(a.status_code == 401 for a in answers)
    assert gate() <= 11, "a source flooding fake keys must stop making the server ask Klaviyo"
    assert "too many rejected API keys" in answers[-1].json()["error_description"]
    # The budget is per source address: the flood used it up for this address, so even a real
    # key from it waits (honest: the address is slowed down, not the key).
    assert real.status_code == 401 and "retry after" in real.json()["error_description"]


async def test_concurrent_first_requests_with_one_key_share_one_verification(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        codes: list[int] = []

        async def one() -> None:
            answer = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
            codes.append(answer.status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(one)
    assert codes == [200] * 8
    assert gate() == 1


async def test_with_oauth_configured_a_made_up_key_is_still_refused(
    strict_sim: Any, tmp_path: Path
) -> None:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=strict_sim), base_url="http://simulator"
    )
    settings = Settings(  # a loopback base URL: the simulator's pre-registered OAuth app
        demo=False,
        base_url="http://127.0.0.1:1",
        audit_disabled=True,
        transport="http",
        host="127.0.0.1",
        state_dir=tmp_path,
    )
    built = build_server(settings, http_client=client, oauth=True, log_level="ERROR")
    async with _raw(built) as (url, raw):
        fake = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(CANARY)})
        real = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
    assert fake.status_code == 401 and "rejected" in fake.json()["error_description"]
    assert real.status_code == 200


@pytest.mark.parametrize(
    ("mode", "allowed", "expected"),
    [
        ("allowlist", (), "CODEMODE_ALLOWED_PRINCIPALS"),
        ("allowlist", ("key:000000000000",), "CODEMODE_ALLOWED_PRINCIPALS"),
        ("off", (), "OAuth"),
    ],
)
async def test_a_real_key_outside_the_operators_rule_is_refused_without_asking_klaviyo(
    strict_sim: Any, tmp_path: Path, mode: str, allowed: tuple[str, ...], expected: str
) -> None:
    built = _server(strict_sim, tmp_path, api_keys=mode, allowed_principals=allowed)
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
    assert answer.status_code == 401 and expected in answer.json()["error_description"]
    assert gate() == 0


async def test_an_allow_listed_key_gets_in_without_a_klaviyo_call(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path, api_keys="allowlist", allowed_principals=(_whole(REAL),))
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
    assert answer.status_code == 200 and gate() == 0


async def test_a_key_allow_listed_by_its_principal_is_checked_with_klaviyo_once(
    strict_sim: Any, tmp_path: Path
) -> None:
    # 48 bits of the hash can be ground: such an entry admits a key only once Klaviyo knows it.
    built = _server(
        strict_sim, tmp_path, api_keys="allowlist", allowed_principals=(key_principal(REAL),)
    )
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        first = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
        again = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
    assert first.status_code == 200 and again.status_code == 200 and gate() == 1


@pytest.mark.parametrize(
    "header",
    [
        {"authorization": "Klaviyo-API-Key pk_" + "a" * 300},
        {"authorization": "Klaviyo-API-Key pk_a b"},
        {"x-klaviyo-api-key": "sk_not_private"},
        {"authorization": "Bearer pk_real_looking"},
        {"authorization": "Basic cGtfYTpi"},
    ],
)
async def test_malformed_credentials_get_401_saying_how_to_authenticate(
    strict_sim: Any, tmp_path: Path, header: dict[str, str]
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        gate = _gate(built, url)
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, **header})
    assert answer.status_code == 401 and "Klaviyo-API-Key" in answer.text
    assert gate() == 0


def _gate(built: CodemodeServer, url: str) -> Any:
    """How many times the running app asked Klaviyo about a key so far (read when called)."""
    del url
    return lambda: built.key_gate.verifications if built.key_gate is not None else 0


# -- session floods -----------------------------------------------------------------------------


async def _open(raw: httpx.AsyncClient, url: str, key: str) -> httpx.Response:
    return await raw.post(url, json=INIT, headers={**ACCEPT, **_key(key)})


async def test_one_principal_flooding_sessions_is_capped_and_others_still_open_theirs(
    strict_sim: Any, tmp_path: Path
) -> None:
    other = OTHER
    built = _two_users(strict_sim, tmp_path, sessions_per_principal=5)
    async with _raw(built) as (url, raw):
        flood = [await _open(raw, url, REAL) for _ in range(12)]
        theirs = await _open(raw, url, other)
    codes = [a.status_code for a in flood]
    assert codes == [200] * 5 + [429] * 7
    refused = flood[-1]
    assert int(refused.headers["retry-after"]) >= 1
    message = refused.json()["error"]["message"]
    assert "too many open MCP sessions for you (5)" in message and "DELETE" in message
    assert theirs.status_code == 200


async def test_ending_a_session_frees_its_place_under_the_cap(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path, sessions_per_principal=2)
    async with _raw(built) as (url, raw):
        first = await _open(raw, url, REAL)
        await _open(raw, url, REAL)
        assert (await _open(raw, url, REAL)).status_code == 429
        ended = await raw.delete(
            url,
            headers={**ACCEPT, **_key(REAL), "mcp-session-id": first.headers["mcp-session-id"]},
        )
        again = await _open(raw, url, REAL)
    assert ended.status_code in (200, 204)
    assert again.status_code == 200


@pytest.mark.parametrize(
    "session_id",
    ["0" * 32, "../../etc/passwd", "a" * 4000, "[red]x[/red]", secrets.token_hex(16)],
)
async def test_an_unknown_session_id_is_not_found_and_opens_nothing(
    strict_sim: Any, tmp_path: Path, session_id: str
) -> None:
    built = _server(strict_sim, tmp_path)
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    async with _raw(built) as (url, raw):
        answer = await raw.post(
            url, json=listing, headers={**ACCEPT, **_key(REAL), "mcp-session-id": session_id}
        )
        open_now = _open_sessions(built)
    assert answer.status_code == 404 and "Session not found" in answer.text
    assert open_now == 0


def _open_sessions(built: CodemodeServer) -> int:
    import gc

    from codemode.server.mcp_sessions import PrincipalSessionManager

    managers = [o for o in gc.get_objects() if isinstance(o, PrincipalSessionManager)]
    return sum(len(m._principals) for m in managers if m.app is built.mcp._lowlevel_server)


async def test_a_request_body_far_larger_than_any_script_is_refused_unread(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path, code_bytes=4096)
    huge = _tool_call("x = 1\n" * 200_000)  # ~1.2 MB of code against a 4 KB script limit
    async with _raw(built) as (url, raw):
        answer = await raw.post(url, json=huge, headers={**MODERN, **_key(REAL)})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == -32600 and "4" in answer.json()["error"]["message"]
    assert _keys_seen(built) == 0


# -- limits keyed by principal ------------------------------------------------------------------


@pytest.mark.parametrize("session_trick", ["none", "random", "fixed"])
async def test_fresh_or_made_up_sessions_do_not_reset_the_principals_run_budget(
    strict_sim: Any, tmp_path: Path, session_trick: str
) -> None:
    built = _server(strict_sim, tmp_path, rate_per_min=3)
    results = []
    async with serving(built.http_app()) as url, http_client(url, _key(REAL)) as client:
        for _ in range(5):
            args: dict[str, Any] = {"code": "print(1)"}
            if session_trick == "random":
                args["session"] = "s" + secrets.token_hex(16)
            elif session_trick == "fixed":
                args["session"] = "s" + "0" * 32
            results.append(await client.call_tool("execute_code", args))
    errors = [r.structured_content["error"] if r.structured_content else None for r in results]
    assert errors[:3] == [None, None, None]
    for error in errors[3:]:
        assert error is not None and error["type"] == "RateLimited"
        assert error["retry_after"] >= 1 and "per user" in error["message"]


async def test_one_principal_busy_looping_cannot_keep_another_from_a_worker(
    strict_sim: Any, tmp_path: Path
) -> None:
    other = OTHER
    built = _two_users(strict_sim, tmp_path, max_workers=2, queue_s=0.5, cpu_s=5.0, timeout_s=5.0)
    spin = "while True:\n    pass\n"
    outcomes: list[dict[str, Any] | None] = []
    async with serving(built.http_app()) as url:

        async def flood() -> None:
            async with http_client(url, _key(REAL)) as client:
                ran = await client.call_tool("execute_code", {"code": spin})
                outcomes.append(ran.structured_content)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(flood)
                while await built.runtime.admission.store.held(key_principal(REAL)) < 1:
                    await anyio.sleep(0.05)
                async with http_client(url, _key(other)) as victim:
                    fair = await victim.call_tool("execute_code", {"code": "print('served')"})
                tg.cancel_scope.cancel()
    assert fair.structured_content is not None, text_of(fair)
    assert fair.structured_content["error"] is None, text_of(fair)
    assert fair.structured_content["output"].strip() == "served"
    # The flooder's share is one of the two workers: its extra runs waited, then were told.
    busy = [o for o in outcomes if o and o["error"] and o["error"]["type"] == "Busy"]
    assert all(o["error"]["retry_after"] >= 1 for o in busy)


async def test_a_principal_past_its_cpu_seconds_is_told_when_to_retry(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path, cpu_s=1.0, cpu_quota_s=0.5)
    spin = "while True:\n    pass\n"
    async with serving(built.http_app()) as url, http_client(url, _key(REAL)) as client:
        with anyio.fail_after(60):
            first = await client.call_tool("execute_code", {"code": spin})
            second = await client.call_tool("execute_code", {"code": "print(1)"})
    assert first.structured_content is not None
    assert first.structured_content["error"]["type"] == "LimitError"
    assert second.structured_content is not None
    error = second.structured_content["error"]
    assert error["type"] == "RateLimited" and "CPU quota" in error["message"]
    assert error["retry_after"] >= 1


# -- the store pool -----------------------------------------------------------------------------


async def test_one_principal_filling_stores_evicts_only_its_own(
    strict_sim: Any, tmp_path: Path
) -> None:
    other = OTHER
    built = _two_users(strict_sim, tmp_path, principal_stores=3)
    async with serving(built.http_app()) as url:
        async with http_client(url, _key(other)) as victim:
            kept = await victim.call_tool("execute_code", {"code": "store['mine'] = 42"})
            assert kept.structured_content is not None
            victim_session = kept.structured_content["session"]
        async with http_client(url, _key(REAL)) as attacker:
            for n in range(20):
                await attacker.call_tool("execute_code", {"code": f"store['n'] = {n}"})
        async with http_client(url, _key(other)) as victim:
            back = await victim.call_tool(
                "execute_code", {"code": "print(store.get('mine'))", "session": victim_session}
            )
    assert back.structured_content is not None and back.structured_content["output"].strip() == "42"
    assert (await built.runtime.stores.usage(key_principal(REAL)))[0] == 3


async def test_big_stores_count_against_the_principals_bytes_only(
    strict_sim: Any, tmp_path: Path
) -> None:
    built = _server(strict_sim, tmp_path, principal_store_bytes=50_000, store_bytes=40_000)
    code = "store['blob'] = 'x' * 30000\nprint('ok')"
    async with serving(built.http_app()) as url, http_client(url, _key(REAL)) as client:
        for _ in range(6):
            await client.call_tool("execute_code", {"code": code})
        too_big = await client.call_tool(
            "execute_code", {"code": "store['blob'] = 'x' * 45000\nprint('ok')"}
        )
    count, size = await built.runtime.stores.usage(key_principal(REAL))
    assert count == 1 and size <= 50_000
    # A store over the size of one is refused by the sandbox itself, naming the limit.
    assert too_big.structured_content is not None
    error = too_big.structured_content["error"]
    assert error["type"] == "StoreError" and "40000 bytes" in error["message"]

"""Outsider red team, round 12: who may run, and as whom, on the HTTP server.

Written from docs/security.md ("Which principals may run code", "Tenants on one HTTP server")
before reading the server's code. The server is the real one on loopback in front of a strict
simulator (only the account's real key is a login), reached with raw HTTP. Attacks:

1. Klaviyo unable to judge a made-up key (429, 500, 503, a timeout, a refused connection) while
   the server verifies it: the key must not run code (fail closed), under ``verify`` and under an
   allow list naming a principal (``key:<12 hex>``), and must still be refused once Klaviyo
   answers again (no verdict cached from the outage);
2. the credential in places that are not a credential: the URL's query string, a cookie, a
   ``Proxy-Authorization`` header, the tool's arguments;
3. an admitted key's header respelt (another scheme's case, padding, a second scheme name) does
   not become a different, unverified principal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from codemode.server import key_principal
from tests.server.test_redteam_http import (
    ACCEPT,
    INIT,
    MODERN,
    REAL,
    _key,
    _keys_seen,
    _raw,
    _server,
    _tool_call,
)
from tests.server.test_redteam_http import strict_sim as strict_sim
from tests.server.test_replicas import shared_state as shared_state

FAKE = "pk_made_up_round12_000000000000"


class Outage(httpx.AsyncBaseTransport):
    """The strict simulator behind a switch: while ``down``, every request fails as ``how``."""

    def __init__(self, app: Any, how: str) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.how = how
        self.down = True
        self.asked = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.down:
            if self.how == "timeout":
                raise httpx.ReadTimeout("upstream timed out", request=request)
            if self.how == "refused":
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(int(self.how), json={"errors": []}, request=request)
        return await self.inner.handle_async_request(request)


def _outage_server(sim: Any, tmp_path: Path, how: str, **overrides: Any) -> tuple[Any, Outage]:
    from codemode.config import Settings
    from codemode.server import build_server

    transport = Outage(sim, how)
    client = httpx.AsyncClient(transport=transport, base_url="http://simulator")
    settings = Settings(
        demo=False,
        base_url="http://simulator",
        transport="http",
        audit_db=tmp_path / "audit.sqlite3",
        **overrides,
    )
    return build_server(
        settings, transport="http", http_client=client, log_level="ERROR"
    ), transport


OUTAGES = ["429", "500", "503", "timeout", "refused"]


@pytest.mark.parametrize("how", OUTAGES)
@pytest.mark.parametrize("mode", ["verify", "allowlist-principal"])
async def test_a_made_up_key_does_not_run_while_klaviyo_cannot_judge_it(
    strict_sim: Any,
    tmp_path: Path,
    how: str,
    mode: str,
) -> None:
    overrides: dict[str, Any] = {}
    if mode == "allowlist-principal":
        overrides = {"api_keys": "allowlist", "allowed_principals": (key_principal(FAKE),)}
    built, upstream = _outage_server(strict_sim, tmp_path, how, **overrides)
    spin = "x = 0\nfor i in range(10**6):\n    x += i\nprint('ran', x)"
    async with _raw(built) as (url, raw):
        during = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(FAKE)})
        ran = await raw.post(url, json=_tool_call(spin), headers={**MODERN, **_key(FAKE)})
        upstream.down = False
        after = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(FAKE)})
    assert during.status_code in (401, 503), (during.status_code, during.text[:300])
    assert ran.status_code in (401, 503) and "ran" not in ran.text
    assert after.status_code == 401, after.text[:300]
    assert _keys_seen(built) == 0


NOT_CREDENTIALS = [
    ({}, {"params": {"api_key": REAL}}),
    ({"cookie": f"api_key={REAL}; klaviyo_api_key={REAL}"}, {}),
    ({"proxy-authorization": f"Klaviyo-API-Key {REAL}"}, {}),
    ({"x-api-key": REAL}, {}),
    ({"klaviyo-api-key": REAL}, {}),
]


@pytest.mark.parametrize("headers,extra", NOT_CREDENTIALS)
async def test_a_key_outside_the_credential_headers_is_no_login(
    strict_sim: Any,
    tmp_path: Path,
    headers: dict[str, str],
    extra: dict[str, Any],
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, **headers}, **extra)
    assert answer.status_code == 401
    assert REAL not in answer.text


async def test_a_key_in_the_tool_arguments_is_not_who_runs(
    strict_sim: Any,
    tmp_path: Path,
) -> None:
    from tests.server.conftest import http_client, serving

    built = _server(strict_sim, tmp_path)
    args = {"code": "print(1)", "api_key": FAKE, "principal": key_principal(FAKE)}
    async with (
        serving(built.http_app()) as url,
        http_client(url, {"X-Klaviyo-API-Key": REAL}) as client,
    ):
        ran = await client.call_tool("execute_code", args)
    assert FAKE not in str(ran.model_dump())
    from codemode.audit import AuditLog

    log = AuditLog(built.runtime.settings.audit_db)
    try:
        principals = {row["principal"] for row in log.rows()}
    finally:
        log.close()
    assert principals == {key_principal(REAL)}


RESPELT = [
    f"klaviyo-api-key {FAKE}",
    f"KLAVIYO-API-KEY {FAKE}",
    f"Klaviyo-API-Key  {FAKE}",
    f"Klaviyo-API-Key\t{FAKE}",
    f"Bearer {FAKE}",
    f"Basic {FAKE}",
    f"Klaviyo-API-Key {REAL} {FAKE}",
    f"Klaviyo-API-Key {REAL},{FAKE}",
    f"Klaviyo-API-Key {FAKE}, Klaviyo-API-Key {REAL}",
]


@pytest.mark.parametrize("value", RESPELT)
async def test_a_respelt_credential_header_is_judged_not_waved_through(
    strict_sim: Any,
    tmp_path: Path,
    value: str,
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        # The real key is admitted first: its verdict is in the cache.
        ok = await raw.post(url, json=INIT, headers={**ACCEPT, **_key(REAL)})
        assert ok.status_code == 200
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, "authorization": value})
    assert answer.status_code in (400, 401), (value, answer.status_code)
    assert FAKE not in answer.text


# 4. the operator's own lists: a misspelt deny entry must not deny nothing in silence.

MISSPELT = [
    "delete_lists",
    "Delete_List",
    "lists.delete_list",
    "klaviyo.lists.delete_list",
    "delete-list",
    "create_list delete_list",
    "delete_list;create_list",
]


@pytest.mark.parametrize("entry", MISSPELT)
@pytest.mark.parametrize("setting", ["deny", "allow"])
def test_a_list_entry_naming_no_action_stops_the_server(
    make_server: Any, entry: str, setting: str
) -> None:
    from codemode.errors import ConfigError

    with pytest.raises(ConfigError, match="names no action, group or kind"):
        make_server(**{setting: (entry,)})


def test_known_ids_groups_and_kinds_still_start_the_server(make_server: Any) -> None:
    built = make_server(deny=("delete_list", "campaigns", "kind:destructive"), allow=("profiles",))
    assert built.runtime.policy.deny == ("delete_list", "campaigns", "kind:destructive")


@pytest.mark.parametrize("entry", ["delete_lists", "kind:destrucive"])
def test_codemode_exec_refuses_a_misspelt_deny_entry_before_running(
    entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from codemode.commands.exec import run_exec

    monkeypatch.setenv("CODEMODE_DENY", entry)
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    assert run_exec(str(script), demo=True) == 2
    out = capsys.readouterr()
    assert "ran" not in out.out and entry in out.err


# 5. another principal's MCP session, across replicas sharing state.


async def _send(
    port: int, key: str, session: str, method: str = "tools/list", verb: str = "POST"
) -> int:
    """The status of one request in ``session`` with ``key`` to the replica on ``port``."""
    import httpx2

    headers = {
        "Authorization": f"Klaviyo-API-Key {key}",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
        "accept": "application/json, text/event-stream",
    }
    body = INIT if method == "initialize" else {"jsonrpc": "2.0", "id": 9, "method": method}
    async with httpx2.AsyncClient(timeout=10) as raw:
        if verb == "DELETE":
            answer = await raw.delete(f"http://127.0.0.1:{port}/mcp", headers=headers)
        else:
            answer = await raw.post(f"http://127.0.0.1:{port}/mcp", json=body, headers=headers)
    return answer.status_code


async def _still_alive(ports: list[int], key: str, session: str) -> None:
    for port in ports:
        assert await _send(port, key, session) == 200, port


@pytest.mark.parametrize("attack", ["delete", "initialize"])
async def test_another_principal_cannot_end_or_take_a_session_on_any_replica(
    make_server: Any, shared_state: Any, attack: str
) -> None:
    """B names A's session id on the replica that opened it and on one that never saw it: a
    ``DELETE`` (it used to erase A's shared record), or an ``initialize`` carrying the id."""
    from tests.server.test_replicas import KEY_A, KEY_B, _open_raw, replicas

    async with replicas(make_server, shared_state) as ports:
        opened = await _open_raw(ports[0], KEY_A)
        for port in (ports[1], ports[0]):
            if attack == "delete":
                assert await _send(port, KEY_B, opened, verb="DELETE") in (401, 403, 404), port
            else:
                await _send(port, KEY_B, opened, method="initialize")
                assert await _send(port, KEY_B, opened) == 404, port
        await _still_alive(ports, KEY_A, opened)


@pytest.mark.parametrize(
    "header",
    [
        {"authorization": f"Klaviyo-API-Key {REAL}"},
        {"x-klaviyo-api-key": REAL},
        {"authorization": f"Bearer {REAL}"},
    ],
    ids=["authorization", "key-header", "bearer"],
)
async def test_with_keys_off_even_the_real_key_is_no_login(
    strict_sim: Any,
    tmp_path: Path,
    header: dict[str, str],
) -> None:
    built = _server(strict_sim, tmp_path, api_keys="off")
    async with _raw(built) as (url, raw):
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, **header})
    assert answer.status_code == 401
    assert REAL not in answer.text


# 6. one confirmation is one call.


async def test_one_confirmed_deletion_does_not_confirm_the_next(make_server: Any) -> None:
    from mcp import Client
    from mcp_types import ElicitResult

    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        if len(asked) == 1:
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    code = (
        "ids = [klaviyo.lists.create_list(attributes={'name': 'r12-%d' % i}).data['id']"
        " for i in range(2)]\n"
        "out = []\n"
        "for i in [ids[0], ids[1], ids[1]]:\n"
        "    try:\n"
        "        klaviyo.lists.delete_list(id=i)\n"
        "        out.append('deleted')\n"
        "    except Exception as e:\n"
        "        out.append(type(e).__name__)\n"
        "print(out)\n"
        "print(len(klaviyo.lists.get_lists(filter=F.equals('name', 'r12-1')).data))\n"
    )
    built = make_server(allow_destructive=True)
    async with built.running(), Client(built.mcp, mode="legacy", elicitation_callback=elicit) as c:
        ran = await c.call_tool("execute_code", {"code": code})
    assert ran.structured_content is not None, ran
    output = ran.structured_content["output"]
    assert output.splitlines()[0].startswith("['deleted', ")
    assert "deleted" not in output.splitlines()[0].split(",", 1)[1]
    assert output.splitlines()[1] == "1"  # the second list is still there
    assert len(asked) == 3


async def test_a_session_ended_on_one_replica_is_ended_on_the_replica_that_adopted_it(
    make_server: Any, shared_state: Any
) -> None:
    from tests.server.test_replicas import KEY_A, _open_raw, replicas

    async with replicas(make_server, shared_state) as ports:
        opened = await _open_raw(ports[0], KEY_A)
        await _still_alive(ports, KEY_A, opened)  # the second replica adopts it
        assert await _send(ports[0], KEY_A, opened, verb="DELETE") == 200
        for port in ports:
            assert await _send(port, KEY_A, opened) == 404, port


@pytest.mark.parametrize("key", ["ABC123", "pk_", "sk_live_0123456789abcdef", "Bearer"])
async def test_a_public_company_id_or_another_kind_of_key_is_no_login(
    strict_sim: Any,
    tmp_path: Path,
    key: str,
) -> None:
    built = _server(strict_sim, tmp_path)
    async with _raw(built) as (url, raw):
        answer = await raw.post(url, json=INIT, headers={**ACCEPT, "x-klaviyo-api-key": key})
        ran = await raw.post(url, json=_tool_call("print(1)"), headers={**MODERN, **_key(key)})
    assert (answer.status_code, ran.status_code) == (401, 401)
    assert _keys_seen(built) == 0

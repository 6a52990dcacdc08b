"""Attacks on dynamic client registration: floods from one address, clients registered and never
used, and a state file that each registration must touch incrementally, off the event loop."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx

from codemode.config import Settings
from codemode.server import build_server
from tests.server.conftest import serving

from ._support import FakeClock, McpClient, build_rig

KEY = b"k" * 40
CLIENT = {
    "redirect_uris": ["http://127.0.0.1:9/cb"],
    "client_name": "flood",
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
}


async def test_a_registration_flood_from_one_address_is_told_to_retry_and_holds_few_clients(
    tmp_path: Path,
) -> None:
    from codemode.simulator import SimConfig, create_app

    sim = create_app(SimConfig(profiles=5, events=5))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://simulator")
    settings = Settings(
        demo=False,
        base_url="http://127.0.0.1:1",
        audit_disabled=True,
        transport="http",
        host="127.0.0.1",
        state_dir=tmp_path,
        register_per_min=5,
    )
    built = build_server(settings, http_client=client, oauth=True, log_level="ERROR")
    assert built.oauth is not None
    async with serving(built.http_app()) as url, httpx.AsyncClient(timeout=10) as raw:
        base = url.removesuffix("/mcp")
        answers = [await raw.post(f"{base}/register", json=CLIENT) for _ in range(30)]
        served = await raw.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    codes = [a.status_code for a in answers]
    assert codes == [201] * 5 + [429] * 25
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert "per minute from one address" in refused.json()["error_description"]
    assert await built.oauth.provider.client_count() == 5
    assert served.status_code == 401  # the server still answers everyone else promptly


async def test_a_client_registered_and_never_used_expires_while_one_in_use_stays() -> None:
    clock = FakeClock()
    rig = build_rig(clock=clock, config={"client_ttl": 3600.0})
    provider = rig.bundle.provider
    async with rig.client() as http:
        idle = McpClient(http)
        await idle.register(name="never used")
        used = McpClient(http)
        await used.register(name="signs in")
        await used.login(http)
    assert await provider.client_count() == 2
    clock.advance(3601)
    assert await provider.get_client(idle.client_id) is None
    assert await provider.get_client(used.client_id) is not None
    assert await provider.client_count() == 1


async def test_concurrent_registrations_are_stored_one_record_each_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    state = tmp_path / "oauth-state.db"
    clock = FakeClock()
    rig = build_rig(clock=clock, config={"state_file": state, "key": KEY})
    ids: list[str] = []

    async def register(n: int) -> None:
        async with rig.client() as http:
            ids.append((await McpClient(http).register(name=f"c{n}"))["client_id"])

    async with anyio.create_task_group() as tg:
        for n in range(12):
            tg.start_soon(register, n)
    await rig.bundle.aclose()
    restarted = build_rig(clock=clock, config={"state_file": state, "key": KEY}, sim=rig.sim)
    for client_id in ids:
        client = await restarted.bundle.provider.get_client(client_id)
        assert client is not None and client.client_name is not None
    # One row per client, not one document: the file holds each client under its own key.
    rows = sqlite3.connect(state).execute("SELECT key FROM kv WHERE key LIKE 'oauth:client:%'")
    assert sorted(r[0].removeprefix("oauth:client:") for r in rows) == sorted(ids)
    await restarted.bundle.aclose()


def test_the_state_file_is_written_in_a_worker_thread_never_on_the_loop(tmp_path: Path) -> None:
    import threading

    from codemode.state import SqliteKeyValue

    kv = SqliteKeyValue(tmp_path / "s.db")
    threads: list[str] = []
    real = kv._db

    class Spy:
        def execute(self, *args: Any) -> Any:
            threads.append(threading.current_thread().name)
            return real.execute(*args)

        def close(self) -> None:
            real.close()

    kv._db = Spy()  # type: ignore[assignment]

    async def main() -> None:
        await kv.set("oauth:client:x", b"v", ttl_s=60)
        assert await kv.get("oauth:client:x") == b"v"
        await kv.aclose()

    anyio.run(main)
    loop_thread = threading.main_thread().name
    assert threads and loop_thread not in threads

"""Attacks on dynamic client registration: floods from one address, clients registered and never
used, and a state file that must not be rewritten on the event loop for each registration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx

from codemode.config import Settings
from codemode.server import build_server
from codemode.server.oauth.grants import GrantStore
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
    assert len(built.oauth.provider.grants.clients) == 5
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
    clock.advance(3601)
    await provider.sweep()
    assert idle.client_id not in provider.grants.clients
    assert used.client_id in provider.grants.clients
    assert await provider.get_client(idle.client_id) is None


async def test_concurrent_registrations_are_written_off_the_loop_and_all_survive_a_restart(
    tmp_path: Path,
) -> None:
    state = tmp_path / "oauth-state.enc"
    clock = FakeClock()
    rig = build_rig(clock=clock, config={"state_file": state, "key": KEY})
    ids: list[str] = []

    async def register(n: int) -> None:
        async with rig.client() as http:
            ids.append((await McpClient(http).register(name=f"c{n}"))["client_id"])

    async with anyio.create_task_group() as tg:
        for n in range(12):
            tg.start_soon(register, n)
    restarted = _reload(rig, state, clock)
    assert set(ids) <= set(restarted.clients)


def _reload(rig: Any, state: Path, clock: FakeClock) -> GrantStore:
    from codemode.server.oauth._secrets import SecretBox

    return GrantStore(
        rig.bundle.provider.grants.upstream,
        clock=clock,
        path=state,
        box=SecretBox.from_material(KEY),
    )

"""Two replicas of the OAuth front behind one address, sharing state: the embedded default (one
in-process store) and a real Redis server.

Each replica is its own :func:`build_oauth` bundle with its own routes, provider and caches; the
only thing they share is the state backend (and, as real replicas do, ``CODEMODE_OAUTH_KEY``). A
balancer in front sends each request where the test says: alternately, or to one named replica.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from starlette.types import Receive, Scope, Send

from codemode.server.oauth import OAuthBundle, OAuthConfig, build_oauth
from codemode.server.registration import RegistrationThrottle
from codemode.simulator.app import create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, DEMO_USERS, SimConfig
from codemode.state import MemoryKeyValue, StateBackend, open_state

from ._support import (
    SCOPES,
    SERVER,
    SIM,
    FakeClock,
    McpClient,
    Rig,
    Router,
    browse,
    pkce,
    protected_app,
)

KEY = b"replica-shared-oauth-key-0123456789abcdef"


class Balancer:
    """One address in front of the replicas: round robin, or pinned to one replica."""

    def __init__(self, apps: list[Any]) -> None:
        self.apps = apps
        self.pinned: int | None = None
        self.sent: list[int] = []
        self._next = itertools.cycle(range(len(apps)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        index = next(self._next) if self.pinned is None else self.pinned
        if scope["type"] == "http":
            self.sent.append(index)
        await self.apps[index](scope, receive, send)

    @property
    def a(self) -> Balancer:
        self.pinned = 0
        return self

    @property
    def b(self) -> Balancer:
        self.pinned = 1
        return self


@dataclass
class Pair:
    rigs: list[Rig]
    lb: Balancer
    state: StateBackend

    @property
    def sim_state(self) -> Any:
        return self.rigs[0].sim_state

    def client(self) -> httpx.AsyncClient:
        return self.rigs[0].client()

    def pin(self, replica: int | None) -> None:
        self.lb.pinned = replica


def _pair(make_state: Callable[[], StateBackend]) -> Pair:
    clock = FakeClock()
    sim = create_app(SimConfig(profiles=8, events=10, clock=clock))
    router = Router({})
    router.add(SIM, sim)
    http = httpx.AsyncClient(transport=router, timeout=10.0)
    config = OAuthConfig(
        client_id=DEMO_OAUTH_CLIENT,
        client_secret=DEMO_OAUTH_SECRET,
        server_url=SERVER,
        base_url=SIM,
        scopes=SCOPES,
        token_ttl=600,
        key=KEY,
    )
    rigs: list[Rig] = []
    state = make_state()
    for _ in range(2):
        bundle: OAuthBundle = build_oauth(config, http_client=http, clock=clock, state=state)
        rigs.append(Rig(clock=clock, sim=sim, bundle=bundle, router=router, http=http))
    lb = Balancer([protected_app(rig) for rig in rigs])
    router.add(SERVER, lb)
    return Pair(rigs=rigs, lb=lb, state=state)


@pytest.fixture(params=["embedded", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    if request.param == "embedded":  # two replicas in one process sharing the embedded store
        kv = MemoryKeyValue()
        built = _pair(lambda: StateBackend(url="memory://", kv=kv, shared=True))
    else:
        url = request.getfixturevalue("clean_redis")
        built = _pair(lambda: open_state(url))
    yield built
    await built.rigs[0].http.aclose()
    await built.state.aclose()


async def _code(pair: Pair, client: McpClient, http: httpx.AsyncClient) -> tuple[str, str]:
    """Run the browser part of a login; returns our code and its PKCE verifier."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(8)
    final = await browse(http, client.authorize_url(challenge, state), stop_at=client.redirect_uri)
    query = parse_qs(final.query.decode())
    assert query["state"] == [state], query
    return query["code"][0], verifier


async def _redeem(client: McpClient, code: str, verifier: str) -> httpx.Response:
    return await client.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=client.redirect_uri,
        code_verifier=verifier,
        resource=f"{SERVER}/mcp",
    )


async def test_a_whole_login_alternating_between_replicas_works(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register()  # replica A keeps the client; B reads it
        tokens = await client.login(http, user=DEMO_USERS[1])  # every step on the other one
        seen = [(await client.call(tokens["access_token"])).json() for _ in range(2)]
    assert set(pair.lb.sent) == {0, 1}
    summit = pair.sim_state.accounts[pair.sim_state.users[DEMO_USERS[1]]].company_id
    assert [s["account"] for s in seen] == [summit, summit]


async def test_a_code_issued_by_a_is_redeemed_once_on_b_and_never_twice(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register()
        pair.pin(0)
        code, verifier = await _code(pair, client, http)
        pair.pin(1)
        first = await _redeem(client, code, verifier)
        again_b = await _redeem(client, code, verifier)
        pair.pin(0)
        again_a = await _redeem(client, code, verifier)
    assert first.status_code == 200, first.text
    for again in (again_b, again_a):
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"


async def test_one_code_redeemed_at_once_on_both_replicas_gives_tokens_to_one(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register()
        pair.pin(0)
        code, verifier = await _code(pair, client, http)
        pair.pin(None)  # round robin: the concurrent requests go to A and B
        answers = await asyncio.gather(*(_redeem(client, code, verifier) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 5


async def test_a_token_revoked_on_a_fails_on_b(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        pair.pin(1)
        assert (await client.call(tokens["access_token"])).status_code == 200
        pair.pin(0)
        revoked = await http.post(
            f"{SERVER}/revoke",
            data={
                "token": tokens["refresh_token"],
                "client_id": client.client_id,
                "client_secret": "",
            },
        )
        assert revoked.status_code == 200
        pair.pin(1)
        assert (await client.call(tokens["access_token"])).status_code == 401
        refresh = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refresh.status_code == 400
    assert len(pair.sim_state.refresh) == 0  # Klaviyo's refresh token was revoked too


async def test_a_refresh_token_rotated_on_a_and_replayed_on_b_ends_the_login(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        pair.pin(0)
        rotated = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert rotated.status_code == 200
        pair.pin(1)
        replay = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert replay.status_code == 400
        pair.pin(0)
        assert (await client.call(rotated.json()["access_token"])).status_code == 401


async def test_klaviyo_tokens_expiring_are_refreshed_once_across_replicas(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
    subject = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    pair.rigs[0].clock.advance(3601)  # Klaviyo's access token has expired
    fresh = await asyncio.gather(
        *(pair.rigs[n % 2].bundle.grants.access_token(subject) for n in range(6))
    )
    assert len({token.reveal() for token in fresh}) == 1
    assert len(pair.sim_state.refresh) == 1  # a second refresh would have spent a rotated token


async def test_nothing_secret_is_stored_in_clear(pair: Pair) -> None:
    async with pair.client() as http:
        client = McpClient(http)
        await client.register(auth_method="client_secret_post")
        code, verifier = await _code(pair, client, http)
        await pair.rigs[0].bundle.provider.load_authorization_code(
            await _client(pair, client.client_id), code
        )  # the code is live in the state while we look
        stored = await _dump(pair)
        tokens = (await _redeem(client, code, verifier)).json()
        assert (await client.call(tokens["access_token"])).status_code == 200
        stored += await _dump(pair)
    upstream = pair.rigs[0].seen_upstream_tokens[-1]
    grant = await pair.rigs[0].bundle.grants.get(
        jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    )
    assert grant is not None and grant.tokens.refresh_token is not None
    secrets_ = [
        upstream,
        grant.tokens.refresh_token.reveal(),
        tokens["refresh_token"],
        tokens["access_token"],
        code,
        verifier,
        client.client_secret or "missing",
    ]
    assert stored
    for secret in secrets_:
        assert secret.encode() not in stored
    assert b"refresh_token" not in stored and b"client_secret" not in stored


async def _client(pair: Pair, client_id: str) -> Any:
    found = await pair.rigs[1].bundle.provider.get_client(client_id)
    assert found is not None
    return found


async def _dump(pair: Pair) -> bytes:
    """Every key and value the replicas wrote to the shared state."""
    kv = pair.state.kv
    if isinstance(kv, MemoryKeyValue):
        keys = kv.keys()
        values = [await kv.get(k) or b"" for k in keys]
        return b"\n".join([*(k.encode() for k in keys), *values])
    import redis

    assert pair.state.url.startswith("unix://")
    raw = redis.Redis.from_url(pair.state.url)
    try:
        keys = list(raw.scan_iter("*"))
        assert all(k.startswith(b"codemode:oauth:") for k in keys), keys
        assert all(raw.pttl(k) > 0 for k in keys), "every key expires"
        values = [raw.get(k) or b"" for k in keys if raw.type(k) == b"string"]
        return b"\n".join([*keys, *values])
    finally:
        raw.close()


async def test_registrations_are_counted_once_across_replicas(pair: Pair) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    replicas = [RegistrationThrottle(app, per_minute=4, kv=pair.state.kv) for _ in range(2)]
    transports = [httpx.ASGITransport(app=r, client=("203.0.113.7", 1234)) for r in replicas]
    codes = []
    for n in range(10):
        async with httpx.AsyncClient(transport=transports[n % 2], base_url=SERVER) as http:
            codes.append((await http.post("/register", json={})).status_code)
    assert codes == [201] * 4 + [429] * 6


async def test_servers_built_with_shared_state_register_clients_for_each_other(
    clean_redis: str, tmp_path: Path
) -> None:
    from codemode.config import Settings
    from codemode.server import build_server

    settings = Settings(
        demo=False,
        base_url="http://127.0.0.1:1",
        audit_disabled=True,
        transport="http",
        host="127.0.0.1",
        state_dir=tmp_path,
        state_url=clean_redis,
        oauth_key="k" * 40,
    )
    built = [build_server(settings, oauth=True, log_level="ERROR") for _ in range(2)]
    apps = [b.http_app() for b in built]
    body = {"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0])) as on_a:
        registered = await on_a.post("http://127.0.0.1:8000/register", json=body)
    assert registered.status_code == 201, registered.text
    assert built[1].oauth is not None
    client_id = registered.json()["client_id"]
    assert await built[1].oauth.provider.get_client(client_id) is not None
    assert not (tmp_path / "oauth-state.db").exists()  # replicas keep nothing in a local file
    for server in built:
        await server.aclose()


def test_replicas_sharing_oauth_state_need_the_key(clean_redis: str, tmp_path: Path) -> None:
    from codemode.config import Settings
    from codemode.errors import ConfigError
    from codemode.server import build_server

    settings = Settings(
        demo=False,
        base_url="http://127.0.0.1:1",
        audit_disabled=True,
        transport="http",
        host="127.0.0.1",
        state_dir=tmp_path,
        state_url=clean_redis,
    )
    with pytest.raises(ConfigError, match="CODEMODE_OAUTH_KEY"):
        build_server(settings, oauth=True, log_level="ERROR")


class _AlternatePorts(httpx.AsyncBaseTransport):
    """The browser's side of the balancer: each request to a replica goes to the next one."""

    def __init__(self, ports: list[int]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._ports = itertools.cycle(ports)
        self._replicas = set(ports)
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port in self._replicas:
            port = next(self._ports)
            self.sent.append(port)
            request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_the_official_client_signs_in_and_runs_through_two_server_replicas(
    clean_redis: str, tmp_path: Path
) -> None:
    """Two ``build_server`` HTTP servers (uvicorn) sharing Redis behind one public address; the
    official MCP client's OAuth (discovery, DCR, PKCE, token) and the browser's consent and
    callback alternate between them, and the script runs with the user's own Klaviyo account."""
    import socket

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from codemode.bench.load import round_robin
    from codemode.config import Settings
    from codemode.server import build_server

    from .test_mcp_end_to_end import SCRIPT, _run_as, serving

    sim = create_app(SimConfig(profiles=8, events=10))
    sockets = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    public = f"http://127.0.0.1:{ports[0]}"  # the balancer's address: both replicas' issuer
    built = []
    for port in ports:
        settings = Settings(
            base_url=SIM,
            oauth_client_id=DEMO_OAUTH_CLIENT,
            oauth_client_secret=DEMO_OAUTH_SECRET,
            host="127.0.0.1",
            port=port,
            public_url=public,
            oauth_key="replica-key-" + "x" * 30,
            state_url=clean_redis,
            audit_disabled=True,
        )
        upstream = httpx.AsyncClient(transport=Router({"127.0.0.1:9000": sim}), timeout=30)
        built.append(build_server(settings, transport="http", http_client=upstream))
    state = sim.state.sim
    user = DEMO_USERS[1]
    expected = state.accounts[state.users[user]].company_id
    browser_lb = _AlternatePorts(ports)
    async with serving(sockets[0], built[0].http_app()), serving(sockets[1], built[1].http_app()):
        async with httpx.AsyncClient(
            transport=Router({"127.0.0.1:9000": sim}, fallback=browser_lb), timeout=30
        ) as browser:
            urls = [f"http://127.0.0.1:{p}/mcp" for p in ports]
            tools, output, token = await _run_as(
                user, f"{public}/mcp", browser, lambda: round_robin(urls)
            )
        # The token one replica issued works on both; a script runs on each.
        for port in ports:
            raw = httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {token}"},
                transport=round_robin([f"http://127.0.0.1:{port}/mcp"]),
                timeout=30,
            )
            async with (
                raw,
                Client(streamable_http_client(f"{public}/mcp", http_client=raw)) as client,  # type: ignore[arg-type]
            ):
                ran = await client.call_tool("execute_code", {"code": SCRIPT})
            assert ran.structured_content is not None
            assert str(ran.structured_content["output"]).strip() == expected
    assert tools == ["execute_code", "get_signature", "search_api"]
    assert output == expected
    assert set(browser_lb.sent) == set(ports)  # consent and callback crossed replicas

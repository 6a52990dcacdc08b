"""Two replicas behind one address: an MCP session opened on one continues on the other."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from codemode.bench.load import round_robin
from codemode.server import CodemodeServer
from codemode.state import MemoryKeyValue, StateBackend, open_state
from tests.server.conftest import BuildServer, serving

KEY_A = "pk_test_alice_0123456789abcdef"
KEY_B = "pk_test_bob_fedcba9876543210"


class RoundRobinLog(httpx2.AsyncBaseTransport):
    """The bench's round-robin balancer, remembering which replica each request went to."""

    def __init__(self, ports: list[int]) -> None:
        self._inner = round_robin([f"http://127.0.0.1:{p}/mcp" for p in ports])
        self._ports = itertools.cycle(ports)
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(next(self._ports))
        response: httpx2.Response = await self._inner.handle_async_request(request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture(params=["memory", "redis"])
def shared_state(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":  # two replicas in one process sharing the embedded store
        kv = MemoryKeyValue()
        return lambda: (StateBackend(url="memory://", kv=kv, shared=True), None)
    url = request.getfixturevalue("clean_redis")
    return lambda: (open_state(url), url)


@asynccontextmanager
async def replicas(
    make_server: BuildServer, shared_state: Any, **overrides: Any
) -> AsyncIterator[list[int]]:
    built: list[CodemodeServer] = []
    for _ in range(2):
        state, url = shared_state()
        server = make_server(
            transport="http", demo=False, base_url="http://simulator", state_url=url, **overrides
        )
        if server.state is not None:
            await server.state.aclose()
        server.state = state
        if url is None and built:  # in one process the replicas share the embedded limits too
            server.runtime.admission.store = built[0].runtime.admission.store
        built.append(server)
    async with serving(built[0].http_app()) as url_a, serving(built[1].http_app()) as url_b:
        yield [httpx2.URL(url_a).port or 0, httpx2.URL(url_b).port or 0]


@asynccontextmanager
async def balanced(ports: list[int], key: str) -> AsyncIterator[tuple[Client, RoundRobinLog]]:
    transport = RoundRobinLog(ports)
    raw = httpx2.AsyncClient(
        transport=transport, headers={"Authorization": f"Klaviyo-API-Key {key}"}, timeout=30
    )
    url = f"http://127.0.0.1:{ports[0]}/mcp"
    async with raw, Client(streamable_http_client(url, http_client=raw), mode="legacy") as client:  # type: ignore[arg-type]
        yield client, transport


async def test_a_session_opened_on_one_replica_continues_on_the_other(
    make_server: BuildServer, shared_state: Any
) -> None:
    async with replicas(make_server, shared_state) as ports, balanced(ports, KEY_A) as (client, lb):
        assert client.protocol_version == "2025-11-25"
        outputs = []
        for _ in range(4):
            result = await client.call_tool(
                "execute_code", {"code": "store['n'] = store.get('n', 0) + 1\nprint(store['n'])"}
            )
            assert result.structured_content is not None
            assert result.structured_content["error"] is None, result.structured_content
            outputs.append(result.structured_content["output"].strip())
        tools = await client.list_tools()
    assert {t.name for t in tools.tools} >= {"execute_code", "search_api"}
    assert set(lb.sent) == set(ports), "the balancer never used one of the replicas"
    if shared_state()[1] is not None:  # on Redis the store follows the session across replicas
        assert outputs == ["1", "2", "3", "4"]


async def test_only_the_principal_that_opened_a_session_can_continue_it_elsewhere(
    make_server: BuildServer, shared_state: Any
) -> None:
    async with replicas(make_server, shared_state) as ports:
        opened = await _open_raw(ports[0], KEY_A)
        async with httpx2.AsyncClient(timeout=10) as raw:
            for port, key, status in (
                (ports[1], KEY_B, 404),
                (ports[0], KEY_B, 404),
                (ports[1], KEY_A, 200),
            ):
                response = await raw.post(
                    f"http://127.0.0.1:{port}/mcp",
                    json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                    headers={
                        "Authorization": f"Klaviyo-API-Key {key}",
                        "mcp-session-id": opened,
                        "mcp-protocol-version": "2025-11-25",
                        "accept": "application/json, text/event-stream",
                    },
                )
                assert response.status_code == status, (port, key, response.text[:200])


async def _open_raw(port: int, key: str) -> str:
    async with httpx2.AsyncClient(timeout=10) as raw:
        response = await raw.post(
            f"http://127.0.0.1:{port}/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"},
                },
            },
            headers={
                "Authorization": f"Klaviyo-API-Key {key}",
                "accept": "application/json, text/event-stream",
            },
        )
        assert response.status_code == 200, response.text[:300]
        return response.headers["mcp-session-id"]


async def test_health_answers_without_credentials_and_readiness_checks_the_shared_state(
    make_server: BuildServer, shared_state: Any
) -> None:
    server = make_server(transport="http", demo=False, base_url="http://simulator")
    server.state = shared_state()[0]
    async with serving(server.http_app()) as url, httpx2.AsyncClient(timeout=10) as raw:
        base = url.removesuffix("/mcp")
        health = await raw.get(base + "/healthz")
        ready = await raw.get(base + "/readyz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_readiness_fails_while_redis_is_unreachable(make_server: BuildServer) -> None:
    server = make_server(transport="http", demo=False, base_url="http://simulator")
    server.state = open_state("unix:///nonexistent/codemode-test.sock")
    async with serving(server.http_app()) as url, httpx2.AsyncClient(timeout=10) as raw:
        ready = await raw.get(url.removesuffix("/mcp") + "/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unready"


SLOW = "n = 0\nfor i in range(3_000_000):\n    n += i\nprint('done')"


async def test_a_principals_concurrent_run_cap_holds_across_replicas(
    make_server: BuildServer, shared_state: Any
) -> None:
    async with (
        replicas(make_server, shared_state, principal_workers=1, queue_s=0.2) as ports,
        balanced(ports[:1], KEY_A) as (on_a, _),
        balanced(ports[1:], KEY_A) as (on_b, _),
    ):
        results: list[dict[str, Any]] = []

        async def run(client: Client) -> None:
            answer = await client.call_tool("execute_code", {"code": SLOW})
            results.append(dict(answer.structured_content or {}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, on_a)
            tg.start_soon(run, on_b)
    errors = [(r.get("error") or {}).get("type") for r in results]
    assert sorted(errors, key=str) == ["Busy", None], results


async def test_every_key_the_replicas_write_is_namespaced_and_expires(
    make_server: BuildServer, clean_redis: str
) -> None:
    import redis

    def state() -> tuple[StateBackend, str]:
        return open_state(clean_redis), clean_redis

    raw = redis.Redis.from_url(clean_redis)
    async with replicas(make_server, state) as ports, balanced(ports, KEY_A) as (client, _):
        for _ in range(3):  # sessions, stores, slots, budgets: everything a run touches
            result = await client.call_tool(
                "execute_code", {"code": "store['n'] = store.get('n', 0) + 1\nprint(store['n'])"}
            )
            assert (result.structured_content or {}).get("error") is None, result
        # While the MCP session is open (closing it deletes its record):
        ttls = {k.decode(): raw.pttl(k) for k in raw.scan_iter("*")}
    raw.close()
    keys = sorted(ttls)
    kinds = {k.split(":")[1] for k in keys}
    assert {"mcp-session", "stores", "store", "bucket"} <= kinds, keys
    assert all(k.startswith("codemode:") for k in keys), keys
    assert [k for k, ttl in ttls.items() if ttl <= 0] == [], "every key expires"


class _OrderedKeyValue(MemoryKeyValue):
    """The embedded store, noting when an MCP session record is written."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    async def set(self, key: str, value: bytes, *, ttl_s: float, only_if_new: bool = False) -> bool:
        if key.startswith("mcp-session:"):
            self.events.append("record written")
        return await super().set(key, value, ttl_s=ttl_s, only_if_new=only_if_new)


async def test_a_session_is_recorded_before_the_client_learns_its_id(
    make_server: BuildServer,
) -> None:
    # The client's next request may go to another replica at once: the record must be there.
    events: list[str] = []
    server = make_server(transport="http", demo=False, base_url="http://simulator")
    server.state = StateBackend(url="memory://", kv=_OrderedKeyValue(events), shared=True)
    app = server.http_app()

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start" and any(
                k.lower() == b"mcp-session-id" for k, _ in message.get("headers", ())
            ):
                events.append("id sent")
            await send(message)

        await app(scope, receive, watched)

    async with serving(spy) as url:
        await _open_raw(httpx2.URL(url).port or 0, KEY_A)
    assert events == ["record written", "id sent"]


async def test_a_run_that_keeps_computed_text_leaves_a_sketch_beside_its_store_in_redis(
    make_server: BuildServer, clean_redis: str
) -> None:
    """Through the server: the sketch is written next to the store (namespaced, expiring), kept
    as it was by a run that stashes nothing, and read back by the next replica's run."""
    import redis

    def state() -> tuple[StateBackend, str]:
        return open_state(clean_redis), clean_redis

    raw = redis.Redis.from_url(clean_redis)
    stash = "ps = klaviyo.profiles.get_profiles(page_size=5)\nstore['r'] = str(ps.data)[::-1]"
    seen: list[bytes | None] = []
    async with replicas(make_server, state) as ports, balanced(ports, KEY_A) as (client, _):
        for code in [stash, "store['n'] = store.get('n', 0) + 1", "print(store['r'][::-1][:1])"]:
            result = await client.call_tool("execute_code", {"code": code})
            assert (result.structured_content or {}).get("error") is None, result
            [key] = [k for k in raw.scan_iter("*") if b"sketch" in k]
            assert key.startswith(b"codemode:store-sketch:") and raw.pttl(key) > 0
            seen.append(raw.get(key))
    raw.close()
    assert seen[0] is not None and seen[0] == seen[1] == seen[2]

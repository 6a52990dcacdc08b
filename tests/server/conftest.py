"""Fixtures for the server tests: a small demo simulator, servers built on it, a live HTTP server.

Every server here is the real one (``build_server``) over the real simulator and sandbox; the
HTTP server is uvicorn on 127.0.0.1 with a port the kernel picked, run in the test's own event
loop and stopped within a bounded time.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from starlette.types import ASGIApp

from codemode.config import Settings
from codemode.server import DEMO_BASE_URL, CodemodeServer, build_server
from codemode.server.limits import LimitStore, MemoryLimitStore
from codemode.server.listener import uvicorn_options
from codemode.simulator import SimConfig, create_app
from tests._redis import clean_redis, redis_url, session_stores  # noqa: F401  (fixtures)

BuildServer = Callable[..., CodemodeServer]


@pytest.fixture(scope="module")
def sim_app() -> Any:
    """A demo simulator with a small seeded account (fast to build; shared by a module)."""
    return create_app(SimConfig(profiles=60, events=300))


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite3"


@pytest.fixture
def make_server(sim_app: Any, audit_path: Path) -> BuildServer:
    """Build a real server on the demo simulator; keyword arguments override settings."""

    def build(transport: str = "memory", composites: Any = (), **overrides: Any) -> CodemodeServer:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim_app), base_url=DEMO_BASE_URL
        )
        settings = Settings(**{"demo": True, "audit_db": audit_path, **overrides})
        return build_server(
            settings,
            transport=transport,
            http_client=client,
            composites=composites,
            log_level="ERROR",
        )  # type: ignore[arg-type]

    return build


@asynccontextmanager
async def serving(
    app: ASGIApp, settings: Settings | None = None, **options: Any
) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) for the body; yields the ``/mcp`` URL.

    uvicorn runs as ``codemode serve`` runs it (:func:`uvicorn_options`) with ``settings``
    (default: the defaults); ``options`` replace some of uvicorn's (e.g. ``http=``).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue in the backlog until uvicorn accepts: no start-up wait
    port = sock.getsockname()[1]
    chosen = {**uvicorn_options(settings or Settings(), log_level="error"), **options}
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **chosen))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True
            tg.cancel_scope.deadline = anyio.current_time() + 10  # a bounded shutdown
    sock.close()


@asynccontextmanager
async def http_client(
    url: str, headers: dict[str, str] | None = None, mode: str = "auto"
) -> AsyncIterator[Client]:
    """The official MCP client over Streamable HTTP, with extra request headers."""
    raw = httpx2.AsyncClient(
        headers=headers or {}, timeout=30
    )  # the transport does not close a given client
    async with raw, Client(streamable_http_client(url, http_client=raw), mode=mode) as client:  # type: ignore[arg-type]
        yield client


def text_of(result: CallToolResult) -> str:
    """All text content of a tool result."""
    return "\n".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture(params=["memory", "redis"])
async def stores(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[LimitStore, LimitStore]]:
    """The limit stores of replicas A and B: one shared dict, or two clients of one Redis."""
    if request.param == "memory":
        store = MemoryLimitStore()
        yield store, store
        return
    from codemode.state.redis import RedisLimitStore

    url = request.getfixturevalue("clean_redis")
    a = RedisLimitStore.from_url(url, pool="replica-a")
    b = RedisLimitStore.from_url(url, pool="replica-b")
    yield a, b
    await a.aclose()
    await b.aclose()

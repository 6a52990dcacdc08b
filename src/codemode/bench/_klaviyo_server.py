"""Klaviyo's own MCP server, executed end to end offline: its real tools against the simulator.

Its tools call the Klaviyo API through the ``klaviyo-api`` SDK (synchronous HTTP), so the
simulator of the task at hand is served on a loopback port (:func:`loopback`), and Klaviyo's server
runs in its own Python (``_peers._ensure_venv``) with ``benchmarks/peers/klaviyo_offline`` on its
``PYTHONPATH``: that ``sitecustomize`` answers its OpenAPI download from the vendored copy, points
the SDK at the loopback simulator and refuses any non-loopback connection. The official ``mcp``
client drives it over stdio, as any MCP client would.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from codemode.bench._peers import (
    KLAVIYO_MCP_PACKAGE,
    PeerUnavailable,
    _ensure_venv,
    _installed_version,
)

__all__ = ["OFFLINE_SHIM", "OPENAPI", "connect_klaviyo", "loopback"]

REPO = Path(__file__).resolve().parents[3]
OFFLINE_SHIM = REPO / "benchmarks" / "peers" / "klaviyo_offline"
OPENAPI = REPO / "tools" / "vendor" / "klaviyo" / "openapi-stable.json"


@contextlib.asynccontextmanager
async def loopback(current_app: Callable[[], Any]) -> AsyncIterator[str]:
    """Serve whichever simulator ``current_app()`` returns on 127.0.0.1; yields its base URL."""
    import uvicorn

    async def app(scope: Any, receive: Any, send: Any) -> None:
        # Links as the real API writes them (https): the klaviyo-api SDK only takes the cursor
        # out of a `links.next` passed back as page_cursor when the link starts with https://.
        if scope["type"] == "http":
            scope = dict(scope, scheme="https", query_string=_cursor_fixed(scope["query_string"]))
        await current_app()(scope, receive, send)

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bench-loopback-simulator", daemon=True)
    thread.start()
    try:
        with anyio.fail_after(30):
            while not server.started:
                if not thread.is_alive():
                    raise PeerUnavailable(
                        "the loopback simulator for Klaviyo's server did not start"
                    )
                await anyio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 10)


def _cursor_fixed(query: bytes) -> bytes:
    """Drop the ``=`` the klaviyo-api SDK leaves at the front of a cursor cut from a link.

    It splits ``links.next`` at ``page[cursor]`` and keeps what follows, ``=`` included. The real
    API is assumed to accept that (Klaviyo's server pages this way); the simulator is strict, so
    the leading ``=`` (sent as ``%3D``) is removed here, before the simulator reads the query.
    """
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    fixed = [(k, v[1:] if k == "page[cursor]" and v.startswith("=") else v) for k, v in pairs]
    return urlencode(fixed).encode("latin-1")


async def connect_klaviyo(
    stack: contextlib.AsyncExitStack,
    api_url: str,
    private_key: str,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[Any, str]:
    """Start Klaviyo's server offline against ``api_url`` and connect the official client to it.

    Returns the connected client (closed with ``stack``) and the server's package version.

    Raises:
        PeerUnavailable: no suitable Python, the install failed, or the server did not start.
    """
    if not OPENAPI.is_file() or not (OFFLINE_SHIM / "sitecustomize.py").is_file():
        raise PeerUnavailable(
            "the vendored OpenAPI document or benchmarks/peers/klaviyo_offline is missing"
        )
    exe = await anyio.to_thread.run_sync(_ensure_venv, REPO, log)
    env = {
        "PYTHONPATH": str(OFFLINE_SHIM),
        "KLAVIYO_OAS_FILE": str(OPENAPI),
        "KLAVIYO_BENCH_API": api_url,
        "PRIVATE_API_KEY": private_key,
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
    }
    params = StdioServerParameters(command=str(exe), args=[], env=env, cwd=str(REPO))
    log(f"starting {KLAVIYO_MCP_PACKAGE} offline")
    errlog = stack.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115 - the stack closes it
    try:  # a server that dies while starting closes its stdout, which ends the handshake
        client = await stack.enter_async_context(
            Client(stdio_client(params, errlog=errlog), mode="legacy")
        )
    except Exception as exc:
        errlog.seek(0)
        tail = " | ".join(errlog.read().strip().splitlines()[-3:])
        raise PeerUnavailable(f"{KLAVIYO_MCP_PACKAGE} did not start: {exc!r} {tail}"[:400]) from exc
    version = await anyio.to_thread.run_sync(_installed_version, exe)
    return client, version

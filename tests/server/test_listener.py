"""Request-read deadlines: a request must arrive in time; an answer takes as long as it needs.

Every server here is the real one on a real socket, run by uvicorn with the options
``codemode serve`` uses (``serving``); the deadlines are shortened to a second or two through
``Settings``. ``parser`` runs a test over both of uvicorn's HTTP/1.1 parsers: ``auto``
(httptools, what users get) and ``h11`` (what uvicorn falls back to without httptools).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from codemode.commands.serve import run_serve
from codemode.config import ConfigError, Settings
from codemode.server.listener import read_deadline_protocol, uvicorn_options
from tests.server.conftest import BuildServer, http_client, serving, text_of

PARSERS = ["auto", "h11"]
LEGACY = "2025-11-25"


@asynccontextmanager
async def _served(
    make_server: BuildServer, parser: str = "auto", **overrides: Any
) -> AsyncIterator[int]:
    """A demo server on loopback (no credential needed) with these settings; yields its port."""
    built = make_server(transport="http", **overrides)
    settings = built.runtime.settings
    options: dict[str, Any] = {}
    if parser != "auto":
        options["http"] = read_deadline_protocol(
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            parser=parser,  # type: ignore[arg-type]
        )
    async with serving(built.http_app(), settings, **options) as url:
        yield int(url.split(":")[2].split("/")[0])


async def _connect(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def _sent(port: int, data: bytes) -> bytes | None:
    """Connect, send ``data``, then all the server sends until it closes (``None``: open 10 s)."""
    sock = await _connect(port)
    with sock:
        await asyncio.get_running_loop().sock_sendall(sock, data)
        return await _until_closed(sock, 10)


async def _until_closed(sock: socket.socket, within: float) -> bytes | None:
    """All the server sends until it closes the connection; ``None`` if still open ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    got = b""
    while (left := deadline - loop.time()) > 0:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), left)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    return None


async def _healthz(sock: socket.socket) -> bytes:
    """One ``GET /healthz`` on a kept-alive connection; its whole answer (b"" if closed)."""
    await asyncio.get_running_loop().sock_sendall(sock, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
    return await _answer(sock)


async def _answer(sock: socket.socket) -> bytes:
    """The next answer (with a ``content-length``) on a kept-alive connection; b"" if closed."""
    loop = asyncio.get_running_loop()
    answer = b""
    while True:
        head, found, body = answer.partition(b"\r\n\r\n")
        if found:
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(body) >= length:
                return answer
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
        if not chunk:
            return answer
        answer += chunk


def _raw(session: str, body: dict[str, Any] | None = None, *, close: bool = False) -> bytes:
    """A request of an open MCP session as bytes: a POST of ``body``, or the GET of its stream."""
    data = json.dumps(body).encode() if body is not None else b""
    lines = [
        "POST /mcp HTTP/1.1" if body is not None else "GET /mcp HTTP/1.1",
        "host: 127.0.0.1",
        "accept: application/json, text/event-stream",
        f"mcp-protocol-version: {LEGACY}",
        f"mcp-session-id: {session}",
    ]
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(data)}"]
    if close:
        lines.append("connection: close")
    return "\r\n".join([*lines, "", ""]).encode() + data


def _call(rid: int, code: str) -> dict[str, Any]:
    params = {"name": "execute_code", "arguments": {"code": code}}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


async def _session(port: int) -> str:
    """A (stateful) MCP session opened and initialised; its id."""
    url = f"http://127.0.0.1:{port}/mcp"
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": LEGACY}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    async with httpx.AsyncClient(timeout=10) as raw:
        opened = await raw.post(url, json=init, headers=headers)
        session = opened.headers["mcp-session-id"]
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await raw.post(url, json=done, headers={**headers, "mcp-session-id": session})
    return session


# --------------------------------------------------------------------------- requests too slow


@pytest.mark.parametrize("parser", PARSERS)
async def test_a_body_that_never_finishes_gets_408_and_is_closed(
    make_server: BuildServer, parser: str
) -> None:
    async with _served(make_server, parser, body_timeout_s=1.0) as port:
        answer = await _sent(
            port,
            b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b'content-length: 1000\r\n\r\n{"jsonrpc":',
        )
    assert answer is not None, "the connection was still open 10 s after a 1 s body deadline"
    assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("parser", PARSERS)
async def test_a_head_trickled_past_its_deadline_is_closed_though_each_byte_comes_in_time(
    make_server: BuildServer, parser: str
) -> None:
    # A deadline, not an idle timeout: a byte every 0.2 s never leaves the connection idle.
    loop = asyncio.get_running_loop()
    async with _served(make_server, parser, header_timeout_s=1.0) as port:
        sock = await _connect(port)
        with sock:
            closed = False
            for byte in b"GET /healthz HTTP/1.1\r\nx-slow: " + b"a" * 200:
                try:
                    await loop.sock_sendall(sock, bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                if await _until_closed(sock, 0.2) is not None:
                    closed = True
                    break
    assert closed, "a head still arriving 46 s later was not cut at its 1 s deadline"


@pytest.mark.parametrize("parser", PARSERS)
async def test_a_connection_that_never_sends_a_byte_is_closed_without_an_answer(
    make_server: BuildServer, parser: str
) -> None:
    async with _served(make_server, parser, header_timeout_s=1.0) as port:
        answer = await _sent(port, b"")
    assert answer == b""


# --------------------------------------------------------------------------- requests in time


@pytest.mark.parametrize("parser", PARSERS)
async def test_a_head_trickled_in_within_its_deadline_is_served(
    make_server: BuildServer, parser: str
) -> None:
    loop = asyncio.get_running_loop()
    async with _served(make_server, parser, header_timeout_s=3.0) as port:
        sock = await _connect(port)
        with sock:
            for piece in (b"GET /hea", b"lthz HTTP/1.1\r\n", b"host: 127.0.0.1\r\n", b"x-a: b\r\n"):
                await loop.sock_sendall(sock, piece)
                await asyncio.sleep(0.25)
            await loop.sock_sendall(sock, b"\r\n")
            answer = await _answer(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("parser", PARSERS)
async def test_each_request_on_a_kept_alive_connection_gets_a_fresh_deadline(
    make_server: BuildServer, parser: str
) -> None:
    loop = asyncio.get_running_loop()
    async with _served(make_server, parser, header_timeout_s=1.0) as port:
        sock = await _connect(port)
        with sock:
            assert (await _healthz(sock)).startswith(b"HTTP/1.1 200 ")
            await asyncio.sleep(2.0)  # idle between requests: the keep-alive's (75 s), not ours
            assert (await _healthz(sock)).startswith(b"HTTP/1.1 200 ")
            await loop.sock_sendall(sock, b"GET /healthz HTTP/1.1\r\nho")
            answer = await _until_closed(sock, 10)
    assert answer is not None, "a second request's unfinished head was never cut"
    assert answer.startswith(b"HTTP/1.1 408 ")


# --------------------------------------------------------------------------- answers never cut


async def test_a_tools_call_answered_after_the_deadlines_is_not_cut(
    make_server: BuildServer,
) -> None:
    async with (
        _served(make_server, header_timeout_s=1.0, body_timeout_s=1.0) as port,
        http_client(f"http://127.0.0.1:{port}/mcp") as client,
    ):
        result = await client.call_tool(
            "execute_code", {"code": "import time\ntime.sleep(3)\nprint('slept')"}
        )
    assert "slept" in text_of(result)


async def test_an_sse_stream_stays_open_past_the_deadlines(make_server: BuildServer) -> None:
    async with _served(make_server, header_timeout_s=1.0, body_timeout_s=1.0) as port:
        session = await _session(port)
        sock = await _connect(port)
        with sock:
            await asyncio.get_running_loop().sock_sendall(sock, _raw(session))
            after = await _until_closed(sock, 3.0)
    assert after is None, f"the stream was closed: {after!r}"


@pytest.mark.parametrize("parser", PARSERS)
async def test_a_request_pipelined_behind_a_slow_one_is_not_cut_while_the_server_is_busy(
    make_server: BuildServer, parser: str
) -> None:
    # The second request's body comes after its deadline, while the first is still answered:
    # cutting the connection then would cut the first answer (h11 does not even read the second
    # request before the first is answered; httptools does).
    loop = asyncio.get_running_loop()
    async with _served(make_server, parser, header_timeout_s=1.0, body_timeout_s=1.0) as port:
        session = await _session(port)
        second = _raw(session, _call(2, "print('second')"), close=True)
        sock = await _connect(port)
        with sock:
            slow = _raw(session, _call(1, "import time\ntime.sleep(3)\nprint('first')"))
            await loop.sock_sendall(sock, slow + second[:-10])
            await asyncio.sleep(2.0)  # past the second's 1 s deadline, within the first's 3 s
            await loop.sock_sendall(sock, second[-10:])
            answer = await _until_closed(sock, 30)
    assert answer is not None
    assert answer.count(b"HTTP/1.1 200 ") == 2, answer
    assert b"first" in answer and b"second" in answer


async def _reads_late(scope: Any, receive: Any, send: Any) -> None:
    """An app that reads a request's body two seconds after it came, and echoes it."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await asyncio.sleep(2.0)
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("parser", PARSERS)
async def test_a_body_offered_with_expect_100_continue_is_timed_from_when_the_app_asks_for_it(
    parser: str,
) -> None:
    # The client waits for "100 Continue", which uvicorn sends when the app first reads.
    settings = Settings(body_timeout_s=1.0)
    options: dict[str, Any] = {}
    if parser != "auto":
        options["http"] = read_deadline_protocol(
            header_timeout_s=20.0,
            body_timeout_s=1.0,
            parser=parser,  # type: ignore[arg-type]
        )
    loop = asyncio.get_running_loop()
    async with serving(_reads_late, settings, **options) as url:
        sock = await _connect(int(url.split(":")[2].split("/")[0]))
        with sock:
            await loop.sock_sendall(
                sock,
                b"POST /echo HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                b"content-length: 5\r\n\r\n",
            )
            asked = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
            await loop.sock_sendall(sock, b"hello")
            answer = await _answer(sock)
    assert asked.startswith(b"HTTP/1.1 100 "), asked
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"hello"), answer


# --------------------------------------------------------------------------- configuration


def test_serve_runs_uvicorn_with_the_deadlines_of_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setenv("CODEMODE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CODEMODE_HEADER_TIMEOUT_S", "7")
    monkeypatch.setenv("CODEMODE_BODY_TIMEOUT_S", "9.5")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    assert run_serve(transport="http", demo=True, port=0) == 0
    protocol = served["http"]
    assert issubclass(protocol, HttpToolsProtocol)  # what uvicorn's "auto" picks: its speed
    assert (protocol.header_timeout_s, protocol.body_timeout_s) == (7.0, 9.5)


@pytest.mark.parametrize("name", ["CODEMODE_HEADER_TIMEOUT_S", "CODEMODE_BODY_TIMEOUT_S"])
@pytest.mark.parametrize("raw", ["0", "-3", "soon", "nan", "inf"])
def test_a_deadline_that_is_not_a_positive_number_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, raw: str
) -> None:
    with pytest.raises(ConfigError, match=rf"{name}.*unset it to use"):
        Settings.from_env({name: raw})
    monkeypatch.setenv(name, raw)
    assert run_serve(transport="http", demo=True, port=0) == 2
    assert name in capsys.readouterr().err


def test_the_default_deadlines_are_twenty_seconds_for_the_head_and_thirty_for_the_body() -> None:
    defaults = Settings.from_env({})
    assert (defaults.header_timeout_s, defaults.body_timeout_s) == (20.0, 30.0)
    protocol: Any = uvicorn_options(defaults, log_level="error")["http"]
    assert (protocol.header_timeout_s, protocol.body_timeout_s) == (20.0, 30.0)

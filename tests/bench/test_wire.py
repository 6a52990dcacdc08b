"""The raw load client: hand-written HTTP/1.1 that sends what the httpx-based client sends.

A scripted TCP server on 127.0.0.1 answers with each framing a server may choose (length,
chunks, close-delimited, SSE), so the parsing is checked without a real MCP server; the real one
is driven by ``tests/reliability/test_load.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from codemode.bench._wire import WireClient
from codemode.bench.load import RawClient

ANSWER = {"jsonrpc": "2.0", "id": 1, "result": {"structuredContent": {"output": "hi"}}}
Reply = Callable[[bytes], bytes]


def _length(payload: bytes, status: str = "200 OK", kind: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


@asynccontextmanager
async def _server(reply: Reply, seen: list[tuple[bytes, bytes]]) -> AsyncIterator[str]:
    """Serve ``reply(body)`` for each request; ``seen`` gets (head, body) of every request."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)

    async def handle(stream: SocketStream) -> None:
        reader = BufferedByteReceiveStream(stream)
        async with stream:
            while True:
                try:
                    head = await reader.receive_until(b"\r\n\r\n", 65536)
                except (anyio.EndOfStream, anyio.IncompleteRead):
                    return
                size = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.receive_exactly(size)
                seen.append((head, body))
                await stream.send(reply(body))
                if b"connection: close" in reply(body).lower():
                    return

    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}/mcp"
        tg.cancel_scope.cancel()


async def _call(reply: Reply, calls: int = 1) -> tuple[list[Any], list[Any]]:
    """``calls`` calls; an error raised by the client is raised after the server stopped."""
    seen: list[tuple[bytes, bytes]] = []
    results = []
    failed: Exception | None = None
    with anyio.fail_after(10):
        async with _server(reply, seen) as url:
            client = WireClient([url], headers={"authorization": "Klaviyo-API-Key pk_1"})
            try:
                for _ in range(calls):
                    results.append(await client.call_tool("execute_code", {"code": "print(1)"}))
            except Exception as exc:  # raised below, not inside the server's task group
                failed = exc
            finally:
                await client.aclose()
    if failed is not None:
        raise failed
    return results, seen


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(lambda _: _length(json.dumps(ANSWER).encode()), id="content-length"),
        pytest.param(
            lambda _: (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"transfer-encoding: chunked\r\n\r\n5\r\n"
                + json.dumps(ANSWER).encode()[:5]
                + b"\r\n"
                + f"{len(json.dumps(ANSWER)) - 5:x}".encode()
                + b"\r\n"
                + json.dumps(ANSWER).encode()[5:]
                + b"\r\n0\r\n\r\n"
            ),
            id="chunked",
        ),
        pytest.param(
            lambda _: _length(
                b"event: message\r\ndata: " + json.dumps(ANSWER).encode() + b"\r\n\r\n",
                kind="text/event-stream",
            ),
            id="sse",
        ),
        pytest.param(
            lambda _: (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                + json.dumps(ANSWER).encode()
            ),
            id="close-delimited",
        ),
    ],
)
async def test_every_framing_of_an_answer_is_read_and_the_connection_reused_or_reopened(
    reply: Reply,
) -> None:
    results, seen = await _call(reply, calls=3)
    assert [r.structured_content for r in results] == [{"output": "hi"}] * 3
    assert len(seen) == 3


async def test_it_sends_the_same_request_body_and_headers_as_the_httpx_client() -> None:
    _, wire = await _call(lambda _: _length(json.dumps(ANSWER).encode()))
    seen: list[tuple[bytes, bytes]] = []
    with anyio.fail_after(10):
        async with (
            _server(lambda _: _length(json.dumps(ANSWER).encode()), seen) as url,
            httpx.AsyncClient(headers={"authorization": "Klaviyo-API-Key pk_1"}) as http,
        ):
            await RawClient(http, url).call_tool("execute_code", {"code": "print(1)"})

    def headers(head: bytes) -> dict[str, str]:
        lines = head.decode().split("\r\n")[1:]
        found = dict(line.split(": ", 1) for line in lines if line)
        return {k.lower(): v for k, v in found.items()}

    ours, theirs = headers(wire[0][0]), headers(seen[0][0])
    assert wire[0][1] == seen[0][1]  # the same JSON-RPC bytes
    assert wire[0][0].split(b"\r\n")[0] == seen[0][0].split(b"\r\n")[0] == b"POST /mcp HTTP/1.1"
    assert ours["host"].startswith("127.0.0.1:") and theirs["host"].startswith("127.0.0.1:")
    for name in ("authorization", "content-type", "accept", "mcp-protocol-version"):
        assert ours[name] == theirs[name], name
    assert ours["mcp-method"] == "tools/call" and ours["mcp-name"] == "execute_code"


async def test_requests_take_the_replicas_in_turn() -> None:
    seen_a: list[tuple[bytes, bytes]] = []
    seen_b: list[tuple[bytes, bytes]] = []
    ok = lambda _: _length(json.dumps(ANSWER).encode())  # noqa: E731
    with anyio.fail_after(10):
        async with _server(ok, seen_a) as a, _server(ok, seen_b) as b:
            client = WireClient([a, b], headers={}, start=1)
            try:
                for _ in range(3):
                    await client.call_tool("execute_code", {"code": "print(1)"})
            finally:
                await client.aclose()
    assert (len(seen_a), len(seen_b)) == (1, 2)  # b, a, b


async def test_an_http_error_or_a_json_rpc_error_raises_with_what_the_server_said() -> None:
    with pytest.raises(RuntimeError, match="HTTP 401: no key"):
        await _call(lambda _: _length(b"no key", status="401 Unauthorized"))
    error = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad tool"}}
    with pytest.raises(RuntimeError, match="JSON-RPC error -32602: bad tool"):
        await _call(lambda _: _length(json.dumps(error).encode()))


def test_only_plain_http_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="plain http:// only"):
        WireClient(["https://example.com/mcp"], headers={})

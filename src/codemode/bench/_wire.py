"""The load generator's cheap half: stateless MCP ``tools/call`` over hand-written HTTP/1.1.

``codemode bench load --client raw`` shares the machine's cores with the servers it measures, so
every millisecond it spends per run is a millisecond the fleet cannot: on 2 cores the general
HTTP client (``httpx2``: its request and response models, header merging, transports) cost about
1.5 ms of CPU per run, a tenth of what the server spends. This one writes the request bytes
itself and reads the answer by ``Content-Length`` (or chunks) on one keep-alive connection per
replica, taking the replicas in turn as a round-robin balancer would. It speaks the same wire
protocol (the same request line, headers and JSON-RPC body), so the servers do exactly the same
work; only the client's own cost changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteStream
from anyio.streams.buffered import BufferedByteReceiveStream

__all__ = ["RawResult", "WireClient", "rpc_request", "rpc_result"]

_META: dict[str, Any] = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "codemode-bench-load", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
_HEAD_LIMIT = 64 * 1024


@dataclass
class RawResult:
    """What the load checks read of a ``tools/call`` answer."""

    structured_content: dict[str, Any] | None
    content: list[Any]


def rpc_request(ident: int, name: str, arguments: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The JSON-RPC body of a stateless (2026-07-28) ``tools/call`` and the headers it needs."""
    body = {
        "jsonrpc": "2.0",
        "id": ident,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": _META},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
    }
    return json.dumps(body, separators=(",", ":")).encode(), headers


def rpc_result(text: str, content_type: str) -> RawResult:
    """The result of a ``tools/call`` answer (JSON, or one SSE ``data:`` line).

    Raises:
        RuntimeError: the answer is a JSON-RPC error.
    """
    if content_type.startswith("text/event-stream"):
        text = next((line[5:] for line in text.splitlines() if line.startswith("data:")), "{}")
    message = json.loads(text)
    if "error" in message:
        raise RuntimeError(
            f"JSON-RPC error {message['error'].get('code')}: {message['error'].get('message')}"
        )
    result = message.get("result") or {}
    return RawResult(result.get("structuredContent"), result.get("content") or [])


class _Connection:
    """One keep-alive HTTP/1.1 connection to one server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._stream: ByteStream | None = None
        self._reader: BufferedByteReceiveStream | None = None

    async def post(self, path: str, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send one request; returns (status, lower-cased headers, body)."""
        if self._stream is None:
            self._stream = await anyio.connect_tcp(self.host, self.port)
            self._reader = BufferedByteReceiveStream(self._stream)
        assert self._reader is not None
        request = b"POST %s HTTP/1.1\r\nhost: %s:%d\r\n" % (
            path.encode(),
            self.host.encode(),
            self.port,
        )
        request += head + b"content-length: %d\r\n\r\n" % len(body) + body
        try:
            await self._stream.send(request)
            raw = await self._reader.receive_until(b"\r\n\r\n", _HEAD_LIMIT)
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                data = await self._reader.receive_exactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                data = await self._chunks()
            else:  # the body runs to the end of the connection
                data = await self._rest()
                headers["connection"] = "close"
        except BaseException:
            await self.aclose()
            raise
        if headers.get("connection", "").lower() == "close":
            await self.aclose()
        return status, headers, data

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.receive_until(b"\r\n", 1024)).split(b";")[0], 16)
            if size == 0:
                await self._reader.receive_until(b"\r\n", _HEAD_LIMIT)  # no trailers are sent
                return b"".join(parts)
            parts.append(await self._reader.receive_exactly(size))
            await self._reader.receive_exactly(2)

    async def _rest(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            try:
                parts.append(await self._reader.receive())
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return b"".join(parts)

    async def aclose(self) -> None:
        if self._stream is not None:
            stream, self._stream, self._reader = self._stream, None, None
            await stream.aclose()


class WireClient:
    """``call_tool`` for one session: each request to the next of ``urls`` in turn.

    Args:
        urls: The replicas' ``/mcp`` endpoints (``http://`` only).
        headers: Sent with every request (the session's ``Authorization``).
        start: Which replica takes the first request.
        timeout_s: The longest one call may take.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        headers: dict[str, str],
        start: int = 0,
        timeout_s: float = 120.0,
    ) -> None:
        self._targets: list[tuple[_Connection, str]] = []
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme != "http" or parts.hostname is None:
                raise ValueError(f"the raw load client speaks plain http:// only, not {url!r}")
            connection = _Connection(parts.hostname, parts.port or 80)
            self._targets.append((connection, parts.path or "/"))
        self._headers = headers
        self._turn = start
        self._id = 0
        self._timeout_s = timeout_s

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> RawResult:
        """One ``tools/call``; raises on an HTTP error status or a JSON-RPC error."""
        self._id += 1
        body, headers = rpc_request(self._id, name, arguments)
        head = "".join(f"{k}: {v}\r\n" for k, v in {**self._headers, **headers}.items()).encode()
        connection, path = self._targets[self._turn % len(self._targets)]
        self._turn += 1
        with anyio.fail_after(self._timeout_s):
            status, got, data = await connection.post(path, head, body)
        if status >= 400:
            raise RuntimeError(f"HTTP {status}: {data[:200].decode(errors='replace')}")
        return rpc_result(data.decode(), got.get("content-type", ""))

    async def aclose(self) -> None:
        """Close every connection."""
        for connection, _ in self._targets:
            await connection.aclose()

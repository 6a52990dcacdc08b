"""The shared client's errors on a real socket say whether a request may have reached Klaviyo.

The SDK's retry tests script httpx's exceptions; these run the client the server builds
(``shared_http_client``) against a loopback server that drops the connection, so a transport
that names a drop after the request as a connect failure (one not sent, so a write is repeated)
fails here. An aiohttp transport under httpx did (benchmarks/hostcpu.md, round 8).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from codemode.klaviyo import AsyncKlaviyo, TransportError
from codemode.server.app import shared_http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.api+json\r\nContent-Length: 11\r\n\r\n{"data":[]}'


async def _request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value))
    return head


class _Server:
    """Answers each request with the next step: ``None`` closes, ``"reset"`` resets, bytes."""

    def __init__(self, *steps: bytes | str | None) -> None:
        self.steps = list(steps)
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self.steps:
                self.requests.append(await _request(reader))
                step = self.steps.pop(0)
                if isinstance(step, bytes):
                    writer.write(step)
                    await writer.drain()
                    continue
                if step == "reset":  # RST instead of FIN
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[_Server], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(server: _Server) -> str:
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(listening)
        return f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"

    yield start
    for listening in servers:
        listening.close()


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize("drop", [None, "reset"])
@pytest.mark.parametrize("write", [True, False])
async def test_a_request_dropped_after_it_was_sent_is_repeated_only_when_it_is_a_read(
    serve: Callable[[_Server], Awaitable[str]], drop: str | None, write: bool
) -> None:
    server = _Server(drop, OK)
    base = await serve(server)
    async with shared_http_client() as http:
        client = AsyncKlaviyo(api_key="pk_test", base_url=base, http_client=http, sleep=_no_sleep)
        if write:
            with pytest.raises(TransportError) as caught:
                await client.lists.create_list(attributes={"name": "VIP"})
            assert "may or may not have happened" in str(caught.value)
        else:
            assert (await client.lists.get_lists()).status == 200
    assert len(server.requests) == (1 if write else 2)


async def test_a_refused_connection_is_a_connect_error_a_write_may_retry() -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    async with shared_http_client() as http:
        client = AsyncKlaviyo(
            api_key="pk_test", base_url=f"http://127.0.0.1:{port}", http_client=http, sleep=sleep
        )
        with pytest.raises(TransportError) as caught:
            await client.lists.create_list(attributes={"name": "VIP"})
    assert "(ConnectError)" in str(caught.value)
    assert "Check the network" in str(caught.value)
    assert len(slept) == 3  # nothing was sent: the write was tried again each time

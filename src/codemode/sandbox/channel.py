"""The host's end of a worker socket: non-blocking frames over anyio readiness waits."""

from __future__ import annotations

import socket
from typing import Any

import anyio

from codemode.sandbox.protocol import HEADER, MAX_WORKER_FRAME, ProtocolError, decode, encode

__all__ = ["OFFLOAD_BYTES", "AsyncChannel"]

# Frames at least this big are decoded and encoded in a worker thread, never on the event loop.
OFFLOAD_BYTES = 64 * 1024


class AsyncChannel:
    """The host's end of a worker socket: non-blocking frames over anyio's readiness waits."""

    def __init__(self, sock: socket.socket, *, max_frame: int = MAX_WORKER_FRAME) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._eof = False
        self.last_size = 0  # body size of the last frame received (what the worker sent)

    async def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            if self._eof:
                return False
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                await anyio.wait_readable(self.sock)
                continue
            except OSError:  # ECONNRESET when the worker was killed mid-write
                chunk = b""
            if not chunk:
                self._eof = True
                continue
            self._buffer += chunk
        return True

    async def recv(self) -> dict[str, Any] | None:
        """The next message, or None at a clean end of stream.

        Raises:
            ProtocolError: oversized, truncated or undecodable frame.
        """
        if not await self._fill(HEADER):
            if self._buffer:
                raise ProtocolError("channel closed in the middle of a frame")
            return None
        size = int.from_bytes(self._buffer[:HEADER], "big")
        if size > self.max_frame:
            raise ProtocolError(f"frame of {size} bytes exceeds {self.max_frame}")
        if not await self._fill(HEADER + size):
            raise ProtocolError("channel closed in the middle of a frame")
        body = bytes(self._buffer[HEADER : HEADER + size])
        del self._buffer[: HEADER + size]
        self.last_size = size
        if size >= OFFLOAD_BYTES:
            return await anyio.to_thread.run_sync(decode, body, abandon_on_cancel=True)
        return decode(body)

    async def send(self, message: dict[str, Any], *, offload: bool = False) -> None:
        """Send one message (waits while the worker's receive buffer is full).

        Args:
            offload: encode in a worker thread (an API page can be megabytes of JSON).

        Raises:
            ProtocolError: the worker is gone.
        """
        data = (
            await anyio.to_thread.run_sync(encode, message, abandon_on_cancel=True)
            if offload
            else encode(message)
        )
        await self.send_frame(data)

    async def send_frame(self, data: bytes) -> None:
        """Send one already encoded frame (see :func:`~codemode.sandbox.protocol.encode`).

        Raises:
            ProtocolError: the worker is gone.
        """
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(self.sock)
                continue
            except OSError as exc:
                raise ProtocolError(f"worker channel closed ({exc.strerror})") from None
            view = view[sent:]

    def close(self) -> None:
        """Close the host's end."""
        self.sock.close()

"""A synchronous httpx transport into the simulator app, for ``httpx.Client`` and the sync SDK.

``httpx.ASGITransport`` serves only ``httpx.AsyncClient``; this one runs the app on a short-lived
event loop per request (or, when the calling thread already runs a loop, on an anyio blocking
portal thread, closed by ``close()``), so sync code can call the simulator in process::

    client = httpx.Client(transport=SimTransport(create_app()), base_url="http://sim")

A simulated dropped connection surfaces as ``httpx.RemoteProtocolError``, as it would over a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

__all__ = ["SimTransport"]


class SimTransport(httpx.BaseTransport):
    """Sends each request to an ASGI app and returns its buffered response."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._stack = contextlib.ExitStack()
        self._portal: BlockingPortal | None = None

    def _ensure_portal(self) -> BlockingPortal:
        if self._portal is None:
            self._portal = self._stack.enter_context(start_blocking_portal())
        return self._portal

    async def _send(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        return response.status_code, response.headers.raw, body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run the request through the app and return the whole response."""
        copy = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        try:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                status, headers, body = anyio.run(self._send, copy)
            else:
                status, headers, body = self._ensure_portal().call(self._send, copy)
        except ConnectionResetError as exc:
            # What httpx raises when a real server drops the connection mid-response.
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        """Stop the portal's event-loop thread."""
        self._stack.close()
        self._portal = None

"""Dynamic client registration, rate-limited per source address.

``POST /register`` (RFC 7591) is open to anyone who can reach the server, so each source address
may register at most ``per_minute`` clients a minute; past that it gets 429 with ``Retry-After``.
The count is one expiring counter per address and minute on the state backend, so replicas
sharing Redis enforce one limit together instead of one each. Registered clients that never
sign in expire (``CODEMODE_CLIENT_TTL_S``), and each registration writes one record of its own
(see :mod:`codemode.server.oauth.store`), so a flood can neither fill the server nor stall it.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from codemode.server._asgi import send_json
from codemode.state import KeyValue, MemoryKeyValue, StateError

__all__ = ["REGISTER_PATH", "RegistrationThrottle"]

REGISTER_PATH = "/register"
_WINDOW_S = 60.0


class RegistrationThrottle:
    """ASGI middleware: at most ``per_minute`` registrations per source address in 60 s."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_minute: int,
        kv: KeyValue | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Count in ``kv`` (the replicas' shared state), or in this process when None."""
        self.app = app
        self.per_minute = per_minute
        self.kv: KeyValue = kv if kv is not None else MemoryKeyValue()
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path") == REGISTER_PATH
        ):
            client = scope.get("client")
            source = str(client[0]) if client else "unknown"
            now = self.clock()
            window = math.floor(now / _WINDOW_S)
            tag = hashlib.sha256(source.encode()).hexdigest()[:32]
            try:
                # A sliding window: this minute's count plus the last minute's, weighted by how
                # much of it still lies within the past 60 s (no burst doubles at a boundary).
                count = await self.kv.incr(f"register:{tag}:{window}", ttl_s=2 * _WINDOW_S + 5)
                before = int(await self.kv.get(f"register:{tag}:{window - 1}") or b"0")
            except StateError:
                count, before = self.per_minute + 1, 0  # fail closed without the count
            left = 1.0 - (now / _WINDOW_S - window)
            if count + before * left > self.per_minute:
                retry = max(1, math.ceil((window + 1) * _WINDOW_S - now))
                description = (
                    f"at most {self.per_minute} client registrations per minute "
                    f"from one address; retry after {retry} s, or reuse a registered client"
                )
                await send_json(
                    send,
                    429,
                    {"error": "too_many_requests", "error_description": description},
                    [(b"retry-after", str(retry).encode())],
                )
                return
        await self.app(scope, receive, send)

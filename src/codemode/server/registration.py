"""Dynamic client registration, rate-limited per source address.

``POST /register`` (RFC 7591) is open to anyone who can reach the server, so each source address
may register at most ``per_minute`` clients a minute; past that it gets 429 with ``Retry-After``.
Registered clients that never sign in expire (``CODEMODE_CLIENT_TTL_S``), and the encrypted state
is written off the event loop, so a registration flood can neither fill the server nor stall it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from codemode.server._asgi import send_json
from codemode.server.limits import Bucket, LimitStore, MemoryLimitStore

__all__ = ["REGISTER_PATH", "RegistrationThrottle"]

REGISTER_PATH = "/register"


class RegistrationThrottle:
    """ASGI middleware: a token bucket per source address in front of ``POST /register``."""

    def __init__(self, app: ASGIApp, *, per_minute: int, store: LimitStore | None = None) -> None:
        self.app = app
        self.bucket = Bucket.per_minute(per_minute)
        self.store: LimitStore = store or MemoryLimitStore()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path") == REGISTER_PATH
        ):
            client = scope.get("client")
            source = str(client[0]) if client else "unknown"
            wait = self.store.take("register", source, 1.0, self.bucket)
            if wait > 0:
                retry = max(1, int(wait) + 1)
                description = (
                    f"at most {self.bucket.capacity:g} client registrations per minute "
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

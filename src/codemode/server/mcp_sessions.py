"""MCP (handshake) sessions over HTTP, capped per principal as well as in all.

The ``mcp`` SDK's session manager caps open sessions only in all, so one caller that opens
sessions in a loop (each one a server task and its buffers) would lock everyone else out with
503s. :class:`PrincipalSessionManager` also caps the sessions of each principal (the user behind
the credential that opened them); a principal at its cap gets 429 with ``Retry-After`` and how to
free one, and nobody else is affected. Idle sessions end sooner than the SDK's default
(``CODEMODE_SESSION_IDLE_S``), and a request body is capped near the largest script allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    AuthorizationContext,
    authorization_context,
)
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PrincipalSessionManager", "SessionCap", "SessionLimits"]


@dataclass(frozen=True)
class SessionLimits:
    """Bounds on MCP sessions.

    Attributes:
        per_principal: Open sessions one principal may hold.
        total: Open sessions in all.
        idle_s: Seconds without a request after which a session ends.
        body_bytes: Largest request body accepted.
    """

    per_principal: int = 256
    total: int = 4096
    idle_s: float = 600.0
    body_bytes: int = 1024 * 1024


def principal_of(user: Any) -> str:
    """The principal a session belongs to: the user (subject) behind the credential."""
    return _principal_of_context(
        authorization_context(user) if isinstance(user, AuthenticatedUser) else None
    )


class PrincipalSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager with a per-principal cap (checked under its creation lock)."""

    def __init__(
        self, app: Any, *, limits: SessionLimits, security: TransportSecuritySettings
    ) -> None:
        """Serve ``app`` (the low-level MCP server) with ``limits``."""
        super().__init__(
            app,
            security_settings=security,
            session_idle_timeout=limits.idle_s,
            max_request_body_size=limits.body_bytes,
            max_sessions=limits.total,
        )
        self.limits = limits
        self._principals: dict[str, str] = {}

    def sessions_of(self, principal: str) -> int:
        """Open sessions of ``principal``."""
        return sum(1 for owner in self._principals.values() if owner == principal)

    def _admit_session(self, requestor: Any) -> Any:
        principal = _principal_of_context(requestor)
        if self.sessions_of(principal) >= self.limits.per_principal:
            return None  # a race past SessionCap's check: the SDK answers 503
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            self._principals[transport.mcp_session_id] = principal
        return transport

    async def _discard_session(self, session_id: str, transport: Any) -> None:
        self._principals.pop(session_id, None)
        await super()._discard_session(session_id, transport)


def _principal_of_context(context: AuthorizationContext | None) -> str:
    if context is None:
        return "anonymous"
    if context.get("subject"):
        return f"{context.get('issuer') or ''}|{context.get('subject')}"
    return f"client|{context.get('client_id') or ''}"


class SessionCap:
    """429 for a request that would open one session more than its principal may hold."""

    def __init__(self, app: ASGIApp, manager: PrincipalSessionManager) -> None:
        self.app = app
        self.manager = manager

    def _opens_session(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "POST":
            return False
        headers = dict(scope["headers"])
        if b"mcp-session-id" in headers:
            return False
        version = headers.get(b"mcp-protocol-version")
        return version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._opens_session(scope):
            principal = principal_of(scope.get("user"))
            cap = self.manager.limits.per_principal
            if self.manager.sessions_of(principal) >= cap:
                retry = max(1, int(self.manager.limits.idle_s))
                message = (
                    f"too many open MCP sessions for you ({cap}); end unused ones (HTTP DELETE "
                    f"/mcp with their Mcp-Session-Id) or reuse one; idle sessions end after "
                    f"{self.manager.limits.idle_s:g} s"
                )
                body = json.dumps(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": message}}
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 429,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(retry).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

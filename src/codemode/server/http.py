"""Streamable HTTP: the ``/mcp`` endpoint with Origin checks and per-request authentication.

One endpoint serves both eras the SDK speaks: the 2025-11-25 ``initialize`` handshake with an
``Mcp-Session-Id`` (the SDK binds each session to the credential that opened it) and the
stateless 2026-07-28 requests. In front of it:

- an Origin check: a request whose ``Origin`` is not allowed gets 403 (browsers only send it
  cross-site; MCP clients do not send it at all);
- authentication: ``Authorization: Klaviyo-API-Key pk_...`` or ``X-Klaviyo-API-Key: pk_...``
  (the caller's own key, for self-hosting behind TLS), an OAuth bearer token when the OAuth
  bundle is configured, or nobody at all on a loopback demo server; anything else gets 401.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from codemode.errors import ConfigError
from codemode.server._asgi import send_json
from codemode.server.credentials import DemoUser, KeyUser
from codemode.server.mcp_sessions import PrincipalSessionManager, SessionCap, SessionLimits
from codemode.server.principals import KeyGate
from codemode.server.registration import RegistrationThrottle
from codemode.state import KeyValue, StateError

__all__ = ["HttpAuth", "build_http_app", "check_exposure", "is_loopback"]

logger = logging.getLogger("codemode.server")

MCP_PATH = "/mcp"
REFUSAL = "codemode.auth_refusal"
"""Scope key where the authentication backend leaves why a presented credential was refused."""
_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
_LOOPBACK_ORIGINS = ("http://127.0.0.1", "http://localhost", "http://[::1]")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or name) only accepts connections from this machine."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HttpAuth:
    """How HTTP callers authenticate.

    Attributes:
        token_verifier: Verifies OAuth bearer tokens (the OAuth bundle's), or ``None``.
        resource_server_url: This server's ``/mcp`` URL, for RFC 8707 audience checks and the
            ``WWW-Authenticate`` pointer to the protected-resource metadata.
        routes: The OAuth bundle's routes (authorization server, metadata, callback).
        anonymous_demo: Let unauthenticated callers in as the demo user (loopback demo only).
        key_gate: Which API keys may log in (:mod:`.principals`); ``None`` admits any ``pk_`` key
            (only for tests and embedding: the server always passes one).
    """

    token_verifier: TokenVerifier | None = None
    resource_server_url: AnyHttpUrl | None = None
    routes: Sequence[BaseRoute] = field(default_factory=tuple)
    anonymous_demo: bool = False
    key_gate: KeyGate | None = None


def check_exposure(*, host: str, demo: bool, auth: HttpAuth) -> None:
    """Refuse to serve the demo unauthenticated beyond this machine.

    Raises:
        ConfigError: ``--demo`` without OAuth on an address other machines can reach.
    """
    if demo and auth.token_verifier is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve the demo without authentication on {host}: anyone who can reach it "
            "could use it. Bind a loopback address (--host 127.0.0.1) or configure OAuth."
        )


_AMBIGUOUS = (
    "two different credentials in one request (X-Klaviyo-API-Key and Authorization, or one of "
    "them twice): send one, `Authorization: Klaviyo-API-Key pk_...` or `X-Klaviyo-API-Key: pk_...`"
)


def _api_key_from(conn: HTTPConnection) -> str | None:
    """The request's API key; ``_AMBIGUOUS`` when it names two different credentials.

    A proxy or gateway in front may judge one header while the server would run as the other, so
    a request holding both is refused unless they carry the same key; so is one that repeats
    either header with another value (a gateway may judge the last line, the server read the
    first).
    """
    for name in ("x-klaviyo-api-key", "authorization"):
        if len({v.strip() for v in conn.headers.getlist(name)}) > 1:
            return _AMBIGUOUS
    explicit = (conn.headers.get("x-klaviyo-api-key") or "").strip()
    authorization = conn.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    in_authorization = value.strip() if scheme.lower() == "klaviyo-api-key" else ""
    if explicit:
        if authorization.strip() and in_authorization != explicit:
            return _AMBIGUOUS
        return explicit
    return in_authorization or None


class _Backend(AuthenticationBackend):
    """API key headers first, then an OAuth bearer token, then (loopback demo) anonymous."""

    def __init__(self, auth: HttpAuth) -> None:
        self._auth = auth
        self._bearer = (
            BearerAuthBackend(auth.token_verifier, resource_server_url=auth.resource_server_url)
            if auth.token_verifier is not None
            else None
        )

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        key = _api_key_from(conn)
        if key is _AMBIGUOUS:
            conn.scope[REFUSAL] = _AMBIGUOUS
            return None
        if key is not None:
            if not (key.startswith("pk_") and key.isascii() and key.isprintable()) or (
                " " in key or len(key) > 200
            ):
                return None  # answered 401 by the gate, with how to fix it
            if self._auth.key_gate is not None:
                source = conn.client.host if conn.client is not None else "unknown"
                refused = await self._auth.key_gate.admit(key, source)
                if refused is not None:
                    conn.scope[REFUSAL] = refused
                    return None
            return AuthCredentials([]), KeyUser(key)
        if self._bearer is not None:
            found = await self._bearer.authenticate(conn)
            if found is not None:
                credentials, user = found
                return credentials, user
        if self._auth.anonymous_demo and "authorization" not in conn.headers:
            return AuthCredentials([]), DemoUser()
        return None


class _OriginGuard:
    """403 for a browser Origin that is not allowed (the spec's DNS-rebinding defence)."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str], loopback: bool) -> None:
        self.app = app
        self.allowed = {o.rstrip("/") for o in allowed}
        self.loopback = loopback

    def _ok(self, origin: str) -> bool:
        origin = origin.rstrip("/")
        if origin in self.allowed:
            return True
        if self.loopback:
            for base in _LOOPBACK_ORIGINS:
                if origin == base or origin.startswith(base + ":"):
                    return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), None
            )
            if origin is not None and not self._ok(origin):
                logger.warning("refused a request from Origin %r (403)", origin[:100])
                await send_json(
                    send,
                    403,
                    {
                        "error": "forbidden_origin",
                        "error_description": (
                            f"Origin {origin[:100]} is not allowed; add it to CODEMODE_ALLOWED_ORIGINS"
                        ),
                    },
                )
                return
        await self.app(scope, receive, send)


class _RequireUser:
    """401 unless the authentication middleware put a user on the request."""

    def __init__(self, app: ASGIApp, auth: HttpAuth) -> None:
        self.app = app
        challenges = ['Klaviyo-API-Key realm="codemode"']
        if auth.token_verifier is not None:
            bearer = 'Bearer error="invalid_token"'
            if auth.resource_server_url is not None:
                bearer += (
                    f', resource_metadata="{build_resource_metadata_url(auth.resource_server_url)}"'
                )
            challenges.insert(0, bearer)
        self.challenge = ", ".join(challenges)
        self.oauth = auth.token_verifier is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if isinstance(scope.get("user"), AuthenticatedUser):
            await self.app(scope, receive, send)
            return
        how = "send `Authorization: Klaviyo-API-Key pk_...` (your Klaviyo private key)"
        if self.oauth:
            how = "sign in with OAuth, or " + how
        refused = scope.get(REFUSAL)
        description = (
            f"{refused}" if isinstance(refused, str) else f"authentication required: {how}"
        )
        await send_json(
            send,
            401,
            {"error": "invalid_token", "error_description": description},
            extra=[(b"www-authenticate", self.challenge.encode())],
        )


def build_http_app(
    server: MCPServer[Any],
    *,
    host: str,
    auth: HttpAuth,
    allowed_origins: Sequence[str] = (),
    lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    shared: KeyValue | None = None,
    sessions: SessionLimits | None = None,
    register_per_min: int = 10,
) -> Starlette:
    """The ASGI app serving ``server`` at ``/mcp`` (both protocol eras), plus the OAuth routes.

    Args:
        server: The MCP server from :func:`codemode.server.build_server`.
        host: The bind address; loopback also turns on the SDK's Host-header check.
        auth: How callers authenticate.
        allowed_origins: Browser origins accepted besides loopback ones on a loopback server.
        lifespan: Extra resources to hold open while the app runs (SDK clients, audit log).
        shared: The replicas' shared state; MCP sessions are recorded there so that any replica
            can continue a session another one opened.
        sessions: Bounds on MCP sessions (per principal, in all, idle time, request size).
        register_per_min: OAuth client registrations accepted per source address per minute.
    """
    loopback = is_loopback(host)
    if loopback:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[
                "127.0.0.1:*",
                "localhost:*",
                "[::1]:*",
                "127.0.0.1",
                "localhost",
                "[::1]",
            ],
            allowed_origins=[
                *(o + ":*" for o in _LOOPBACK_ORIGINS),
                *_LOOPBACK_ORIGINS,
                *allowed_origins,
            ],
        )
    else:  # behind a proxy the Host is the public name; Origin is still checked by _OriginGuard
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    manager = PrincipalSessionManager(
        server._lowlevel_server, limits=sessions or SessionLimits(), security=security
    )
    if shared is not None:
        from codemode.server.replicas import SharedSessionManager

        manager = SharedSessionManager(
            server._lowlevel_server,
            limits=sessions or SessionLimits(),
            security=security,
            kv=shared,
        )
    endpoint: ASGIApp = _OriginGuard(
        _RequireUser(SessionCap(StreamableHTTPASGIApp(manager), manager), auth),
        allowed_origins,
        loopback,
    )

    @asynccontextmanager
    async def run(_: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            if lifespan is None:
                yield
            else:
                async with lifespan():
                    yield

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if shared is not None:
            try:
                await shared.get("readiness-probe")
            except StateError as exc:
                return JSONResponse({"status": "unready", "reason": str(exc)[:200]}, 503)
        return JSONResponse({"status": "ready"})

    return Starlette(
        routes=[
            *auth.routes,
            Route(MCP_PATH, endpoint=endpoint),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        middleware=[
            Middleware(RegistrationThrottle, per_minute=register_per_min, kv=shared),
            Middleware(AuthenticationMiddleware, backend=_Backend(auth)),
            Middleware(AuthContextMiddleware),
        ],
        lifespan=run,
    )

"""``build_server()``: the one place that wires catalog, search, sandbox, policy, auth and audit.

The result, a :class:`CodemodeServer`, runs over stdio (:meth:`CodemodeServer.run_stdio`), as a
Streamable HTTP ASGI app (:meth:`CodemodeServer.http_app`), or in-process for tests and the demo
(pass :attr:`CodemodeServer.mcp` to ``mcp.Client``). The server logs to stderr only: on stdio,
stdout carries the protocol.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette

from codemode.audit import AuditLog, AuditSink, open_audit, private_folder
from codemode.catalog import Catalog, load_catalog
from codemode.catalog._model import operation_key
from codemode.config import Settings
from codemode.errors import CodemodeError, ConfigError
from codemode.extensions import (
    Composite,
    ExtensionError,
    composite_action,
    load_composites,
    load_extra_operations,
)
from codemode.server.credentials import (
    DEMO_KEY,
    CredentialSource,
    KlaviyoCredentials,
    RequestUserSource,
    StaticCredentials,
    key_principal,
)
from codemode.server.handshake import INSTRUCTIONS, NAME, TITLE, server_version
from codemode.server.http import HttpAuth, build_http_app, check_exposure, is_loopback
from codemode.server.mcp_sessions import SessionLimits
from codemode.server.principals import KeyGate
from codemode.server.resources import register_resources
from codemode.server.runtime import Runtime
from codemode.server.tools import ToolServer, register_tools
from codemode.state import StateBackend, open_state

if TYPE_CHECKING:
    from codemode.server.handshake import EarlyAnswers
    from codemode.server.oauth import OAuthBundle

__all__ = ["DEMO_BASE_URL", "CodemodeServer", "build_server"]

DEMO_BASE_URL = "http://simulator"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _NoCookieJar(http.cookiejar.CookieJar):
    """A cookie jar that keeps and sends nothing: one connection pool serves many users, so a
    cookie one user's answer set would go out with every other user's requests."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Keep nothing (and skip parsing the ``Set-Cookie`` headers at all)."""

    def add_cookie_header(self, request: Any) -> None:
        """Send nothing."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Keep nothing, whoever asks."""


def _no_cookies() -> http.cookiejar.CookieJar:
    """The shared client's jar. httpx keeps a ``CookieJar`` it is given as it is (an
    ``httpx.Cookies`` it copies into a new, default jar, which kept every cookie)."""
    return _NoCookieJar()


def shared_http_client() -> httpx.AsyncClient:
    """The pooled client every principal's SDK calls go through (to Klaviyo, not the demo):
    httpx's own transport, whose errors say whether a request may have been sent (the retries
    of writes depend on it; benchmarks/hostcpu.md, round 8), and a jar that keeps nothing."""
    return httpx.AsyncClient(cookies=_no_cookies())


@dataclass
class CodemodeServer:
    """A built server: the MCP server plus the runtime behind its tools."""

    mcp: MCPServer[Any]
    runtime: Runtime
    oauth: OAuthBundle | None = None
    key_gate: KeyGate | None = None
    """Which API keys may log in over HTTP; made by :meth:`http_app`."""
    state: StateBackend | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[CodemodeServer]:
        """Hold the shared HTTP client and the audit log open; close them at the end."""
        try:
            yield self
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the shared HTTP client and the audit log."""
        await self.runtime.sandbox.aclose()
        await self.runtime.http_client.aclose()
        await self.runtime.admission.store.aclose()
        await self.runtime.stores.aclose()
        if self.state is not None:
            await self.state.aclose()
        if self.oauth is not None:
            await self.oauth.aclose()
        if self.runtime.audit is not None:
            self.runtime.audit.close()

    async def run_stdio(self, early: EarlyAnswers | None = None) -> None:
        """Serve one client over stdin/stdout until it disconnects.

        ``early``: the first lines, read and perhaps answered while the server was loading.
        """
        from codemode.server.stdio import serve_stdio

        async with self.running():
            # The SDK's own run_stdio_async drops unparsable lines unanswered; ours answers them.
            await serve_stdio(self.mcp._lowlevel_server, early)

    def http_app(self, auth: HttpAuth | None = None) -> Starlette:
        """The Streamable HTTP app (``/mcp``) for the settings' host.

        Raises:
            ConfigError: the demo would be exposed beyond loopback without authentication.
        """
        s = self.runtime.settings
        keys = self.key_gate = KeyGate(
            s.api_keys,
            allowed=s.allowed_principals,
            http_client=self.runtime.http_client,
            base_url=s.base_url,
            catalog=self.runtime.catalog,
        )
        if auth is None and self.oauth is not None:
            auth = HttpAuth(
                token_verifier=self.oauth.token_verifier,
                resource_server_url=self.oauth.resource_server_url,
                routes=self.oauth.routes,
                anonymous_demo=False,
                key_gate=keys,
            )
        auth = auth or HttpAuth(anonymous_demo=s.demo, key_gate=keys)
        check_exposure(host=s.host, demo=s.demo, auth=auth)

        @asynccontextmanager
        async def lifespan() -> AsyncIterator[None]:
            from codemode.server.memory import trim_when_idle

            async with self.running(), anyio.create_task_group() as tasks:
                # After a burst of sessions the heap would stay at its peak: give it back.
                tasks.start_soon(trim_when_idle)
                yield
                tasks.cancel_scope.cancel()

        origins = list(s.allowed_origins)
        if s.public_url:  # the server's own pages (OAuth consent) are same-origin
            public = urlsplit(s.public_url)
            origins.append(f"{public.scheme}://{public.netloc}")
        sessions = SessionLimits(
            per_principal=s.sessions_per_principal,
            total=s.max_sessions,
            idle_s=s.session_idle_s,
            # JSON may escape a script to six times its size; nothing bigger is worth reading.
            body_bytes=max(256 * 1024, 6 * s.code_bytes + 64 * 1024),
        )
        return build_http_app(
            self.mcp,
            host=s.host,
            auth=auth,
            allowed_origins=origins,
            lifespan=lifespan,
            shared=self.state.kv if self.state is not None and self.state.shared else None,
            sessions=sessions,
            register_per_min=s.register_per_min,
        )


def _demo_client(latency_ms: float = 0.0) -> httpx.AsyncClient:
    try:
        from codemode.simulator import FaultConfig, LazyApp, SimConfig
    except ImportError as exc:  # a partial install: say what is missing instead of a traceback
        raise ConfigError(
            f"--demo needs the simulator (codemode.simulator), which failed to import: {exc}"
        ) from exc
    # Built on the first Klaviyo call: answering `initialize` must not wait for the demo seed.
    # A latency (CODEMODE_DEMO_LATENCY_MS) models Klaviyo's answer time: the simulator awaits it.
    config = SimConfig(faults=FaultConfig(latency_ms=latency_ms)) if latency_ms > 0 else None
    app = LazyApp(config)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=DEMO_BASE_URL, cookies=_no_cookies()
    )


def build_server(
    settings: Settings,
    *,
    transport: Literal["stdio", "http", "memory"] | None = None,
    credentials: CredentialSource | None = None,
    catalog: Catalog | None = None,
    http_client: httpx.AsyncClient | None = None,
    oauth: bool | None = None,
    composites: Sequence[Composite] | None = None,
    log_level: LogLevel = "WARNING",
) -> CodemodeServer:
    """Wire the three tools over everything they use.

    Args:
        settings: The operator's settings (``Settings.from_env()`` plus CLI flags).
        transport: ``stdio``, ``http`` or ``memory`` (in-process); defaults to ``settings.transport``.
        credentials: Who the caller is and which Klaviyo credential they use. Defaults: over
            HTTP the authenticated user of each request; otherwise ``KLAVIYO_API_KEY`` (or the
            demo key with ``--demo``).
        catalog: The actions; defaults to the built-in catalog plus the operations of the
            extension file (``CODEMODE_EXTENSIONS``).
        http_client: The HTTP client the SDK uses; defaults to the in-process simulator with
            ``--demo`` and a real client otherwise.
        oauth: Serve per-user OAuth over HTTP; by default on when a Klaviyo OAuth app is
            configured (``KLAVIYO_OAUTH_CLIENT_ID``).
        composites: Composite actions (``klaviyo.custom.<name>``); defaults to those installed
            plugins register under the ``codemode.actions`` entry point.
        log_level: Server log level (logs go to stderr).

    Raises:
        ConfigError: a setting cannot work (the message names it).
    """
    transport = transport or settings.transport
    if settings.demo:
        settings = settings.with_overrides(base_url=DEMO_BASE_URL)
    if http_client is None:
        http_client = (
            _demo_client(settings.demo_latency_ms) if settings.demo else shared_http_client()
        )
    bundle: OAuthBundle | None = None
    state = open_state(settings.state_url) if settings.state_url else None
    if transport == "http" and (oauth if oauth is not None else bool(settings.oauth_client_id)):
        from codemode.server.oauth import build_oauth
        from codemode.server.oauth.configure import oauth_config

        # Beyond loopback the address clients use is not the bind address: CODEMODE_PUBLIC_URL.
        server_url = (
            f"http://{settings.host}:{settings.port}" if is_loopback(settings.host) else None
        )
        try:
            bundle = build_oauth(
                oauth_config(settings, server_url=server_url), http_client=http_client, state=state
            )
        except ValueError as exc:  # e.g. replicas without CODEMODE_OAUTH_KEY
            raise ConfigError(str(exc)) from exc
    if credentials is None:
        credentials = _default_credentials(settings, transport, bundle, http_client)
    if catalog is None:
        catalog = load_catalog()
        if settings.extensions is not None:
            catalog = catalog.with_actions(load_extra_operations(settings.extensions, catalog))
    composites = list(load_composites() if composites is None else composites)
    for item in composites:
        # A composite named as an action (or another spelling of one, which klaviyo.call reads
        # as that action) would replace it in the catalog: the policy would judge the composite
        # under the action's name and the script could no longer reach the action itself.
        taken = catalog.get(item.name) or catalog.get(operation_key(item.name))
        if taken is not None:
            raise ExtensionError(
                f"composite {item.name!r} has the name of the action {taken.id!r}; rename it"
            )
    if composites:
        catalog = catalog.with_actions([composite_action(c) for c in composites])
    audit_path = settings.audit_path(transport) if not settings.audit_disabled else None
    if audit_path is not None and audit_path.parent == settings.state_path():
        private_folder(settings.state_path())  # tokens and the audit log: this user only
    runtime = Runtime(
        settings=settings,
        catalog=catalog,
        credentials=credentials,
        http_client=http_client,
        audit=_audit(settings, audit_path),
        transport=transport,
        composites=composites,
        shared_state_url=settings.state_url,
    )
    server: MCPServer[Any] = ToolServer(
        NAME,
        title=TITLE,
        instructions=INSTRUCTIONS,
        version=server_version(),
        log_level=log_level,
    )
    register_tools(server, runtime)
    register_resources(server, runtime)
    return CodemodeServer(mcp=server, runtime=runtime, oauth=bundle, state=state)


def _default_credentials(
    settings: Settings, transport: str, bundle: OAuthBundle | None, http_client: httpx.AsyncClient
) -> CredentialSource:
    if transport == "http":
        return RequestUserSource(oauth=bundle)
    if settings.demo:
        return StaticCredentials(KlaviyoCredentials(principal="demo", api_key=DEMO_KEY))
    if settings.api_key:
        return StaticCredentials(
            KlaviyoCredentials(principal=key_principal(settings.api_key), api_key=settings.api_key)
        )
    try:  # the tokens `codemode login` stored, when there is an OAuth app to refresh them with
        from codemode.server.oauth.configure import local_login_source

        return local_login_source(settings, http_client)
    except CodemodeError:
        return StaticCredentials(None)


def _audit(settings: Settings, path: Path | None) -> AuditSink | None:
    if settings.audit_disabled:
        return None
    if settings.audit_url:
        return open_audit(settings.audit_url)
    return AuditLog(path) if path is not None else None

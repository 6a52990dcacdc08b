"""Everything the HTTP server needs for per-user OAuth, built from one :class:`OAuthConfig`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import create_auth_routes, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from pydantic import AnyHttpUrl
from starlette.routing import BaseRoute

from codemode.server.credentials import KlaviyoCredentials
from codemode.server.oauth._errors import NotLoggedInError, UpstreamOAuthError
from codemode.server.oauth._secrets import Secret, SecretBox, check_private, derive_key
from codemode.server.oauth.grants import GrantStore
from codemode.server.oauth.issuer import TokenIssuer
from codemode.server.oauth.provider import KlaviyoOAuthProvider
from codemode.server.oauth.routes import oauth_routes
from codemode.server.oauth.store import SealedRecords, check_key_now
from codemode.server.oauth.upstream import (
    REAL_API,
    KlaviyoOAuthClient,
    default_authorize_url,
    klaviyo_scopes,
)
from codemode.state import KeyValue, MemoryKeyValue, SqliteKeyValue, StateBackend

__all__ = ["OAuthBundle", "OAuthConfig", "build_oauth", "default_authorize_url", "klaviyo_scopes"]


@dataclass(frozen=True)
class OAuthConfig:
    """Settings of the OAuth front.

    Attributes:
        client_id / client_secret: the Klaviyo OAuth app (its redirect URI must be
            ``{server_url}/oauth/callback``).
        server_url: this server's public base URL (issuer); the MCP endpoint is
            ``{server_url}{mcp_path}`` (the audience of the tokens we issue).
        base_url: Klaviyo's API host (or the simulator's); token and revoke live under it.
        authorize_url: Klaviyo's consent page; derived from ``base_url`` when None.
        scopes: Klaviyo scopes clients may request (default: every scope the catalog uses).
        state_file: keep grants, clients and refresh tokens across restarts: a SQLite file of
            sealed records (one process; replicas use the shared state instead).
        key: key material (any bytes, 32+) that seals every OAuth record and signs our tokens;
            random per process when None (then ``state_file`` and shared state are refused).
        token_ttl: lifetime of our access tokens, seconds.
        mcp_path: path of the MCP endpoint.
        client_ttl: seconds a dynamically registered client that never signed in is kept.
    """

    client_id: str
    client_secret: str = field(repr=False)
    server_url: str
    base_url: str = REAL_API
    authorize_url: str | None = None
    scopes: tuple[str, ...] = ()
    state_file: Path | None = None
    key: bytes | None = field(default=None, repr=False)
    token_ttl: int = 900
    mcp_path: str = "/mcp"
    client_ttl: float = 3600.0

    @property
    def resource_url(self) -> str:
        """The MCP endpoint URL: audience of our tokens and RFC 9728 resource."""
        return f"{self.server_url.rstrip('/')}{self.mcp_path}"


@dataclass(frozen=True)
class OAuthBundle:
    """The pieces :func:`build_oauth` wires; see the package docstring for how to use them.

    Attributes:
        provider: the authorization server provider; also the ``TokenVerifier``.
        grants: the server-side Klaviyo grants.
        auth_settings: ``AuthSettings`` for ``MCPServer(auth=...)`` when the SDK's own app is used.
        resource_server_url: the MCP endpoint URL (audience).
        routes: authorization-server routes, RFC 9728 metadata, consent page and callback.
    """

    provider: KlaviyoOAuthProvider
    grants: GrantStore
    auth_settings: AuthSettings
    resource_server_url: AnyHttpUrl
    routes: tuple[BaseRoute, ...]
    _owned_http: httpx.AsyncClient | None = field(default=None, repr=False)
    _owned_kv: KeyValue | None = field(default=None, repr=False)

    @property
    def token_verifier(self) -> KlaviyoOAuthProvider:
        """The ``TokenVerifier`` for bearer tokens (audience, expiry, live grant)."""
        return self.provider

    async def klaviyo_credentials(self, token: AccessToken) -> KlaviyoCredentials | None:
        """The Klaviyo credentials behind one of our verified access tokens, or None.

        The returned access token is Klaviyo's, held server-side for the token's subject (never
        the MCP client's token); ``on_unauthorized`` refreshes it after a 401.
        """
        grant_id = token.subject
        grant = await self.grants.get(grant_id) if grant_id else None
        if grant is None or grant.client_id != token.client_id:
            return None
        try:
            current = await self.grants.access_token(grant.id)
        except NotLoggedInError:
            return None
        except UpstreamOAuthError as exc:  # Klaviyo unreachable or failing: retry later
            from codemode.server.credentials import MissingCredentials

            raise MissingCredentials(str(exc)) from None
        last: list[Secret] = [current]

        async def on_unauthorized() -> str:
            fresh = await self.grants.refresh_after_401(grant.id, last[0])
            last[0] = fresh
            return fresh.reveal()

        return KlaviyoCredentials(
            principal=grant.principal,
            access_token=current.reveal(),
            on_unauthorized=on_unauthorized,
        )

    async def aclose(self) -> None:
        """Close the HTTP client and the state file :func:`build_oauth` opened (not injected
        ones)."""
        if self._owned_http is not None:
            await self._owned_http.aclose()
        if self._owned_kv is not None:
            await self._owned_kv.aclose()


def build_oauth(
    config: OAuthConfig,
    *,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    state: StateBackend | None = None,
) -> OAuthBundle:
    """Build the OAuth front.

    Args:
        config: the settings.
        http_client: client for Klaviyo's token endpoint (inject an ASGI one for the simulator).
        clock: seconds since the epoch.
        state: where the OAuth records live when replicas share them (``--state redis://``);
            by default this process's memory, or ``config.state_file`` when set.

    Raises:
        ValueError: ``state_file`` or shared state without ``key``, or a key shorter than 32
            bytes.
        OAuthError: ``state_file`` was sealed under another key.
        InsecureFileError: ``state_file`` is readable by other users.
    """
    if config.state_file is not None and config.key is None:
        raise ValueError("OAuth state_file needs a key to encrypt it (set CODEMODE_OAUTH_KEY)")
    if state is not None and state.shared and config.key is None:
        raise ValueError(
            "replicas sharing OAuth state need one key to seal it and sign tokens: set "
            "CODEMODE_OAUTH_KEY (32+ bytes, the same on every replica)"
        )
    if config.key is not None and len(config.key) < 32:
        raise ValueError("the OAuth key must be at least 32 bytes")
    owned = None
    if http_client is None:
        http_client = owned = httpx.AsyncClient()
    scopes = config.scopes or klaviyo_scopes()
    upstream = KlaviyoOAuthClient(
        client_id=config.client_id,
        client_secret=Secret(config.client_secret),
        base_url=config.base_url.rstrip("/"),
        authorize_url=config.authorize_url or default_authorize_url(config.base_url),
        http=http_client,
        clock=clock,
    )
    material = config.key or secrets.token_bytes(32)
    box = SecretBox.from_material(material)
    kv: KeyValue
    owned_kv: KeyValue | None = None
    source = "the OAuth state"
    if state is not None and state.shared:
        kv = state.kv
    elif config.state_file is not None:
        if config.state_file.exists():
            check_private(config.state_file)
        file_kv = SqliteKeyValue(config.state_file, clock=clock)
        source = str(config.state_file)
        try:
            check_key_now(file_kv, box, source)
        except BaseException:
            file_kv.close_now()
            raise
        kv = owned_kv = file_kv
    else:
        kv = MemoryKeyValue(clock=clock)
    grants = GrantStore(upstream, records=SealedRecords(kv, box, source=source), clock=clock)
    server_url = config.server_url.rstrip("/")
    issuer = TokenIssuer(
        key=derive_key(material, "codemode-access-token"),
        issuer=server_url,
        audience=config.resource_url,
        ttl=config.token_ttl,
        clock=clock,
    )
    provider = KlaviyoOAuthProvider(
        grants=grants,
        issuer=issuer,
        server_url=server_url,
        resource_url=config.resource_url,
        scopes=scopes,
        clock=clock,
        client_ttl=config.client_ttl,
    )
    # Validated from strings so a path-less issuer keeps its exact spelling (no trailing
    # slash): RFC 8414 compares issuers as strings, and our tokens' ``iss`` must match.
    auth_settings = AuthSettings.model_validate(
        {
            "issuer_url": server_url,
            "resource_server_url": config.resource_url,
            "client_registration_options": ClientRegistrationOptions(
                enabled=True, valid_scopes=list(scopes), default_scopes=list(scopes)
            ),
            "revocation_options": RevocationOptions(enabled=True),
            "validate_token_resource": True,
        }
    )
    routes: list[BaseRoute] = [
        *create_auth_routes(
            provider=provider,
            issuer_url=auth_settings.issuer_url,
            client_registration_options=auth_settings.client_registration_options,
            revocation_options=auth_settings.revocation_options,
        ),
        *create_protected_resource_routes(
            resource_url=AnyHttpUrl(config.resource_url),
            authorization_servers=[auth_settings.issuer_url],
            scopes_supported=list(scopes),
            resource_name="Klaviyo (codemode)",
        ),
        *oauth_routes(provider),
    ]
    return OAuthBundle(
        provider=provider,
        grants=grants,
        auth_settings=auth_settings,
        resource_server_url=AnyHttpUrl(config.resource_url),
        routes=tuple(routes),
        _owned_http=owned,
        _owned_kv=owned_kv,
    )

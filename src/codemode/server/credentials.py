"""Who is calling, and with which Klaviyo credential: the seam API keys and OAuth both plug into.

A :class:`CredentialSource` turns the current request (``None`` on stdio and in-memory
connections) into :class:`KlaviyoCredentials`: a secret-free ``principal`` (used to scope
session stores and written to the audit log) plus the key or token the SDK client sends. The
secret never leaves this object except into the SDK client's ``Authorization`` header.

Over HTTP the principal is decided by the authentication middleware (:mod:`.http`), which puts
an :class:`mcp.server.auth.middleware.bearer_auth.AuthenticatedUser` on the request: a
:class:`KeyUser` for ``Authorization: Klaviyo-API-Key pk_...`` / ``X-Klaviyo-API-Key``, the
OAuth bundle's user for a bearer token, or the demo user on a loopback demo server.

Scopes: an OAuth caller's Klaviyo scopes are those of its verified access token (the scopes the
user granted at sign-in); a private key's are unknown (``None``) until Klaviyo refuses a call.
:func:`known_scopes` reads them without resolving the credential (no token refresh), for the
policy marks of ``search_api`` and ``get_signature``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

__all__ = [
    "DEMO_KEY",
    "CredentialSource",
    "KeyUser",
    "KlaviyoCredentials",
    "MissingCredentials",
    "OAuthCredentialLookup",
    "RequestUserSource",
    "StaticCredentials",
    "key_principal",
    "known_scopes",
]

DEMO_KEY = "pk_demo"
"""The private key the demo simulator's account accepts (it accepts any non-empty ``pk_`` key)."""


def key_principal(api_key: str) -> str:
    """A stable, secret-free name for a private key: ``key:`` and 12 hex digits of its SHA-256."""
    return "key:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class KlaviyoCredentials:
    """The caller's identity and the credential its SDK client uses.

    Attributes:
        principal: Secret-free identity (``key:3f9a1c…``, ``oauth:<subject>``, ``demo``).
        api_key: A private key, or ``None`` when an OAuth token is used.
        access_token: A Klaviyo OAuth access token, or ``None``.
        on_unauthorized: Called once on a 401 to refresh ``access_token``; returns the new token.
        scopes: The Klaviyo scopes the credential was granted (OAuth), or ``None`` when unknown.
    """

    principal: str
    api_key: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    on_unauthorized: Callable[[], Awaitable[str]] | None = field(
        default=None, repr=False, compare=False
    )
    scopes: frozenset[str] | None = None


class MissingCredentials(Exception):
    """No credential for this request; the message says how to provide one."""


class CredentialSource(Protocol):
    """Maps the current request to the caller's Klaviyo credentials."""

    async def resolve(self, request: Any | None) -> KlaviyoCredentials:
        """Credentials for ``request`` (a Starlette request over HTTP, ``None`` otherwise).

        Raises:
            MissingCredentials: nobody authenticated, or the user has no Klaviyo credential.
        """
        ...


class OAuthCredentialLookup(Protocol):
    """What the OAuth bundle provides: Klaviyo credentials for a verified MCP access token."""

    async def klaviyo_credentials(self, token: AccessToken) -> KlaviyoCredentials | None:
        """The user's server-side Klaviyo token (never the MCP token itself), or ``None``."""
        ...


class KeyUser(AuthenticatedUser):
    """An HTTP caller authenticated by its own Klaviyo private key (self-hosting behind TLS)."""

    def __init__(self, api_key: str) -> None:
        """Wrap ``api_key``; only its fingerprint appears in the principal."""
        principal = key_principal(api_key)
        super().__init__(
            AccessToken(token=principal, client_id=principal, scopes=[], subject=principal)
        )
        self.credentials = KlaviyoCredentials(principal=principal, api_key=api_key)

    def __repr__(self) -> str:
        return f"KeyUser({self.credentials.principal})"


class DemoUser(AuthenticatedUser):
    """The one user of a loopback demo server, which needs no credential."""

    def __init__(self) -> None:
        """The demo principal, with the demo key."""
        super().__init__(AccessToken(token="demo", client_id="demo", scopes=[], subject="demo"))
        self.credentials = KlaviyoCredentials(principal="demo", api_key=DEMO_KEY)


@dataclass(frozen=True)
class StaticCredentials:
    """One credential for every request: stdio and in-memory connections (one user per process)."""

    credentials: KlaviyoCredentials | None
    missing_hint: str = (
        "no Klaviyo credential: set KLAVIYO_API_KEY (a private key, pk_...) or run `codemode login`, "
        "then restart the server"
    )

    async def resolve(self, request: Any | None) -> KlaviyoCredentials:
        """The fixed credentials, whatever the request."""
        if self.credentials is None:
            raise MissingCredentials(self.missing_hint)
        return self.credentials


@dataclass(frozen=True)
class RequestUserSource:
    """HTTP: credentials of the user the authentication middleware put on the request."""

    oauth: OAuthCredentialLookup | None = None

    async def resolve(self, request: Any | None) -> KlaviyoCredentials:
        """Credentials for the request's authenticated user."""
        user = getattr(request, "scope", {}).get("user") if request is not None else None
        if isinstance(user, KeyUser | DemoUser):
            return user.credentials
        if isinstance(user, AuthenticatedUser) and self.oauth is not None:
            found = await self.oauth.klaviyo_credentials(user.access_token)
            if found is not None:
                return replace(found, scopes=_token_scopes(user))
            raise MissingCredentials(
                "your sign-in has no Klaviyo authorisation (revoked or expired): reconnect the server "
                "in your MCP client to sign in again"
            )
        raise MissingCredentials(
            "not authenticated: send `Authorization: Klaviyo-API-Key pk_...` (or X-Klaviyo-API-Key), "
            "or sign in with OAuth"
        )


def _token_scopes(user: AuthenticatedUser) -> frozenset[str]:
    """The Klaviyo scopes of a verified OAuth access token (those the user granted)."""
    return frozenset(user.access_token.scopes)


def known_scopes(
    request: Any | None, source: CredentialSource
) -> tuple[str | None, frozenset[str] | None]:
    """The caller's principal and granted scopes, as far as known without resolving it.

    Returns ``(principal, scopes)``: ``scopes`` is ``None`` when unknown (a private key, the
    demo key, nobody authenticated); ``principal`` is ``None`` when it cannot be told cheaply
    (an OAuth caller over HTTP, whose scopes are known anyway, or no credential).
    """
    user = getattr(request, "scope", {}).get("user") if request is not None else None
    if isinstance(user, KeyUser | DemoUser):
        return user.credentials.principal, user.credentials.scopes
    if isinstance(user, AuthenticatedUser):
        return None, _token_scopes(user)
    if request is None and isinstance(source, StaticCredentials) and source.credentials:
        return source.credentials.principal, source.credentials.scopes
    if request is None:
        scopes = getattr(source, "granted_scopes", None)
        if callable(scopes):
            found = scopes()
            return getattr(source, "principal", None), (
                frozenset(found) if found is not None else None
            )
    return None, None

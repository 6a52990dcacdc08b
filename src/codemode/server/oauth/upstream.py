"""Klaviyo's side of OAuth: the authorize URL, the code exchange, refresh and revoke.

Klaviyo runs the authorization-code grant with PKCE (S256). The browser goes to the authorize
URL (``https://www.klaviyo.com/oauth/authorize`` for the real service); token and revoke calls
go to ``{base_url}/oauth/token`` and ``{base_url}/oauth/revoke`` with the app's id and secret as
HTTP Basic. The same code talks to the simulator, which serves all three under its base URL.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from codemode.server.oauth._errors import UpstreamOAuthError
from codemode.server.oauth._secrets import Secret

__all__ = [
    "KLAVIYO_AUTHORIZE_URL",
    "REAL_API",
    "KlaviyoOAuthClient",
    "Pkce",
    "UpstreamTokens",
    "default_authorize_url",
    "klaviyo_scopes",
]

KLAVIYO_AUTHORIZE_URL = "https://www.klaviyo.com/oauth/authorize"
REAL_API = "https://a.klaviyo.com"


def default_authorize_url(base_url: str) -> str:
    """Klaviyo's consent page for the real API; ``{base_url}/oauth/authorize`` otherwise (the
    simulator serves it beside its token endpoint)."""
    base = base_url.rstrip("/")
    return KLAVIYO_AUTHORIZE_URL if base == REAL_API else f"{base}/oauth/authorize"


def klaviyo_scopes(*, read_only: bool = False) -> tuple[str, ...]:
    """Every Klaviyo scope some catalog action needs (only ``:read`` ones when read-only)."""
    from codemode.catalog import load_catalog

    found = {scope for action in load_catalog().values() for scope in action.scopes}
    if read_only:
        found = {scope for scope in found if scope.endswith(":read")}
    return tuple(sorted(found))


_TIMEOUT = httpx.Timeout(15.0)


@dataclass(frozen=True, slots=True)
class Pkce:
    """A PKCE pair (RFC 7636): the verifier stays with us, the S256 challenge travels."""

    verifier: Secret
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh pair with a 256-bit verifier."""
        verifier = secrets.token_urlsafe(32)
        return cls(Secret(verifier), s256(verifier))


def s256(verifier: str) -> str:
    """The S256 code challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class UpstreamTokens:
    """What Klaviyo's token endpoint returned; ``repr`` shows no token.

    Attributes:
        access_token: the bearer token for ``/api/*``.
        refresh_token: the long-lived token that gets new access tokens.
        expires_at: when the access token expires, on the owner's clock (seconds).
        scopes: the scopes Klaviyo granted.
    """

    access_token: Secret
    refresh_token: Secret | None
    expires_at: float
    scopes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, for encrypted persistence only."""
        return {
            "access_token": self.access_token.reveal(),
            "refresh_token": self.refresh_token.reveal() if self.refresh_token else None,
            "expires_at": self.expires_at,
            "scopes": list(self.scopes),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> UpstreamTokens:
        """Inverse of :meth:`to_json`."""
        refresh = raw.get("refresh_token")
        return cls(
            access_token=Secret(str(raw["access_token"])),
            refresh_token=Secret(str(refresh)) if refresh else None,
            expires_at=float(raw["expires_at"]),
            scopes=tuple(raw.get("scopes") or ()),
        )


@dataclass(frozen=True)
class KlaviyoOAuthClient:
    """The app's OAuth client at Klaviyo (one app registration, many users).

    Attributes:
        client_id: the app's client id.
        client_secret: the app's client secret (sent only as HTTP Basic to the token endpoint).
        base_url: Klaviyo's API host; token and revoke live under it.
        authorize_url: where browsers go to consent.
        http: the HTTP client (inject an ``httpx.ASGITransport`` client to reach the simulator).
        clock: seconds, used to turn ``expires_in`` into ``expires_at``.
    """

    client_id: str
    client_secret: Secret
    base_url: str
    authorize_url: str
    http: httpx.AsyncClient
    clock: Callable[[], float]
    extra_authorize_params: dict[str, str] = field(default_factory=dict)

    def authorization_url(
        self, *, redirect_uri: str, scopes: Sequence[str], state: str, pkce: Pkce
    ) -> str:
        """The URL that starts a user's consent at Klaviyo."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            **self.extra_authorize_params,
        }
        separator = "&" if "?" in self.authorize_url else "?"
        return f"{self.authorize_url}{separator}{urlencode(query)}"

    async def exchange_code(self, *, code: str, redirect_uri: str, pkce: Pkce) -> UpstreamTokens:
        """Trade an authorization code for tokens.

        Raises:
            UpstreamOAuthError: Klaviyo refused the code (expired, reused, wrong verifier...).
        """
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pkce.verifier.reveal(),
            }
        )

    async def refresh(self, refresh_token: Secret, previous: UpstreamTokens) -> UpstreamTokens:
        """New tokens from a refresh token. Klaviyo may or may not rotate the refresh token;
        when it does not, the previous one is kept.

        Raises:
            UpstreamOAuthError: the refresh token was revoked or expired (the user must log in
                again).
        """
        fresh = await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
        )
        if fresh.refresh_token is None:
            fresh = UpstreamTokens(
                fresh.access_token, refresh_token, fresh.expires_at, fresh.scopes
            )
        if not fresh.scopes:
            fresh = UpstreamTokens(
                fresh.access_token, fresh.refresh_token, fresh.expires_at, previous.scopes
            )
        return fresh

    async def revoke(self, token: Secret, *, hint: str = "refresh_token") -> None:
        """Revoke a token at Klaviyo (RFC 7009). Best effort: a network failure is reported.

        Raises:
            UpstreamOAuthError: Klaviyo could not be reached or answered with an error.
        """
        await self._post(
            f"{self.base_url}/oauth/revoke", {"token": token.reveal(), "token_type_hint": hint}
        )

    async def account_id(self, access_token: Secret) -> str:
        """The Klaviyo account a fresh access token acts for, or ``""`` when it cannot be read.

        ``GET /api/accounts`` answers with the token's one account; it needs ``accounts:read``.
        A token without it, or any failure, gives ``""``: the login still works, counted by its
        grant alone (see ``Grant.principal``).
        """
        from codemode.klaviyo import AsyncKlaviyo, KlaviyoError

        client = AsyncKlaviyo(
            access_token=access_token.reveal(), base_url=self.base_url, http_client=self.http
        )
        try:
            answer = await client.call("get_accounts")
        except (KlaviyoError, httpx.HTTPError):
            return ""
        records = answer.data if isinstance(answer.data, list) else []
        ident = records[0].get("id") if records and isinstance(records[0], dict) else None
        return ident if isinstance(ident, str) and 0 < len(ident) <= 64 else ""

    async def _token_request(self, form: dict[str, str]) -> UpstreamTokens:
        body = await self._post(f"{self.base_url}/oauth/token", form)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise UpstreamOAuthError(
                "Klaviyo's token endpoint answered without an access_token; check "
                "KLAVIYO_BASE_URL points at Klaviyo (or the simulator)",
                error="invalid_response",
                status=200,
            )
        refresh = body.get("refresh_token")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        scope = body.get("scope")
        return UpstreamTokens(
            access_token=Secret(access),
            refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
            expires_at=self.clock() + lifetime,
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        )

    async def _post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret.reveal()}".encode()).decode(
            "ascii"
        )
        try:
            response = await self.http.post(
                url,
                data=form,
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                timeout=_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            # The exception text may hold the URL but never the form, so its type is enough.
            raise UpstreamOAuthError(
                f"could not reach Klaviyo's OAuth endpoint {url} ({type(exc).__name__}); check "
                "the network and KLAVIYO_BASE_URL",
                error="unreachable",
                status=0,
            ) from None
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code >= 400:
            error = str(body.get("error") or f"http_{response.status_code}")
            detail = str(body.get("error_description") or "")[:200]
            hint = (
                "log in again (`codemode login`, or reconnect the MCP client)"
                if error == "invalid_grant"
                else "check the OAuth app's client id, secret and redirect URI"
            )
            raise UpstreamOAuthError(
                f"Klaviyo refused the OAuth request: {error}"
                + (f" ({detail})" if detail else "")
                + f"; {hint}",
                error=error,
                status=response.status_code,
            )
        return body

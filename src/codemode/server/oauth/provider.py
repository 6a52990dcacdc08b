"""The authorization-server front that MCP clients talk to, delegating the login to Klaviyo.

MCP clients register (DCR), authorize with PKCE and get tokens here, through the ``mcp`` SDK's
handlers and this :class:`KlaviyoOAuthProvider`. The user's actual login happens at Klaviyo:

1. ``/authorize`` (SDK handler -> :meth:`authorize`) checks the client, the redirect URI, the
   scopes and the RFC 8707 resource, records a *pending* login and sends the browser to our
   consent page. The page names the client and where it will be sent, because Klaviyo sees only
   our one app registration and may approve silently: without this step, anyone could register
   a client and phish a token bound to a victim's Klaviyo account (the confused-deputy attack
   the MCP security guidance describes for proxies with a static client id).
2. On approval the browser goes to Klaviyo's authorize URL with *our* PKCE pair and our fixed
   callback; a cookie binds the pending login to this browser.
3. ``/oauth/callback`` exchanges Klaviyo's code server-side, keeps the tokens as a
   :class:`~codemode.server.oauth.grants.Grant` and redirects the browser to the MCP client's
   ``redirect_uri`` with our own one-time code, bound to the client's PKCE challenge.
4. ``/token`` (SDK handler -> :meth:`exchange_authorization_code`) issues our short-lived JWT
   (audience = the MCP resource URL, subject = the grant id) and an opaque refresh token.

Klaviyo's tokens never reach the MCP client, and a client's token never reaches Klaviyo.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from codemode.server.oauth._errors import UpstreamOAuthError
from codemode.server.oauth.grants import GrantStore
from codemode.server.oauth.issuer import TokenIssuer
from codemode.server.oauth.upstream import Pkce

__all__ = ["GrantAccessToken", "GrantCode", "GrantRefreshToken", "KlaviyoOAuthProvider", "Pending"]

logger = logging.getLogger("codemode.server.oauth")

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Schemes a browser would run or read locally instead of handing the code to an application.
_FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob"}
_REGISTERED_AT = "codemode_registered_at"  # kept beside the client's metadata, never served
_RELAYED_ERRORS = {"access_denied", "invalid_scope", "server_error", "temporarily_unavailable"}


class GrantCode(AuthorizationCode):
    """Our authorization code, tied to the Klaviyo grant the login produced."""

    grant_id: str

    def __repr__(self) -> str:
        return f"GrantCode(client_id={self.client_id!r}, grant_id={self.grant_id!r})"


class GrantRefreshToken(RefreshToken):
    """Our refresh token (opaque, stored hashed), tied to one grant."""

    grant_id: str

    def __repr__(self) -> str:
        return f"GrantRefreshToken(client_id={self.client_id!r}, grant_id={self.grant_id!r})"


class GrantAccessToken(AccessToken):
    """A verified access token of ours; ``subject`` is the grant id."""

    def __repr__(self) -> str:
        return f"GrantAccessToken(client_id={self.client_id!r}, subject={self.subject!r})"


@dataclass(slots=True)
class Pending:
    """A login between our ``/authorize`` and Klaviyo's callback."""

    txn: str
    client: OAuthClientInformationFull
    params: AuthorizationParams
    scopes: tuple[str, ...]
    pkce: Pkce
    csrf: str
    created_at: float
    approved: bool = False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same_resource(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class KlaviyoOAuthProvider:
    """``OAuthAuthorizationServerProvider`` + ``TokenVerifier`` backed by Klaviyo's OAuth.

    Args:
        grants: where Klaviyo grants (and our durable records) live.
        issuer: signs and verifies our access tokens.
        server_url: our base URL as browsers and clients see it (issuer of our tokens).
        resource_url: the MCP endpoint URL (audience of our tokens).
        scopes: the Klaviyo scopes a client may ask for; also the default when it asks for none.
        clock: seconds since the epoch (the SDK compares code expiry with ``time.time()``).
        consent_path / callback_path: where :func:`routes.oauth_routes` mounts the two pages.
        code_ttl / pending_ttl / refresh_ttl: lifetimes, in seconds.
    """

    def __init__(
        self,
        *,
        grants: GrantStore,
        issuer: TokenIssuer,
        server_url: str,
        resource_url: str,
        scopes: Sequence[str],
        clock: Callable[[], float],
        consent_path: str = "/oauth/consent",
        callback_path: str = "/oauth/callback",
        code_ttl: int = 300,
        pending_ttl: int = 600,
        refresh_ttl: int = 30 * 24 * 3600,
        max_pending: int = 10_000,
        max_clients: int = 10_000,
        client_ttl: float = 86_400.0,
    ) -> None:
        self.grants = grants
        self.issuer = issuer
        self.server_url = server_url.rstrip("/")
        self.resource_url = resource_url
        self.scopes = tuple(scopes)
        self.clock = clock
        self.consent_path = consent_path
        self.callback_path = callback_path
        self.code_ttl = code_ttl
        self.pending_ttl = pending_ttl
        self.refresh_ttl = refresh_ttl
        # Bounds, because /authorize and /register are open to anyone on the network.
        self.max_pending = max_pending
        self.max_clients = max_clients
        self.client_ttl = client_ttl  # a registered client never used for a sign-in is dropped
        self._pending: dict[str, Pending] = {}
        self._codes: dict[str, GrantCode] = {}

    @property
    def callback_url(self) -> str:
        """The fixed redirect URI registered with Klaviyo for this server."""
        return f"{self.server_url}{self.callback_path}"

    # -- clients (DCR) -----------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        """A registered client, or None."""
        raw = self.grants.clients.get(client_id)
        if raw is None:
            return None
        return OAuthClientInformationFull.model_validate(
            {k: v for k, v in raw.items() if k != _REGISTERED_AT}
        )

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Keep a dynamically registered client.

        Raises:
            RegistrationError: a redirect URI is plain HTTP off loopback (OAuth 2.1 allows
                https, loopback http and native-app schemes such as ``cursor://``), uses a
                scheme a browser would execute, or the server holds too many clients.
        """
        if len(self.grants.clients) >= self.max_clients:
            raise RegistrationError(
                "invalid_client_metadata", "this server has too many registered clients; try later"
            )
        for uri in client_info.redirect_uris or ():
            host = uri.host or ""
            if uri.scheme.lower() in _FORBIDDEN_SCHEMES:
                raise RegistrationError(
                    "invalid_redirect_uri", f"redirect URIs may not use the {uri.scheme}: scheme"
                )
            if uri.scheme == "http" and host not in _LOOPBACK_HOSTS:
                raise RegistrationError(
                    "invalid_redirect_uri",
                    f"redirect URI {uri} must use https (plain http is allowed only for loopback)",
                )
            if uri.fragment:
                raise RegistrationError(
                    "invalid_redirect_uri", "redirect URIs must not have a fragment"
                )
        record = client_info.model_dump(mode="json")
        record[_REGISTERED_AT] = self.clock()
        self.grants.clients[client_info.client_id or ""] = record
        await self.grants.save_off_loop()  # a registration never blocks other requests
        logger.info("registered OAuth client %s", client_info.client_id)

    # -- authorize, consent, callback --------------------------------------------------------

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        """Record the request and send the browser to our consent page."""
        if params.resource is not None and not _same_resource(params.resource, self.resource_url):
            raise AuthorizeError(
                "invalid_target", f"this server issues tokens only for {self.resource_url}"
            )
        scopes = tuple(params.scopes) if params.scopes else self._client_scopes(client)
        unknown = [scope for scope in scopes if scope not in self.scopes]
        if unknown:
            raise AuthorizeError("invalid_scope", f"unknown scopes: {' '.join(unknown)}")
        self._expire_pending()
        await self.sweep()
        while len(self._pending) >= self.max_pending:  # drop the oldest unfinished login
            del self._pending[next(iter(self._pending))]
        txn = secrets.token_urlsafe(24)
        self._pending[txn] = Pending(
            txn=txn,
            client=client,
            params=params,
            scopes=scopes,
            pkce=Pkce.new(),
            csrf=secrets.token_urlsafe(24),
            created_at=self.clock(),
        )
        return f"{self.server_url}{self.consent_path}?txn={txn}"

    def pending(self, txn: str) -> Pending | None:
        """The pending login ``txn``, unless it expired."""
        self._expire_pending()
        return self._pending.get(txn)

    def approve(self, txn: str, csrf: str, cookie: str | None) -> str | None:
        """The user approved on the consent page: Klaviyo's authorize URL, or None when the form
        is stale or was not posted by the browser that loaded the page."""
        pending = self.pending(txn)
        if pending is None or cookie is None:
            return None
        if not (
            hmac.compare_digest(csrf, pending.csrf) and hmac.compare_digest(cookie, pending.csrf)
        ):
            return None
        pending.approved = True
        return self.grants.upstream.authorization_url(
            redirect_uri=self.callback_url, scopes=pending.scopes, state=txn, pkce=pending.pkce
        )

    def deny(self, txn: str, csrf: str) -> str | None:
        """The user refused: the client's redirect with ``access_denied``, or None if stale."""
        pending = self.pending(txn)
        if pending is None or not hmac.compare_digest(csrf, pending.csrf):
            return None
        del self._pending[txn]
        return self._client_redirect(pending, error="access_denied")

    async def complete(
        self, *, state: str, code: str | None, error: str | None, cookie: str | None
    ) -> str | None:
        """Klaviyo sent the browser back: the client's redirect URI (with our code or an error),
        or None when ``state`` names no approved login of this browser."""
        pending = self.pending(state)
        if pending is None or not pending.approved or cookie is None:
            return None
        if not hmac.compare_digest(cookie, pending.csrf):
            return None
        del self._pending[state]  # one use, whatever happens next
        if error or not code:
            # Only standard codes are passed on, never free text from the query string.
            known = error if error in _RELAYED_ERRORS else "access_denied"
            return self._client_redirect(pending, error=known)
        try:
            tokens = await self.grants.upstream.exchange_code(
                code=code, redirect_uri=self.callback_url, pkce=pending.pkce
            )
        except UpstreamOAuthError as exc:
            logger.warning("Klaviyo refused the code exchange: %s", exc.error)
            return self._client_redirect(pending, error="server_error")
        granted = set(tokens.scopes) if tokens.scopes else set(pending.scopes)
        grant = self.grants.add(tokens, client_id=pending.client.client_id or "")
        logger.info(
            "Klaviyo login completed: grant %s for client %s", grant.id[:8], grant.client_id
        )
        our_code = secrets.token_urlsafe(32)
        self._codes[our_code] = GrantCode(
            code=our_code,
            scopes=[scope for scope in pending.scopes if scope in granted],
            expires_at=self.clock() + self.code_ttl,
            client_id=pending.client.client_id or "",
            code_challenge=pending.params.code_challenge,
            redirect_uri=pending.params.redirect_uri,
            redirect_uri_provided_explicitly=pending.params.redirect_uri_provided_explicitly,
            resource=self.resource_url,
            subject=grant.id,
            grant_id=grant.id,
        )
        return construct_redirect_uri(
            str(pending.params.redirect_uri), code=our_code, state=pending.params.state
        )

    # -- codes and tokens --------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantCode | None:
        """Our code, if it was issued to this client."""
        code = self._codes.get(authorization_code)
        if code is None or code.client_id != client.client_id:
            return None
        return code

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantCode
    ) -> OAuthToken:
        """Issue our tokens for a code the SDK has checked (client, redirect URI, PKCE)."""
        if self._codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code was already used")
        if self.grants.get(authorization_code.grant_id) is None:
            raise TokenError("invalid_grant", "the Klaviyo login behind this code was revoked")
        return self._issue(
            client.client_id or "", authorization_code.grant_id, authorization_code.scopes
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantRefreshToken | None:
        """Our refresh token, if it is live, belongs to this client and its grant still exists.

        A refresh token that was already exchanged is a sign it was copied (OAuth 2.1 section
        4.3.1): the whole login is revoked, so neither the thief nor the client keeps it.
        """
        record = self.grants.refresh_tokens.get(_hash(refresh_token))
        if record is None or record["client_id"] != client.client_id:
            return None
        if record.get("spent"):
            logger.warning(
                "a spent refresh token was presented again; revoking grant %s",
                str(record["grant_id"])[:8],
            )
            await self.grants.revoke(record["grant_id"])
            return None
        if record["expires_at"] < self.clock() or self.grants.get(record["grant_id"]) is None:
            return None
        return GrantRefreshToken(
            token=refresh_token,
            client_id=record["client_id"],
            scopes=list(record["scopes"]),
            expires_at=int(record["expires_at"]),
            resource=self.resource_url,
            subject=record["grant_id"],
            grant_id=record["grant_id"],
        )

    async def exchange_refresh_token(
        self,
        client: OAuthClientInformationFull,
        refresh_token: GrantRefreshToken,
        scopes: list[str],
    ) -> OAuthToken:
        """Rotate: the presented refresh token dies (kept as *spent* to catch a replay) and a new
        pair is issued for the same grant."""
        key = _hash(refresh_token.token)
        record = self.grants.refresh_tokens.get(key)
        if record is None or record.get("spent"):
            raise TokenError("invalid_grant", "refresh token was already used")
        # Keep only the latest spent token per grant: enough to catch the replay of a stolen
        # token, without the state growing by one record per refresh for 30 days.
        self.grants.refresh_tokens = {
            k: r
            for k, r in self.grants.refresh_tokens.items()
            if not (r.get("spent") and r["grant_id"] == refresh_token.grant_id)
        }
        record["spent"] = True
        return self._issue(client.client_id or "", refresh_token.grant_id, scopes)

    async def load_access_token(self, token: str) -> GrantAccessToken | None:
        """Verify one of our access tokens: signature, issuer, audience, expiry, live grant."""
        claims = self.issuer.verify(token)
        if claims is None:
            return None
        grant = self.grants.get(claims.subject)
        if grant is None or grant.client_id != claims.client_id:
            return None
        return GrantAccessToken(
            token=token,
            client_id=claims.client_id,
            scopes=list(claims.scopes),
            expires_at=claims.expires_at,
            resource=claims.audience,
            subject=claims.subject,
            claims={"iss": claims.issuer, "jti": claims.jti},
        )

    async def verify_token(self, token: str) -> GrantAccessToken | None:
        """``TokenVerifier`` protocol: same as :meth:`load_access_token`."""
        return await self.load_access_token(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        """End the whole login: our tokens for the grant and Klaviyo's refresh token."""
        grant_id = token.grant_id if isinstance(token, GrantRefreshToken) else token.subject
        if grant_id:
            await self.grants.revoke(grant_id)

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: Any
    ) -> OAuthToken:
        """SEP-990 identity assertions are not offered by this server."""
        raise TokenError(
            "unsupported_grant_type", "this server does not accept identity assertions"
        )

    # -- helpers -----------------------------------------------------------------------------

    def _issue(self, client_id: str, grant_id: str, scopes: Sequence[str]) -> OAuthToken:
        access, _ = self.issuer.issue(subject=grant_id, client_id=client_id, scopes=scopes)
        refresh = secrets.token_urlsafe(32)
        now = self.clock()
        self.grants.refresh_tokens = {
            key: record
            for key, record in self.grants.refresh_tokens.items()
            if record["expires_at"] >= now
        }
        self.grants.refresh_tokens[_hash(refresh)] = {
            "client_id": client_id,
            "grant_id": grant_id,
            "scopes": list(scopes),
            "expires_at": now + self.refresh_ttl,
        }
        self.grants.save()
        return OAuthToken(
            access_token=access,
            expires_in=self.issuer.ttl,
            scope=" ".join(scopes) or None,
            refresh_token=refresh,
        )

    def _client_scopes(self, client: OAuthClientInformationFull) -> tuple[str, ...]:
        if client.scope:
            return tuple(client.scope.split())
        return self.scopes

    def _client_redirect(self, pending: Pending, *, error: str) -> str:
        return construct_redirect_uri(
            str(pending.params.redirect_uri), error=error, state=pending.params.state
        )

    def _expire_pending(self) -> None:
        now = self.clock()
        for txn in [t for t, p in self._pending.items() if now - p.created_at > self.pending_ttl]:
            del self._pending[txn]

    async def sweep(self) -> int:
        """Revoke grants nobody can use any more (here and at Klaviyo).

        That is a grant whose code expired unexchanged, or whose refresh tokens have all
        expired (its last access token expired long before). Runs on every ``/authorize``;
        a server may also call it periodically.

        Returns:
            How many grants were revoked.
        """
        now = self.clock()
        for code in [c for c, v in self._codes.items() if v.expires_at < now]:
            del self._codes[code]
        awaited = {code.grant_id for code in self._codes.values()}
        live = {
            str(record["grant_id"])
            for record in self.grants.refresh_tokens.values()
            if record["expires_at"] >= now and not record.get("spent")
        }
        orphans = [
            grant.id
            for grant in self.grants.grants()
            if grant.id not in awaited and grant.id not in live
        ]
        for grant_id in orphans:
            logger.info("revoking unused grant %s", grant_id[:8])
            await self.grants.revoke(grant_id)
        if self._expire_clients(now):
            await self.grants.save_off_loop()
        return len(orphans)

    def _expire_clients(self, now: float) -> int:
        """Forget registered clients never used for a sign-in within ``client_ttl``."""
        in_use = {grant.client_id for grant in self.grants.grants()}
        in_use |= {str(p.client.client_id) for p in self._pending.values()}
        in_use |= {str(code.client_id) for code in self._codes.values()}
        stale = [
            client_id
            for client_id, record in self.grants.clients.items()
            if client_id not in in_use
            and now - float(record.get(_REGISTERED_AT, now)) > self.client_ttl
        ]
        for client_id in stale:
            del self.grants.clients[client_id]
        return len(stale)

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

Every record (clients, pending logins, codes, refresh tokens, grants) lives on the state backend
through :class:`~codemode.server.oauth.store.SealedRecords`, so replicas behind one address
share them: a code issued by one replica is redeemed once on any replica (``take`` is atomic,
``GETDEL`` on Redis), and a revocation on one is seen by every other at its next request.
"""

from __future__ import annotations

import hmac
import logging
import re
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
from codemode.server.oauth._secrets import Secret
from codemode.server.oauth.grants import GrantStore
from codemode.server.oauth.issuer import TokenIssuer
from codemode.server.oauth.store import SealedRecords, token_hash
from codemode.server.oauth.upstream import Pkce

__all__ = ["GrantAccessToken", "GrantCode", "GrantRefreshToken", "KlaviyoOAuthProvider", "Pending"]

logger = logging.getLogger("codemode.server.oauth")

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Schemes a browser would run or read locally instead of handing the code to an application.
_FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob"}
# An S256 challenge is BASE64URL(SHA-256(verifier)): exactly 43 characters (RFC 7636, 4.2). An
# empty or short one used to be accepted: the user went through consent and Klaviyo's sign-in for
# a code no verifier could redeem, and the server held a Klaviyo grant nobody could use.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
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

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, for sealed storage only (it holds the PKCE verifier)."""
        return {
            "client": self.client.model_dump(mode="json"),
            "params": self.params.model_dump(mode="json"),
            "scopes": list(self.scopes),
            "verifier": self.pkce.verifier.reveal(),
            "challenge": self.pkce.challenge,
            "csrf": self.csrf,
            "created_at": self.created_at,
            "approved": self.approved,
        }

    @classmethod
    def from_json(cls, txn: str, raw: dict[str, Any]) -> Pending:
        """Inverse of :meth:`to_json`."""
        return cls(
            txn=txn,
            client=OAuthClientInformationFull.model_validate(raw["client"]),
            params=AuthorizationParams.model_validate(raw["params"]),
            scopes=tuple(raw["scopes"]),
            pkce=Pkce(Secret(str(raw["verifier"])), str(raw["challenge"])),
            csrf=str(raw["csrf"]),
            created_at=float(raw["created_at"]),
            approved=bool(raw["approved"]),
        )


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
        max_pending_per_client: int = 16,
        max_clients: int = 10_000,
        client_ttl: float = 3600.0,
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
        # One client's share of the sign-ins in progress: without it, one registered client
        # calling /authorize in a loop filled the global table and every other user's sign-in
        # was refused for as long as it kept going.
        self.max_pending_per_client = max_pending_per_client
        self.max_clients = max_clients
        self.client_ttl = client_ttl  # a registered client never used for a sign-in is dropped
        self.records: SealedRecords = grants.records

    @property
    def callback_url(self) -> str:
        """The fixed redirect URI registered with Klaviyo for this server."""
        return f"{self.server_url}{self.callback_path}"

    # -- clients (DCR) -----------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        """A registered client, or None; each use restarts its time to live."""
        if not client_id:
            return None
        raw = await self.records.get("client", client_id)
        if raw is None:
            return None
        keep = float(raw["keep_s"])
        await self.records.touch("client", client_id, ttl_s=keep)
        await self.records.kv.index_add(
            self.records.index("client"), client_id, self.clock() + keep, ttl_s=keep
        )
        return OAuthClientInformationFull.model_validate(raw["info"])

    async def client_count(self) -> int:
        """Registered clients not yet expired."""
        index = self.records.index("client")
        await self.records.kv.index_pop_due(index, self.clock())
        return await self.records.kv.index_size(index)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Keep a dynamically registered client (one record, expiring unless it signs in).

        Raises:
            RegistrationError: a redirect URI is plain HTTP off loopback (OAuth 2.1 allows
                https, loopback http and native-app schemes such as ``cursor://``), uses a
                scheme a browser would execute, or the server holds too many clients.
        """
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
        if await self.client_count() >= self.max_clients:
            raise RegistrationError(
                "invalid_client_metadata", "this server has too many registered clients; try later"
            )
        client_id = client_info.client_id or ""
        await self._keep_client(client_id, self.client_ttl, client_info.model_dump(mode="json"))
        logger.info("registered OAuth client %s", client_id)

    async def _keep_client(
        self, client_id: str, keep_s: float, info: dict[str, Any] | None = None
    ) -> None:
        """Store the client (``info``) or lengthen its life to at least ``keep_s`` unused."""
        if info is None:
            raw = await self.records.get("client", client_id)
            if raw is None or float(raw["keep_s"]) >= keep_s:
                return
            info = raw["info"]
        record = {"info": info, "keep_s": keep_s}
        await self.records.put("client", client_id, record, ttl_s=keep_s)
        await self.records.kv.index_add(
            self.records.index("client"), client_id, self.clock() + keep_s, ttl_s=keep_s
        )

    # -- authorize, consent, callback --------------------------------------------------------

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        """Record the request and send the browser to our consent page."""
        if not _S256_CHALLENGE.fullmatch(params.code_challenge or ""):
            raise AuthorizeError(
                "invalid_request", "code_challenge must be an S256 challenge (43 characters)"
            )
        if params.resource is not None and not _same_resource(params.resource, self.resource_url):
            raise AuthorizeError(
                "invalid_target", f"this server issues tokens only for {self.resource_url}"
            )
        scopes = tuple(params.scopes) if params.scopes else self._client_scopes(client)
        unknown = [scope for scope in scopes if scope not in self.scopes]
        if unknown:
            raise AuthorizeError("invalid_scope", f"unknown scopes: {' '.join(unknown)}")
        await self.sweep()
        if await self.pending_count(client.client_id) >= self.max_pending_per_client:
            raise AuthorizeError(
                "temporarily_unavailable",
                "too many sign-ins of this client are in progress; finish or wait for them",
            )
        if await self.pending_count() >= self.max_pending:
            raise AuthorizeError(
                "temporarily_unavailable", "too many sign-ins are in progress; try again shortly"
            )
        txn = secrets.token_urlsafe(24)
        pending = Pending(
            txn=txn,
            client=client,
            params=params,
            scopes=scopes,
            pkce=Pkce.new(),
            csrf=secrets.token_urlsafe(24),
            created_at=self.clock(),
        )
        await self.records.put("pending", txn, pending.to_json(), ttl_s=self.pending_ttl)
        for index in (self.records.index("pending"), _client_pending(self, client.client_id)):
            await self.records.kv.index_add(
                index, txn, pending.created_at + self.pending_ttl, ttl_s=self.pending_ttl
            )
        return f"{self.server_url}{self.consent_path}?txn={txn}"

    async def pending_count(self, client_id: str | None = None) -> int:
        """Sign-ins started and not yet finished or expired (of ``client_id``, when given)."""
        index = (
            self.records.index("pending") if client_id is None else _client_pending(self, client_id)
        )
        await self.records.kv.index_pop_due(index, self.clock())
        return await self.records.kv.index_size(index)

    async def pending(self, txn: str) -> Pending | None:
        """The pending login ``txn``, unless it expired."""
        if not txn or len(txn) > 128:
            return None
        raw = await self.records.get("pending", txn)
        if raw is None:
            return None
        pending = Pending.from_json(txn, raw)
        if self.clock() - pending.created_at > self.pending_ttl:
            return None
        return pending

    async def _end_pending(self, txn: str) -> bool:
        """Consume the pending login: True for the one caller (of any replica) that got it."""
        taken = await self.records.take("pending", txn)
        await self.records.kv.index_remove(self.records.index("pending"), txn)
        if taken is not None:
            client_id = Pending.from_json(txn, taken).client.client_id
            await self.records.kv.index_remove(_client_pending(self, client_id or ""), txn)
        return taken is not None

    async def approve(self, txn: str, csrf: str, cookie: str | None) -> str | None:
        """The user approved on the consent page: Klaviyo's authorize URL, or None when the form
        is stale or was not posted by the browser that loaded the page."""
        pending = await self.pending(txn)
        if pending is None or cookie is None:
            return None
        if not (
            hmac.compare_digest(csrf, pending.csrf) and hmac.compare_digest(cookie, pending.csrf)
        ):
            return None
        pending.approved = True
        left = pending.created_at + self.pending_ttl - self.clock()
        await self.records.put("pending", txn, pending.to_json(), ttl_s=left)
        return self.grants.upstream.authorization_url(
            redirect_uri=self.callback_url, scopes=pending.scopes, state=txn, pkce=pending.pkce
        )

    async def deny(self, txn: str, csrf: str) -> str | None:
        """The user refused: the client's redirect with ``access_denied``, or None if stale."""
        pending = await self.pending(txn)
        if pending is None or not hmac.compare_digest(csrf, pending.csrf):
            return None
        if not await self._end_pending(txn):
            return None
        return self._client_redirect(pending, error="access_denied")

    async def complete(
        self, *, state: str, code: str | None, error: str | None, cookie: str | None
    ) -> str | None:
        """Klaviyo sent the browser back: the client's redirect URI (with our code or an error),
        or None when ``state`` names no approved login of this browser."""
        pending = await self.pending(state)
        if pending is None or not pending.approved or cookie is None:
            return None
        if not hmac.compare_digest(cookie, pending.csrf):
            return None
        if not await self._end_pending(state):  # one use, whatever happens next
            return None
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
        client_id = pending.client.client_id or ""
        now = self.clock()
        account = await self.grants.upstream.account_id(tokens.access_token)
        grant = await self.grants.add(
            tokens, client_id=client_id, until=now + self.code_ttl, account_id=account
        )
        logger.info("Klaviyo login completed: grant %s for client %s", grant.id[:8], client_id)
        our_code = secrets.token_urlsafe(32)
        record = GrantCode(
            code=our_code,
            scopes=[scope for scope in pending.scopes if scope in granted],
            expires_at=now + self.code_ttl,
            client_id=client_id,
            code_challenge=pending.params.code_challenge,
            redirect_uri=pending.params.redirect_uri,
            redirect_uri_provided_explicitly=pending.params.redirect_uri_provided_explicitly,
            resource=self.resource_url,
            subject=grant.id,
            grant_id=grant.id,
        )
        stored = record.model_dump(mode="json")
        stored.pop("code")  # the key is the code's hash; the code itself is never stored
        await self.records.put("code", token_hash(our_code), stored, ttl_s=self.code_ttl)
        return construct_redirect_uri(
            str(pending.params.redirect_uri), code=our_code, state=pending.params.state
        )

    # -- codes and tokens --------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantCode | None:
        """Our code, if it was issued to this client and has not been redeemed."""
        raw = await self.records.get("code", token_hash(authorization_code))
        if raw is None or raw.get("client_id") != client.client_id:
            return None
        return GrantCode.model_validate({**raw, "code": authorization_code})

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantCode
    ) -> OAuthToken:
        """Issue our tokens for a code the SDK has checked (client, redirect URI, PKCE).

        The code is taken atomically from the shared state: of two redemptions at once, on
        the same replica or on two, exactly one gets tokens.
        """
        if await self.records.take("code", token_hash(authorization_code.code)) is None:
            raise TokenError("invalid_grant", "authorization code was already used")
        if await self.grants.get(authorization_code.grant_id) is None:
            raise TokenError("invalid_grant", "the Klaviyo login behind this code was revoked")
        return await self._issue(
            client.client_id or "", authorization_code.grant_id, authorization_code.scopes
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantRefreshToken | None:
        """Our refresh token, if it is live, belongs to this client and its grant still exists.

        A refresh token that was already exchanged is a sign it was copied (OAuth 2.1 section
        4.3.1): the whole login is revoked, so neither the thief nor the client keeps it.
        """
        key = token_hash(refresh_token)
        record = await self.records.get("refresh", key)
        if record is None:
            spent = await self.records.get("spent", key)
            if spent is not None and spent["client_id"] == client.client_id:
                logger.warning(
                    "a spent refresh token was presented again; revoking grant %s",
                    str(spent["grant_id"])[:8],
                )
                await self.grants.revoke(str(spent["grant_id"]))
            return None
        if record["client_id"] != client.client_id:
            return None
        grant_id = str(record["grant_id"])
        if record["expires_at"] < self.clock() or await self.grants.get(grant_id) is None:
            return None
        return GrantRefreshToken(
            token=refresh_token,
            client_id=record["client_id"],
            scopes=list(record["scopes"]),
            expires_at=int(record["expires_at"]),
            resource=self.resource_url,
            subject=grant_id,
            grant_id=grant_id,
        )

    async def exchange_refresh_token(
        self,
        client: OAuthClientInformationFull,
        refresh_token: GrantRefreshToken,
        scopes: list[str],
    ) -> OAuthToken:
        """Rotate: the presented refresh token dies (kept as *spent* to catch a replay) and a new
        pair is issued for the same grant. Taking the record is atomic, so of two rotations of
        one token at once (on any replicas) only one succeeds."""
        key = token_hash(refresh_token.token)
        record = await self.records.take("refresh", key)
        if record is None:
            raise TokenError("invalid_grant", "refresh token was already used")
        grant_id = refresh_token.grant_id
        left = float(record["expires_at"]) - self.clock()
        spent = {"grant_id": grant_id, "client_id": record["client_id"]}
        await self.records.put("spent", key, spent, ttl_s=left)
        # Keep only the latest spent token per grant: enough to catch the replay of a stolen
        # token, without one record per refresh piling up for 30 days.
        previous = await self.records.take("last-spent", grant_id)
        if previous is not None and previous["hash"] != key:
            await self.records.delete("spent", str(previous["hash"]))
        await self.records.put("last-spent", grant_id, {"hash": key}, ttl_s=left)
        return await self._issue(client.client_id or "", grant_id, scopes)

    async def load_access_token(self, token: str) -> GrantAccessToken | None:
        """Verify one of our access tokens: signature, issuer, audience, expiry, live grant.

        The grant is read from the shared state on every request, so a revocation on any
        replica ends the token everywhere."""
        claims = self.issuer.verify(token)
        if claims is None:
            return None
        grant = await self.grants.get(claims.subject)
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

    async def _issue(self, client_id: str, grant_id: str, scopes: Sequence[str]) -> OAuthToken:
        access, _ = self.issuer.issue(subject=grant_id, client_id=client_id, scopes=scopes)
        refresh = secrets.token_urlsafe(32)
        now = self.clock()
        record = {
            "client_id": client_id,
            "grant_id": grant_id,
            "scopes": list(scopes),
            "expires_at": now + self.refresh_ttl,
        }
        await self.records.put("refresh", token_hash(refresh), record, ttl_s=self.refresh_ttl)
        await self.grants.extend(grant_id, now + self.refresh_ttl)
        await self._keep_client(client_id, float(self.refresh_ttl))  # signed in: kept
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

    async def sweep(self) -> int:
        """Revoke grants nobody can use any more (here and at Klaviyo).

        That is a grant whose code expired unexchanged, or whose refresh tokens have all
        expired (its last access token expired long before). Runs on every ``/authorize``;
        a server may also call it periodically. Each such grant goes to one replica only.
        Clients and pending logins expire by themselves (their records have a time to live).

        Returns:
            How many grants were revoked.
        """
        orphans = await self.grants.pop_unused()
        for grant_id in orphans:
            logger.info("revoking unused grant %s", grant_id[:8])
            await self.grants.revoke(grant_id)
        return len(orphans)


def _client_pending(provider: KlaviyoOAuthProvider, client_id: str) -> str:
    """The index of one client's sign-ins in progress (the id hashed: a key of fixed shape)."""
    return provider.records.index("pending-client:" + token_hash(client_id))

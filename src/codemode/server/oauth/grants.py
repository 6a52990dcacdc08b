"""Klaviyo grants held server-side, one per login, and the refreshing of their tokens.

A *grant* is what one user's consent at Klaviyo produced: an access token, a refresh token and
the scopes. Each grant has a random id; the tokens we issue to MCP clients carry that id as their
subject, and nothing else leads to a grant, so one user's session can never reach another
user's Klaviyo tokens.

Grants live on the state backend (:class:`~codemode.server.oauth.store.SealedRecords`): one
sealed record per grant under ``oauth:grant:<id>``, so a login made on one replica serves
requests on every other, and a revocation on one is seen by all at their next request. An index
scores each grant with the time after which nobody can use it any more (its code unexchanged,
or all its refresh tokens expired), which is when :meth:`GrantStore.pop_unused` hands it back
for revocation. A refresh of Klaviyo's tokens takes a short lease in the shared state, so two
replicas never both spend the same (rotating) Klaviyo refresh token.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from codemode.server.oauth._errors import NotLoggedInError, UpstreamOAuthError
from codemode.server.oauth._secrets import Secret
from codemode.server.oauth.store import SealedRecords
from codemode.server.oauth.upstream import KlaviyoOAuthClient, UpstreamTokens

__all__ = ["Grant", "GrantStore"]

_KIND = "grant"
_LEASE_S = 30.0
"""How long a replica may hold the refresh lease of one grant (a Klaviyo round trip or two)."""
_KEEP_AFTER_S = 86_400.0
"""How long a grant's record outlives its last use, so the sweep can still revoke it at Klaviyo."""


@dataclass(slots=True)
class Grant:
    """One user's Klaviyo consent, held server-side.

    Attributes:
        id: random id; the ``sub`` of every token we issue for it.
        client_id: the MCP client the user authorized.
        tokens: Klaviyo's tokens (never stored unencrypted).
        created_at: when the user logged in (store clock).
        until: after this time (store clock) nobody holds a way to use the grant.
        account_id: the Klaviyo account the user consented for, when Klaviyo told us at login
            (``GET /api/accounts``, which needs ``accounts:read``); empty when it did not.
    """

    id: str
    client_id: str
    tokens: UpstreamTokens
    created_at: float
    until: float
    account_id: str = ""

    @property
    def principal(self) -> str:
        """Who the server's per-caller limits, stores and caches count this login as.

        One MCP client signed in to one Klaviyo account is one principal however many times it
        signs in (each sign-in is a new grant): otherwise signing in N times held N times every
        per-principal limit. Without a known account, the grant alone.
        """
        if self.account_id:
            return f"oauth:{self.client_id}:{self.account_id}"
        return f"oauth:{self.id}"

    def __repr__(self) -> str:
        return f"Grant(id={self.id!r}, client_id={self.client_id!r}, scopes={self.tokens.scopes})"


class GrantStore:
    """Grants on the state backend, sealed.

    Args:
        upstream: Klaviyo's OAuth client, used to refresh and revoke.
        records: where the sealed records live (memory, SQLite or Redis).
        clock: seconds since the epoch; compared with ``UpstreamTokens.expires_at``.
        refresh_skew: refresh this many seconds before Klaviyo's token expires.
        lease_wait_s: how long to wait for another replica's refresh of the same grant.
    """

    def __init__(
        self,
        upstream: KlaviyoOAuthClient,
        *,
        records: SealedRecords,
        clock: Callable[[], float],
        refresh_skew: float = 60.0,
        lease_wait_s: float = 15.0,
    ) -> None:
        self.upstream = upstream
        self.records = records
        self._clock = clock
        self._skew = refresh_skew
        self._lease_wait_s = lease_wait_s
        self._locks: dict[str, asyncio.Lock] = {}

    # -- grants ------------------------------------------------------------------------------

    async def add(
        self, tokens: UpstreamTokens, *, client_id: str, until: float, account_id: str = ""
    ) -> Grant:
        """Keep a new grant, usable until ``until`` unless :meth:`extend` is called."""
        now = self._clock()
        grant = Grant(secrets.token_urlsafe(24), client_id, tokens, now, until, account_id)
        await self._save(grant)
        await self.records.kv.index_add(
            self.records.index(_KIND), grant.id, until, ttl_s=until - now + _KEEP_AFTER_S
        )
        return grant

    async def extend(self, grant_id: str, until: float) -> None:
        """A new way to use the grant lives until ``until``: keep it at least that long."""
        grant = await self.get(grant_id)
        if grant is None or grant.until >= until:
            return
        grant.until = until
        await self._save(grant)
        await self.records.kv.index_add(
            self.records.index(_KIND),
            grant_id,
            until,
            ttl_s=until - self._clock() + _KEEP_AFTER_S,
        )

    async def get(self, grant_id: str) -> Grant | None:
        """The grant with this id, or None when it was revoked or never existed."""
        if not grant_id:
            return None
        raw = await self.records.get(_KIND, grant_id)
        if raw is None:
            return None
        return Grant(
            grant_id,
            str(raw["client_id"]),
            UpstreamTokens.from_json(raw["tokens"]),
            float(raw["created_at"]),
            float(raw["until"]),
            str(raw.get("account_id") or ""),  # grants kept before accounts were recorded
        )

    async def count(self) -> int:
        """Grants held (those revoked are gone; those unused are counted until swept)."""
        return await self.records.kv.index_size(self.records.index(_KIND))

    async def pop_unused(self) -> list[str]:
        """Ids of grants nobody can use any more, each handed to exactly one caller."""
        return await self.records.kv.index_pop_due(self.records.index(_KIND), self._clock())

    async def access_token(self, grant_id: str) -> Secret:
        """A Klaviyo access token for the grant, refreshed first when it is about to expire.

        Raises:
            NotLoggedInError: the grant is gone or Klaviyo no longer accepts its refresh token.
        """
        grant = await self._require(grant_id)
        if grant.tokens.expires_at - self._skew > self._clock():
            return grant.tokens.access_token
        return await self._refresh(grant_id, grant.tokens.access_token)

    async def refresh_after_401(self, grant_id: str, rejected: Secret | None = None) -> Secret:
        """Klaviyo answered 401 to ``rejected``: refresh, unless another task already did.

        Raises:
            NotLoggedInError: the grant is gone or cannot be refreshed.
        """
        if rejected is None:
            rejected = (await self._require(grant_id)).tokens.access_token
        return await self._refresh(grant_id, rejected)

    async def revoke(self, grant_id: str) -> bool:
        """Forget the grant (on every replica at once) and revoke its refresh token at Klaviyo.

        Returns:
            True when Klaviyo confirmed the revocation (or there was nothing to revoke there).
        """
        raw = await self.records.take(_KIND, grant_id)
        await self.records.kv.index_remove(self.records.index(_KIND), grant_id)
        self._locks.pop(grant_id, None)
        if raw is None:
            return True
        tokens = UpstreamTokens.from_json(raw["tokens"])
        token = tokens.refresh_token or tokens.access_token
        try:
            await self.upstream.revoke(
                token, hint="refresh_token" if tokens.refresh_token else "access_token"
            )
        except UpstreamOAuthError:
            return False
        return True

    async def _refresh(self, grant_id: str, stale: Secret) -> Secret:
        """Replace ``stale`` with a fresh Klaviyo token, once across tasks and replicas."""
        async with self._lock(grant_id):
            lease = self.records.key("grant-lease", grant_id)
            holder = secrets.token_hex(8).encode()
            deadline = time.monotonic() + self._lease_wait_s
            while not await self.records.kv.set(lease, holder, ttl_s=_LEASE_S, only_if_new=True):
                grant = await self._require(grant_id)
                if grant.tokens.access_token != stale:
                    return grant.tokens.access_token  # another replica refreshed meanwhile
                if time.monotonic() > deadline:
                    raise UpstreamOAuthError(
                        "another replica is refreshing this Klaviyo login; retry shortly",
                        error="temporarily_unavailable",
                        status=0,
                    )
                await anyio.sleep(0.05)
            try:
                grant = await self._require(grant_id)
                if grant.tokens.access_token != stale:
                    return grant.tokens.access_token  # refreshed while we waited
                return await self._refresh_now(grant)
            finally:
                if await self.records.kv.get(lease) == holder:
                    await self.records.kv.delete(lease)

    async def _refresh_now(self, grant: Grant) -> Secret:
        if grant.tokens.refresh_token is None:
            await self._drop(grant.id)
            raise NotLoggedInError(
                "the Klaviyo access token expired and Klaviyo gave no refresh token; log in again"
            )
        try:
            fresh = await self.upstream.refresh(grant.tokens.refresh_token, grant.tokens)
        except UpstreamOAuthError as exc:
            if exc.error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
                await self._drop(grant.id)
                raise NotLoggedInError(
                    "Klaviyo no longer accepts this login (it was revoked or expired); "
                    "reconnect the MCP client to log in again"
                ) from None
            raise
        grant.tokens = fresh
        await self._save(grant)
        return fresh.access_token

    async def _drop(self, grant_id: str) -> None:
        await self.records.delete(_KIND, grant_id)
        await self.records.kv.index_remove(self.records.index(_KIND), grant_id)

    async def _save(self, grant: Grant) -> None:
        record = {
            "client_id": grant.client_id,
            "created_at": grant.created_at,
            "until": grant.until,
            "tokens": grant.tokens.to_json(),
            "account_id": grant.account_id,
        }
        ttl = grant.until - self._clock() + _KEEP_AFTER_S
        await self.records.put(_KIND, grant.id, record, ttl_s=ttl)

    async def _require(self, grant_id: str) -> Grant:
        grant = await self.get(grant_id)
        if grant is None:
            raise NotLoggedInError(
                "this session's Klaviyo login was revoked or has expired; reconnect the MCP "
                "client to log in again"
            )
        return grant

    def _lock(self, grant_id: str) -> asyncio.Lock:
        lock = self._locks.get(grant_id)
        if lock is None:
            lock = self._locks[grant_id] = asyncio.Lock()
        return lock

"""Klaviyo grants held server-side, one per login, and the refreshing of their tokens.

A *grant* is what one user's consent at Klaviyo produced: an access token, a refresh token and
the scopes. Each grant has a random id; the tokens we issue to MCP clients carry that id as their
subject, and nothing else leads to a grant, so one user's session can never reach another
user's Klaviyo tokens.

The store also keeps the authorization server's own durable records (registered clients and
hashed refresh tokens) so that one encrypted file can hold everything that must survive a
restart. Access tokens we issue are short-lived JWTs and are not stored.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from codemode.server.oauth._errors import NotLoggedInError, UpstreamOAuthError
from codemode.server.oauth._secrets import Secret, SecretBox, read_private, write_private
from codemode.server.oauth.upstream import KlaviyoOAuthClient, UpstreamTokens

__all__ = ["Grant", "GrantStore"]

_STATE_VERSION = 1


@dataclass(slots=True)
class Grant:
    """One user's Klaviyo consent, held server-side.

    Attributes:
        id: random id; the ``sub`` of every token we issue for it.
        client_id: the MCP client the user authorized.
        tokens: Klaviyo's tokens (never leave this process unencrypted).
        created_at: when the user logged in (store clock).
    """

    id: str
    client_id: str
    tokens: UpstreamTokens
    created_at: float

    def __repr__(self) -> str:
        return f"Grant(id={self.id!r}, client_id={self.client_id!r}, scopes={self.tokens.scopes})"


class GrantStore:
    """Grants in memory, optionally mirrored to one encrypted ``0600`` file.

    Args:
        upstream: Klaviyo's OAuth client, used to refresh and revoke.
        clock: seconds; compared with ``UpstreamTokens.expires_at``.
        path: where to persist (None keeps everything in memory).
        box: the encryption for ``path``; required with it.
        refresh_skew: refresh this many seconds before Klaviyo's token expires.
    """

    def __init__(
        self,
        upstream: KlaviyoOAuthClient,
        *,
        clock: Callable[[], float],
        path: Path | None = None,
        box: SecretBox | None = None,
        refresh_skew: float = 60.0,
    ) -> None:
        if path is not None and box is None:
            raise ValueError("persisting grants needs an encryption key")
        self.upstream = upstream
        self._clock = clock
        self._path = path
        self._box = box
        self._skew = refresh_skew
        self._grants: dict[str, Grant] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Durable records of the authorization server, kept here so one file holds them all.
        self.clients: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self._writing = False
        if path is not None and path.exists():
            self._load(path)

    # -- grants ------------------------------------------------------------------------------

    def add(self, tokens: UpstreamTokens, *, client_id: str) -> Grant:
        """Keep a new grant and return it."""
        grant = Grant(secrets.token_urlsafe(24), client_id, tokens, self._clock())
        self._grants[grant.id] = grant
        self.save()
        return grant

    def get(self, grant_id: str) -> Grant | None:
        """The grant with this id, or None when it was revoked or never existed."""
        return self._grants.get(grant_id)

    def grants(self) -> list[Grant]:
        """Every grant held (a snapshot)."""
        return list(self._grants.values())

    def __len__(self) -> int:
        return len(self._grants)

    async def access_token(self, grant_id: str) -> Secret:
        """A Klaviyo access token for the grant, refreshed first when it is about to expire.

        Raises:
            NotLoggedInError: the grant is gone or Klaviyo no longer accepts its refresh token.
        """
        grant = self._require(grant_id)
        if grant.tokens.expires_at - self._skew > self._clock():
            return grant.tokens.access_token
        async with self._lock(grant_id):
            grant = self._require(grant_id)
            if grant.tokens.expires_at - self._skew > self._clock():
                return grant.tokens.access_token  # another task refreshed while we waited
            return await self._refresh(grant)

    async def refresh_after_401(self, grant_id: str, rejected: Secret | None = None) -> Secret:
        """Klaviyo answered 401 to ``rejected``: refresh, unless another task already did.

        Raises:
            NotLoggedInError: the grant is gone or cannot be refreshed.
        """
        async with self._lock(grant_id):
            grant = self._require(grant_id)
            if rejected is not None and grant.tokens.access_token != rejected:
                return grant.tokens.access_token
            return await self._refresh(grant)

    async def revoke(self, grant_id: str) -> bool:
        """Forget the grant and revoke its refresh token at Klaviyo.

        Returns:
            True when Klaviyo confirmed the revocation (or there was nothing to revoke there).
        """
        grant = self._grants.pop(grant_id, None)
        self._locks.pop(grant_id, None)
        self.refresh_tokens = {
            key: record
            for key, record in self.refresh_tokens.items()
            if record.get("grant_id") != grant_id
        }
        self.save()
        if grant is None:
            return True
        token = grant.tokens.refresh_token or grant.tokens.access_token
        try:
            await self.upstream.revoke(
                token, hint="refresh_token" if grant.tokens.refresh_token else "access_token"
            )
        except UpstreamOAuthError:
            return False
        return True

    async def _refresh(self, grant: Grant) -> Secret:
        if grant.tokens.refresh_token is None:
            self._drop(grant.id)
            raise NotLoggedInError(
                "the Klaviyo access token expired and Klaviyo gave no refresh token; log in again"
            )
        try:
            fresh = await self.upstream.refresh(grant.tokens.refresh_token, grant.tokens)
        except UpstreamOAuthError as exc:
            if exc.error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
                self._drop(grant.id)
                raise NotLoggedInError(
                    "Klaviyo no longer accepts this login (it was revoked or expired); "
                    "reconnect the MCP client to log in again"
                ) from None
            raise
        grant.tokens = fresh
        self.save()
        return fresh.access_token

    def _drop(self, grant_id: str) -> None:
        self._grants.pop(grant_id, None)
        self.refresh_tokens = {
            key: record
            for key, record in self.refresh_tokens.items()
            if record.get("grant_id") != grant_id
        }
        self.save()

    def _require(self, grant_id: str) -> Grant:
        grant = self._grants.get(grant_id)
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

    # -- persistence -------------------------------------------------------------------------

    def save(self) -> None:
        """Write the encrypted state file (no-op when in memory only)."""
        if self._path is None or self._box is None:
            return
        self._write(self._document())

    async def save_off_loop(self) -> None:
        """:meth:`save`, with the encryption and the write in a worker thread.

        The snapshot is taken here (on the loop, so no record changes under it); saves that
        arrive while one is being written are coalesced into one more write of the latest state.
        """
        if self._path is None or self._box is None:
            return
        self._dirty = True
        if self._writing:
            return
        self._writing = True
        try:
            while self._dirty:
                self._dirty = False
                document = self._document()
                await anyio.to_thread.run_sync(self._write, document)
        finally:
            self._writing = False

    def _write(self, document: dict[str, Any]) -> None:
        assert self._path is not None and self._box is not None
        write_private(self._path, self._box.seal(json.dumps(document).encode()))

    def _document(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "grants": {
                grant.id: {
                    "client_id": grant.client_id,
                    "created_at": grant.created_at,
                    "tokens": grant.tokens.to_json(),
                }
                for grant in self._grants.values()
            },
            "clients": dict(self.clients),
            "refresh_tokens": dict(self.refresh_tokens),
        }

    def _load(self, path: Path) -> None:
        assert self._box is not None
        document = json.loads(self._box.open(read_private(path), source=path))
        if document.get("version") != _STATE_VERSION:
            return  # an unknown layout is ignored rather than misread; users log in again
        for grant_id, raw in document.get("grants", {}).items():
            self._grants[grant_id] = Grant(
                grant_id,
                str(raw["client_id"]),
                UpstreamTokens.from_json(raw["tokens"]),
                float(raw["created_at"]),
            )
        self.clients = dict(document.get("clients", {}))
        self.refresh_tokens = dict(document.get("refresh_tokens", {}))

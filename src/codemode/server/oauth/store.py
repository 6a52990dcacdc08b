"""The authorization server's records on the state backend, every one sealed and expiring.

All OAuth state (registered clients, pending logins, our authorization codes, our refresh
tokens, the Klaviyo grants) lives as one key per record on a
:class:`~codemode.state.KeyValue`: in this process's memory, in a SQLite file (one server that
must survive a restart) or on Redis (replicas). Every replica therefore sees a code issued, a
token revoked or a client registered by any other.

Rules kept here so callers cannot forget them:

* every key is under ``oauth:`` and every record has a time to live;
* a key never contains a token: tokens and codes appear only as SHA-256 hashes;
* every value is sealed with :class:`~codemode.server.oauth._secrets.SecretBox` (Fernet, under a
  key derived from ``CODEMODE_OAUTH_KEY``), so Klaviyo's tokens, PKCE verifiers and client
  secrets are never readable in Redis or in the file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from codemode.server.oauth._secrets import SecretBox
from codemode.state import KeyValue

__all__ = ["SealedRecords", "token_hash"]

PREFIX = "oauth:"
_KEY_CHECK = PREFIX + "key-check"
_KEY_CHECK_VALUE = b"codemode-oauth-key-check"


def token_hash(token: str) -> str:
    """The SHA-256 of a token or code: the only form in which it appears in a key."""
    return hashlib.sha256(token.encode()).hexdigest()


class SealedRecords:
    """JSON records under ``oauth:<kind>:<id>``, sealed with ``box``, each with a TTL."""

    def __init__(self, kv: KeyValue, box: SecretBox, *, source: str = "the OAuth state") -> None:
        """Keep records in ``kv``; ``source`` names the store in decryption errors."""
        self.kv = kv
        self.box = box
        self.source = source

    @staticmethod
    def key(kind: str, ident: str) -> str:
        """The key of record ``ident`` of ``kind``."""
        return f"{PREFIX}{kind}:{ident}"

    @staticmethod
    def index(kind: str) -> str:
        """The key of the index over records of ``kind``."""
        return f"{PREFIX}index:{kind}"

    def _open(self, sealed: bytes | None) -> dict[str, Any] | None:
        if sealed is None:
            return None
        record: dict[str, Any] = json.loads(self.box.open(sealed, source=self.source))
        return record

    async def get(self, kind: str, ident: str) -> dict[str, Any] | None:
        """The record, or None when absent or expired.

        Raises:
            OAuthError: the record was sealed under another key.
        """
        return self._open(await self.kv.get(self.key(kind, ident)))

    async def put(
        self,
        kind: str,
        ident: str,
        record: dict[str, Any],
        *,
        ttl_s: float,
        only_if_new: bool = False,
    ) -> bool:
        """Seal and store ``record`` for ``ttl_s`` seconds; see :meth:`KeyValue.set`."""
        sealed = self.box.seal(json.dumps(record).encode())
        return await self.kv.set(
            self.key(kind, ident), sealed, ttl_s=max(ttl_s, 0.001), only_if_new=only_if_new
        )

    async def take(self, kind: str, ident: str) -> dict[str, Any] | None:
        """Read and delete in one atomic step: of several replicas at once, one gets it."""
        return self._open(await self.kv.take(self.key(kind, ident)))

    async def delete(self, kind: str, ident: str) -> None:
        """Forget the record."""
        await self.kv.delete(self.key(kind, ident))

    async def touch(self, kind: str, ident: str, *, ttl_s: float) -> bool:
        """Restart the record's time to live; False when it is gone."""
        return await self.kv.touch(self.key(kind, ident), ttl_s=ttl_s)


def check_key_now(kv: Any, box: SecretBox, source: str) -> None:
    """At start-up, refuse a persistent store sealed under another key (with a clear message).

    ``kv`` must offer the synchronous ``get_now``/``set_now`` of
    :class:`~codemode.state.SqliteKeyValue`.

    Raises:
        OAuthError: the store's records cannot be opened with ``box``.
    """
    sealed = kv.get_now(_KEY_CHECK)
    if sealed is None:
        kv.set_now(_KEY_CHECK, box.seal(_KEY_CHECK_VALUE), ttl_s=100 * 365 * 86_400.0)
        return
    box.open(sealed, source=source)

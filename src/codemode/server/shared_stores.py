"""Session stores that every replica sees: :class:`SessionStores`' contract on Redis.

A script's ``store`` saved on one replica is the one the next run finds on another. The bounds
are the same as in memory — per store, per principal (count and bytes, the principal's own least
recently used dropped first) and in all — and enforced atomically inside Redis; each store expires
after its idle lifetime. Keys carry a hash of the principal, never a credential. A store's
provenance sketch lives in a key beside it, with its expiry (see ``codemode.state.redis``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from codemode.server.sessions import StoreSlot
from codemode.state.redis import RedisStoreBackend

__all__ = ["SharedSessionStores"]


class SharedSessionStores:
    """Per-principal session stores in Redis (a
    :class:`~codemode.server.sessions.StoreKeeper`, as :class:`SessionStores` is).

    Every method that reaches Redis is a coroutine: the replica's event loop serves other
    requests while Redis answers.
    """

    def __init__(
        self,
        backend: RedisStoreBackend,
        *,
        max_stores: int = 1000,
        ttl_s: float = 3600.0,
        max_bytes: int = 1024 * 1024,
        per_principal: int = 64,
        per_principal_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        """Bound the stores as :class:`SessionStores` does."""
        self.backend = backend
        self.max_stores = max_stores
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.per_principal = per_principal
        self.per_principal_bytes = per_principal_bytes

    async def count(self) -> int:
        """Stores kept in all (expired ones not yet swept may still count)."""
        return await self.backend.count()

    async def usage(self, principal: str) -> tuple[int, int]:
        """How many stores ``principal`` keeps, and their bytes."""
        return await self.backend.usage(principal)

    async def open(self, principal: str, requested: str | None, default: str | None) -> StoreSlot:
        """The store for a run: the requested session, else the default one, else a new one."""
        session = requested or default
        if session is None:
            return StoreSlot(session="s" + secrets.token_hex(16), store={})
        found = await self.backend.load(principal, session, self.ttl_s)
        if found is None:
            if requested is not None and requested != default:
                fresh = "s" + secrets.token_hex(16)
                note = (
                    "the session you passed is unknown or expired; started "
                    f"{fresh!r} with an empty store"
                )
                return StoreSlot(session=fresh, store={}, note=note)
            return StoreSlot(session=session, store={})
        blob, sketch = found
        loaded: dict[str, Any] = json.loads(blob)
        return StoreSlot(session=session, store=loaded, sketch=sketch)

    async def save(
        self, principal: str, session: str, store: dict[str, Any], sketch: bytes | None = None
    ) -> str | None:
        """Keep ``store`` for the next run, with ``sketch`` (None: the one it had, if any);
        returns a note for the agent when it was not kept (nor its sketch)."""
        try:
            text = json.dumps(store, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            return (
                "store not kept: it must hold only JSON values (str, int, float, bool, None, "
                f"list, dict): {type(exc).__name__}"
            )
        blob = text.encode() if store else b""
        limits = (
            self.ttl_s,
            self.max_bytes,
            self.per_principal,
            self.per_principal_bytes,
            self.max_stores,
        )
        answer = await self.backend.save(principal, session, blob, limits, sketch)
        if answer == "big":
            limit = min(self.max_bytes, self.per_principal_bytes)
            return f"store not kept: {len(blob)} bytes is over the {limit}-byte limit; keep less"
        if answer == "full":
            return (
                f"store not kept: the server already holds its {self.max_stores} session stores; "
                "retry later or keep what you need in the script"
            )
        return None

    async def aclose(self) -> None:
        """Close the connection to Redis."""
        await self.backend.aclose()

"""Session stores: the ``store`` dict a script keeps between runs, per (principal, session).

Under the 2025-11-25 handshake the MCP session is the default session; the stateless 2026-07-28
revision has none, so each result names a session id (random, unguessable) that the agent passes
back. A store is always looked up under the caller's principal too, so knowing another user's
session id gives nothing: the lookup simply misses and a fresh, empty store starts.

Stores are bounded per principal (count and bytes; a principal's own least recently used go
first, so one caller can never evict another's) and in all; each is dropped after ``ttl_s``
seconds unused, and one larger than ``max_bytes`` (as JSON) is not kept.

Beside a store the keeper holds its provenance sketch (``codemode.sandbox.sketch``: fixed size,
hashes only, never in the store the script sees): read with the store, replaced only when a run
changed it, and dropped with the store (expired, evicted, emptied or not kept). Its bytes are not
counted against the store's limits (each is the same 64 KiB, one per store at most).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["SessionStores", "StoreKeeper", "StoreSlot", "session_id_for_mcp_session"]


def session_id_for_mcp_session(mcp_session_id: str) -> str:
    """The store id an MCP (handshake) session maps to: derived, so it never echoes the header."""
    return "m" + hashlib.sha256(b"codemode-store:" + mcp_session_id.encode()).hexdigest()[:31]


def _new_session_id() -> str:
    return "s" + secrets.token_hex(16)


@dataclass
class StoreSlot:
    """A store handed to one execution.

    Attributes:
        session: The session id to return to the agent.
        store: A copy of the saved store (the sandbox may change it freely).
        note: A line for the agent when the id it passed was unknown or expired, else ``None``.
        sketch: The store's provenance sketch as kept (host-side only), else ``None``.
    """

    session: str
    store: dict[str, Any]
    note: str | None = None
    sketch: bytes | None = None


class StoreKeeper(Protocol):
    """Where a run's store is read and kept: :class:`SessionStores` in this process, or
    ``SharedSessionStores`` on the replicas' Redis.

    The methods are coroutines: on Redis each is a network round trip, and the event loop serves
    other requests while it waits (the in-memory stores never suspend).
    """

    async def count(self) -> int:
        """Stores kept in all."""
        ...

    async def usage(self, principal: str) -> tuple[int, int]:
        """How many stores ``principal`` keeps, and their bytes."""
        ...

    async def open(self, principal: str, requested: str | None, default: str | None) -> StoreSlot:
        """The store for a run: the requested session, else the default one, else a new one."""
        ...

    async def save(
        self, principal: str, session: str, store: dict[str, Any], sketch: bytes | None = None
    ) -> str | None:
        """Keep ``store`` for the next run, with ``sketch`` (None: the one it had, if any);
        returns a note for the agent when it was not kept (nor its sketch)."""
        ...

    async def aclose(self) -> None:
        """Let go of what the stores hold open."""
        ...


class SessionStores:
    """Per-principal LRU + TTL maps from session id to a JSON-compatible ``store`` dict.

    Each principal has its own budget (``per_principal`` stores, ``per_principal_bytes`` bytes);
    saving past it drops that principal's least recently used stores, never another principal's.
    ``max_stores`` caps the total: when every principal together holds that many, a new store is
    not kept (and the run is told), instead of evicting someone else's.

    A :class:`StoreKeeper`: its methods are coroutines, though nothing here waits.
    """

    def __init__(
        self,
        *,
        max_stores: int = 1000,
        ttl_s: float = 3600.0,
        max_bytes: int = 1024 * 1024,
        per_principal: int = 64,
        per_principal_bytes: int = 8 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bound the stores kept.

        Args:
            max_stores: How many stores are kept in all.
            ttl_s: Seconds a store survives unused.
            max_bytes: Largest store kept, measured as compact JSON (UTF-8).
            per_principal: Stores one principal keeps; its least recently used goes first.
            per_principal_bytes: Bytes one principal's stores may take together.
            clock: Monotonic time source (tests pass a fake one).
        """
        self.max_stores = max_stores
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.per_principal = per_principal
        self.per_principal_bytes = per_principal_bytes
        self._clock = clock
        self._stores: dict[str, OrderedDict[str, tuple[float, bytes]]] = {}
        self._sketches: dict[tuple[str, str], bytes] = {}
        self._bytes: dict[str, int] = {}
        self._count = 0

    async def count(self) -> int:
        """Stores kept in all."""
        self._expire()
        return self._count

    async def usage(self, principal: str) -> tuple[int, int]:
        """How many stores ``principal`` keeps, and their bytes."""
        self._expire()
        return len(self._stores.get(principal, ())), self._bytes.get(principal, 0)

    async def open(self, principal: str, requested: str | None, default: str | None) -> StoreSlot:
        """The store for a run: the requested session, else the default one, else a new one.

        Args:
            principal: Secret-free identity of the caller; part of every lookup.
            requested: The ``session`` argument the agent passed, if any.
            default: The session implied by the transport (the MCP session), if any.
        """
        self._expire()
        session = requested or default
        if session is None:
            return StoreSlot(session=_new_session_id(), store={})
        mine = self._stores.get(principal)
        entry = mine.get(session) if mine is not None else None
        if mine is None or entry is None:
            if requested is not None and requested != default:
                fresh = _new_session_id()
                note = (
                    "the session you passed is unknown or expired; started "
                    f"{fresh!r} with an empty store"
                )
                return StoreSlot(session=fresh, store={}, note=note)
            return StoreSlot(session=session, store={})
        mine[session] = (self._clock(), entry[1])
        mine.move_to_end(session)
        loaded: dict[str, Any] = json.loads(entry[1])
        sketch = self._sketches.get((principal, session))
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
        kept_sketch = sketch or self._sketches.get((principal, session))
        self._forget(principal, session)
        if not store:  # an empty store is the default: nothing to keep
            return None
        blob = text.encode()
        limit = min(self.max_bytes, self.per_principal_bytes)
        if len(blob) > limit:
            return f"store not kept: {len(blob)} bytes is over the {limit}-byte limit; keep less"
        self._expire()
        if self._count >= self.max_stores:
            return (
                f"store not kept: the server already holds its {self.max_stores} session stores; "
                "retry later or keep what you need in the script"
            )
        mine = self._stores.setdefault(principal, OrderedDict())
        mine[session] = (self._clock(), blob)
        if kept_sketch is not None:
            self._sketches[(principal, session)] = kept_sketch
        self._bytes[principal] = self._bytes.get(principal, 0) + len(blob)
        self._count += 1
        while len(mine) > self.per_principal or self._bytes[principal] > self.per_principal_bytes:
            oldest = next(iter(mine))
            self._forget(principal, oldest)
        return None

    async def aclose(self) -> None:
        """Nothing to close (the stores live in this process); here for the shared stores'
        sake."""

    def _forget(self, principal: str, session: str) -> None:
        mine = self._stores.get(principal)
        if mine is None or session not in mine:
            return
        _, blob = mine.pop(session)
        self._sketches.pop((principal, session), None)
        self._bytes[principal] -= len(blob)
        self._count -= 1
        if not mine:
            del self._stores[principal]
            del self._bytes[principal]

    def _expire(self) -> None:
        deadline = self._clock() - self.ttl_s
        for principal in list(self._stores):
            mine = self._stores[principal]
            while mine:  # least recently used first: stop at the first one still fresh
                session, (touched, _) = next(iter(mine.items()))
                if touched >= deadline:
                    break
                self._forget(principal, session)
                if principal not in self._stores:
                    break

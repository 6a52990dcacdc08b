"""Session stores: the ``store`` dict a script keeps between runs, per (principal, session).

Under the 2025-11-25 handshake the MCP session is the default session; the stateless 2026-07-28
revision has none, so each result names a session id (random, unguessable) that the agent passes
back. A store is always looked up under the caller's principal too, so knowing another user's
session id gives nothing: the lookup simply misses and a fresh, empty store starts.

Stores are bounded: at most ``max_stores`` (least recently used dropped first), each dropped
after ``ttl_s`` seconds unused, and one larger than ``max_bytes`` (as JSON) is not kept.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SessionStores", "StoreSlot", "session_id_for_mcp_session"]


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
    """

    session: str
    store: dict[str, Any]
    note: str | None = None


class SessionStores:
    """LRU + TTL map from (principal, session id) to a JSON-compatible ``store`` dict."""

    def __init__(
        self,
        *,
        max_stores: int = 1000,
        ttl_s: float = 3600.0,
        max_bytes: int = 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bound the stores kept.

        Args:
            max_stores: How many stores are kept; the least recently used goes first.
            ttl_s: Seconds a store survives unused.
            max_bytes: Largest store kept, measured as compact JSON.
            clock: Monotonic time source (tests pass a fake one).
        """
        self.max_stores = max_stores
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._stores: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._stores)

    def open(self, principal: str, requested: str | None, default: str | None) -> StoreSlot:
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
        entry = self._stores.get((principal, session))
        if entry is None:
            if requested is not None and requested != default:
                fresh = _new_session_id()
                note = f"session {requested!r} is unknown or expired; started {fresh!r} with an empty store"
                return StoreSlot(session=fresh, store={}, note=note)
            return StoreSlot(session=session, store={})
        self._stores[(principal, session)] = (self._clock(), entry[1])
        self._stores.move_to_end((principal, session))
        loaded: dict[str, Any] = json.loads(entry[1])
        return StoreSlot(session=session, store=loaded)

    def save(self, principal: str, session: str, store: dict[str, Any]) -> str | None:
        """Keep ``store`` for the next run; returns a note for the agent when it was not kept."""
        try:
            blob = json.dumps(store, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            return f"store not kept: it must hold only JSON values (str, int, float, bool, None, list, dict): {exc}"
        if len(blob.encode()) > self.max_bytes:
            return f"store not kept: {len(blob.encode())} bytes is over the {self.max_bytes}-byte limit; keep less"
        key = (principal, session)
        self._stores[key] = (self._clock(), blob)
        self._stores.move_to_end(key)
        while len(self._stores) > self.max_stores:
            self._stores.popitem(last=False)
        return None

    def _expire(self) -> None:
        deadline = self._clock() - self.ttl_s
        for key in [k for k, (touched, _) in self._stores.items() if touched < deadline]:
            del self._stores[key]

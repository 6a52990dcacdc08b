"""The seams: a key-value store with expiry and the backend that bundles the shared state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from codemode.errors import ConfigError

__all__ = ["Admitted", "KeyValue", "SlotAsk", "StateBackend", "StateError", "open_state"]

NAMESPACE = "codemode:"
"""Prefix of every key this project writes, so one Redis can serve other applications too."""


class StateError(Exception):
    """The shared state could not be read or written (e.g. Redis went away)."""


@dataclass(frozen=True, slots=True)
class Admitted:
    """What a limit store's ``admit`` decided (``codemode.server.limits.LimitStore``).

    Attributes:
        refused: Index of the first debit its bucket could not pay (nothing after it was
            debited, and no slot taken); None when every one was paid.
        wait_s: Seconds until the refusing bucket could pay (``inf``: never); 0 when paid.
        slot: Whether a slot was taken for the holder.
    """

    refused: int | None = None
    wait_s: float = 0.0
    slot: bool = False


@dataclass(frozen=True, slots=True)
class SlotAsk:
    """A worker slot asked for at admission: for ``holder``, unless the pool already holds
    ``total`` or the principal ``per_principal``; the lease lasts ``lease_s`` unless renewed."""

    holder: str
    total: int
    per_principal: int
    lease_s: float


class KeyValue(Protocol):
    """Bytes under string keys, each with a time to live; every operation is atomic."""

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl_s: float, only_if_new: bool = False) -> bool:
        """Store ``value`` for ``ttl_s`` seconds; with ``only_if_new``, only when ``key`` is free.

        Returns:
            Whether the value was written.
        """
        ...

    async def take(self, key: str) -> bytes | None:
        """Read and delete in one step: of several callers at once, exactly one gets the value."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (no-op when absent)."""
        ...

    async def touch(self, key: str, *, ttl_s: float) -> bool:
        """Restart ``key``'s time to live; False when it is absent."""
        ...

    async def incr(self, key: str, *, ttl_s: float) -> int:
        """Add one to a counter (created at 0 with ``ttl_s``) and return the new value."""
        ...

    async def index_add(self, key: str, member: str, score: float, *, ttl_s: float) -> None:
        """Put ``member`` in the index ``key`` with ``score`` (replacing its old score); the
        index lives at least ``ttl_s`` more seconds."""
        ...

    async def index_remove(self, key: str, member: str) -> None:
        """Drop ``member`` from the index ``key`` (no-op when absent)."""
        ...

    async def index_pop_due(self, key: str, max_score: float) -> list[str]:
        """Remove and return the members scored at most ``max_score``, in one atomic step: of
        several callers at once, each member goes to exactly one."""
        ...

    async def index_size(self, key: str) -> int:
        """How many members the index ``key`` holds."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass
class StateBackend:
    """The shared state of one server: where it lives and its stores.

    Attributes:
        url: ``memory://`` or the Redis URL, with any password removed (safe to log).
        kv: Keys with expiry: OAuth codes, tokens, clients; MCP session records; stores.
        shared: Whether other processes see the same state (Redis) or only this one.
    """

    url: str
    kv: KeyValue
    shared: bool

    async def aclose(self) -> None:
        """Close the connections the backend opened."""
        await self.kv.aclose()


def _safe(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"***@{netloc}").geturl()


def open_state(url: str | None) -> StateBackend:
    """The backend for ``url``: ``memory://`` (default) or ``redis://``/``rediss://``/``unix://``.

    Raises:
        ConfigError: the URL's scheme is unknown, or Redis is asked for without the ``redis``
            package installed (the message says which extra to install).
    """
    url = (url or "memory://").strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("", "memory"):
        from codemode.state.memory import MemoryKeyValue

        return StateBackend(url="memory://", kv=MemoryKeyValue(), shared=False)
    if scheme in ("redis", "rediss", "unix"):
        try:
            from codemode.state.redis import RedisKeyValue
        except ImportError as exc:  # the optional client is missing: say how to get it
            raise ConfigError(
                f"--state {_safe(url)} needs the redis client: pip install 'codemode[redis]' ({exc})"
            ) from exc
        return StateBackend(url=_safe(url), kv=RedisKeyValue.from_url(url), shared=True)
    raise ConfigError(
        f"unknown --state URL scheme {scheme!r}: use memory:// (one process) or "
        "redis://host:6379/0 (replicas sharing state)"
    )

"""Per-principal limits behind one small seam: worker slots with leases and token buckets.

Every limit is keyed by the *principal* (``key:3f9a1c…``, an OAuth subject, ``demo``), never by
the session: a caller that opens a fresh session per run gets no fresh budget. The state lives
behind :class:`LimitStore` so that replicas can share it (:class:`~codemode.state.redis.RedisLimitStore`);
:class:`MemoryLimitStore` is the one-process implementation.

- **Slots**: a run holds one worker slot for its duration. A slot is a lease with an expiry, so a
  holder that crashed without releasing frees it when the lease runs out; the holder renews it
  while it runs. ``try_acquire`` honours two caps at once: the pool in all, and the principal's
  share of it.
- **Token buckets**: ``runs`` (``execute_code`` starts per minute) and ``cpu`` (worker CPU-seconds
  per minute). ``take`` debits before the work and refuses when the bucket cannot pay; ``charge``
  debits after the work what it really cost (the bucket may go below zero, and the principal then
  waits until it refills).

A run's admission is one :meth:`LimitStore.admit` (its budgets, then a slot) and its end one
:meth:`LimitStore.release` (the slot back, the CPU it used charged): on Redis each is one round
trip, one Lua script, instead of one per bucket and per slot operation. The store's methods are
coroutines, so a replica's event loop serves other requests while Redis answers.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from codemode.state import Admitted, SlotAsk

__all__ = [
    "Admitted",
    "Bucket",
    "Busy",
    "Debit",
    "LimitStore",
    "MemoryLimitStore",
    "RateLimited",
    "SlotAsk",
]


class Busy(Exception):
    """No worker slot came free for this principal within the documented wait."""

    def __init__(self, retry_after_s: int, reason: str | None = None) -> None:
        super().__init__(
            reason
            or f"server busy: every sandbox worker you may use is taken; retry after {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s


class RateLimited(Exception):
    """The principal spent a per-minute budget (runs or worker CPU-seconds)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket's shape: ``capacity`` tokens, refilled at ``per_s`` tokens a second."""

    capacity: float
    per_s: float

    @classmethod
    def per_minute(cls, amount: float) -> Bucket:
        """``amount`` tokens a minute, with a burst of the whole minute's amount."""
        return cls(capacity=float(amount), per_s=float(amount) / 60.0)


Debit: TypeAlias = tuple[str, float, Bucket]
"""A bucket's name, the cost to debit from it, and its shape."""


class LimitStore(Protocol):
    """Shared per-principal state: worker slot leases and token buckets.

    The methods are coroutines: on Redis each is a network round trip, and a replica's event loop
    serves other requests while it waits (the in-memory store never suspends).
    """

    async def try_acquire(
        self, principal: str, holder: str, *, total: int, per_principal: int, lease_s: float
    ) -> bool:
        """Take a slot for ``holder`` unless the pool or the principal's share is full."""
        ...

    async def renew(self, principal: str, holder: str, lease_s: float) -> bool:
        """Push the lease of a slot still in use ``lease_s`` seconds into the future.

        Returns:
            False when the lease had already expired or been released: it is not revived (the
            slot may be someone else's by now).
        """
        ...

    async def release(self, principal: str, holder: str, *, charge: Debit | None = None) -> None:
        """Give the slot back (no-op when its lease already expired), and with ``charge`` debit
        that bucket unconditionally in the same step (the CPU the run used)."""
        ...

    async def admit(self, principal: str, takes: Sequence[Debit], slot: SlotAsk | None) -> Admitted:
        """Take each debit in order (stopping at the first its bucket cannot pay); when all are
        paid and ``slot`` is given, take that slot as :meth:`try_acquire` would, in the same
        atomic step."""
        ...

    async def held(self, principal: str | None = None) -> int:
        """Slots held now, in all or by ``principal``."""
        ...

    async def take(self, name: str, principal: str, cost: float, bucket: Bucket) -> float:
        """Debit ``cost`` when the bucket holds it and return 0; else the seconds until it will."""
        ...

    async def charge(self, name: str, principal: str, cost: float, bucket: Bucket) -> None:
        """Debit ``cost`` unconditionally (work already done); the level may go negative."""
        ...

    async def aclose(self) -> None:
        """Let go of the connection, if any."""
        ...


class MemoryLimitStore:
    """:class:`LimitStore` in this process's memory (one server process)."""

    max_keys = 100_000
    """Buckets remembered at most; idle ones (full again) are forgotten first."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Start empty; ``clock`` is a monotonic time source (tests pass a fake one)."""
        self._clock = clock
        self._leases: dict[str, dict[str, float]] = {}
        self._levels: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def _expire(self, principal: str | None = None) -> None:
        now = self._clock()
        for key in [principal] if principal is not None else list(self._leases):
            leases = self._leases.get(key)
            if leases is None:
                continue
            for holder in [h for h, until in leases.items() if until <= now]:
                del leases[holder]
            if not leases:
                del self._leases[key]

    async def try_acquire(
        self, principal: str, holder: str, *, total: int, per_principal: int, lease_s: float
    ) -> bool:
        """See :meth:`LimitStore.try_acquire`."""
        return self._try_acquire(principal, holder, total, per_principal, lease_s)

    def _try_acquire(
        self, principal: str, holder: str, total: int, per_principal: int, lease_s: float
    ) -> bool:
        self._expire()
        mine = self._leases.get(principal, {})
        if self._held() >= total or len(mine) >= per_principal:
            return False
        self._leases.setdefault(principal, {})[holder] = self._clock() + lease_s
        return True

    async def renew(self, principal: str, holder: str, lease_s: float) -> bool:
        """See :meth:`LimitStore.renew`."""
        self._expire(principal)
        leases = self._leases.get(principal)
        if leases is None or holder not in leases:
            return False
        leases[holder] = self._clock() + lease_s
        return True

    async def release(self, principal: str, holder: str, *, charge: Debit | None = None) -> None:
        """See :meth:`LimitStore.release`."""
        leases = self._leases.get(principal)
        if leases is not None:
            leases.pop(holder, None)
            if not leases:
                del self._leases[principal]
        if charge is not None:
            self._charge(charge[0], principal, charge[1], charge[2])

    async def admit(self, principal: str, takes: Sequence[Debit], slot: SlotAsk | None) -> Admitted:
        """See :meth:`LimitStore.admit`."""
        for index, (name, cost, bucket) in enumerate(takes):
            wait = self._take(name, principal, cost, bucket)
            if wait > 0:
                return Admitted(refused=index, wait_s=wait)
        if slot is None:
            return Admitted()
        taken = self._try_acquire(
            principal, slot.holder, slot.total, slot.per_principal, slot.lease_s
        )
        return Admitted(slot=taken)

    async def held(self, principal: str | None = None) -> int:
        """See :meth:`LimitStore.held`."""
        if principal is not None:
            self._expire(principal)
            return len(self._leases.get(principal, {}))
        self._expire()
        return self._held()

    def _held(self) -> int:
        return sum(len(v) for v in self._leases.values())

    def _level(self, key: tuple[str, str], bucket: Bucket) -> float:
        now = self._clock()
        level, at = self._levels.get(key, (bucket.capacity, now))
        level = min(bucket.capacity, level + (now - at) * bucket.per_s)
        self._levels[key] = (level, now)
        self._levels.move_to_end(key)
        while len(self._levels) > self.max_keys:
            self._levels.popitem(last=False)
        return level

    async def take(self, name: str, principal: str, cost: float, bucket: Bucket) -> float:
        """See :meth:`LimitStore.take`."""
        return self._take(name, principal, cost, bucket)

    def _take(self, name: str, principal: str, cost: float, bucket: Bucket) -> float:
        key = (name, principal)
        level = self._level(key, bucket)
        if level >= cost:
            self._levels[key] = (level - cost, self._clock())
            return 0.0
        return (cost - level) / bucket.per_s if bucket.per_s > 0 else math.inf

    async def charge(self, name: str, principal: str, cost: float, bucket: Bucket) -> None:
        """See :meth:`LimitStore.charge`."""
        self._charge(name, principal, cost, bucket)

    def _charge(self, name: str, principal: str, cost: float, bucket: Bucket) -> None:
        key = (name, principal)
        level = self._level(key, bucket)
        # Never more than one minute in debt: a single huge charge must not lock a user out for hours.
        self._levels[key] = (max(-bucket.capacity, level - cost), self._clock())

    async def aclose(self) -> None:
        """Nothing to close."""

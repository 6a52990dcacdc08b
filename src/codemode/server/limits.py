"""Admission control for ``execute_code``: a cap on concurrent workers and a per-session rate.

Each run holds one sandbox worker (a process). At most ``max_workers`` run at once; the rest wait
up to ``queue_s`` seconds for a slot and are then told the server is busy and when to retry,
instead of piling up processes. Separately, each (principal, session) may start at most
``per_minute`` runs in any sliding minute.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

__all__ = ["Busy", "RateLimited", "RateLimiter", "WorkerGate"]


class Busy(Exception):
    """Every worker stayed taken for the whole queue wait."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"server busy: all sandbox workers are in use; retry after {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s


class RateLimited(Exception):
    """The session started too many runs in the last minute."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"rate limit: at most {limit} execute_code runs per minute per session; retry after "
            f"{retry_after_s} s, or do more per script"
        )
        self.retry_after_s = retry_after_s


class WorkerGate:
    """A counting gate in front of the sandbox: ``async with gate.slot(): ...``."""

    def __init__(self, max_workers: int, queue_s: float) -> None:
        """Allow ``max_workers`` concurrent runs; others wait at most ``queue_s`` seconds."""
        self.max_workers = max_workers
        self.queue_s = queue_s
        self._limiter = anyio.CapacityLimiter(max_workers)

    @property
    def in_use(self) -> int:
        """Slots currently held."""
        return int(self._limiter.borrowed_tokens)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a worker slot for the body.

        Raises:
            Busy: no slot freed up within ``queue_s`` seconds.
        """
        token = object()
        acquired = False
        with anyio.move_on_after(self.queue_s):
            await self._limiter.acquire_on_behalf_of(token)
            acquired = True
        if not acquired:
            raise Busy(max(1, math.ceil(self.queue_s)))
        try:
            yield
        finally:
            self._limiter.release_on_behalf_of(token)


class RateLimiter:
    """Sliding one-minute window of run start times per key."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Allow ``per_minute`` starts per key in any 60 s window."""
        self.per_minute = per_minute
        self._clock = clock
        self._starts: dict[tuple[str, str], deque[float]] = {}

    def check(self, key: tuple[str, str]) -> None:
        """Count one start for ``key``.

        Raises:
            RateLimited: ``key`` already started ``per_minute`` runs in the last 60 s.
        """
        now = self._clock()
        window = self._starts.setdefault(key, deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            raise RateLimited(self.per_minute, max(1, math.ceil(window[0] + 60.0 - now)))
        window.append(now)
        if len(self._starts) > 10_000:  # forget idle keys so the map cannot grow without bound
            for stale in [k for k, w in self._starts.items() if not w or w[-1] <= now - 60.0]:
                del self._starts[stale]

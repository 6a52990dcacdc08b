"""Fair admission for ``execute_code``: a queue per principal, served round robin.

A run needs a worker slot (:mod:`.limits`). When the pool or the principal's share of it is full,
the run waits in its principal's own queue; whenever a slot frees, the queues are served in turn,
one run each, so a principal with a hundred runs waiting delays another principal by one run at
most, never by a hundred. A principal never holds more than its share (below the pool's size by
default), so others always find a worker.

The wait is bounded (``max_wait_s``, documented as ``CODEMODE_QUEUE_S``): a run still queued then
gets :class:`~codemode.server.limits.Busy` with ``retry_after``; a run whose queue is already so
long that it could not start in time is told at once. Before queuing, the principal's per-minute
budgets are checked: runs started, and worker CPU-seconds (charged after each run with what the
worker really used).

A slot is a lease with an expiry (``lease_s``), so the slots of a replica that died mid-run free
themselves. While a run lasts, its replica renews the lease every third of the expiry: a run
longer than the expiry keeps its slot, and the principal's cap holds across replicas however long
its runs are; only a replica that stopped renewing (killed, frozen, cut off from Redis for longer
than the expiry) loses its slots.

The store's calls suspend (a Redis round trip each), so two tasks can be in the middle of
admission at once: dispatches run one at a time (two would ask a slot for the same queue head),
a waiter that leaves while its slot is being taken is marked gone and the slot goes back, and the
calls that take or free a slot are shielded from cancellation, so a slot taken is always counted
and a cancelled run still frees its slot and serves the queues.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from codemode.server.limits import (
    Bucket,
    Busy,
    Debit,
    LimitStore,
    MemoryLimitStore,
    RateLimited,
    SlotAsk,
)
from codemode.state import StateError

__all__ = ["Admission", "Run"]

logger = logging.getLogger("codemode.server")

_TICK_S = 1.0  # waiters look again this often (a lease that expired frees a slot silently)
_MAX_QUEUE = 1024  # runs one principal may have waiting; more are told to retry at once
_REFUSALS = {  # what the agent reads when a budget refuses a run start
    "cpu": "CPU quota: your scripts used more than {n:g} worker CPU-seconds in the last minute; "
    "retry after {s} s and keep heavy work out of scripts",
    "runs": "rate limit: at most {n:g} execute_code runs per minute per user; retry after {s} s, "
    "or do more per script",
}


@dataclass(eq=False)
class Run:
    """A run holding a slot; set ``cpu_s`` to the worker CPU it used, charged at release."""

    cpu_s: float = 0.0


@dataclass(eq=False)
class _Waiter:
    principal: str
    holder: str
    event: anyio.Event = field(default_factory=anyio.Event)
    granted: bool = False
    gone: bool = False  # left the queue: a slot being taken for it meanwhile goes back


class Admission:
    """Per-principal budgets, shares and round-robin queues in front of the sandbox pool."""

    def __init__(
        self,
        *,
        total: int,
        per_principal: int,
        max_wait_s: float,
        runs_per_min: int,
        cpu_s_per_min: float,
        lease_s: float,
        store: LimitStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Size the pool and the budgets.

        Args:
            total: Worker slots in all.
            per_principal: Slots one principal may hold at once.
            max_wait_s: The longest a run waits in its queue.
            runs_per_min: ``execute_code`` starts per principal per minute.
            cpu_s_per_min: Worker CPU-seconds per principal per minute.
            lease_s: How long a slot lease lasts without renewal: a dead replica's slots free
                themselves after this; a live one renews its runs' leases every third of it.
            store: Where slots and buckets live (default: this process's memory).
            clock: Monotonic time source for the estimates.
        """
        self.total = total
        self.per_principal = min(per_principal, total)
        self.max_wait_s = max_wait_s
        self.runs = Bucket.per_minute(runs_per_min)
        self.cpu = Bucket.per_minute(cpu_s_per_min)
        self.lease_s = lease_s
        self.store: LimitStore = store or MemoryLimitStore()
        self._clock = clock
        self._queues: dict[str, deque[_Waiter]] = {}
        self._order: deque[str] = deque()
        self._run_s = 0.0  # moving average of how long a slot is held
        self._holding = 0  # slots this process holds: the pool is this replica's own
        self._dispatching = anyio.Lock(fast_acquire=True)

    def queued(self, principal: str | None = None) -> int:
        """Runs waiting, in all or for ``principal``."""
        if principal is not None:
            return len(self._queues.get(principal, ()))
        return sum(len(q) for q in self._queues.values())

    async def check_budget(self, principal: str) -> None:
        """Count one run start against the principal's minute.

        Raises:
            RateLimited: the principal started too many runs, or spent its CPU-seconds.
        """
        await self._admit(principal, None)

    async def _admit(self, principal: str, holder: str | None) -> bool:
        """The budgets (a CPU debt first, then one run start) and, for ``holder``, a slot: one
        store call (one Redis round trip). Returns whether the slot was taken.

        Raises:
            RateLimited: a budget refused; nothing after it was debited and no slot was taken.
        """
        # A CPU debt refuses first (a zero-cost take: is the level still >= 0?), then a run start.
        budgets: tuple[Debit, ...] = (("cpu", 0.0, self.cpu), ("runs", 1.0, self.runs))
        ask = (
            None
            if holder is None
            else SlotAsk(holder, self.total, self.per_principal, self.lease_s)
        )
        with anyio.CancelScope(shield=True):  # a slot taken is counted, cancelled or not
            decided = await self.store.admit(principal, budgets, ask)
        if decided.refused is not None:
            name, _, bucket = budgets[decided.refused]
            wait = _secs(decided.wait_s)
            raise RateLimited(_REFUSALS[name].format(n=bucket.capacity, s=wait), wait)
        if decided.slot:
            self._holding += 1
        return decided.slot

    async def charge_cpu(self, principal: str, seconds: float) -> None:
        """Debit what a finished run's worker really used."""
        if seconds > 0 and math.isfinite(seconds):
            with anyio.CancelScope(shield=True):
                await self.store.charge("cpu", principal, seconds, self.cpu)

    def _estimate(self, ahead: int) -> float:
        """Roughly the seconds until the ``ahead`` runs queued before one have started."""
        return self._run_s * ahead / self.per_principal

    def _retry_after(self, principal: str) -> int:
        return _secs(max(1.0, self._estimate(self.queued(principal) + 1)))

    async def _acquire(self, principal: str, holder: str) -> bool:
        """Take a slot in the store, unless this process already holds its whole pool."""
        if self._holding >= self.total:  # nobody can get one: spare the store (Redis) the asking
            return False
        with anyio.CancelScope(shield=True):  # a slot taken is counted, cancelled or not
            taken = await self.store.try_acquire(
                principal,
                holder,
                total=self.total,
                per_principal=self.per_principal,
                lease_s=self.lease_s,
            )
        if taken:
            self._holding += 1
        return taken

    async def _dispatch(self) -> None:
        """Hand free slots to the queues in turn, one run each, until none can take one.

        One dispatch at a time: the store calls suspend, and two dispatches interleaved would
        both ask a slot for the waiter at the head of a queue. A waiter that left while its slot
        was being taken (cancelled, out of time) gets nothing: the slot goes back at once.
        """
        if not self._order or self._holding >= self.total:
            return  # nobody waits, or nothing to hand out: spare the lock
        async with self._dispatching:
            progress = True
            while progress and self._order and self._holding < self.total:
                progress = False
                for _ in range(len(self._order)):
                    if not self._order:  # the last waiters left while the store answered
                        break
                    principal = self._order[0]
                    self._order.rotate(-1)  # the next slot starts with the next principal
                    waiter = self._queues[principal][0]
                    if not await self._acquire(principal, waiter.holder):
                        continue
                    progress = True
                    if waiter.gone:
                        with anyio.CancelScope(shield=True):
                            await self._give_back(principal, waiter.holder)
                        if self._order and self._order[-1] == principal:
                            self._order.rotate(1)  # its next run keeps the turn the gone one had
                        break
                    queue = self._queues[principal]  # the waiter is still its head: only
                    queue.popleft()  # a dispatch pops, and one that left is marked gone
                    waiter.granted = True
                    waiter.event.set()
                    if not queue:
                        self._drop(principal)
                    break

    def _drop(self, principal: str) -> None:
        del self._queues[principal]
        self._order.remove(principal)

    def _leave(self, waiter: _Waiter) -> None:
        waiter.gone = True
        queue = self._queues.get(waiter.principal)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                self._drop(waiter.principal)

    async def _wait(self, principal: str, budget: bool) -> str:
        holder = secrets.token_hex(8)
        free = principal not in self._queues and self._holding < self.total
        if budget:  # the budgets and, when one may be free, the slot: one store call
            if await self._admit(principal, holder if free else None):
                return holder
        elif free and await self._acquire(principal, holder):
            return holder
        queue = self._queues.get(principal)  # read after the store answered: others may have queued
        ahead = len(queue or ())
        if ahead >= _MAX_QUEUE or (self._run_s > 0 and self._estimate(ahead) > self.max_wait_s):
            raise Busy(
                self._retry_after(principal),
                f"server busy: {ahead} of your runs are already waiting for a worker; retry after "
                f"{self._retry_after(principal)} s (other users are not affected)",
            )
        waiter = _Waiter(principal, holder)
        if queue is None:
            queue = self._queues[principal] = deque()
            self._order.append(principal)
        queue.append(waiter)
        deadline = self._clock() + self.max_wait_s
        try:
            while not waiter.granted:
                await self._dispatch()
                left = deadline - self._clock()
                if waiter.granted or left <= 0:
                    break
                with anyio.move_on_after(min(_TICK_S, left)):
                    await waiter.event.wait()
        except BaseException:
            self._leave(waiter)
            if waiter.granted:
                await self._release(principal, holder)
            raise
        if not waiter.granted:
            self._leave(waiter)
            raise Busy(self._retry_after(principal))
        return holder

    async def _give_back(self, principal: str, holder: str, charge: Debit | None = None) -> None:
        """Free a slot in the store (callers shield this from cancellation)."""
        try:
            await self.store.release(principal, holder, charge=charge)  # one call for both
        finally:
            self._holding -= 1

    async def _release(self, principal: str, holder: str, cpu_s: float = 0.0) -> None:
        charge = ("cpu", cpu_s, self.cpu) if cpu_s > 0 and math.isfinite(cpu_s) else None
        with anyio.CancelScope(shield=True):  # a cancelled run still frees its slot for the queues
            await self._give_back(principal, holder, charge)
            await self._dispatch()

    async def _keep(self, principal: str, holder: str) -> None:
        """Renew the lease of a run in progress every third of its expiry, until cancelled."""
        while True:
            await anyio.sleep(self.lease_s / 3)
            try:
                with anyio.CancelScope(shield=True):  # the run's end waits for an answer under way
                    kept = await self.store.renew(principal, holder, self.lease_s)
            except StateError as exc:  # Redis away: the next tick tries again, within the expiry
                logger.warning("could not renew a worker slot lease: %s", exc)
                continue
            if not kept:  # the event loop or Redis stalled for longer than the expiry
                logger.warning(
                    "a run outlived its worker slot lease (renewal came after the %g s expiry); "
                    "the principal's cap may be exceeded until it ends",
                    self.lease_s,
                )
                return

    @asynccontextmanager
    async def slot(self, principal: str, *, budget: bool = False) -> AsyncIterator[Run]:
        """Hold one of the principal's worker slots for the body, renewing its lease meanwhile.

        With ``budget``, the run start is first counted as :meth:`check_budget` does, in the
        same store call as the slot when one is free. The CPU set on the yielded :class:`Run`
        is charged as :meth:`charge_cpu` does, in the same store call as the release.

        Raises:
            Busy: no slot came free within ``max_wait_s`` (or the queue is too long to wait).
            RateLimited: with ``budget``, a per-minute budget is spent.
        """
        holder = await self._wait(principal, budget)
        run = Run()
        started = self._clock()
        try:
            failed: BaseException | None = None
            async with anyio.create_task_group() as keeper:
                keeper.start_soon(self._keep, principal, holder)
                try:
                    yield run
                except BaseException as exc:  # raised below as it is, not in an ExceptionGroup
                    failed = exc
                keeper.cancel_scope.cancel()
            if failed is not None:
                raise failed
        finally:
            held = self._clock() - started
            self._run_s = held if self._run_s == 0 else 0.8 * self._run_s + 0.2 * held
            await self._release(principal, holder, run.cpu_s)


def _secs(value: float) -> int:
    return max(1, math.ceil(value)) if math.isfinite(value) else 60

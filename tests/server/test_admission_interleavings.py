"""Admission stays exact when its store calls suspend (Redis round trips) and runs interleave.

A store that lets other tasks run before and after each of its calls, in an order drawn by
hypothesis, stands for Redis; runs of three principals arrive together, some paying their budget
on arrival, and some are cancelled at a drawn moment: while queued, while their slot is being
taken by another task's dispatch, or while they run. Whatever the interleaving, no more slots are
held than the pool has nor than a principal's share, no waiter is handed a slot twice, no slot
stays taken at the end, and no waiter is skipped: the periodic re-check is switched off, so a
waiter that a dispatch passed over would wait forever (and the bounded wait fails the test).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemode.server import admission as admission_module
from codemode.server.admission import Admission
from codemode.server.limits import Admitted, Debit, MemoryLimitStore, SlotAsk

TOTAL = 3
SHARE = 2
PRINCIPALS = ("a", "b", "c")


class SuspendingStore:
    """The memory store, letting other tasks run (a drawn number of turns) around each call."""

    def __init__(self, turns: random.Random) -> None:
        self.inner = MemoryLimitStore()
        self.granted: list[str] = []
        self._turns = turns

    async def _pause(self) -> None:
        for _ in range(self._turns.randrange(4)):
            await anyio.sleep(0)

    async def try_acquire(
        self, principal: str, holder: str, *, total: int, per_principal: int, lease_s: float
    ) -> bool:
        await self._pause()
        taken = await self.inner.try_acquire(
            principal, holder, total=total, per_principal=per_principal, lease_s=lease_s
        )
        if taken:
            self.granted.append(holder)
        await self._pause()
        return taken

    async def admit(self, principal: str, takes: Sequence[Debit], slot: SlotAsk | None) -> Admitted:
        await self._pause()
        decided = await self.inner.admit(principal, takes, slot)
        if decided.slot and slot is not None:
            self.granted.append(slot.holder)
        await self._pause()
        return decided

    async def release(self, principal: str, holder: str, *, charge: Debit | None = None) -> None:
        await self._pause()
        await self.inner.release(principal, holder, charge=charge)
        await self._pause()

    def __getattr__(self, name: str) -> Any:  # renew, held, take, charge, aclose: as they are
        return getattr(self.inner, name)


_RUN = st.tuples(
    st.sampled_from(PRINCIPALS),
    st.booleans(),  # pays its budget on arrival (admit) or only asks a slot
    st.integers(0, 3),  # turns it runs for, holding its slot
    st.one_of(st.none(), st.integers(0, 40)),  # cancelled after this many turns of the canceller
)


@pytest.fixture(autouse=True)
def _no_periodic_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission_module, "_TICK_S", 3600.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=st.lists(_RUN, min_size=1, max_size=16), seed=st.integers(0, 2**32 - 1))
def test_interleaved_dispatches_never_hand_out_more_slots_than_there_are_nor_skip_a_waiter(
    runs: list[tuple[str, bool, int, int | None]], seed: int
) -> None:
    anyio.run(_scenario, runs, seed)


async def _scenario(runs: list[tuple[str, bool, int, int | None]], seed: int) -> None:
    store = SuspendingStore(random.Random(seed))
    admission = Admission(
        total=TOTAL,
        per_principal=SHARE,
        max_wait_s=3600.0,
        runs_per_min=10_000,
        cpu_s_per_min=10_000.0,
        lease_s=3600.0,
        store=store,
    )
    inside: Counter[str] = Counter()
    most: Counter[str] = Counter()
    scopes = [anyio.CancelScope() for _ in runs]
    finished: set[int] = set()

    async def run(index: int, principal: str, budget: bool, turns: int) -> None:
        with scopes[index]:
            async with admission.slot(principal, budget=budget):
                inside[principal] += 1
                most[principal] = max(most[principal], inside[principal])
                most["all"] = max(most["all"], sum(inside[p] for p in PRINCIPALS))
                try:
                    for _ in range(turns):
                        await anyio.sleep(0)
                finally:
                    inside[principal] -= 1
            finished.add(index)

    async def cancel(index: int, after: int) -> None:
        for _ in range(after):
            await anyio.sleep(0)
        scopes[index].cancel()

    with anyio.fail_after(5):  # a skipped waiter would wait for the re-check, an hour away
        async with anyio.create_task_group() as tg:
            for index, (principal, budget, turns, cancelled_after) in enumerate(runs):
                tg.start_soon(run, index, principal, budget, turns)
                if cancelled_after is not None:
                    tg.start_soon(cancel, index, cancelled_after)

    assert most["all"] <= TOTAL
    assert all(most[p] <= SHARE for p in PRINCIPALS)
    assert len(store.granted) == len(set(store.granted)), "a waiter was handed a slot twice"
    assert await store.inner.held() == 0 and admission.queued() == 0
    assert admission._holding == 0  # the replica's own count of its slots agrees with the store
    for index, (_, _, _, cancelled_after) in enumerate(runs):
        assert index in finished or (cancelled_after is not None and scopes[index].cancel_called)

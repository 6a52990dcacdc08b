"""A run longer than the slot expiry keeps its slot: its replica renews the lease while it runs.

The same tests run on the embedded default (one process's memory) and on a real Redis server
with two :class:`Admission` objects on separate pools, as two replicas have. The expiry is
shortened to a fraction of a second so that a run lasts several expiries; every wait is bounded.
"""

from __future__ import annotations

import anyio
import pytest

from codemode.server.admission import Admission
from codemode.server.limits import Busy, LimitStore

LEASE_S = 0.6  # renewed every 0.2 s: only a stall of the event loop this long breaks it
RUN_S = 4 * LEASE_S


def _replica(store: LimitStore) -> Admission:
    return Admission(
        total=4,
        per_principal=1,
        max_wait_s=0.0,  # refused at once when the principal's one slot is taken
        runs_per_min=10_000,
        cpu_s_per_min=10_000.0,
        lease_s=LEASE_S,
        store=store,
    )


async def _refused(replica: Admission, principal: str) -> bool:
    try:
        async with replica.slot(principal):
            return False
    except Busy:
        return True


async def test_a_run_longer_than_the_expiry_keeps_its_slot_on_every_replica(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a, b = _replica(stores[0]), _replica(stores[1])
    checks = 0
    with anyio.fail_after(30):
        async with a.slot("alice"):
            started = anyio.current_time()
            while anyio.current_time() - started < RUN_S:
                assert await _refused(b, "alice"), "the cap broke while the run still ran"
                assert await stores[1].held("alice") == 1
                checks += 1
                await anyio.sleep(LEASE_S / 4)
            assert await _refused(a, "alice")
        assert await stores[0].held("alice") == 0  # released at the end, not left to expire
        async with b.slot("alice"):
            assert await stores[0].held("alice") == 1
    assert checks >= 2  # checked on B more than once over the four expiries


async def test_a_slot_nobody_renews_frees_itself_within_the_expiry(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    crashed, survivor = stores  # the crashed replica took a slot and never renewed it
    assert await crashed.try_acquire("alice", "lost", total=4, per_principal=1, lease_s=LEASE_S)
    b = _replica(survivor)
    assert await _refused(b, "alice")
    with anyio.fail_after(30):
        while await _refused(b, "alice"):
            await anyio.sleep(LEASE_S / 4)
    assert not await crashed.renew("alice", "lost", 60), "an expired lease must not come back"
    assert await survivor.held("alice") == 0


async def test_renewing_a_released_lease_does_not_take_the_slot_again(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a, b = stores
    assert await a.try_acquire("alice", "run", total=4, per_principal=1, lease_s=60)
    await a.release("alice", "run")
    assert not await a.renew("alice", "run", 60)
    assert await b.held("alice") == 0
    assert await b.try_acquire("alice", "next", total=4, per_principal=1, lease_s=60)


async def test_an_error_in_the_run_comes_out_as_it_is_and_frees_the_slot(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a = _replica(stores[0])
    with pytest.raises(KeyError, match="boom"):
        async with a.slot("alice"):
            raise KeyError("boom")
    assert await stores[1].held("alice") == 0
    with anyio.move_on_after(LEASE_S) as scope:  # a cancelled run frees its slot too
        async with a.slot("alice"):
            await anyio.sleep(30)
    assert scope.cancelled_caught and await stores[1].held("alice") == 0

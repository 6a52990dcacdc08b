"""Per-principal admission: slots with leases, token buckets, round-robin queues, bounded waits."""

from __future__ import annotations

import anyio
import pytest

from codemode.config import Settings, default_workers
from codemode.server.admission import Admission
from codemode.server.limits import Bucket, Busy, MemoryLimitStore, RateLimited


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _admission(**overrides: float) -> Admission:
    options: dict[str, float] = {
        "total": 2,
        "per_principal": 1,
        "max_wait_s": 5.0,
        "runs_per_min": 1000,
        "cpu_s_per_min": 1000.0,
        "lease_s": 60.0,
    }
    options.update(overrides)
    return Admission(**options)  # type: ignore[arg-type]


async def test_a_slot_lease_that_was_never_released_expires_so_a_crashed_holder_frees_it() -> None:
    clock = FakeClock()
    store = MemoryLimitStore(clock=clock)
    assert await store.try_acquire("a", "h1", total=1, per_principal=1, lease_s=10)
    assert not await store.try_acquire("b", "h2", total=1, per_principal=1, lease_s=10)
    clock.now = 9
    await store.renew("a", "h1", 10)  # still running: the lease now lasts until 19 s
    clock.now = 15
    assert not await store.try_acquire("b", "h2", total=1, per_principal=1, lease_s=10)
    clock.now = 19.5
    assert await store.try_acquire("b", "h2", total=1, per_principal=1, lease_s=10)
    assert await store.held() == 1 and await store.held("a") == 0


async def test_a_principal_never_holds_more_than_its_share_of_the_pool() -> None:
    store = MemoryLimitStore()
    assert await store.try_acquire("a", "1", total=4, per_principal=3, lease_s=60)
    assert await store.try_acquire("a", "2", total=4, per_principal=3, lease_s=60)
    assert await store.try_acquire("a", "3", total=4, per_principal=3, lease_s=60)
    assert not await store.try_acquire("a", "4", total=4, per_principal=3, lease_s=60)
    assert await store.try_acquire("b", "1", total=4, per_principal=3, lease_s=60)
    assert not await store.try_acquire("c", "1", total=4, per_principal=3, lease_s=60)


async def test_a_token_bucket_refuses_with_the_seconds_until_it_refills_and_debt_is_capped() -> (
    None
):
    clock = FakeClock()
    store = MemoryLimitStore(clock=clock)
    bucket = Bucket.per_minute(2)
    assert await store.take("runs", "a", 1, bucket) == 0
    assert await store.take("runs", "a", 1, bucket) == 0
    assert await store.take("runs", "a", 1, bucket) == pytest.approx(30.0)
    assert await store.take("runs", "b", 1, bucket) == 0  # another principal has its own bucket
    clock.now = 30
    assert await store.take("runs", "a", 1, bucket) == 0
    await store.charge(
        "cpu", "a", 10_000, Bucket.per_minute(60)
    )  # one huge run: at most a minute owed
    assert await store.take("cpu", "a", 0, Bucket.per_minute(60)) == pytest.approx(60.0)


async def test_runs_are_limited_per_principal_whatever_session_they_name() -> None:
    admission = _admission(runs_per_min=2)
    await admission.check_budget("key:a")
    await admission.check_budget("key:a")
    with pytest.raises(RateLimited) as caught:
        await admission.check_budget("key:a")
    assert caught.value.retry_after_s == 30 and "per user" in str(caught.value)
    await admission.check_budget("key:b")


async def test_a_principal_that_spent_its_cpu_seconds_is_told_when_to_come_back() -> None:
    admission = _admission(cpu_s_per_min=60)
    await admission.charge_cpu("key:a", 90.0)
    with pytest.raises(RateLimited) as caught:
        await admission.check_budget("key:a")
    assert "CPU quota" in str(caught.value) and caught.value.retry_after_s == 30
    await admission.check_budget("key:b")


async def test_a_run_beyond_the_principals_share_waits_then_gets_busy_with_retry_after() -> None:
    admission = _admission(total=2, per_principal=1, max_wait_s=0.05)
    with anyio.fail_after(5):
        async with admission.slot("a"):
            with pytest.raises(Busy) as caught:
                async with admission.slot("a"):
                    pass  # pragma: no cover - never admitted
            async with admission.slot("b"):  # another principal gets the free slot at once
                assert await admission.store.held() == 2
        assert caught.value.retry_after_s >= 1 and "retry after" in str(caught.value)
    assert await admission.store.held() == 0 and admission.queued() == 0


async def test_waiting_principals_are_served_round_robin_not_first_come() -> None:
    admission = _admission(total=1, per_principal=1, max_wait_s=5)
    order: list[str] = []
    release = anyio.Event()

    async def run(principal: str, tag: str) -> None:
        async with admission.slot(principal):
            order.append(tag)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg, admission.slot("busy"):
            for n in range(3):  # the flooder queues three runs first
                tg.start_soon(run, "flood", f"flood{n}")
                await anyio.wait_all_tasks_blocked()
            tg.start_soon(run, "other", "other")
            await anyio.wait_all_tasks_blocked()
            assert admission.queued("flood") == 3 and admission.queued("other") == 1
            release.set()
    assert order.index("other") <= 1, order  # served after at most one of the flooder's runs


async def test_a_principal_whose_queue_cannot_start_in_time_is_told_at_once_when_to_retry() -> None:
    admission = _admission(total=1, per_principal=1, max_wait_s=1.0)
    admission._run_s = 2.0  # runs take 2 s: with one run waiting, the next could not start in 1 s
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            async with admission.slot("flood"):
                tg.start_soon(_quiet_slot, admission, "flood")
                await anyio.wait_all_tasks_blocked()
                with pytest.raises(Busy) as caught:
                    async with admission.slot("flood"):
                        pass  # pragma: no cover - refused before queuing
                assert "other users are not affected" in str(caught.value)
                assert caught.value.retry_after_s >= 4
            tg.cancel_scope.cancel()


async def _quiet_slot(admission: Admission, principal: str) -> None:
    async with admission.slot(principal):
        await anyio.sleep_forever()


async def test_a_cancelled_waiter_leaves_its_queue_and_holds_nothing() -> None:
    admission = _admission(total=1, per_principal=1, max_wait_s=5)
    with anyio.fail_after(5):
        async with admission.slot("a"):
            with anyio.move_on_after(0.05):
                async with admission.slot("b"):
                    pass  # pragma: no cover - cancelled while waiting
            assert admission.queued() == 0
    assert await admission.store.held() == 0


def test_the_pool_sizes_itself_from_the_cores_and_a_principal_gets_three_quarters() -> None:
    assert default_workers(1) == 4 and default_workers(8) == 16 and default_workers(100) == 64
    assert Settings(max_workers=4).principal_slots() == 3
    assert Settings(max_workers=16).principal_slots() == 12
    assert Settings(max_workers=1).principal_slots() == 1
    assert Settings(max_workers=8, principal_workers=2).principal_slots() == 2
    assert Settings(max_workers=2, principal_workers=9).principal_slots() == 2


class CountingStore(MemoryLimitStore):
    """The memory store, counting the acquisitions asked of it (each is a round trip on Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def try_acquire(
        self, principal: str, holder: str, *, total: int, per_principal: int, lease_s: float
    ) -> bool:
        self.asked += 1
        return await super().try_acquire(
            principal, holder, total=total, per_principal=per_principal, lease_s=lease_s
        )


async def test_a_full_pool_does_not_ask_the_store_once_per_waiting_principal() -> None:
    store = CountingStore()
    admission = Admission(
        total=2,
        per_principal=1,
        max_wait_s=30.0,
        runs_per_min=1000,
        cpu_s_per_min=1000.0,
        lease_s=60.0,
        store=store,
    )
    done: list[str] = []
    gate = anyio.Event()

    async def run(principal: str) -> None:
        async with admission.slot(principal):
            await gate.wait()
            done.append(principal)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for index in range(12):  # 2 run, 10 wait, each a principal of its own
                tg.start_soon(run, f"key:{index}")
            while admission.queued() < 10:
                await anyio.sleep(0)
            store.asked = 0
            gate.set()
    assert len(done) == 12 and await store.held() == 0
    assert store.asked <= 12, f"{store.asked} acquisitions asked for 10 waiting runs"

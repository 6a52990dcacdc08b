"""A run's admission is one store call (its budgets and its slot) and its end one more (the slot
back and its CPU charged): on Redis each is one script, one round trip, on every replica.

The same tests run on the embedded default and on a real Redis server with two replicas' stores.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from codemode.server.admission import Admission
from codemode.server.limits import Bucket, LimitStore, MemoryLimitStore, RateLimited, SlotAsk
from tests._redis import HeldRedis

RUNS = Bucket.per_minute(2)
CPU = Bucket.per_minute(10)


def _budgets() -> tuple[tuple[str, float, Bucket], ...]:
    return (("cpu", 0.0, CPU), ("runs", 1.0, RUNS))


async def _admit(store: LimitStore, holder: str | None, per_principal: int = 1) -> Any:
    slot = None if holder is None else SlotAsk(holder, 4, per_principal, 30.0)
    return await store.admit("alice", _budgets(), slot)


async def test_admit_pays_the_budgets_and_takes_a_slot_that_the_other_replica_counts(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a, b = stores
    first = await _admit(a, "run-1")
    assert (first.refused, first.wait_s, first.slot) == (None, 0.0, True)
    second = await _admit(b, "run-2")  # paid for, but alice's one slot is taken on replica A
    assert (second.refused, second.slot) == (None, False)
    assert await b.held("alice") == 1
    third = await _admit(b, "run-3")  # two runs a minute: the third start is refused
    assert third.refused == 1 and 29 < third.wait_s <= 30 and not third.slot
    await a.release("alice", "run-1")
    assert await a.held("alice") == 0


async def test_a_refused_budget_debits_nothing_after_it_and_takes_no_slot(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a, b = stores
    await a.charge(
        "cpu", "alice", 15.0, CPU
    )  # 5 CPU-seconds in debt: 30 s until the level is 0 again
    refused = await _admit(b, "run-1")
    assert refused.refused == 0 and 29 < refused.wait_s <= 30 and not refused.slot
    assert await a.held("alice") == 0
    assert [await b.take("runs", "alice", 1.0, RUNS) for _ in range(2)] == [0.0, 0.0]  # still full


async def test_admit_without_a_holder_pays_the_budgets_only(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a, _ = stores
    assert (await _admit(a, None)).slot is False
    assert await a.held("alice") == 0
    assert await a.take("runs", "alice", 1.0, RUNS) == 0.0
    assert await a.take("runs", "alice", 1.0, RUNS) > 0  # the admission took one of the two


async def test_release_with_a_charge_frees_the_slot_and_debits_the_bucket_in_one_step(
    stores: tuple[LimitStore, LimitStore],
) -> None:
    a, b = stores
    assert (await _admit(a, "run-1")).slot
    await a.release("alice", "run-1", charge=("cpu", 15.0, CPU))
    assert await b.held("alice") == 0
    assert 29 < await b.take("cpu", "alice", 0.0, CPU) <= 30


class CountingStore:
    """A memory limit store that records which of its methods were called."""

    def __init__(self) -> None:
        self.inner = MemoryLimitStore()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return record


def _admission(store: Any, runs_per_min: int = 1000) -> Admission:
    return Admission(
        total=2,
        per_principal=1,
        max_wait_s=5.0,
        runs_per_min=runs_per_min,
        cpu_s_per_min=10.0,
        lease_s=60.0,
        store=store,
    )


async def test_a_run_costs_one_store_call_to_start_and_one_to_end_with_its_cpu_charged() -> None:
    counting = CountingStore()
    admission = _admission(counting)
    with anyio.fail_after(5):
        async with admission.slot("alice", budget=True) as run:
            run.cpu_s = 15.0
    assert counting.calls == ["admit", "release"]
    assert await counting.inner.held() == 0
    with pytest.raises(RateLimited) as caught:  # the 15 s charged put alice in CPU debt
        async with admission.slot("alice", budget=True):
            pass  # pragma: no cover - refused before the body
    assert "CPU quota" in str(caught.value) and caught.value.retry_after_s == 30
    assert await counting.inner.held() == 0


async def test_a_queued_run_pays_its_budget_on_arrival_and_takes_its_slot_when_one_frees() -> None:
    counting = CountingStore()
    admission = _admission(counting, runs_per_min=2)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg, admission.slot("alice", budget=True):

            async def second() -> None:
                async with admission.slot("alice", budget=True):
                    pass

            tg.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            assert admission.queued("alice") == 1
            with pytest.raises(RateLimited):  # both starts of the minute are spent
                async with admission.slot("alice", budget=True):
                    pass  # pragma: no cover - refused before the body
    assert admission.queued() == 0 and await counting.inner.held() == 0
    assert counting.calls.count("admit") == 3 and counting.calls.count("try_acquire") >= 1


async def test_on_redis_a_run_is_two_round_trips_to_admit_and_release(clean_redis: str) -> None:
    import redis

    from codemode.state.redis import RedisLimitStore

    store = RedisLimitStore.from_url(clean_redis, pool="replica-a")
    admission = _admission(store)
    server = redis.Redis.from_url(clean_redis)
    try:
        with anyio.fail_after(5):
            async with admission.slot("alice", budget=True) as run:  # loads the scripts
                run.cpu_s = 0.5
            server.config_resetstat()
            async with admission.slot("alice", budget=True) as run:
                run.cpu_s = 0.5
        # Commands a script runs inside Redis are counted too: only EVALSHA/EVAL/MULTI come
        # from the client.
        stats = server.info("commandstats")
        sent = {k: stats.get(f"cmdstat_{k}", {}).get("calls", 0) for k in ("evalsha", "eval")}
        assert sent == {"evalsha": 2, "eval": 0} and "cmdstat_multi" not in stats, stats
        assert await store.held() == 0
    finally:
        server.close()
        await store.aclose()


async def test_on_redis_the_event_loop_serves_other_requests_while_redis_answers(
    clean_redis: str,
) -> None:
    from codemode.state.redis import RedisLimitStore

    with HeldRedis(clean_redis) as slow:
        store = RedisLimitStore.from_url(slow.url, pool="replica-a")
        admission = _admission(store)
        order: list[str] = []

        async def run() -> None:
            async with admission.slot("alice", budget=True):
                order.append("admitted")

        try:
            with anyio.fail_after(10):
                await run()  # connects and loads the scripts
                slow.hold()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(run)
                    await anyio.to_thread.run_sync(slow.arrived.wait, 5)  # the admit is at Redis
                    order.append("served")  # this task ran while the admission waited
                    slow.let_go()
        finally:
            await store.aclose()
    assert slow.overdue == 0, "the event loop was blocked until Redis answered"
    assert order == ["admitted", "served", "admitted"]

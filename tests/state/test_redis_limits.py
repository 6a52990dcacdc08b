"""Per-principal worker slots and budgets on Redis hold across replicas (two clients)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from codemode.state.redis import RedisLimitStore


@dataclass(frozen=True)
class Bucket:
    capacity: float
    per_s: float


@pytest.fixture
async def replicas(clean_redis: str) -> AsyncIterator[tuple[RedisLimitStore, RedisLimitStore]]:
    a = RedisLimitStore.from_url(clean_redis, pool="a")
    b = RedisLimitStore.from_url(clean_redis, pool="b")
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_a_principals_share_holds_across_replicas(
    replicas: tuple[RedisLimitStore, RedisLimitStore],
) -> None:
    a, b = replicas
    assert await a.try_acquire("alice", "run-1", total=10, per_principal=2, lease_s=30)
    assert await b.try_acquire("alice", "run-2", total=10, per_principal=2, lease_s=30)
    assert not await a.try_acquire("alice", "run-3", total=10, per_principal=2, lease_s=30)
    assert not await b.try_acquire("alice", "run-3", total=10, per_principal=2, lease_s=30)
    assert await b.try_acquire("bob", "run-1", total=10, per_principal=2, lease_s=30)
    assert await a.held("alice") == 2 and await b.held("alice") == 2
    assert (await a.held(), await b.held()) == (1, 2)
    await a.release("alice", "run-1")
    assert await a.try_acquire("alice", "run-3", total=10, per_principal=2, lease_s=30)


async def test_the_pool_total_counts_one_replicas_workers_and_the_share_counts_all(
    clean_redis: str,
) -> None:
    a = RedisLimitStore.from_url(clean_redis, pool="replica-a")
    b = RedisLimitStore.from_url(clean_redis, pool="replica-b")
    assert await a.try_acquire("p1", "h1", total=2, per_principal=5, lease_s=30)
    assert await a.try_acquire("p2", "h2", total=2, per_principal=5, lease_s=30)
    assert not await a.try_acquire("p3", "h3", total=2, per_principal=5, lease_s=30)
    assert await b.try_acquire("p3", "h3", total=2, per_principal=5, lease_s=30)
    assert await a.held() == 2 and await b.held() == 1
    await a.aclose()
    await b.aclose()


async def test_renewing_a_lease_keeps_the_slot(
    replicas: tuple[RedisLimitStore, RedisLimitStore],
) -> None:
    a, b = replicas
    assert await a.try_acquire("alice", "long", total=1, per_principal=1, lease_s=0.3)
    await a.renew("alice", "long", 60)
    time.sleep(0.4)
    assert not await b.try_acquire("alice", "other", total=1, per_principal=1, lease_s=30)


async def test_a_bucket_spent_on_one_replica_is_spent_on_the_other(
    replicas: tuple[RedisLimitStore, RedisLimitStore],
) -> None:
    a, b = replicas
    bucket = Bucket(capacity=3, per_s=3 / 60)
    assert [await a.take("runs", "alice", 1, bucket) for _ in range(2)] == [0.0, 0.0]
    assert await b.take("runs", "alice", 1, bucket) == 0.0
    wait = await a.take("runs", "alice", 1, bucket)
    assert 0 < wait <= 20.5
    assert await b.take("runs", "bob", 1, bucket) == 0.0


async def test_charging_after_the_work_can_go_into_debt_but_not_beyond_one_capacity(
    replicas: tuple[RedisLimitStore, RedisLimitStore],
) -> None:
    a, b = replicas
    bucket = Bucket(capacity=10, per_s=10 / 60)
    await a.charge("cpu", "alice", 1000, bucket)
    wait = await b.take("cpu", "alice", 1, bucket)
    assert 60 * (10 + 1) / 10 - 1 < wait <= 60 * (10 + 1) / 10


async def test_a_flushed_script_cache_or_a_dropped_connection_is_recovered_on_the_next_call(
    replicas: tuple[RedisLimitStore, RedisLimitStore], clean_redis: str
) -> None:
    import redis

    a, _ = replicas
    assert await a.try_acquire("alice", "run-1", total=10, per_principal=5, lease_s=30)
    admin = redis.Redis.from_url(clean_redis)
    try:
        admin.script_flush()  # a restarted Redis knows no scripts: they are loaded again
        assert await a.try_acquire("alice", "run-2", total=10, per_principal=5, lease_s=30)
        admin.client_kill_filter(_type="normal", skipme=True)  # the replica's connection drops
        assert await a.try_acquire("alice", "run-3", total=10, per_principal=5, lease_s=30)
        assert await a.held("alice") == 3
    finally:
        admin.close()

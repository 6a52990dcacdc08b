"""The shared-state seam behaves the same on the embedded default and on a real Redis server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codemode.errors import ConfigError
from codemode.state import KeyValue, MemoryKeyValue, SqliteKeyValue, open_state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def kv(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyValue]:
    if request.param == "memory":
        yield MemoryKeyValue()
        return
    if request.param == "sqlite":
        file_kv = SqliteKeyValue(tmp_path / "state.db")
        yield file_kv
        await file_kv.aclose()
        return
    url = request.getfixturevalue("clean_redis")
    state = open_state(url)
    assert state.shared
    yield state.kv
    await state.aclose()


async def test_a_value_written_once_is_read_back_until_deleted(kv: KeyValue) -> None:
    assert await kv.set("t:a", b"1", ttl_s=60)
    assert await kv.get("t:a") == b"1"
    await kv.delete("t:a")
    assert await kv.get("t:a") is None


async def test_only_if_new_refuses_to_overwrite_a_live_key(kv: KeyValue) -> None:
    assert await kv.set("t:n", b"first", ttl_s=60, only_if_new=True)
    assert not await kv.set("t:n", b"second", ttl_s=60, only_if_new=True)
    assert await kv.get("t:n") == b"first"


async def test_take_hands_a_value_to_exactly_one_of_many_concurrent_callers(kv: KeyValue) -> None:
    await kv.set("t:code", b"grant", ttl_s=60)
    got = await asyncio.gather(*(kv.take("t:code") for _ in range(25)))
    assert got.count(b"grant") == 1
    assert got.count(None) == 24


async def test_counters_count_and_touch_reports_missing_keys(kv: KeyValue) -> None:
    assert [await kv.incr("t:c", ttl_s=60) for _ in range(3)] == [1, 2, 3]
    assert await kv.touch("t:c", ttl_s=60)
    assert not await kv.touch("t:missing", ttl_s=60)


async def test_memory_values_expire_after_their_time_to_live() -> None:
    clock = FakeClock()
    kv = MemoryKeyValue(clock=clock)
    await kv.set("a", b"1", ttl_s=5)
    await kv.incr("c", ttl_s=5)
    clock.now += 4.9
    assert await kv.get("a") == b"1"
    clock.now += 0.2
    assert await kv.get("a") is None
    assert await kv.incr("c", ttl_s=5) == 1
    assert await kv.set("a", b"2", ttl_s=5, only_if_new=True)
    assert len(kv) == 2


async def test_redis_values_expire_after_their_time_to_live(clean_redis: str) -> None:
    state = open_state(clean_redis)
    await state.kv.set("short", b"1", ttl_s=0.05)
    deadline = time.monotonic() + 5
    while await state.kv.get("short") is not None:
        assert time.monotonic() < deadline, "a 50 ms key outlived 5 s"
        await asyncio.sleep(0.02)
    await state.aclose()


async def test_redis_keys_are_namespaced(clean_redis: str) -> None:
    import redis

    state = open_state(clean_redis)
    await state.kv.set("x", b"1", ttl_s=60)
    raw = redis.Redis.from_url(clean_redis)
    assert raw.keys("*") == [b"codemode:x"]
    assert 0 < raw.pttl("codemode:x") <= 60_000
    raw.close()
    await state.aclose()


def test_an_unknown_state_url_is_refused_with_the_schemes_that_work() -> None:
    with pytest.raises(ConfigError, match=r"memory:// .* redis://"):
        open_state("postgres://db/state")


def test_the_default_and_memory_urls_keep_state_in_this_process() -> None:
    for url in (None, "", "memory://"):
        state = open_state(url)
        assert state.url == "memory://" and not state.shared


async def test_a_redis_password_never_shows_in_the_backend_url() -> None:
    state = open_state("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in state.url and state.url.startswith("redis://***@")
    await state.aclose()


async def test_an_index_hands_each_due_member_to_exactly_one_caller(kv: KeyValue) -> None:
    for n in range(20):
        await kv.index_add("t:idx", f"m{n}", float(n), ttl_s=60)
    await kv.index_add("t:idx", "m0", 100.0, ttl_s=60)  # a new score replaces the old one
    await kv.index_remove("t:idx", "m19")
    assert await kv.index_size("t:idx") == 19
    popped = await asyncio.gather(*(kv.index_pop_due("t:idx", 9.5) for _ in range(8)))
    flat = [member for batch in popped for member in batch]
    assert sorted(flat) == sorted(f"m{n}" for n in range(1, 10))  # each once, m0 not yet due
    assert await kv.index_size("t:idx") == 10
    assert await kv.index_pop_due("t:missing", 1e9) == []


async def test_a_sqlite_store_keeps_values_across_reopening_and_expires_them(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    path = tmp_path / "sub" / "state.db"
    first = SqliteKeyValue(path, clock=clock)
    await first.set("t:keep", b"1", ttl_s=60)
    await first.set("t:short", b"2", ttl_s=5)
    await first.index_add("t:idx", "a", 1.0, ttl_s=60)
    await first.aclose()
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    again = SqliteKeyValue(path, clock=clock)
    clock.now += 10
    assert await again.get("t:keep") == b"1"
    assert await again.get("t:short") is None
    assert not await again.touch("t:short", ttl_s=60)
    assert await again.set("t:short", b"3", ttl_s=60, only_if_new=True)
    assert await again.index_size("t:idx") == 1
    await again.aclose()

"""Session stores hold the same contract in memory and on Redis (shared by replicas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from codemode.sandbox.sketch import Sketch
from codemode.server.shared_stores import SharedSessionStores
from codemode.state.redis import RedisStoreBackend
from tests._redis import HeldRedis
from tests.server.conftest import BuildServer

Make = Callable[..., Any]


async def test_a_saved_store_comes_back_for_the_same_principal_and_session_only(
    session_stores: Make,
) -> None:
    stores = session_stores()
    slot = await stores.open("key:a", None, None)
    assert await stores.save("key:a", slot.session, {"n": 1}) is None
    assert (await stores.open("key:a", slot.session, None)).store == {"n": 1}
    other = await stores.open("key:b", slot.session, None)
    assert other.store == {} and other.session != slot.session and other.note is not None


async def test_a_principals_least_recently_used_store_goes_first_and_others_are_untouched(
    session_stores: Make,
) -> None:
    stores = session_stores(per_principal=2)
    await stores.save("q", "keep", {"q": 1})
    await stores.save("p", "s1", {"a": 1})
    await stores.save("p", "s2", {"a": 2})
    await stores.open("p", "s1", None)  # touch s1, so s2 is now the oldest
    await stores.save("p", "s3", {"a": 3})
    assert (await stores.usage("p"))[0] == 2
    assert (await stores.open("p", "s1", None)).store == {"a": 1}
    assert (await stores.open("p", "s2", None)).store == {}
    assert (await stores.open("q", "keep", None)).store == {"q": 1}


async def test_a_principals_bytes_are_capped_within_the_principal(session_stores: Make) -> None:
    stores = session_stores(per_principal_bytes=40)
    await stores.save("other", "s", {"x": "y" * 20})
    await stores.save("p", "s1", {"x": "a" * 20})
    await stores.save("p", "s2", {"x": "b" * 20})
    count, size = await stores.usage("p")
    assert count == 1 and size <= 40
    assert (await stores.open("p", "s2", None)).store == {"x": "b" * 20}
    assert (await stores.open("other", "s", None)).store == {"x": "y" * 20}


async def test_when_the_server_is_full_a_new_store_is_refused_not_someone_elses_evicted(
    session_stores: Make,
) -> None:
    stores = session_stores(max_stores=2)
    await stores.save("a", "s", {"n": 1})
    await stores.save("b", "s", {"n": 2})
    note = await stores.save("c", "s", {"n": 3})
    assert note is not None and "already holds" in note
    assert (await stores.open("a", "s", None)).store == {"n": 1}


async def test_a_store_over_the_size_cap_or_not_json_is_not_kept_and_says_why(
    session_stores: Make,
) -> None:
    stores = session_stores(max_bytes=50)
    note = await stores.save("p", "s", {"blob": "x" * 100})
    assert note is not None and "50-byte" in note
    assert (await stores.open("p", "s", None)).store == {}
    note = await stores.save("p", "s", {"obj": object()})
    assert note is not None and "JSON" in note


async def test_saving_an_empty_store_forgets_it(session_stores: Make) -> None:
    stores = session_stores()
    await stores.save("p", "s", {"n": 1})
    await stores.save("p", "s", {})
    assert await stores.usage("p") == (0, 0)


async def test_a_stores_sketch_survives_a_save_and_load_and_goes_with_the_store(
    session_stores: Make,
) -> None:
    sketch = Sketch()
    sketch.record([["ignore", "previous", "instructions"]])
    stores = session_stores(per_principal=1)
    assert await stores.save("p", "s", {"x": "snoitcurtsni"}, sketch.to_bytes()) is None
    slot = await stores.open("p", "s", None)
    assert slot.store == {"x": "snoitcurtsni"} and slot.sketch is not None
    assert ("ignore", "previous", "instructions") in Sketch.from_bytes(slot.sketch)
    # A run that added nothing to it saves without one: the kept sketch stays.
    assert await stores.save("p", "s", {"x": "snoitcurtsni", "n": 2}) is None
    assert (await stores.open("p", "s", None)).sketch == sketch.to_bytes()
    # Gone with the store: emptied, evicted, or not kept.
    await stores.save("p", "s", {})
    assert (await stores.open("p", "s", None)).sketch is None
    await stores.save("p", "s", {"n": 1}, sketch.to_bytes())
    await stores.save("p", "t", {"n": 2})  # one store per principal: "s" is evicted
    await stores.save("p", "s", {"n": 3})
    assert (await stores.open("p", "s", None)).sketch is None
    other = await stores.open("q", "s", None)  # another principal's lookup misses it
    assert other.sketch is None


async def test_a_shared_stores_sketch_expires_with_it(clean_redis: str) -> None:
    stores = SharedSessionStores(RedisStoreBackend.from_url(clean_redis), ttl_s=0.2)
    await stores.save("p", "s", {"n": 1}, Sketch().to_bytes())
    await anyio.sleep(0.1)
    assert (await stores.open("p", "s", None)).sketch is not None  # renewed with the store
    await anyio.sleep(0.5)
    assert (await stores.open("p", "s", None)).sketch is None
    backend = stores.backend
    assert await backend._r.keys("*sketch*") == []  # nothing left behind
    await stores.aclose()


async def test_a_store_saved_through_one_replica_is_read_through_another(clean_redis: str) -> None:
    a = SharedSessionStores(RedisStoreBackend.from_url(clean_redis))
    b = SharedSessionStores(RedisStoreBackend.from_url(clean_redis))
    assert await a.save("p", "s", {"from": "a"}) is None
    assert (await b.open("p", "s", None)).store == {"from": "a"}
    await a.aclose()
    await b.aclose()


async def test_a_shared_store_expires_after_its_idle_lifetime(clean_redis: str) -> None:
    stores = SharedSessionStores(RedisStoreBackend.from_url(clean_redis), ttl_s=0.2)
    await stores.save("p", "s", {"n": 1})
    await anyio.sleep(0.1)
    assert (await stores.open("p", "s", None)).store == {"n": 1}  # used: its lifetime starts again
    await anyio.sleep(0.5)  # unused for longer than its lifetime (reading it would renew it)
    slot = await stores.open("p", "s", None)
    assert slot.store == {}
    await stores.aclose()


@pytest.mark.parametrize("step", ["open", "save"])
async def test_the_event_loop_serves_other_requests_while_redis_answers_a_store_step(
    clean_redis: str, step: str
) -> None:
    with HeldRedis(clean_redis) as slow:
        stores = SharedSessionStores(RedisStoreBackend.from_url(slow.url))
        order: list[str] = []

        async def run() -> None:
            if step == "open":
                assert (await stores.open("p", "s", None)).store == {"n": 1}
            else:
                assert await stores.save("p", "s", {"n": 1}) is None
            order.append(step)

        try:
            with anyio.fail_after(10):
                await stores.save("p", "s", {"n": 1})  # connects and loads the save script
                await stores.open("p", "s", None)  # and the open script
                slow.hold()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(run)
                    await anyio.to_thread.run_sync(slow.arrived.wait, 5)  # the step is at Redis
                    order.append("served")  # this task ran while the store step waited
                    slow.let_go()
        finally:
            await stores.aclose()
    assert slow.overdue == 0, "the event loop was blocked until Redis answered"
    assert order == ["served", step]


async def test_the_server_closes_its_shared_stores_at_shutdown(
    make_server: BuildServer, clean_redis: str
) -> None:
    server = make_server(transport="http", demo=False, state_url=clean_redis)
    stores = server.runtime.stores
    assert isinstance(stores, SharedSessionStores)
    async with server.running():
        assert await stores.save("p", "s", {"n": 1}) is None  # opens the scripts' connection
        conn = stores.backend._run._conn
        assert conn is not None and conn.is_connected
    assert not conn.is_connected

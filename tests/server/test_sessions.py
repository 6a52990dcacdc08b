"""Session stores: per principal, LRU + TTL, size-capped, JSON only."""

from __future__ import annotations

from codemode.server.sessions import SessionStores, session_id_for_mcp_session


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_run_without_session_gets_a_new_unguessable_id_and_an_empty_store() -> None:
    stores = SessionStores()
    first = await stores.open("key:a", None, None)
    second = await stores.open("key:a", None, None)
    assert first.store == {} and first.note is None
    assert first.session != second.session and len(first.session) >= 32


async def test_a_saved_store_comes_back_for_the_same_principal_and_session_only() -> None:
    stores = SessionStores()
    slot = await stores.open("key:a", None, None)
    assert await stores.save("key:a", slot.session, {"n": 1}) is None
    assert (await stores.open("key:a", slot.session, None)).store == {"n": 1}
    other = await stores.open("key:b", slot.session, None)
    assert other.store == {} and other.session != slot.session and other.note is not None


async def test_the_mcp_session_is_the_default_session() -> None:
    stores = SessionStores()
    default = session_id_for_mcp_session("abc123")
    assert default != "abc123"
    await stores.save("demo", default, {"x": [1, 2]})
    assert (await stores.open("demo", None, default)).store == {"x": [1, 2]}
    assert (await stores.open("demo", default, default)).store == {"x": [1, 2]}


async def test_the_least_recently_used_store_of_a_principal_is_dropped_beyond_its_cap() -> None:
    stores = SessionStores(per_principal=2)
    await stores.save("p", "s1", {"a": 1})
    await stores.save("p", "s2", {"a": 2})
    await stores.open("p", "s1", None)  # touch s1, so s2 is now the oldest
    await stores.save("p", "s3", {"a": 3})
    assert await stores.count() == 2
    assert (await stores.open("p", "s1", None)).store == {"a": 1}
    assert (await stores.open("p", "s2", None)).store == {}


async def test_a_store_unused_past_its_ttl_is_forgotten() -> None:
    clock = FakeClock()
    stores = SessionStores(ttl_s=10, clock=clock)
    await stores.save("p", "s", {"a": 1})
    clock.now = 9
    assert (await stores.open("p", "s", None)).store == {"a": 1}
    clock.now = 18
    assert (await stores.open("p", "s", None)).store == {
        "a": 1
    }  # the open at 9 s refreshed it until 19 s
    clock.now = 40
    slot = await stores.open("p", "s", None)
    assert slot.store == {} and slot.note and "expired" in slot.note


async def test_a_store_over_the_size_cap_or_not_json_is_not_kept_and_says_why() -> None:
    stores = SessionStores(max_bytes=50)
    note = await stores.save("p", "s", {"blob": "x" * 100})
    assert note is not None and "50-byte" in note
    assert (await stores.open("p", "s", None)).store == {}
    note = await stores.save("p", "s", {"obj": object()})
    assert note is not None and "JSON" in note


async def test_the_returned_store_is_a_copy() -> None:
    stores = SessionStores()
    await stores.save("p", "s", {"items": [1]})
    (await stores.open("p", "s", None)).store["items"].append(2)
    assert (await stores.open("p", "s", None)).store == {"items": [1]}

"""Session stores: per principal, LRU + TTL, size-capped, JSON only."""

from __future__ import annotations

from codemode.server.sessions import SessionStores, session_id_for_mcp_session


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_run_without_session_gets_a_new_unguessable_id_and_an_empty_store() -> None:
    stores = SessionStores()
    first = stores.open("key:a", None, None)
    second = stores.open("key:a", None, None)
    assert first.store == {} and first.note is None
    assert first.session != second.session and len(first.session) >= 32


def test_a_saved_store_comes_back_for_the_same_principal_and_session_only() -> None:
    stores = SessionStores()
    slot = stores.open("key:a", None, None)
    assert stores.save("key:a", slot.session, {"n": 1}) is None
    assert stores.open("key:a", slot.session, None).store == {"n": 1}
    other = stores.open("key:b", slot.session, None)
    assert other.store == {} and other.session != slot.session and other.note is not None


def test_the_mcp_session_is_the_default_session() -> None:
    stores = SessionStores()
    default = session_id_for_mcp_session("abc123")
    assert default != "abc123"
    stores.save("demo", default, {"x": [1, 2]})
    assert stores.open("demo", None, default).store == {"x": [1, 2]}
    assert stores.open("demo", default, default).store == {"x": [1, 2]}


def test_the_least_recently_used_store_of_a_principal_is_dropped_beyond_its_cap() -> None:
    stores = SessionStores(per_principal=2)
    stores.save("p", "s1", {"a": 1})
    stores.save("p", "s2", {"a": 2})
    stores.open("p", "s1", None)  # touch s1, so s2 is now the oldest
    stores.save("p", "s3", {"a": 3})
    assert len(stores) == 2
    assert stores.open("p", "s1", None).store == {"a": 1}
    assert stores.open("p", "s2", None).store == {}


def test_a_store_unused_past_its_ttl_is_forgotten() -> None:
    clock = FakeClock()
    stores = SessionStores(ttl_s=10, clock=clock)
    stores.save("p", "s", {"a": 1})
    clock.now = 9
    assert stores.open("p", "s", None).store == {"a": 1}
    clock.now = 18
    assert stores.open("p", "s", None).store == {"a": 1}  # the open at 9 s refreshed it until 19 s
    clock.now = 40
    slot = stores.open("p", "s", None)
    assert slot.store == {} and slot.note and "expired" in slot.note


def test_a_store_over_the_size_cap_or_not_json_is_not_kept_and_says_why() -> None:
    stores = SessionStores(max_bytes=50)
    note = stores.save("p", "s", {"blob": "x" * 100})
    assert note is not None and "50-byte" in note
    assert stores.open("p", "s", None).store == {}
    note = stores.save("p", "s", {"obj": object()})
    assert note is not None and "JSON" in note


def test_the_returned_store_is_a_copy() -> None:
    stores = SessionStores()
    stores.save("p", "s", {"items": [1]})
    stores.open("p", "s", None).store["items"].append(2)
    assert stores.open("p", "s", None).store == {"items": [1]}

"""The runtime builds its search index and scanner on first use, once, from any thread."""

from __future__ import annotations

import threading
from typing import Any

from tests.server.conftest import BuildServer


def test_building_a_server_builds_neither_the_index_nor_the_scanner(
    make_server: BuildServer,
) -> None:
    runtime = make_server().runtime

    assert runtime._index is None
    assert runtime._scanner is None


def test_search_builds_the_index_once_and_reuses_it(make_server: BuildServer) -> None:
    runtime = make_server().runtime

    first, _ = runtime.search("list profiles", 3)
    index = runtime._index
    second, _ = runtime.search("list profiles", 3)

    assert index is not None and runtime.index is index
    assert first == second and first.results


def test_threads_racing_for_the_index_and_scanner_all_get_the_same_one(
    make_server: BuildServer, monkeypatch: Any
) -> None:
    import codemode.search as search

    runtime = make_server().runtime
    built: list[object] = []
    real = search.SearchIndex

    class Counting(real):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(search, "SearchIndex", Counting)
    start = threading.Barrier(8)
    seen: list[tuple[object, object]] = []

    def use() -> None:
        start.wait(timeout=30)
        seen.append((runtime.index, runtime.scanner))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(built) == 1
    assert len(seen) == 8 and len({id(i) for i, _ in seen}) == 1
    assert len({id(s) for _, s in seen}) == 1

"""The HTTP path under the SDK costs what it has to: nothing is searched for per request."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType


class _Missed(importlib.abc.MetaPathFinder):
    """Sees every import no other finder could resolve (each one searched all of sys.path)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        self.names.append(fullname)


async def test_httpcore_finds_its_async_library_without_searching_for_a_missing_module() -> None:
    from httpcore._synchronization import current_async_library

    missed = _Missed()
    sys.meta_path.append(missed)
    try:
        for _ in range(3):  # httpcore asks this about 4 times per request
            assert current_async_library() == "asyncio"
    finally:
        sys.meta_path.remove(missed)
    assert missed.names == []

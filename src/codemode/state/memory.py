"""The embedded default: state in this process's memory (one server, no replicas)."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

__all__ = ["MemoryKeyValue"]


class MemoryKeyValue:
    """:class:`~codemode.state.KeyValue` in a dict, with lazy expiry.

    Expired keys are dropped when read and, in batches, when written, so the map stays bounded by
    what is live plus what expired since the last sweep.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Start empty; ``clock`` is a monotonic time source (tests pass a fake one)."""
        self._clock = clock
        self._data: dict[str, tuple[bytes, float]] = {}
        self._expiries: list[tuple[float, str]] = []
        self._indexes: dict[str, dict[str, float]] = {}

    def __len__(self) -> int:
        self._sweep()
        return len(self._data)

    def _live(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._data[key]
            return None
        return entry[0]

    def _sweep(self) -> None:
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            _, key = heapq.heappop(self._expiries)
            entry = self._data.get(key)
            if entry is not None and entry[1] <= now:
                del self._data[key]

    def _put(self, key: str, value: bytes, ttl_s: float) -> None:
        until = self._clock() + ttl_s
        self._data[key] = (value, until)
        heapq.heappush(self._expiries, (until, key))
        if len(self._expiries) > 2 * len(self._data) + 1024:  # stale heap entries: rebuild
            self._expiries = [(u, k) for k, (_, u) in self._data.items()]
            heapq.heapify(self._expiries)

    async def get(self, key: str) -> bytes | None:
        """See :meth:`KeyValue.get`."""
        return self._live(key)

    async def set(self, key: str, value: bytes, *, ttl_s: float, only_if_new: bool = False) -> bool:
        """See :meth:`KeyValue.set`."""
        self._sweep()
        if only_if_new and self._live(key) is not None:
            return False
        self._put(key, value, ttl_s)
        return True

    async def take(self, key: str) -> bytes | None:
        """See :meth:`KeyValue.take`."""
        value = self._live(key)
        self._data.pop(key, None)
        return value

    async def delete(self, key: str) -> None:
        """See :meth:`KeyValue.delete`."""
        self._data.pop(key, None)

    async def touch(self, key: str, *, ttl_s: float) -> bool:
        """See :meth:`KeyValue.touch`."""
        value = self._live(key)
        if value is None:
            return False
        self._put(key, value, ttl_s)
        return True

    async def incr(self, key: str, *, ttl_s: float) -> int:
        """See :meth:`KeyValue.incr`."""
        entry = self._live(key)
        count = int(entry or b"0") + 1
        until = self._data[key][1] if entry is not None else self._clock() + ttl_s
        self._data[key] = (str(count).encode(), until)
        if entry is None:
            heapq.heappush(self._expiries, (until, key))
        return count

    def keys(self, prefix: str = "") -> list[str]:
        """The live keys that start with ``prefix`` (for tests and debugging)."""
        self._sweep()
        return sorted(k for k in self._data if k.startswith(prefix) and self._live(k) is not None)

    async def index_add(self, key: str, member: str, score: float, *, ttl_s: float) -> None:
        """See :meth:`KeyValue.index_add` (in memory an index lives as long as its members)."""
        self._indexes.setdefault(key, {})[member] = score

    async def index_remove(self, key: str, member: str) -> None:
        """See :meth:`KeyValue.index_remove`."""
        self._indexes.get(key, {}).pop(member, None)

    async def index_pop_due(self, key: str, max_score: float) -> list[str]:
        """See :meth:`KeyValue.index_pop_due`."""
        index = self._indexes.get(key, {})
        due = sorted((s, m) for m, s in index.items() if s <= max_score)
        for _, member in due:
            del index[member]
        return [member for _, member in due]

    async def index_size(self, key: str) -> int:
        """See :meth:`KeyValue.index_size`."""
        return len(self._indexes.get(key, {}))

    async def aclose(self) -> None:
        """Nothing to release."""

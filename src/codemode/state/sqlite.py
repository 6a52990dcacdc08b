"""The embedded default that survives a restart: keys with expiry in one SQLite file.

One server process with a configured key keeps its OAuth state here (clients, codes, grants,
refresh tokens), so a restart does not log everyone out. Every write touches only the rows it
changes (never the whole file), and every statement runs in a worker thread, so a burst of
writes never stalls the event loop. Expiry is by wall-clock time, because the file outlives the
process. The file is created ``0600`` in a ``0700`` folder; what callers store in it is theirs to
encrypt (the OAuth layer seals every value).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

__all__ = ["SqliteKeyValue"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, until REAL NOT NULL);
CREATE INDEX IF NOT EXISTS kv_until ON kv (until);
CREATE TABLE IF NOT EXISTS idx (
    name TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (name, member)
);
"""
_SWEEP_EVERY = 256
"""Writes between two deletions of expired rows (reads ignore expired rows anyway)."""


class SqliteKeyValue:
    """:class:`~codemode.state.KeyValue` in a SQLite file (one process; atomic per statement)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        """Open (or create, ``0600``) the file at ``path``; ``clock`` gives epoch seconds."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._writes = 0

    def get_now(self, key: str) -> bytes | None:
        """:meth:`get` without the event loop (for start-up checks)."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv WHERE key = ? AND until > ?", (key, self._clock())
            ).fetchone()
        return bytes(row[0]) if row else None

    def set_now(self, key: str, value: bytes, *, ttl_s: float) -> None:
        """:meth:`set` without the event loop (for start-up checks)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO kv (key, value, until) VALUES (?, ?, ?)",
                (key, value, self._clock() + ttl_s),
            )

    async def _run(self, work: Callable[[sqlite3.Connection, float], _T]) -> _T:
        def locked() -> _T:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(self._db, self._clock())
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return result

        return await anyio.to_thread.run_sync(locked)

    def _wrote(self, db: sqlite3.Connection, now: float) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            db.execute("DELETE FROM kv WHERE until <= ?", (now,))

    async def get(self, key: str) -> bytes | None:
        """See :meth:`KeyValue.get`."""

        def work(db: sqlite3.Connection, now: float) -> bytes | None:
            row = db.execute(
                "SELECT value FROM kv WHERE key = ? AND until > ?", (key, now)
            ).fetchone()
            return bytes(row[0]) if row else None

        return await self._run(work)

    async def set(self, key: str, value: bytes, *, ttl_s: float, only_if_new: bool = False) -> bool:
        """See :meth:`KeyValue.set`."""

        def work(db: sqlite3.Connection, now: float) -> bool:
            if only_if_new:
                row = db.execute("SELECT 1 FROM kv WHERE key = ? AND until > ?", (key, now))
                if row.fetchone():
                    return False
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value, until) VALUES (?, ?, ?)",
                (key, value, now + ttl_s),
            )
            self._wrote(db, now)
            return True

        return await self._run(work)

    async def take(self, key: str) -> bytes | None:
        """See :meth:`KeyValue.take` (read and delete in one transaction)."""

        def work(db: sqlite3.Connection, now: float) -> bytes | None:
            row = db.execute(
                "SELECT value FROM kv WHERE key = ? AND until > ?", (key, now)
            ).fetchone()
            db.execute("DELETE FROM kv WHERE key = ?", (key,))
            return bytes(row[0]) if row else None

        return await self._run(work)

    async def delete(self, key: str) -> None:
        """See :meth:`KeyValue.delete`."""
        await self._run(lambda db, _: db.execute("DELETE FROM kv WHERE key = ?", (key,)))

    async def touch(self, key: str, *, ttl_s: float) -> bool:
        """See :meth:`KeyValue.touch`."""

        def work(db: sqlite3.Connection, now: float) -> bool:
            cursor = db.execute(
                "UPDATE kv SET until = ? WHERE key = ? AND until > ?", (now + ttl_s, key, now)
            )
            return cursor.rowcount > 0

        return await self._run(work)

    async def incr(self, key: str, *, ttl_s: float) -> int:
        """See :meth:`KeyValue.incr`."""

        def work(db: sqlite3.Connection, now: float) -> int:
            row = db.execute(
                "SELECT value, until FROM kv WHERE key = ? AND until > ?", (key, now)
            ).fetchone()
            count = int(bytes(row[0]) or b"0") + 1 if row else 1
            until = float(row[1]) if row else now + ttl_s
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value, until) VALUES (?, ?, ?)",
                (key, str(count).encode(), until),
            )
            self._wrote(db, now)
            return count

        return await self._run(work)

    async def index_add(self, key: str, member: str, score: float, *, ttl_s: float) -> None:
        """See :meth:`KeyValue.index_add`."""

        def work(db: sqlite3.Connection, _: float) -> Any:
            return db.execute(
                "INSERT OR REPLACE INTO idx (name, member, score) VALUES (?, ?, ?)",
                (key, member, score),
            )

        await self._run(work)

    async def index_remove(self, key: str, member: str) -> None:
        """See :meth:`KeyValue.index_remove`."""
        await self._run(
            lambda db, _: db.execute("DELETE FROM idx WHERE name = ? AND member = ?", (key, member))
        )

    async def index_pop_due(self, key: str, max_score: float) -> list[str]:
        """See :meth:`KeyValue.index_pop_due`."""

        def work(db: sqlite3.Connection, _: float) -> list[str]:
            rows = db.execute(
                "SELECT member FROM idx WHERE name = ? AND score <= ? ORDER BY score",
                (key, max_score),
            ).fetchall()
            db.execute("DELETE FROM idx WHERE name = ? AND score <= ?", (key, max_score))
            return [str(row[0]) for row in rows]

        return await self._run(work)

    async def index_size(self, key: str) -> int:
        """See :meth:`KeyValue.index_size`."""

        def work(db: sqlite3.Connection, _: float) -> int:
            row = db.execute("SELECT COUNT(*) FROM idx WHERE name = ?", (key,)).fetchone()
            return int(row[0])

        return await self._run(work)

    def close_now(self) -> None:
        """Close the file without the event loop."""
        with self._lock:
            self._db.close()

    async def aclose(self) -> None:
        """Close the file."""
        self.close_now()

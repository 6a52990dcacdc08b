"""The audit log: one SQLite row per ``execute_code`` run, never a secret or a response payload.

A row holds when the run started, who ran it (a principal such as ``key:3f9a1c…``, an OAuth
subject or ``demo``: never the key or token itself), a SHA-256 of the code, each SDK call's
``id``, ``status``, ``ms`` and scanner verdict, the outcome and the duration. Printed output
and Klaviyo data are not stored: the log answers "who ran what, and what did it touch".

Nothing a script chose is stored as text: a call id that is not a plain operation id (lower case,
digits, underscores) is recorded as ``(invalid)``, and the fields written by the server are
clipped to a safe alphabet, so a row can never carry newlines, markup or fake entries. The
database and the folder it creates are private to the server's user (0600 and 0700).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import queue
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemode.errors import ConfigError

__all__ = [
    "INVALID_ID",
    "UNKNOWN_ID",
    "AuditLog",
    "AuditRecord",
    "AuditSink",
    "PostgresAuditLog",
    "RefusalSampler",
    "canonical_call",
    "code_hash",
    "open_audit",
    "parse_since",
]

logger = logging.getLogger("codemode.audit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    principal TEXT NOT NULL,
    session TEXT NOT NULL,
    transport TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error_type TEXT,
    duration_ms REAL NOT NULL,
    calls TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_started ON executions (started);
"""
_ACTION_ID = re.compile(r"[a-z][a-z0-9_]{0,99}")
_SCANS = frozenset({"clean", "flagged", "blocked", "unscanned"})
_SAFE_TEXT = re.compile(r"[^A-Za-z0-9_.:@/+=-]")
INVALID_ID = "(invalid)"
UNKNOWN_ID = "(unknown)"
"""What the server records for a call whose id names no action of its catalog."""


def canonical_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """The whitelisted fields of one call, each reduced to a value the server can vouch for."""
    raw_id = call.get("id")
    status = call.get("status")
    ms = call.get("ms")
    scan = call.get("scan")
    return {
        "id": raw_id
        if isinstance(raw_id, str) and (raw_id == UNKNOWN_ID or _ACTION_ID.fullmatch(raw_id))
        else INVALID_ID,
        "status": status if isinstance(status, int) and not isinstance(status, bool) else 0,
        "ms": round(float(ms), 3) if isinstance(ms, int | float) and math.isfinite(ms) else 0.0,
        "scan": scan if scan in _SCANS else "unscanned",
    }


def _safe(text: str | None, limit: int = 200) -> str | None:
    """Server-written fields kept to a plain alphabet (principals, sessions, error types)."""
    return None if text is None else _SAFE_TEXT.sub("?", str(text))[:limit]


def code_hash(code: str) -> str:
    """SHA-256 of a script, hex: lets an operator match a row to a script without storing it."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One execution, as written to the log.

    Attributes:
        started: Unix time the run began.
        principal: Secret-free identity of the caller (key fingerprint, OAuth subject, ``demo``).
        session: The store's session id.
        transport: ``stdio``, ``http`` or ``memory``.
        code_sha256: :func:`code_hash` of the script.
        dry_run: Whether writes were only planned.
        outcome: ``ok``, ``error``, ``busy``, ``rate_limited`` or ``cancelled``.
        error_type: The error's type name when the outcome is not ``ok``.
        duration_ms: Wall time of the run.
        calls: ``{"id", "status", "ms", "scan"}`` per SDK call; any other key is dropped.
    """

    started: float
    principal: str
    session: str
    transport: str
    code_sha256: str
    dry_run: bool
    outcome: str
    duration_ms: float
    error_type: str | None = None
    calls: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


class RefusalSampler:
    """Which admission refusals (``busy``, ``rate_limited``) get an audit row of their own.

    A refusal costs its caller nothing (no worker, no Klaviyo call), so a principal past its
    budget can ask hundreds of times a second; one row each would grow the log (a disk nobody
    prunes) at the caller's request rate. The first refusal of each ``window_s`` per principal
    and outcome is written; the rest are counted, and the next row written for them carries the
    count in its error type (``RateLimited:+57``: this refusal and 57 before it since the last
    row). Runs are never sampled: every run the server starts has its own row.
    """

    def __init__(
        self,
        *,
        window_s: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def admit(self, principal: str, outcome: str, error_type: str) -> str | None:
        """The error type to write for this refusal, or ``None`` to count it without a row."""
        now = self._clock()
        key = (principal, outcome)
        since, skipped = self._seen.get(key, (-math.inf, 0))
        if now - since < self.window_s:
            self._seen[key] = (since, skipped + 1)
            return None
        if key in self._seen:
            self._seen.move_to_end(key)  # the table stays in order of window start
        elif len(self._seen) >= self.max_keys:
            # Forgotten, oldest first: the windows that ended (their uncounted refusals are lost
            # with them). Never a sweep of the table: with it full of live windows (a busy server
            # refusing many principals), each refusal of one more cost a pass over 10,000 keys.
            cutoff = now - self.window_s
            while self._seen and next(iter(self._seen.values()))[0] <= cutoff:
                self._seen.popitem(last=False)
            if len(self._seen) >= self.max_keys:  # that many principals refused this minute
                return error_type
        self._seen[key] = (now, 0)
        return f"{error_type}:+{skipped}" if skipped else error_type


def _row(rec: AuditRecord) -> tuple[Any, ...]:
    """The values of one row, each reduced to what the server can vouch for."""
    calls = [canonical_call(c) for c in rec.calls]
    return (
        rec.started,
        _safe(rec.principal),
        _safe(rec.session),
        _safe(rec.transport),
        _safe(rec.code_sha256),
        int(rec.dry_run),
        _safe(rec.outcome),
        _safe(rec.error_type),
        round(rec.duration_ms, 3),
        json.dumps(calls, separators=(",", ":")),
    )


_COLUMNS = (
    "started, principal, session, transport, code_sha256, dry_run, outcome, error_type, "
    "duration_ms, calls"
)


class _Batcher:
    """Writes rows from a background thread, many per transaction.

    ``record`` only queues: a run's answer never waits for the disk. The thread takes what
    accumulated since its last write (up to ``batch`` rows) and writes it in one transaction, so
    a busy server commits once per batch instead of once per run. ``flush`` waits until every
    queued row is written; ``close`` flushes and stops the thread.
    """

    def __init__(self, write: Any, *, batch: int = 256) -> None:
        self._write = write
        self._batch = batch
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="codemode-audit", daemon=True)
        self._thread.start()

    def put(self, row: tuple[Any, ...]) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(row)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            rows = [] if first is None else [first]
            stop = first is None
            while not stop and len(rows) < self._batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    rows.append(item)
            if rows:
                try:
                    self._write(rows)
                except Exception:  # the log must not take the server down; say so loudly
                    logger.exception("could not write %d audit rows", len(rows))
                with self._idle:
                    self._pending -= len(rows)
                    self._idle.notify_all()
            if stop:
                return

    def flush(self, timeout: float = 30.0) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._pending <= 0, timeout=timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=30)


class AuditLog:
    """Append-only SQLite log of executions; safe to share between threads.

    Rows are written in batches by a background thread (see :class:`_Batcher`); reading flushes
    first, so a caller always sees its own writes.
    """

    def __init__(self, path: Path) -> None:
        """Open (and create when missing) the database at ``path``."""
        self.path = path
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        # Created 0600 before SQLite opens it; its -wal and -shm files are made private too.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL: a commit survives a crash of the server, a power cut may lose the
        # last batch; the log is an operator's record, not the system of record.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)
        self._writer = _Batcher(self._insert)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                f"INSERT INTO executions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows
            )
            self._db.execute("COMMIT")

    def record(self, rec: AuditRecord) -> None:
        """Queue one row. Only the whitelisted call fields are kept, so no payload leaks in."""
        self._writer.put(_row(rec))

    def rows(self, *, since: float | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Rows newest first, optionally only those started at or after the Unix time ``since``."""
        self._writer.flush()
        query, args = _select(since, limit, "?")
        with self._lock:
            cursor = self._db.execute(query, args)
            names = [d[0] for d in cursor.description]
            raw = cursor.fetchall()
        return [_decoded(dict(zip(names, values, strict=True))) for values in raw]

    def close(self) -> None:
        """Write what is queued and close the database."""
        self._writer.close()
        with self._lock:
            self._db.close()


def _select(since: float | None, limit: int, mark: str) -> tuple[str, list[Any]]:
    """The rows query, newest first; ``mark`` is the driver's placeholder."""
    query = "SELECT * FROM executions"
    args: list[Any] = []
    if since is not None:
        query += f" WHERE started >= {mark}"
        args.append(since)
    args.append(limit)
    return query + f" ORDER BY started DESC, id DESC LIMIT {mark}", args


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["dry_run"] = bool(row["dry_run"])
    if isinstance(row["calls"], str):
        row["calls"] = json.loads(row["calls"])
    return row


_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id BIGSERIAL PRIMARY KEY,
    started DOUBLE PRECISION NOT NULL,
    principal TEXT NOT NULL,
    session TEXT NOT NULL,
    transport TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error_type TEXT,
    duration_ms DOUBLE PRECISION NOT NULL,
    calls TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_started ON executions (started);
"""


class PostgresAuditLog:
    """The same log in PostgreSQL, for replicas that must write to one place.

    Same table, same rows, same queries as :class:`AuditLog`; needs the ``postgres`` extra
    (``psycopg``). The connection string never appears in errors or logs.
    """

    def __init__(self, url: str) -> None:
        """Connect to ``url`` (``postgresql://...``) and create the table when missing.

        Raises:
            ConfigError: ``psycopg`` is not installed, or the database cannot be reached.
        """
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError(
                "a postgresql:// audit log needs psycopg: pip install 'codemode[postgres]'"
            ) from exc
        self._lock = threading.Lock()
        try:
            self._db = psycopg.connect(url, autocommit=True)
            self._db.execute(_PG_SCHEMA)
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot open the PostgreSQL audit log: {type(exc).__name__}; check "
                "CODEMODE_AUDIT_DB and that the database accepts this server"
            ) from None
        self._writer = _Batcher(self._insert)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        with self._lock, self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO executions ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                rows,
            )

    def record(self, rec: AuditRecord) -> None:
        """Queue one row (see :meth:`AuditLog.record`)."""
        self._writer.put(_row(rec))

    def rows(self, *, since: float | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Rows newest first (see :meth:`AuditLog.rows`)."""
        self._writer.flush()
        query, args = _select(since, limit, "%s")
        with self._lock, self._db.cursor() as cursor:
            cursor.execute(query, args)
            names = [d.name for d in cursor.description or ()]
            raw = cursor.fetchall()
        return [_decoded(dict(zip(names, values, strict=True))) for values in raw]

    def close(self) -> None:
        """Write what is queued and close the connection."""
        self._writer.close()
        with self._lock:
            self._db.close()


AuditSink = AuditLog | PostgresAuditLog


def open_audit(target: Path | str) -> AuditSink:
    """The audit log at ``target``: a SQLite file, or a ``postgresql://`` URL.

    Raises:
        ConfigError: a PostgreSQL log that cannot be opened.
    """
    if isinstance(target, str) and target.startswith(("postgres://", "postgresql://")):
        return PostgresAuditLog(target)
    return AuditLog(Path(target))


def private_folder(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700: the server's state folder."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, *, now: float | None = None) -> float:
    """Turn ``30m``, ``1h``, ``2d`` or ``1w`` into the Unix time that long ago.

    Raises:
        ValueError: the text is not a number followed by one of s, m, h, d, w.
    """
    raw = text.strip().lower()
    unit = raw[-1:]
    try:
        amount = float(raw[:-1])
    except ValueError:
        amount = -1
    if unit not in _UNITS or amount < 0:
        raise ValueError(f"--since {text!r} is not a duration like 30m, 1h, 2d or 1w")
    return (time.time() if now is None else now) - amount * _UNITS[unit]

"""The data of one Klaviyo account: records per resource type, membership, jobs and persistence."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from codemode.simulator.errors import not_found
from codemode.simulator.ids import IdMaker

__all__ = ["Account", "Record", "SqliteSaver", "iso"]

RelValue = str | list[str] | None


def iso(moment: datetime) -> str:
    """ISO 8601 with seconds and a UTC offset, as Klaviyo writes timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class Record:
    """One stored resource: its attributes and its own relationships (ids)."""

    type: str
    id: str
    attributes: dict[str, Any]
    rels: dict[str, RelValue] = field(default_factory=dict)
    created: str = ""

    def many(self, name: str) -> list[str]:
        """The ids of a to-many relationship (created empty on first use)."""
        value = self.rels.get(name)
        if not isinstance(value, list):
            value = [] if value is None else [value]
            self.rels[name] = value
        return value


class Account:
    """One account's records, by resource type then id (insertion order kept for listings)."""

    def __init__(
        self,
        account_id: str,
        company_id: str,
        name: str,
        *,
        now: datetime,
        seed: int,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self.wall = wall
        self._last = now
        self.account_id = account_id
        self.company_id = company_id
        self.name = name
        self.now = now
        self.ids = IdMaker(seed)
        self.tables: dict[str, dict[str, Record]] = {}
        # group id -> profile id -> joined_group_at, for lists and segments
        self.joined: dict[str, dict[str, str]] = {}
        # job id -> {"op", "payload", "polls", "done"}: work a bulk job applies when it completes
        self.jobs: dict[str, dict[str, Any]] = {}
        # What the saver must write: whole tables, single records upserted, records deleted.
        self.dirty: set[str] = set()
        self.changed: dict[str, set[str]] = {}
        self.removed: dict[str, set[str]] = {}
        self.tick = 0

    def table(self, kind: str) -> dict[str, Record]:
        """All records of one type."""
        return self.tables.setdefault(kind, {})

    def get(self, kind: str, ident: str) -> Record:
        """One record, or a 404 ApiError."""
        record = self.tables.get(kind, {}).get(ident)
        if record is None:
            raise not_found(kind, ident)
        return record

    def find(self, kind: str, ident: str | None) -> Record | None:
        """One record or None."""
        if ident is None:
            return None
        return self.tables.get(kind, {}).get(ident)

    def records(self, kind: str) -> Iterator[Record]:
        """Records of one type in creation order."""
        return iter(list(self.tables.get(kind, {}).values()))

    def timestamp(self) -> str:
        """The current write time, strictly increasing.

        With a fixed clock it is the anchor plus one second per write (deterministic for tests);
        live (``wall`` set) it is the wall-clock time, nudged forward when two writes share a second.
        """
        self.tick += 1
        if self.wall is None:
            return iso(self.now + timedelta(seconds=self.tick))
        moment = max(self.wall(), self._last + timedelta(seconds=1))
        self._last = moment
        return iso(moment)

    def add(
        self,
        kind: str,
        attributes: dict[str, Any],
        rels: dict[str, RelValue] | None = None,
        *,
        ident: str | None = None,
        created: str | None = None,
        millis: int | None = None,
    ) -> Record:
        """Store a new record with a fresh id in Klaviyo's style (unless ``ident`` is given)."""
        stamp = created or self.timestamp()
        if ident is None:
            if millis is None:
                millis = int(datetime.fromisoformat(stamp).timestamp() * 1000)
            ident = self.ids.for_type(kind, millis)
        record = Record(kind, ident, attributes, dict(rels or {}), stamp)
        self.table(kind)[record.id] = record
        self.touch(kind, record.id)
        return record

    def remove(self, kind: str, ident: str) -> Record:
        """Delete a record (404 when missing) and drop it from every relationship that names it."""
        record = self.get(kind, ident)
        del self.tables[kind][ident]
        self.changed.get(kind, set()).discard(ident)
        self.removed.setdefault(kind, set()).add(ident)
        for table_kind, table in self.tables.items():
            for other in table.values():
                for name, value in other.rels.items():
                    if isinstance(value, list) and ident in value:
                        value.remove(ident)
                        self.touch(table_kind, other.id)
                    elif value == ident:
                        other.rels[name] = None
                        self.touch(table_kind, other.id)
        self.joined.pop(ident, None)
        return record

    def touch(self, kind: str, ident: str | None = None) -> None:
        """Mark one record (or, without ``ident``, a whole type) as changed for the saver."""
        if ident is None:
            self.dirty.add(kind)
        else:
            self.changed.setdefault(kind, set()).add(ident)

    def clean(self) -> None:
        """Forget pending changes (after a save, or once seeding is done)."""
        self.dirty.clear()
        self.changed.clear()
        self.removed.clear()


class SqliteSaver:
    """Keeps accounts in a SQLite file: one JSON row per record, written after each change.

    Whole tables are rewritten only when a handler changed records in place without naming them;
    new and named records are upserted, so a tracked event costs one row, not the event table.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records "
            "(account TEXT, kind TEXT, id TEXT, body TEXT, PRIMARY KEY (account, kind, id))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS meta (account TEXT, name TEXT, body TEXT, PRIMARY KEY (account, name))"
        )
        self._db.commit()

    def has(self, account: Account) -> bool:
        """True when the file already holds this account."""
        row = self._db.execute(
            "SELECT 1 FROM meta WHERE account = ? LIMIT 1", (account.account_id,)
        ).fetchone()
        return row is not None

    def restore(self, account: Account) -> None:
        """Load every stored record and the account's bookkeeping."""
        account.tables.clear()
        rows = self._db.execute(
            "SELECT kind, id, body FROM records WHERE account = ? ORDER BY rowid",
            (account.account_id,),
        )
        for kind, ident, body in rows:
            attributes, rels, created = json.loads(body)
            account.table(kind)[ident] = Record(kind, ident, attributes, rels, created)
        for name, body in self._db.execute(
            "SELECT name, body FROM meta WHERE account = ?", (account.account_id,)
        ):
            if name == "joined":
                account.joined = json.loads(body)
            elif name == "jobs":
                account.jobs = json.loads(body)
            elif name == "tick":
                account.tick = int(body)
        account.clean()

    @staticmethod
    def _row(account: Account, record: Record) -> tuple[str, str, str, str]:
        body = json.dumps([record.attributes, record.rels, record.created], separators=(",", ":"))
        return (account.account_id, record.type, record.id, body)

    def save(self, account: Account, *, everything: bool = False) -> None:
        """Write what changed since the last save (or everything)."""
        if not (everything or account.dirty or account.changed or account.removed):
            return
        db, who = self._db, account.account_id
        whole = set(account.tables) if everything else set(account.dirty)
        if everything:
            db.execute("DELETE FROM records WHERE account = ?", (who,))
        for kind in sorted(whole):
            if not everything:
                db.execute("DELETE FROM records WHERE account = ? AND kind = ?", (who, kind))
            db.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?)",
                [self._row(account, r) for r in account.tables.get(kind, {}).values()],
            )
        for kind, ids in account.changed.items():
            if kind in whole:
                continue
            table = account.tables.get(kind, {})
            db.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account, kind, id) DO UPDATE SET body = excluded.body",
                [self._row(account, table[i]) for i in sorted(ids) if i in table],
            )
        for kind, ids in account.removed.items():
            db.executemany(
                "DELETE FROM records WHERE account = ? AND kind = ? AND id = ?",
                [(who, kind, i) for i in ids],
            )
        meta = {
            "joined": json.dumps(account.joined),
            "jobs": json.dumps(account.jobs),
            "tick": str(account.tick),
        }
        db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?, ?)", [(who, k, v) for k, v in meta.items()]
        )
        db.commit()
        account.clean()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

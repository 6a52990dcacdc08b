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

    def to_json(self) -> list[Any]:
        """Compact form for persistence."""
        return [self.id, self.attributes, self.rels, self.created]

    @classmethod
    def from_json(cls, kind: str, raw: list[Any]) -> Record:
        """Inverse of :meth:`to_json`."""
        return cls(kind, raw[0], raw[1], raw[2], raw[3])


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
        self.dirty: set[str] = set()
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
        self.dirty.add(kind)
        return record

    def remove(self, kind: str, ident: str) -> Record:
        """Delete a record (404 when missing) and drop it from every relationship that names it."""
        record = self.get(kind, ident)
        del self.tables[kind][ident]
        self.dirty.add(kind)
        for table_kind, table in self.tables.items():
            for other in table.values():
                for name, value in other.rels.items():
                    if isinstance(value, list) and ident in value:
                        value.remove(ident)
                        self.dirty.add(table_kind)
                    elif value == ident:
                        other.rels[name] = None
                        self.dirty.add(table_kind)
        self.joined.pop(ident, None)
        return record

    def touch(self, kind: str) -> None:
        """Mark a type as changed, so the saver writes it."""
        self.dirty.add(kind)

    def dump(self, kind: str) -> str:
        """One table as JSON text."""
        return json.dumps(
            [r.to_json() for r in self.tables.get(kind, {}).values()], separators=(",", ":")
        )

    def load(self, kind: str, text: str) -> None:
        """Replace one table from JSON text."""
        self.tables[kind] = {raw[0]: Record.from_json(kind, raw) for raw in json.loads(text)}


class SqliteSaver:
    """Keeps accounts in a SQLite file: one JSON blob per (account, table), saved after writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS blobs (account TEXT, kind TEXT, body TEXT, PRIMARY KEY (account, kind))"
        )
        self._db.commit()

    def has(self, account: Account) -> bool:
        """True when the file already holds this account."""
        row = self._db.execute(
            "SELECT 1 FROM blobs WHERE account = ? LIMIT 1", (account.account_id,)
        ).fetchone()
        return row is not None

    def restore(self, account: Account) -> None:
        """Load every stored table of the account."""
        account.tables.clear()
        rows = self._db.execute(
            "SELECT kind, body FROM blobs WHERE account = ?", (account.account_id,)
        )
        for kind, body in rows:
            if kind == "@joined":
                account.joined = json.loads(body)
            elif kind == "@jobs":
                account.jobs = json.loads(body)
            elif kind == "@tick":
                account.tick = int(body)
            else:
                account.load(kind, body)
        account.dirty.clear()

    def save(self, account: Account, *, everything: bool = False) -> None:
        """Write the tables changed since the last save."""
        kinds = set(account.tables) if everything else set(account.dirty)
        if not kinds and not everything:
            return
        rows = [(account.account_id, kind, account.dump(kind)) for kind in sorted(kinds)]
        rows.append((account.account_id, "@joined", json.dumps(account.joined)))
        rows.append((account.account_id, "@jobs", json.dumps(account.jobs)))
        rows.append((account.account_id, "@tick", str(account.tick)))
        self._db.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", rows)
        self._db.commit()
        account.dirty.clear()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

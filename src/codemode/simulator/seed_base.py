"""The base of the demo seeders: the account, a seeded random source, the brand and helpers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from codemode.simulator.documents import shape
from codemode.simulator.store import Account, Record, iso

__all__ = ["Seeder"]


class Seeder:
    """Adds records to one account with timestamps counted back from the account's "now"."""

    def __init__(self, account: Account, rng: random.Random, brand: dict[str, str]) -> None:
        self.a = account
        self.rng = rng
        self.brand = brand
        self.now = account.now

    def ago(self, days: float) -> str:
        return iso(self.now - timedelta(days=days))

    def add(
        self,
        kind: str,
        attrs: dict[str, Any],
        rels: dict[str, Any] | None = None,
        *,
        days: float = 120.0,
        ident: str | None = None,
    ) -> Record:
        stamp = self.ago(days)
        known = shape(kind)["attributes"]
        for name in ("created", "created_at", "updated", "updated_at"):
            if name in known:
                attrs.setdefault(name, stamp)
        return self.a.add(kind, attrs, rels, created=stamp, ident=ident)

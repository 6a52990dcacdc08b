"""Klaviyo-style identifiers: 26-character ULID-like ids, 6-character list and metric ids."""

from __future__ import annotations

import random

__all__ = ["IdMaker"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_SHORT = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

# Klaviyo gives lists, segments, metrics, flows, templates and a few others short mixed-case ids;
# profiles, events, campaigns and jobs get 26-character ULIDs.
SHORT_TYPES = frozenset(
    {
        "list",
        "segment",
        "metric",
        "flow",
        "template",
        "flow-action",
        "flow-message",
        "tag-group",
        "form",
        "image",
    }
)


class IdMaker:
    """Deterministic id source for one account (the same seed gives the same ids)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def ulid(self, millis: int) -> str:
        """A 26-character ULID whose time part is ``millis`` (so ids sort by creation)."""
        v = ((millis & (2**48 - 1)) << 80) | self._rng.getrandbits(80)
        # 130 bits (two leading zeros) as 13 pairs of base-32 digits, unrolled: seeding makes
        # twenty thousand of these and a loop (or base64's pure-Python b32encode) costs 3x more.
        p = _PAIRS
        return (
            p[(v >> 120) & 1023] + p[(v >> 110) & 1023] + p[(v >> 100) & 1023]
            + p[(v >> 90) & 1023] + p[(v >> 80) & 1023] + p[(v >> 70) & 1023]
            + p[(v >> 60) & 1023] + p[(v >> 50) & 1023] + p[(v >> 40) & 1023]
            + p[(v >> 30) & 1023] + p[(v >> 20) & 1023] + p[(v >> 10) & 1023]
            + p[v & 1023]
        )  # fmt: skip

    def short(self) -> str:
        """A 6-character mixed-case id."""
        return "".join(self._rng.choice(_SHORT) for _ in range(6))

    def for_type(self, kind: str, millis: int) -> str:
        """An id in the style Klaviyo uses for ``kind``."""
        if kind in SHORT_TYPES:
            return self.short()
        if kind == "tag":
            return self.uuid()
        return self.ulid(millis)

    def uuid(self) -> str:
        """A UUID4-shaped id (tags, tag groups' children, event uuids)."""
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

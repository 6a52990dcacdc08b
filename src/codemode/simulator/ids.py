"""Klaviyo-style identifiers: 26-character ULID-like ids, 6-character list and metric ids."""

from __future__ import annotations

import base64
import random

__all__ = ["IdMaker"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD)
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
        value = ((millis & (2**48 - 1)) << 80) | self._rng.getrandbits(80)
        # 130 bits (two leading zeros) as 26 base-32 digits: base64's encoder, Crockford's alphabet.
        return (
            base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
            .decode()
            .translate(_TO_CROCKFORD)
        )

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

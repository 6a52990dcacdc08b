"""A session's cross-run provenance sketch: which word shingles earlier runs were delivered.

The output screen (:mod:`codemode.sandbox.screen`) scans only outside text: what a run's answers
and its session store hold, found in the result by word trigrams and pairs
(:mod:`codemode.sandbox.provenance`). A script that rewrites outside text before keeping it
(reversed, encoded, spread over numbers) and prints it back in its original form in a later run
escaped that search: the later run's delivered text holds only the rewritten form. This sketch
closes that: when a run keeps text it computed in the store, the host adds the shingles of all
text delivered to that run (its answers and the store it loaded) to the session's sketch, and
later runs of the session treat output shingles that hit the sketch as outside text (scanned,
taken out only when flagged), as they treat text matched in their own answers.

What it is: two generations of a Bloom filter (:data:`BITS` bits each, :data:`HASHES` probes,
so 64 KiB in all), each taking up to :data:`CAPACITY` shingles; the false-positive rate at
capacity is about 1e-4 per lookup and 1e-5 for a page of 100 profiles (8,300 shingles). When the
newer generation is full the older one is dropped and a new one begun: that is the eviction, the
oldest runs' text going first. A single run with more distinct shingles than both generations
hold, or one whose host-CPU budget ran out before its text was read, sets :attr:`Sketch.overflow`,
and every later run of the session is screened as a run past its provenance budget is (every word
the script never wrote counts as outside text and is scanned): failing closed, never open.

Kept host-side only (never in the ``store`` dict the script sees) and next to the store in the
session stores, with the store's namespacing and expiry. It holds no text: each shingle is a
BLAKE2b hash keyed with the sketch's own random 16-byte key (one per session), reduced to bit
positions. A reader of the session stores finds that key next to the bits, so can test a guessed
shingle (with the filter's false positives); it can read no text, and the store next to it holds
what the script kept in clear anyway.

The limit that remains: text transformed beyond recognition *and* never printed forward (a later
run printing the reversed text as it is, or a summary of it) matches nothing here, as within one
run; the scanner then sees it only if something else (a shingle, the store's own text) places it.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["BITS", "CAPACITY", "HASHES", "SOURCE", "Sketch", "keeps_computed_text"]

BITS = 1 << 18
"""Bits per generation (32 KiB)."""
HASHES = 7
"""Bit positions per shingle."""
CAPACITY = 12_000
"""Shingles per generation before it is the older one (about 1e-4 false positives a lookup)."""
SOURCE = "data an earlier run of this session read"
"""How the screen names text the sketch placed."""

_MAGIC = b"CMS1"
_KEY_BYTES = 16
_HEADER = struct.Struct(">4sB16sII")  # magic, overflow, key, shingles in the newer and older
_BYTES = BITS // 8
SIZE = _HEADER.size + 2 * _BYTES
"""Bytes of :meth:`Sketch.to_bytes`: always the same."""


def _item(shingle: tuple[str, ...]) -> bytes:
    # Tokens are letters and digits only: the separator cannot occur in one, and the length
    # prefix keeps a pair apart from a trigram.
    return str(len(shingle)).encode() + "\x1f".join(shingle).encode("utf-8", "surrogatepass")


class Sketch:
    """A session's bounded, keyed record of the shingles delivered to its runs that kept text."""

    __slots__ = ("_counts", "_gens", "key", "overflow")

    def __init__(
        self,
        key: bytes | None = None,
        *,
        gens: tuple[bytearray, bytearray] | None = None,
        counts: tuple[int, int] = (0, 0),
        overflow: bool = False,
    ) -> None:
        """A new, empty sketch (a fresh random key unless ``key`` is given)."""
        self.key = key if key is not None else secrets.token_bytes(_KEY_BYTES)
        if len(self.key) != _KEY_BYTES:
            raise ValueError("a sketch key is 16 bytes")
        self._gens = list(gens) if gens is not None else [bytearray(_BYTES), bytearray(_BYTES)]
        self._counts = list(counts)
        self.overflow = overflow

    @property
    def empty(self) -> bool:
        """Nothing recorded and not overflowed: the sketch places no text."""
        return not self.overflow and not any(self._counts)

    def copy(self) -> Sketch:
        """An independent copy (a run adds to its own, the caller's stays as loaded)."""
        return Sketch(
            self.key,
            gens=(bytearray(self._gens[0]), bytearray(self._gens[1])),
            counts=(self._counts[0], self._counts[1]),
            overflow=self.overflow,
        )

    def _positions(self, shingle: tuple[str, ...]) -> list[int]:
        digest = hashlib.blake2b(_item(shingle), digest_size=16, key=self.key).digest()
        first = int.from_bytes(digest[:8], "big")
        step = int.from_bytes(digest[8:], "big") | 1
        return [(first + i * step) % BITS for i in range(HASHES)]

    def add(self, shingles: Iterable[tuple[str, ...]]) -> None:
        """Record ``shingles`` (distinct ones); past both generations' room, :attr:`overflow`."""
        rotations = 0
        for shingle in shingles:
            positions = self._positions(shingle)
            newer = self._gens[0]
            if all(newer[p >> 3] & (1 << (p & 7)) for p in positions):
                continue  # already there (or a false positive: counts nothing)
            if self._counts[0] >= CAPACITY:
                rotations += 1
                if rotations > 1:  # this run's own shingles would push out its own: fail closed
                    self.overflow = True
                    return
                self._gens = [bytearray(_BYTES), self._gens[0]]
                self._counts = [0, self._counts[0]]
                newer = self._gens[0]
            for p in positions:
                newer[p >> 3] |= 1 << (p & 7)
            self._counts[0] += 1

    def __contains__(self, shingle: object) -> bool:
        if not isinstance(shingle, tuple) or not any(self._counts):
            return False
        positions = self._positions(shingle)
        return any(
            count and all(gen[p >> 3] & (1 << (p & 7)) for p in positions)
            for gen, count in zip(self._gens, self._counts, strict=True)
        )

    def to_bytes(self) -> bytes:
        """The sketch as kept in the session stores (:data:`SIZE` bytes)."""
        header = _HEADER.pack(_MAGIC, int(self.overflow), self.key, *self._counts)
        return header + bytes(self._gens[0]) + bytes(self._gens[1])

    @classmethod
    def from_bytes(cls, blob: bytes) -> Sketch:
        """A kept sketch; one that cannot be read is an overflowed one (the screen fails closed)."""
        if len(blob) != SIZE or not blob.startswith(_MAGIC):
            return cls(overflow=True)
        _, overflow, key, newer, older = _HEADER.unpack_from(blob)
        body = blob[_HEADER.size :]
        return cls(
            key,
            gens=(bytearray(body[:_BYTES]), bytearray(body[_BYTES:])),
            counts=(newer, older),
            overflow=bool(overflow),
        )


# Bits a store may hold in numbers, booleans, nulls and container sizes before they could carry
# text (8 bytes: one short word); a counter or two stays under it.
_NUMBER_BITS = 64


def _leaves(value: Any) -> tuple[set[str], int]:
    """The strings of a JSON value (keys included), and the bits its other parts can carry.

    Walked without recursion: a store nested deeper than the interpreter's stack is still read.
    """
    strings: set[str] = set()
    bits = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.add(item)
        elif isinstance(item, dict):
            bits += len(item)
            strings.update(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            bits += len(item)
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            bits += 1
        elif isinstance(item, int):
            bits += max(item.bit_length(), 1)
        elif isinstance(item, float):
            bits += max(int(item).bit_length(), 1) if item.is_integer() else 64
        else:
            strings.add(str(item))
    return strings, bits


def keeps_computed_text(new: Mapping[str, Any], old: Mapping[str, Any], code: str) -> bool:
    """Whether a run's new store may carry text the script derived from what it read.

    True when it holds a string (value or key) that is neither in the store the run loaded nor
    part of the script's source, or when it changed and its numbers, booleans, nulls and
    container sizes hold more than 64 bits (text spread over numbers). Sound, not exact: a
    string of the script's own, built at run time, counts too. A run whose store kept only what
    it loaded, the script's own literals and a few small numbers (``store['n'] += 1``) answers
    False after one walk of each store, and pays nothing more.
    """
    if not new or new == old:
        return False
    strings, bits = _leaves(dict(new))
    old_strings, _ = _leaves(dict(old))
    if any(s not in old_strings and s not in code for s in strings):
        return True
    return bits > _NUMBER_BITS

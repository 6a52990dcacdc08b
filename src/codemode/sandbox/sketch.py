"""A session's cross-run provenance sketch: which word shingles earlier runs were delivered.

The output screen (:mod:`codemode.sandbox.screen`) scans only outside text: what a run's answers
and its session store hold, found in the result by word trigrams and pairs
(:mod:`codemode.sandbox.provenance`). A script that rewrites outside text before keeping it
(reversed, encoded, spread over numbers) and prints it back in its original form in a later run
escaped that search: the later run's delivered text holds only the rewritten form. This sketch
closes that: when a run keeps text it computed in the store, the host adds the shingles of all
text delivered to that run (its answers and the store it loaded) to the session's sketch, and
later runs of the session treat output shingles that hit the sketch as outside text (scanned,
taken out only when flagged), as they treat text matched in their own answers. Which stores
need it (:func:`~codemode.sandbox.computed.keeps_computed_text`) is decided without numpy, in
:mod:`codemode.sandbox.computed`: this module (numpy) loads only for a session that has a sketch.

What it is: two generations of a Bloom filter (:data:`BITS` bits each, :data:`HASHES` probes,
so 64 KiB in all), each taking up to :data:`CAPACITY` shingles; the false-positive rate at
capacity is about 1e-4 per lookup and 1e-5 for a page of 100 profiles (8,300 shingles).
Recording that page costs about 7 ms of host CPU after the 14 ms of tokenising it, charged to
the run (``tools/sketch_cpu.py`` measures whole runs). When the newer generation is full the
older one is dropped and a new one begun: that is the eviction, the oldest runs' text going
first. A single run with more distinct shingles than one generation holds, or one whose
host-CPU budget ran out before its text was read, sets :attr:`Sketch.overflow`, and every later
run of the session is screened as a run past its provenance budget is (every word the script
never wrote counts as outside text and is scanned): failing closed, never open.

Kept host-side only (never in the ``store`` dict the script sees) and next to the store in the
session stores, with the store's namespacing and expiry. It holds no text: each word of a
shingle is hashed with BLAKE2b keyed with the sketch's own random 16-byte key (one per
session), the word hashes are mixed into the shingle's (numpy, splitmix64's finaliser), and that
gives the bit positions. A reader of the session stores finds the key beside the bits, so it can
test a guessed shingle (with the filter's false positives); it can read no text, and the store
beside it holds what the script kept in clear anyway.

The limit that remains: text transformed beyond recognition *and* never printed forward (a later
run printing the reversed, encoded or summarised form as it is) matches nothing here, as within
one run: only the scanner's own reading of that form stands between it and the model, if it is
scanned at all (a word of it that the store holds as it is places it).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import time
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["BITS", "CAPACITY", "HASHES", "SIZE", "Sketch"]

BITS = 1 << 18
"""Bits per generation (32 KiB)."""
HASHES = 7
"""Bit positions per shingle."""
CAPACITY = 12_000
"""Shingles per generation before it is the older one (about 1e-4 false positives a lookup)."""

_MAGIC = b"CMS2"
_KEY_BYTES = 16
_HEADER = struct.Struct(">4sB16sII")  # magic, overflow, key, shingles in the newer and older
_BYTES = BITS // 8
SIZE = _HEADER.size + 2 * _BYTES
"""Bytes of :meth:`Sketch.to_bytes`: always the same."""

_U64 = np.uint64
# Odd constants of the shingle hash: one per place in the shingle, one per length (so a pair and
# a trigram of the same words differ), and splitmix64's finaliser.
_PLACE = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=_U64)
_LENGTH = {2: _U64(0x27D4EB2F165667C5), 3: _U64(0x85EBCA77C2B2AE63)}
_SECOND = _U64(0xD6E8FEB86659FD93)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser (wrapping uint64 arithmetic): each input bit moves every output."""
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


class Sketch:
    """A session's bounded, keyed record of the shingles delivered to its runs that kept text.

    A shingle's hash mixes the keyed BLAKE2b hashes of its words (each word hashed once per
    call, the shingles then in numpy); its :data:`HASHES` bit positions come from that hash.
    """

    __slots__ = ("_counts", "_gens", "key", "overflow")

    def __init__(
        self,
        key: bytes | None = None,
        *,
        gens: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None = None,
        counts: tuple[int, int] = (0, 0),
        overflow: bool = False,
    ) -> None:
        """A new, empty sketch (a fresh random key unless ``key`` is given)."""
        self.key = key if key is not None else secrets.token_bytes(_KEY_BYTES)
        if len(self.key) != _KEY_BYTES:
            raise ValueError("a sketch key is 16 bytes")
        self._gens = list(gens) if gens is not None else [_empty(), _empty()]
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
            gens=(self._gens[0].copy(), self._gens[1].copy()),
            counts=(self._counts[0], self._counts[1]),
            overflow=self.overflow,
        )

    def _words(self, words: Iterable[str]) -> dict[str, int]:
        key = self.key
        return {
            w: int.from_bytes(
                hashlib.blake2b(w.encode("utf-8", "surrogatepass"), digest_size=8, key=key).digest()
            )
            for w in set(words)
        }

    @staticmethod
    def _hash(hashed: npt.NDArray[np.uint64], size: int) -> npt.NDArray[np.uint64]:
        """The hashes of the shingles of ``size`` words starting at each place of ``hashed``."""
        count = len(hashed) - size + 1
        if count <= 0:
            return np.zeros(0, dtype=_U64)
        total = np.full(count, _LENGTH[size], dtype=_U64)
        for place in range(size):
            total = total + hashed[place : place + count] * _PLACE[place]
        return _mix(total)

    def _positions(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        """Each hash's :data:`HASHES` bit positions (rows): double hashing."""
        step = _mix(hashes ^ _SECOND) | _U64(1)
        rounds = np.arange(HASHES, dtype=_U64)[:, None]
        return ((hashes[None, :] + rounds * step[None, :]) & _U64(BITS - 1)).astype(np.intp)

    def shingle_hashes(
        self, texts: Iterable[Sequence[str]], glue: frozenset[str] = frozenset()
    ) -> npt.NDArray[np.uint64]:
        """The distinct hashes of the trigrams and pairs of each token list (pairs with a
        ``glue`` word left out, as the search leaves them out)."""
        lists = [list(t) for t in texts]
        table = self._words(w for t in lists for w in t)
        found: list[npt.NDArray[np.uint64]] = []
        for toks in lists:
            hashed = np.fromiter((table[w] for w in toks), dtype=_U64, count=len(toks))
            found.append(self._hash(hashed, 3))
            keep = np.fromiter((w not in glue for w in toks), dtype=np.bool_, count=len(toks))
            found.append(self._hash(hashed, 2)[keep[:-1] & keep[1:]])
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=_U64)

    def record(
        self,
        texts: Iterable[Sequence[str]],
        *,
        glue: frozenset[str] = frozenset(),
        cpu_until: float | None = None,
    ) -> None:
        """Add the shingles of each token list (one delivered text each, tokenised as it is
        taken); past ``cpu_until`` (a ``time.thread_time()`` value) or with more distinct
        shingles than a generation holds, nothing is added and :attr:`overflow` is set."""
        found: list[npt.NDArray[np.uint64]] = []
        total = 0
        for toks in texts:
            if cpu_until is not None and time.thread_time() >= cpu_until:
                self.overflow = True
                return
            found.append(self.shingle_hashes([toks], glue))
            total += len(found[-1])
            if total > 2 * CAPACITY:
                found = [np.unique(np.concatenate(found))]
                total = len(found[0])
                if total > 2 * CAPACITY:
                    self.overflow = True
                    return
        if found:
            self._add(np.unique(np.concatenate(found)))

    def _add(self, hashes: npt.NDArray[np.uint64]) -> None:
        """Record distinct shingle hashes; more than a generation holds: :attr:`overflow`."""
        positions = self._positions(hashes)
        fresh = ~self._gens[0][positions].all(axis=0)  # already in the newest: counts nothing
        if int(fresh.sum()) <= CAPACITY - self._counts[0]:
            self._gens[0][positions[:, fresh]] = True
            self._counts[0] += int(fresh.sum())
            return
        if positions.shape[1] > CAPACITY:
            self.overflow = True  # this run's own shingles would push out its own: fail closed
            return
        # The older generation goes and the newer becomes it; this run's shingles all go into a
        # new one, none into the generation the next rotation drops (a run is held whole until
        # two later runs have each filled a generation).
        self._gens = [_empty(), self._gens[0]]
        self._counts = [positions.shape[1], self._counts[0]]
        self._gens[0][positions] = True

    def holds(self, shingles: Sequence[tuple[str, ...]]) -> list[bool]:
        """For each shingle (a word pair or trigram), whether the sketch holds it."""
        if not shingles or not any(self._counts):
            return [False] * len(shingles)
        table = self._words(w for s in shingles for w in s)
        out = np.zeros(len(shingles), dtype=np.bool_)
        for size in (2, 3):
            at = [i for i, s in enumerate(shingles) if len(s) == size]
            if not at:
                continue
            words = np.array([[table[w] for w in shingles[i]] for i in at], dtype=_U64)
            total = np.full(len(at), _LENGTH[size], dtype=_U64)
            for place in range(size):
                total = total + words[:, place] * _PLACE[place]
            positions = self._positions(_mix(total))
            hit = np.zeros(len(at), dtype=np.bool_)
            for gen, count in zip(self._gens, self._counts, strict=True):
                if count:
                    hit |= gen[positions].all(axis=0)
            out[at] = hit
        return [bool(x) for x in out]

    def __contains__(self, shingle: object) -> bool:
        return isinstance(shingle, tuple) and self.holds([shingle])[0]

    def to_bytes(self) -> bytes:
        """The sketch as kept in the session stores (:data:`SIZE` bytes)."""
        header = _HEADER.pack(_MAGIC, int(self.overflow), self.key, *self._counts)
        return header + b"".join(np.packbits(gen).tobytes() for gen in self._gens)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Sketch:
        """A kept sketch; one that cannot be read is an overflowed one (the screen fails closed)."""
        if len(blob) != SIZE or not blob.startswith(_MAGIC):
            return cls(overflow=True)
        _, overflow, key, newer, older = _HEADER.unpack_from(blob)
        body = np.frombuffer(blob, dtype=np.uint8, offset=_HEADER.size)
        bits = np.unpackbits(body).astype(np.bool_)
        return cls(
            key,
            gens=(bits[:BITS].copy(), bits[BITS:].copy()),
            counts=(newer, older),
            overflow=bool(overflow),
        )


def _empty() -> npt.NDArray[np.bool_]:
    return np.zeros(BITS, dtype=np.bool_)

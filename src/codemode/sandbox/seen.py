"""Answers a principal already had scanned clean, known again by their bytes.

An agent's scripts read the same things again and again: the lists before each step, the same
pages of a report on each try. The scanner's own cache spares it the classifier on strings it has
read, but it still walks the answer and reads its neighbouring fields together (about a
millisecond and a half for a page of profiles). :class:`CleanAnswers` remembers, per principal,
the digest of each whole answer (its compact JSON) that was scanned clean and came back
unchanged; the same bytes for the same principal are clean again without a second reading.

Only clean answers are kept: an answer with a finding is always scanned again. Entries belong to
one principal (a tenant cannot learn by timing what another one read), are BLAKE2b-256 digests
(a collision is out of reach, so different bytes never pass for remembered ones), and are few:
``per_principal`` digests each, ``total`` in all, for the ``principals`` most recently seen. The
bound in all is what holds memory down: a bound on principals alone dropped every principal's
digests between two of its runs once more principals ran at once than it kept (256 sessions
against 64).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

__all__ = ["CleanAnswers"]


class CleanAnswers:
    """Per-principal digests of answers scanned clean (thread-safe: scans run in threads)."""

    def __init__(
        self, *, per_principal: int = 512, principals: int = 4096, total: int = 64 * 512
    ) -> None:
        """Bound what is kept.

        Args:
            per_principal: digests kept per principal, least recently used dropped first.
            principals: principals kept, least recently seen dropped first.
            total: digests kept in all; past it, the principals seen least recently are dropped.
        """
        if per_principal < 1 or principals < 1 or total < 1:
            raise ValueError("CleanAnswers keeps at least one answer of one principal")
        self.per_principal = per_principal
        self.principals = principals
        self.total = total
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, OrderedDict[bytes, None]] = OrderedDict()
        self._entries = 0  # digests kept, all principals together

    @staticmethod
    def digest(context: str, answer: str) -> bytes:
        """The key of ``answer`` read under ``context`` (the policy and anything the scan took)."""
        hasher = hashlib.blake2b(digest_size=32)
        framed = context.encode("utf-8", "surrogatepass")
        # Length-prefixed, so no (context, answer) pair can pass for another by moving bytes
        # across the boundary (a NUL separator could, were either ever to hold a NUL).
        hasher.update(len(framed).to_bytes(8, "big"))
        hasher.update(framed)
        hasher.update(answer.encode("utf-8", "surrogatepass"))
        return hasher.digest()

    def known(self, principal: str, key: bytes) -> bool:
        """True when ``principal`` had the answer of ``key`` scanned clean before."""
        with self._lock:
            entries = self._seen.get(principal)
            if entries is None or key not in entries:
                return False
            entries.move_to_end(key)
            self._seen.move_to_end(principal)
            return True

    def add(self, principal: str, key: bytes) -> None:
        """Remember that ``principal``'s answer of ``key`` was scanned clean."""
        with self._lock:
            entries = self._seen.get(principal)
            if entries is None:
                entries = self._seen[principal] = OrderedDict()
                while len(self._seen) > self.principals:
                    self._entries -= len(self._seen.popitem(last=False)[1])
            else:
                self._seen.move_to_end(principal)
            before = len(entries)
            entries[key] = None
            entries.move_to_end(key)
            while len(entries) > self.per_principal:
                entries.popitem(last=False)
            self._entries += len(entries) - before
            # ``principal`` is now the most recently seen: the others go first.
            while self._entries > self.total and len(self._seen) > 1:
                self._entries -= len(self._seen.popitem(last=False)[1])

    def clear(self) -> None:
        """Forget everything (the scanner changed, or a benchmark wants cold scans)."""
        with self._lock:
            self._seen.clear()
            self._entries = 0

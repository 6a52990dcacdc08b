"""The ``Scanner``: tier 1 and tier 2 on a text, and field by field on a JSON response.

How a verdict is reached: tier 1 normalises the text and runs the patterns on every view of it;
tier 2 scores each chunk with the classifier (the worst chunk counts). A strong pattern decides on
its own; a weak one (an AI greeted, a quoted attack phrase) nudges the classifier's log-odds. The
cut is 0.5 on the combined score.

On a response, only string leaves that could carry an instruction are scanned alone (ids,
timestamps, numbers, enums and single tokens are skipped), each distinct string once, all
classifier chunks in one batch. Neighbouring short strings (the words and short phrases of a
response, in document order, across fields and array items) are also read together in overlapping
windows, so an instruction split across ``first_name`` and ``last_name`` or spread one word per
array item is still seen; a flagged window is withheld whole.

Host budget: a scan reads at most ``max_chars`` characters (a larger document is withheld, with a
finding saying why) and stops at ``deadline`` (a ``time.monotonic()`` value; default
``DEFAULT_BUDGET_S`` from the call). Work is cut into bounded pieces (a text, a view, a slice of
``_SLICE`` characters, a classifier batch) and the deadline is checked between them, so the scan
returns on time from any thread; whatever was not read by then is treated as flagged
(``budget.deadline``), never as clean.

Verdicts are cached per principal (the caller's tenant or key fingerprint), and so are the digests
of the joined readings of neighbouring strings that tier 1 found clean (the same windows, read
again, are skipped): one principal's scans can neither fill another's cache nor reveal, by
timing, what another has scanned.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._types import (
    ANNOTATE_END,
    ANNOTATE_START,
    REDACTED,
    DeadlinePassed,
    Finding,
    ResponseScan,
    ScannerError,
    ScanPolicy,
    ScanStatus,
    Verdict,
)
from .links import LinkShape
from .normalize import (
    View,
    canonical,
    numbers_spell_text,
    short_token,
    spaced_without_spaces,
    views,
)
from .patterns import Match, match_views

if TYPE_CHECKING:
    # numpy and onnxruntime load with the classifier, on the first text that needs tier 2.
    from .classifier import Classifier

__all__ = ["ANNOTATE_END", "ANNOTATE_START", "DEFAULT_BUDGET_S", "MAX_SCAN_CHARS", "Scanner"]

_THRESHOLD = 0.5
_STRONG = 0.5
_WEAK_LOGIT_GAIN = 4.0
_CACHE_SIZE = 2048  # verdicts kept per principal
# Verdicts kept in all: past it, the caches of the principals seen least recently are dropped.
# Bounded by entries, not by principals: a server with more concurrent principals than a count
# would keep (256 sessions against 64 caches) dropped every cache between two runs of one
# principal and scanned every answer cold again. A quarter of what 64 full caches held: an answer
# read again is known whole by its digest first (``sandbox/seen.py``), so these serve answers that
# changed in part, and the server's memory after a burst stays near where it started (`bench load`,
# 256 sessions of the 20-call script: RSS after +9.6 % of the start with twice this bound, +6.6 %
# with it; server CPU per run the same within the noise).
_ENTRIES = 16 * _CACHE_SIZE
# A text longer than this is kept by its digest, not by itself: an entry's size is then bounded
# (a few hundred bytes), so the entry bounds above bound the caches' memory (about 8 MB when
# full), whatever the answers hold. Kept by the text itself, 2,048 distinct 27 KB strings of one
# principal held 55 MB, and the overall bound would have let 32 such principals hold 1.7 GB.
_KEY_CHARS = 64
_PRINCIPALS = 4096  # principals with a cache (an empty cache still takes memory)
_MIN_LEAF_CHARS = 12
_MAX_JSON_DEPTH = 4
DEFAULT_BUDGET_S = 2.0
MAX_SCAN_CHARS = 2_000_000
_SLICE = 20_000  # tier 1 reads a long text in slices this long (overlapping by _SLICE_OVERLAP)
_SLICE_OVERLAP = 600
_WINDOW_CHARS = 240  # neighbouring short strings are read together in windows about this long
_WINDOW_ITEMS = 24
_SHORT = 200  # a string shorter than this takes part in the neighbour windows
_FRAGMENT = 16  # a list of strings no longer than this is also read joined without separators
_GLUED_CHARS = 8  # neighbours this short on average are also read joined without separators

# A leaf with no whitespace is an id, a slug, a timestamp, an email, a URL or a number: one token
# cannot carry an instruction, unless it is an encoded payload (kept for tier 1's decoders).
# Letters of the scripts written without spaces between words: kana, Han, Hangul is spaced and
# not here, Thai, Lao, Khmer, Myanmar, Tibetan. A string of this many of them is a sentence or
# two, not a name, and the classifier reads it like any spaced text (red team round 16: a
# Japanese request in a JSON field reached neither the classifier nor the encoder).
_UNSPACED_SCRIPT = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\u0e00-\u0eff\u1780-\u17ff\u1000-\u109f\u0f00-\u0fff]"
)
_UNSPACED_MIN = 12
_ENCODED_TOKEN = re.compile(r"^(?:[A-Za-z0-9+/_\-]{24,}={0,2}|(?:%[0-9A-Fa-f]{2}|[^%\s]){20,})$")
_CLASSIFIED_VIEWS = frozenset(
    {
        "text",
        "unicode-tags",
        "html-comment",
        "hidden-html",
        "base64",
        "hex",
        "joined-words",
        "leetspeak",
        "rot13",
        "base32",
        "quoted-printable",
        "char-codes",
        "binary",
        "unicode-escapes",
        "variation-selectors",
        "lookalikes",
        "stacked-marks",
        "reversed",
        "reversed-words",
    }
)
_SPACE = re.compile(r"\s")
_NUMBERISH = re.compile(r"^[\s\d.,:+\-/TZ%$€£]*$")


@dataclass(frozen=True, slots=True)
class _Assessment:
    score: float
    findings: tuple[Finding, ...]
    tier2: bool


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _worth_scanning(text: str) -> Literal["full", "tier1", "skip"]:
    stripped = text.strip()
    if len(stripped) < _MIN_LEAF_CHARS:
        return "skip"
    if _NUMBERISH.match(stripped):
        # Numbers carry no words, unless they spell characters ("83 89 83 84 ...", binary).
        return "tier1" if numbers_spell_text(stripped) else "skip"
    if not _SPACE.search(stripped):
        if spaced_without_spaces(stripped):
            return "full"  # words joined by dots, underscores or a blank that is not a space
        if len(_UNSPACED_SCRIPT.findall(stripped)) >= _UNSPACED_MIN:
            return "full"  # a sentence in a script written without spaces (Japanese, Thai)
        if _ENCODED_TOKEN.match(stripped) or "%20" in stripped:
            return "tier1"
        return "skip"
    return "full"


def _looks_like_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in ("{", "[") and stripped.rstrip()[-1:] in ("}", "]")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Budget:
    """The scan's deadline (``time.monotonic()``) and its character allowance."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: float | None) -> None:
        self.deadline = time.monotonic() + DEFAULT_BUDGET_S if deadline is None else deadline

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline


def _deadline_assessment(pointer: str) -> _Assessment:
    return _Assessment(
        1.0,
        (
            Finding(
                pointer,
                1,
                "budget.deadline",
                1.0,
                "not scanned before the scan's deadline, so withheld (unread is never clean); "
                "request fewer records or fields",
            ),
        ),
        True,
    )


class Scanner:
    """Prompt-injection scanner: tier-1 patterns plus the tier-2 classifier cascade.

    Build one with ``Scanner.default()`` (shared, lazily loaded) or ``Scanner(model_dir=...)``;
    ``Scanner(tier2=False)`` runs the patterns alone. Thread-safe.
    """

    _default: Scanner | None = None
    _default_lock = threading.Lock()

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        tier2: bool = True,
        classifier: Classifier | None = None,
    ) -> None:
        """Prepare a scanner; the classifier is loaded on first use.

        Args:
            model_dir: folder holding ``scanner.onnx`` and ``scanner.json`` (and the encoder's
                ``encoder_lower.onnx``, ``encoder_upper.onnx`` and ``tokenizer.json``); default the
                package's.
            tier2: set to False to run tier 1 only (the result says tier 2 was unavailable).
            classifier: an already loaded classifier (the benchmark's retrained models).
        """
        self._model_dir = model_dir
        self._classifier: Classifier | None = classifier
        self._loaded = classifier is not None or not tier2
        self.tier2_error: str | None = None if tier2 else "tier 2 disabled"
        self._lock = threading.Lock()
        # Per principal: a text's verdict by the text, and the joined readings of neighbouring
        # strings that tier 1 found clean by their digest (bytes: no text can be one).
        self._caches: OrderedDict[str, OrderedDict[str | bytes, _Assessment]] = OrderedDict()
        self._entries = 0  # verdicts in all the caches

    @classmethod
    def default(cls) -> Scanner:
        """Return the process-wide scanner built from the packaged model."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    @property
    def classifier(self) -> Classifier | None:
        """The loaded classifier, or None when tier 2 is disabled or failed to load."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:  # pragma: no branch - false only when another thread won
                    # (tier2=False marks the scanner loaded in __init__, so this is a wanted load)
                    try:
                        from .classifier import Classifier

                        self._classifier = Classifier.from_directory(self._model_dir)
                    except ScannerError as exc:
                        self.tier2_error = str(exc)
                    self._loaded = True
        return self._classifier

    def clear_cache(self) -> None:
        """Forget every cached verdict of every principal (the benchmark measures each item cold)."""
        with self._lock:
            self._caches.clear()
            self._entries = 0

    def _cache(self, principal: str) -> OrderedDict[str | bytes, _Assessment]:
        """The principal's own cache (created on first use; call with the lock held)."""
        cache = self._caches.get(principal)
        if cache is None:
            cache = self._caches[principal] = OrderedDict()
            while len(self._caches) > _PRINCIPALS:
                self._entries -= len(self._caches.popitem(last=False)[1])
        else:
            self._caches.move_to_end(principal)
        return cache

    # -- texts -----------------------------------------------------------------------------------

    def _assess_many(
        self,
        texts: list[str],
        pointer_of: dict[str, str],
        *,
        joined: bool = False,
        principal: str = "",
        budget: _Budget | None = None,
        remember: bool = True,
    ) -> dict[str, _Assessment]:
        """Assess each distinct text once: cached results, then tier 1, then one tier-2 batch.

        ``joined`` says the texts are the strings of one document: tier 1 first reads those not
        cached joined together (see :func:`_read_joined`), so a text found clean that way needs
        only its canonical form for the classifier. A text not assessed before the budget's
        deadline gets a ``budget.deadline`` finding (not cached). ``remember=False``: no cache
        is read or written (a check with no principal to keep it under).
        """
        budget = budget or _Budget(None)
        results: dict[str, _Assessment] = {}
        todo: list[str] = []
        keys = {text: _cache_key(text) for text in texts}
        with self._lock:
            cache = self._cache(principal) if remember else OrderedDict()
            for text in texts:
                hit = cache.get(keys[text])
                if hit is not None:
                    cache.move_to_end(keys[text])
                    results[text] = hit
                elif text not in results:
                    todo.append(text)
                    results[text] = _Assessment(0.0, (), True)  # placeholder, replaced below
        if not todo:
            return results
        text_views: dict[str, list[View]] = {}
        tier1: dict[str, list[Match]] = {}
        late: set[str] = set()
        clean, read = _read_joined(todo, budget) if joined and len(todo) > 1 else (set(), {})
        for text in todo:
            if budget.spent():
                late.add(text)
                continue
            if text in clean:
                text_views[text] = [View("text", canonical(text))]
                tier1[text] = []
                continue
            found = read.get(text)
            if found is None:
                found = _tier1(text, budget)
            if found is None:
                late.add(text)
                continue
            text_views[text], tier1[text] = found
        classifier = self.classifier
        scores: dict[str, float] = {}
        tier2 = classifier is not None
        if classifier is not None:
            # The classifier reads the canonical text and every decoded or hidden payload in it;
            # the worst of them speaks for the text.
            owners: list[str] = []
            inputs: list[str] = []
            for text in todo:
                if text in late or _worth(text) != "full":
                    continue
                # A one-token value of a few words ("ASSIGNED_TO_PROFILE") is read as itself: the
                # classifier confirms it on its spaced words, which its joined-words view repeats.
                token = short_token(text)
                for view in text_views[text]:
                    if view.kind in _CLASSIFIED_VIEWS and not (
                        token and view.kind == "joined-words"
                    ):
                        owners.append(text)
                        inputs.append(view.text)
            try:
                for start in range(0, len(inputs), _CLASSIFIER_BATCH):
                    batch = inputs[start : start + _CLASSIFIER_BATCH]
                    try:
                        if budget.spent():
                            raise DeadlinePassed
                        values = classifier.scores(batch, deadline=budget.deadline)
                    except DeadlinePassed:
                        late.update(owners[start:])
                        break
                    for owner, value in zip(
                        owners[start : start + _CLASSIFIER_BATCH], values, strict=True
                    ):
                        scores[owner] = max(scores.get(owner, 0.0), value)
            except ScannerError as exc:
                self.tier2_error = str(exc)
                tier2 = False
                scores = {}
        for text in todo:
            if text in late:
                results[text] = _deadline_assessment(pointer_of.get(text, ""))
                continue
            results[text] = self._combine(
                tier1[text], scores.get(text), tier2, pointer_of.get(text, "")
            )
        if remember:
            self._keep(principal, {keys[text]: results[text] for text in todo if text not in late})
        return results

    def _keep(self, principal: str, verdicts: dict[str | bytes, _Assessment]) -> None:
        """Cache ``verdicts`` for ``principal``, within the per-principal and overall bounds."""
        with self._lock:
            cache = self._cache(principal)
            before = len(cache)
            cache.update(verdicts)
            for key in verdicts:
                cache.move_to_end(key)
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
            self._entries += len(cache) - before
            # The caller's cache is the most recently seen: the others go first.
            while self._entries > _ENTRIES and len(self._caches) > 1:
                self._entries -= len(self._caches.popitem(last=False)[1])

    def _read_clean_before(self, key: bytes, principal: str) -> bool:
        """Whether tier 1 found this principal's joined reading of digest ``key`` clean."""
        with self._lock:
            cache = self._cache(principal)
            if key not in cache:
                return False
            cache.move_to_end(key)
            return True

    @staticmethod
    def _combine(matches: list[Match], p2: float | None, tier2: bool, pointer: str) -> _Assessment:
        findings = [
            Finding(
                pointer,
                1,
                m.rule.id,
                m.weight,
                m.rule.reason + ("" if m.view == "text" else f" (hidden in {m.view})"),
            )
            for m in matches
        ]
        score = p2 if p2 is not None else 0.0
        weak = sum(m.weight for m in matches if m.weight < _STRONG)
        if weak and p2 is not None:
            score = 1.0 / (1.0 + math.exp(-(_logit(score) + _WEAK_LOGIT_GAIN * weak)))
        strong = max((m.weight for m in matches if m.weight >= _STRONG), default=0.0)
        score = max(score, strong)
        if p2 is not None and p2 >= _THRESHOLD:
            findings.append(
                Finding(pointer, 2, "classifier", p2, f"classifier score {p2:.2f} (cut 0.50)")
            )
        return _Assessment(score, tuple(findings), tier2)

    def scan_text(
        self,
        text: str,
        *,
        principal: str = "",
        deadline: float | None = None,
        max_chars: int = MAX_SCAN_CHARS,
        remember: bool = True,
    ) -> Verdict:
        """Scan one text. A text holding serialized JSON is scanned field by field.

        Args:
            text: the text.
            principal: whose scan this is (tenant, key fingerprint): the verdict cache is theirs.
            deadline: ``time.monotonic()`` value by which the scan returns; default
                ``DEFAULT_BUDGET_S`` from now. Text not read by then counts as flagged.
            max_chars: a longer text is not read at all and is flagged (``budget.size``).
            remember: ``False`` reads and keeps no cached verdict (a check made for nobody in
                particular, such as a name a message would repeat: a shared cache would let one
                caller time another's checks); such a text is read as plain text, never as JSON.
        """
        start = time.perf_counter()
        budget = _Budget(deadline)
        if len(text) > max_chars:
            finding = _too_large("", len(text), max_chars)
            return Verdict(True, 1.0, [finding], (time.perf_counter() - start) * 1000.0, True)
        if remember and _looks_like_json(text):
            try:
                document = json.loads(text)
            except (ValueError, RecursionError):  # nested past the parser: plain text
                document = None
            if isinstance(document, (dict, list)):
                scan = self.scan_response(
                    document, "redact", principal=principal, deadline=budget.deadline
                )
                score = max((f.score for f in scan.findings), default=0.0)
                injection = scan.verdict != "clean"
                return Verdict(
                    injection,
                    score if injection else min(score, 0.49),
                    scan.findings,
                    (time.perf_counter() - start) * 1000.0,
                    scan.tier2_available,
                )
        assessment = self._assess_many(
            [text], {}, principal=principal, budget=budget, remember=remember
        )[text]
        return Verdict(
            assessment.score >= _THRESHOLD,
            assessment.score,
            [f for f in assessment.findings if assessment.score >= _THRESHOLD or f.tier == 1],
            (time.perf_counter() - start) * 1000.0,
            assessment.tier2,
        )

    # -- responses -------------------------------------------------------------------------------

    def scan_response(
        self,
        document: Any,
        policy: ScanPolicy = "redact",
        *,
        principal: str = "",
        deadline: float | None = None,
        max_chars: int = MAX_SCAN_CHARS,
        links: LinkShape | None = None,
        columns: dict[str, list[str]] | None = None,
        known_clean: bool = False,
    ) -> ResponseScan:
        """Scan every string of a JSON document (or a plain string) and apply ``policy``.

        Returns a ``ResponseScan`` whose ``document`` is a copy with each flagged string replaced
        (``redact``, ``block``) or wrapped in markers (``annotate``); the input is not modified.
        ``principal``, ``deadline`` and ``max_chars`` are as for ``scan_text``; a document whose
        strings exceed ``max_chars`` in total is withheld whole. ``links``: the API's own link
        shape (see :mod:`codemode.scanner.links`); such links whose id the answer holds
        elsewhere are not read again. ``columns``: the short strings of earlier answers of the
        same operation in this run, by field (array indexes as ``*``): each field's strings are
        read after them, so one word per page (or per single-record answer) is read as the
        sentence the script prints; the dict is then updated with this answer's last strings.
        ``known_clean``: the answer alone was scanned clean before (the caller keeps such
        digests), so only its fields read after earlier answers are read now.
        """
        if policy not in ("redact", "block", "annotate"):
            raise ValueError(f"unknown scan policy {policy!r}; use 'redact', 'block' or 'annotate'")
        start = time.perf_counter()
        budget = _Budget(deadline)
        leaves: list[_Leaf] = []
        sequence: list[tuple[str, str]] = []
        keys: list[tuple[str, str]] = []
        size = collect(document, "", leaves, sequence, keys=keys)
        if size > max_chars:
            finding = _too_large("", size, max_chars)
            return ResponseScan(
                "blocked" if policy == "block" else "flagged",
                REDACTED,
                [finding],
                self.classifier is not None,
                (time.perf_counter() - start) * 1000.0,
            )
        if known_clean:
            leaves = []
        elif links is not None:
            leaves = _without_own_links(leaves, links)
        pointer_of: dict[str, str] = {}
        for leaf in leaves:
            pointer_of.setdefault(leaf.text, leaf.pointer)
        assessed = self._assess_many(
            [leaf.text for leaf in leaves],
            pointer_of,
            joined=True,
            principal=principal,
            budget=budget,
        )
        flagged: dict[str, list[Finding]] = {}
        flagged_keys: set[str] = set()
        flagged_values: set[str] = set()
        tier2 = self.classifier is not None
        for leaf in leaves:
            a = assessed[leaf.text]
            tier2 = tier2 and a.tier2
            if a.score < _THRESHOLD:
                continue
            where = [leaf.where] if leaf.where else []
            if leaf.is_key:
                flagged_keys.add(leaf.pointer)
                where.append("in the key")
            else:
                flagged_values.add(leaf.pointer)
            prefix = f"{'; '.join(where)}: " if where else ""
            flagged.setdefault(leaf.pointer, []).extend(
                Finding(leaf.pointer, f.tier, f.rule, f.score, prefix + f.reason)
                for f in a.findings
            )
        # Each field across the records and after the earlier answers; read together in one
        # pass (a clean page, the common case, costs one tier-1 read of them all).
        readings = [
            column
            for column in _columns(sequence, columns)
            if not known_clean or column[0][0] == _EARLIER
        ]
        if not known_clean:
            self._scan_windows([sequence], flagged, principal, budget)
            # The page's strings in order without those its records share (a type, a status):
            # a word put in a different field of each record reads on between them.
            distinct = _distinct(sequence)
            if len(distinct) < len(sequence):
                readings.append(distinct)
            # The keys of the same object across records (one property name per profile).
            readings.extend(_key_columns(keys))
        self._scan_windows(readings, flagged, principal, budget)
        for pointer in [p for p in flagged if p.startswith(_KEY)]:
            key = pointer[len(_KEY) :]
            flagged.setdefault(key, []).extend(
                Finding(key, f.tier, f.rule, f.score, f"in the key: {f.reason}")
                for f in flagged.pop(pointer)
            )
            flagged_keys.add(key)
        flagged.pop(_EARLIER, None)  # already delivered: what is flagged now is this answer's
        if columns is not None:
            _remember(sequence, columns)
        findings = [f for pointer in flagged for f in flagged[pointer]]
        verdict: ScanStatus = "clean"
        result = document
        if flagged:
            verdict = "blocked" if policy == "block" else "flagged"
            # A pointer flagged only for its key keeps its value; split-field findings are values.
            values = set(flagged) - (flagged_keys - flagged_values)
            result = _rewrite(document, "", values, flagged_keys, policy)
        return ResponseScan(
            verdict, result, findings, tier2, (time.perf_counter() - start) * 1000.0
        )

    def _scan_windows(
        self,
        sequences: list[list[tuple[str, str]]],
        flagged: dict[str, list[Finding]],
        principal: str,
        budget: _Budget,
    ) -> None:
        """Read neighbouring short strings together: catches instructions split across fields.

        Each sequence holds (pointer, text) of short wordy strings in the order read (the
        document's, a field's across records, ...). Windows of about ``_WINDOW_CHARS`` overlap by
        half, so every pair of neighbours shares one; each string is in at most two windows of
        a sequence and the work stays linear in the response.
        """
        # Strings already flagged alone break the runs: what they said is withheld anyway.
        windows: list[list[tuple[str, str]]] = []
        for sequence in sequences:
            run: list[tuple[str, str]] = []
            for item in [*sequence, None]:
                if item is None or item[0] in flagged:
                    windows.extend(_windows(run))
                    run = []
                else:
                    run.append(item)
        if not windows:
            return
        # Fragments (two to eight characters on average: "delete a", "ll pro", "files an")
        # are what a script glues back with "".join: such a window is read glued too.
        glued = [
            window
            for window in windows
            if sum(len(t) for _, t in window) <= _GLUED_CHARS * len(window)
        ]
        texts = [" ".join(t for _, t in window) for window in windows]
        texts += ["".join(t for _, t in window) for window in glued]
        windows = windows + glued
        # The same windows again (a run repeated, the operation's earlier answers again before
        # an answer read before): tier 1 gives the same answer on the same text, so a joined
        # reading it found clean for this principal is not read again. Only clean ones are kept.
        key = _joined_digest(texts)
        if not budget.spent() and self._read_clean_before(key, principal):
            return
        clean, read = _read_joined(texts, budget)
        if clean:
            self._keep(principal, {key: _CLEAN})
        for index, (window, text) in enumerate(zip(windows, texts, strict=True)):
            if text in clean:
                continue
            if text not in read and budget.spent():
                # Past the deadline every window left is unread: each of its strings is withheld
                # once, not once per window with its names (that took seconds for 40,000).
                late = _deadline_assessment("").findings
                left = {
                    p
                    for w, t in zip(windows[index:], texts[index:], strict=True)
                    if t not in clean
                    for p, _ in w
                }
                for p in left:
                    flagged.setdefault(p, []).extend(late)
                return
            # Tier 1 only: the classifier, shown a few unrelated short values (a type, an id, a
            # name), is not reliable enough to withhold them.
            found = read[text] if text in read else _tier1(text, budget)
            if found is None:
                findings: tuple[Finding, ...] = _deadline_assessment("").findings
            else:
                findings = tuple(
                    Finding("", 1, m.rule.id, m.weight, m.rule.reason)
                    for m in found[1]
                    if m.weight >= _STRONG
                )
                if not findings:
                    continue
                strong = {f.rule for f in findings}
                narrowed = _smallest_window(window, strong)
                rest = " ".join(t for item in window if item not in narrowed for _, t in [item])
                # What is left must read clean too ("... and export every profile to x@y"); a
                # narrowing to strings of earlier answers alone (delivered already, and read
                # too short to judge then) would leave this answer's words of it unflagged.
                if all(p == _EARLIER for p, _ in narrowed):
                    pass
                elif (
                    not rest
                    or self._assess_many([rest], {}, principal=principal, budget=budget)[rest].score
                    < _THRESHOLD
                ):
                    window = narrowed
            names = ", ".join(dict.fromkeys(p.rsplit("/", 1)[-1] or "/" for p, _ in window))
            for p, _ in window:
                flagged.setdefault(p, []).extend(
                    Finding(p, f.tier, f.rule, f.score, f"{f.reason} (split across {names})")
                    for f in findings
                )


_CLASSIFIER_BATCH = 64
_INDEX = re.compile(r"/\d+(?=/|$)")


def _shape(pointer: str) -> str:
    """``pointer`` with its array indexes as ``*`` (a page's records share their shapes)."""
    # Only short pointers are memoised: a key the data chose can be megabytes long.
    return _short_shape(pointer) if len(pointer) <= _MEMO_POINTER else _INDEX.sub("/*", pointer)


_MEMO_POINTER = 160


@functools.lru_cache(maxsize=8192)
def _short_shape(pointer: str) -> str:
    return _INDEX.sub("/*", pointer)


_EARLIER = "(an earlier answer)"  # the pointer of strings from earlier answers in a column
_REMEMBERED = _WINDOW_ITEMS // 2  # strings of each field kept for the next answer
_REMEMBERED_FIELDS = 256


def _columns(
    sequence: list[tuple[str, str]], earlier: dict[str, list[str]] | None = None
) -> list[list[tuple[str, str]]]:
    """The same field across the records of a page, in record order: one word per record
    (``first_name`` of consecutive profiles, one event's ``reason`` after another) reads as a
    sentence once the page is printed a record a line, while the document order puts each
    record's other fields between the words. With ``earlier`` (see ``scan_response``), each
    field's strings follow those of the run's earlier answers."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for item in sequence:
        columns.setdefault(_shape(item[0]), []).append(item)
    out = []
    for shape, column in columns.items():
        before = [(_EARLIER, text) for text in (earlier or {}).get(shape, ())]
        if before and len(column) > _WINDOW_ITEMS:
            # Only the strings a window can share with the earlier ones are read after them;
            # the column is read on its own as well.
            out += [before + column[:_WINDOW_ITEMS], column]
        elif before or len({p for p, _ in column}) >= 2:
            out.append(before + column)
    return out


_KEY = "\x00"  # before a pointer in a column of keys (a real pointer is empty or starts "/")


def _distinct(sequence: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``sequence`` less the strings that repeat in their column, in order: what the records
    share is their schema, not a sentence."""
    shaped = [(_shape(p), t) for p, t in sequence]
    seen = Counter(shaped)
    return [item for item, key in zip(sequence, shaped, strict=True) if seen[key] == 1]


def _key_columns(keys: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The keys no other record shares, of the same object across records, in order."""
    # A key's column is its object's shape (its pointer's shape less the key itself).
    parents = [_shape(pointer).rsplit("/", 1)[0] for pointer, _ in keys]
    seen = Counter(zip(parents, (key for _, key in keys), strict=True))
    columns: dict[str, list[tuple[str, str]]] = {}
    for (pointer, key), parent in zip(keys, parents, strict=True):
        if seen[parent, key] == 1:
            columns.setdefault(parent, []).append((_KEY + pointer, key))
    return [column for column in columns.values() if len(column) >= 2]


def _remember(sequence: list[tuple[str, str]], columns: dict[str, list[str]]) -> None:
    """Keep the last strings of each field of this answer for the next one (bounded)."""
    latest: dict[str, list[str]] = {}
    for pointer, text in sequence:
        latest.setdefault(_shape(pointer), []).append(text)
    for shape, texts in latest.items():
        kept = [*columns.pop(shape, ()), *texts][-_REMEMBERED:]
        columns[shape] = kept
    while len(columns) > _REMEMBERED_FIELDS:
        del columns[next(iter(columns))]


def _smallest_window(parts: list[tuple[str, str]], rules: set[str]) -> list[tuple[str, str]]:
    """Return the fewest consecutive strings whose joined text still matches one of ``rules``."""
    for size in range(2, len(parts)):
        for i in range(len(parts) - size + 1):
            window = parts[i : i + size]
            joined = " ".join(t for _, t in window)
            if any(m.rule.id in rules for m in match_views(views(joined))):
                return window
    return parts


def _too_large(pointer: str, size: int, cap: int) -> Finding:
    return Finding(
        pointer,
        1,
        "budget.size",
        1.0,
        f"{size} characters of text, more than the scanner reads ({cap}), so withheld unread; "
        "request fewer records or fields",
    )


def _tier1(text: str, budget: _Budget) -> tuple[list[View], list[Match]] | None:
    """Views and pattern matches of ``text``, long texts slice by slice; None past the deadline
    (checked before short texts too: 40,000 neighbour windows read one by one once ran seconds
    past it)."""
    if budget.spent():
        return None
    if len(text) <= _SLICE:
        text_views = views(text)
        return text_views, match_views(text_views)
    all_views: list[View] = []
    best: dict[str, Match] = {}
    for begin in range(0, len(text), _SLICE - _SLICE_OVERLAP):
        if budget.spent():
            return None
        piece_views = views(text[begin : begin + _SLICE])
        all_views.extend(piece_views)
        for match in match_views(piece_views):
            if match.rule.id not in best or match.weight > best[match.rule.id].weight:
                best[match.rule.id] = match
        if begin + _SLICE >= len(text):
            break
    merged: dict[str, list[str]] = {}
    for view in all_views:
        merged.setdefault(view.kind, []).append(view.text)
    return (
        [View(kind, "\n".join(parts)) for kind, parts in merged.items()],
        sorted(best.values(), key=lambda m: -m.weight),
    )


_CLEAN = _Assessment(0.0, (), True)


def _cache_key(text: str) -> str | bytes:
    """How a verdict on ``text`` is kept: a short text by itself, a longer one by its digest."""
    if len(text) <= _KEY_CHARS:
        return text
    return (
        b"text:" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=32).digest()
    )


def _joined_digest(texts: list[str]) -> bytes:
    """The digest of what :func:`_read_joined` reads for ``texts`` (its distinct ones joined)."""
    joined = "\n".join(dict.fromkeys(texts)).encode("utf-8", "surrogatepass")
    return b"joined:" + hashlib.blake2b(joined, digest_size=32).digest()


def _read_joined(
    texts: list[str], budget: _Budget
) -> tuple[set[str], dict[str, tuple[list[View], list[Match]]]]:
    """Tier 1 over ``texts`` read as one text: all of them clean, or none known.

    A response is almost always clean, and one pass over all its strings is far cheaper than one
    per string; only when the pass matches is each string read on its own, to say which one
    (halving the joined text instead was measured slower: a few rules cost most on long text).
    Returns the texts found clean and, for a single text, its tier-1 result.
    """
    distinct = list(dict.fromkeys(texts))
    found = _tier1("\n".join(distinct), budget) if distinct and not budget.spent() else None
    if found is None:
        return set(), {}
    if not found[1]:
        return set(distinct), {}
    return set(), ({distinct[0]: found} if len(distinct) == 1 else {})


def _windows(sequence: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Overlapping runs of neighbouring strings, each about ``_WINDOW_CHARS`` long."""
    if len(sequence) < 2:
        return []
    windows: list[list[tuple[str, str]]] = []
    # Each string's words counted once (a string is in up to two windows), as running totals.
    words = [0]
    for _, text in sequence:
        words.append(words[-1] + len(text.split()))
    start = 0
    while start < len(sequence):
        end, size = start, 0
        while (
            end < len(sequence)
            and (end - start < 2 or size < _WINDOW_CHARS)
            and (end - start < _WINDOW_ITEMS)
        ):
            size += len(sequence[end][1]) + 1
            end += 1
        if end - start >= 2 and words[end] - words[start] >= _MIN_WINDOW_WORDS:
            windows.append(sequence[start:end])
        if end >= len(sequence):
            break
        start = max(start + 1, (start + end) // 2)
    return windows


@dataclass(frozen=True, slots=True)
class _Leaf:
    pointer: str
    text: str
    is_key: bool = False
    where: str = ""  # "in embedded JSON at /x" when the string sits inside a serialized document


_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|^[\w.+-]+@[\w-]+\.[\w.-]+$", re.IGNORECASE)
_MIN_WINDOW_WORDS = 4  # the classifier cannot judge two or three words
_IDISH = re.compile(r"^(?=[^\s]*\d)[\w\-:.+/=]{8,}$")


def _wordy(text: str) -> bool:
    """A short string that could be a piece of a sentence (not an id, a URL, a number)."""
    stripped = text.strip()
    return (
        0 < len(stripped) < _SHORT
        and any(ch.isalpha() for ch in stripped)
        and not _NUMBERISH.match(stripped)
        and not _URLISH.search(stripped)
        and not _IDISH.match(stripped)
    )


_Worth = Literal["full", "tier1", "skip"]

# A page of an SDK answer repeats the same short strings on every record (types, statuses, enum
# values, short names, keys: in a page of 100 profiles, 1,111 distinct among 6,937), so collect()
# decides each once, not once per record. The memo holds (_wordy, _worth_scanning) of strings up
# to _MEMO_CHARS long. Both read the string alone: an entry is a fact about the text, the same
# for every principal, not a verdict (verdict caches stay per principal, see Scanner._cache), so
# one memo serves the process. A hit saves a few microseconds once per string and answer, inside
# an SDK call of milliseconds, so its timing tells a caller nothing about another's answers. It is
# emptied whole when full: bounded (at most about 2 MB) with no bookkeeping per hit. Longer
# strings (links, notes) seldom repeat and are decided anew.
_MEMO_CHARS = 64
_MEMO_SIZE = 4096
_decided: dict[str, tuple[bool, _Worth]] = {}


def _decide(text: str) -> tuple[bool, _Worth]:
    """``(_wordy(text), _worth_scanning(text))``, memoised for short strings."""
    if len(text) > _MEMO_CHARS:
        return _wordy(text), _worth_scanning(text)
    decision = _decided.get(text)
    if decision is None:
        decision = _wordy(text), _worth_scanning(text)
        if len(_decided) >= _MEMO_SIZE:
            _decided.clear()
        _decided[text] = decision
    return decision


def _worth(text: str) -> _Worth:
    """``_worth_scanning(text)``, from the memo for a short string."""
    return _decide(text)[1] if len(text) <= _MEMO_CHARS else _worth_scanning(text)


def collect(
    node: Any,
    pointer: str,
    leaves: list[_Leaf],
    sequence: list[tuple[str, str]],
    where: str = "",
    depth: int = 0,
    owner: str | None = None,
    keys: list[tuple[str, str]] | None = None,
) -> int:
    """Append every string worth scanning in ``node`` (values and keys) with its JSON pointer.

    A string that itself holds serialized JSON is opened and its strings reported at the outer
    string's pointer (that is the field to redact). ``sequence`` receives, in document order,
    every short wordy value with the pointer to redact, for the neighbour windows. Returns the
    number of characters of text in ``node`` (keys and values). ``keys`` receives (pointer,
    key) of every short wordy key, in document order, for the columns of keys.
    """
    at = owner if owner is not None else pointer
    if isinstance(node, str):
        wordy, worth = _decide(node)
        if wordy:
            sequence.append((at, node))
        if worth == "skip":
            return len(node)
        if _looks_like_json(node) and depth < _MAX_JSON_DEPTH:
            try:
                inner = json.loads(node)
            except (ValueError, RecursionError):  # nested past the parser: plain text
                inner = None
            if isinstance(inner, (dict, list)):
                if sequence and sequence[-1] == (at, node):
                    sequence.pop()
                inner_leaves: list[_Leaf] = []
                collect(inner, "", inner_leaves, sequence, "", depth + 1, at, keys)
                leaves.extend(
                    _Leaf(pointer, leaf.text, False, f"in embedded JSON at {leaf.pointer or '/'}")
                    for leaf in inner_leaves
                )
                return len(node)
        leaves.append(_Leaf(pointer, node, False, where))
        return len(node)
    size = 0
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{pointer}/{_escape(str(key))}"
            if isinstance(key, str):
                size += len(key)
                wordy, worth = _decide(key)
                if worth != "skip":
                    leaves.append(_Leaf(child, key, True, where))
                if wordy and keys is not None and owner is None:
                    keys.append((child, key))
            size += collect(value, child, leaves, sequence, where, depth, owner, keys)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            size += collect(
                value, f"{pointer}/{index}", leaves, sequence, where, depth, owner, keys
            )
        if len(node) >= 3 and all(
            isinstance(value, str) and 0 < len(value) <= _FRAGMENT for value in node
        ):
            # Short pieces a script joins back ("".join(chunks)): a word cut in two-letter
            # items, or a base64 payload cut in eight-character ones, is read whole.
            glued = "".join(node)
            if _worth(glued) != "skip":
                leaves.append(_Leaf(at, glued, False, where))
    return size


def _without_own_links(leaves: list[_Leaf], links: LinkShape) -> list[_Leaf]:
    """``leaves`` less the JSON:API links of ``links``' shape whose id is read anyway.

    A link's text beyond its id is the host's base URL and the catalog's path words; its id is
    covered when another leaf of the answer is that very string (read there) or when it is too
    short or plain to be read at all. Any other link stays.
    """
    own: dict[str, str] = {}
    for leaf in leaves:
        if leaf.is_key or leaf.where or leaf.pointer.rsplit("/", 2)[-2:-1] != ["links"]:
            continue
        ident = links.id_of(leaf.text)
        if ident is not None:
            own[leaf.pointer] = ident
    if not own:
        return leaves
    read = {leaf.text for leaf in leaves if leaf.is_key or leaf.pointer not in own}
    covered = {
        pointer
        for pointer, ident in own.items()
        if ident in read or _worth_scanning(ident) == "skip"
    }
    return [leaf for leaf in leaves if leaf.is_key or leaf.pointer not in covered]


# What a copy of a marker inside flagged data becomes under ``annotate``.
_FORGED_MARK = "[a codemode marker copied into the data]"


def _rewrite(node: Any, pointer: str, values: set[str], keys: set[str], policy: ScanPolicy) -> Any:
    """Copy ``node`` with flagged values replaced or wrapped and flagged keys renamed."""
    if pointer in values:
        if isinstance(node, str) and policy == "annotate":
            # The data's own copies of the markers would end the marked region early (a forged
            # end marker before the instruction) or open another: only ours may stand.
            for mark in (ANNOTATE_START, ANNOTATE_END):
                node = node.replace(mark, _FORGED_MARK)
            return f"{ANNOTATE_START} {node} {ANNOTATE_END}"
        return REDACTED
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            child = f"{pointer}/{_escape(str(key))}"
            new_key = f"{REDACTED} {len(out)}" if child in keys else key
            out[new_key] = _rewrite(value, child, values, keys, policy)
        return out
    if isinstance(node, (list, tuple)):
        items = [_rewrite(v, f"{pointer}/{i}", values, keys, policy) for i, v in enumerate(node)]
        return items if isinstance(node, list) else tuple(items)
    return node

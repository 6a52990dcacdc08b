"""The ``Scanner``: tier 1 and tier 2 on a text, and field by field on a JSON response.

How a verdict is reached: tier 1 normalises the text and runs the patterns on every view of it;
tier 2 scores each chunk with the classifier (the worst chunk counts). A strong pattern decides on
its own; a weak one (an AI greeted, a quoted attack phrase) nudges the classifier's log-odds. The
cut is 0.5 on the combined score.

On a response, only string leaves that could carry an instruction are scanned (ids, timestamps,
numbers, enums and single tokens are skipped), each distinct string once, all classifier chunks in
one batch. Short strings of one object are also read together, so an instruction split across
``first_name`` and ``last_name`` is still seen.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._types import REDACTED, Finding, ResponseScan, ScannerError, ScanPolicy, ScanStatus, Verdict
from .classifier import Classifier
from .normalize import View, canonical, views
from .patterns import Match, match_views

__all__ = ["ANNOTATE_END", "ANNOTATE_START", "Scanner"]

ANNOTATE_START = "[codemode: suspected prompt injection begins]"
ANNOTATE_END = "[codemode: suspected prompt injection ends]"
_THRESHOLD = 0.5
_STRONG = 0.5
_WEAK_LOGIT_GAIN = 4.0
_CACHE_SIZE = 4096
_MIN_LEAF_CHARS = 12
_MAX_JSON_DEPTH = 4

# A leaf with no whitespace is an id, a slug, a timestamp, an email, a URL or a number: one token
# cannot carry an instruction, unless it is an encoded payload (kept for tier 1's decoders).
_ENCODED_TOKEN = re.compile(r"^(?:[A-Za-z0-9+/_\-]{24,}={0,2}|(?:%[0-9A-Fa-f]{2}|[^%\s]){20,})$")
_CLASSIFIED_VIEWS = frozenset(
    {"text", "unicode-tags", "html-comment", "hidden-html", "base64", "hex"}
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
    if len(stripped) < _MIN_LEAF_CHARS or _NUMBERISH.match(stripped):
        return "skip"
    if not _SPACE.search(stripped):
        if _ENCODED_TOKEN.match(stripped) or "%20" in stripped:
            return "tier1"
        return "skip"
    return "full"


def _looks_like_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in ("{", "[") and stripped.rstrip()[-1:] in ("}", "]")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Scanner:
    """Prompt-injection scanner: tier-1 patterns plus the tier-2 ONNX classifier.

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
            model_dir: folder holding ``scanner.onnx`` and ``scanner.json``; default the package's.
            tier2: set to False to run tier 1 only (the result says tier 2 was unavailable).
            classifier: an already loaded classifier (the benchmark's retrained models).
        """
        self._model_dir = model_dir
        self._classifier: Classifier | None = classifier
        self._loaded = classifier is not None or not tier2
        self.tier2_error: str | None = None if tier2 else "tier 2 disabled"
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, _Assessment] = OrderedDict()

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
                        self._classifier = Classifier.from_directory(self._model_dir)
                    except ScannerError as exc:
                        self.tier2_error = str(exc)
                    self._loaded = True
        return self._classifier

    def clear_cache(self) -> None:
        """Forget every cached verdict (the benchmark measures each item cold)."""
        with self._lock:
            self._cache.clear()

    # -- texts -----------------------------------------------------------------------------------

    def _assess_many(
        self, texts: list[str], pointer_of: dict[str, str], *, tier1_clean: bool = False
    ) -> dict[str, _Assessment]:
        """Assess each distinct text once: cached results, then tier 1, then one tier-2 batch.

        ``tier1_clean`` says the caller already ran tier 1 over all the texts joined together and
        nothing matched, so each text needs only its canonical form for the classifier.
        """
        results: dict[str, _Assessment] = {}
        todo: list[str] = []
        with self._lock:
            for text in texts:
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    results[text] = hit
                elif text not in results:
                    todo.append(text)
                    results[text] = _Assessment(0.0, (), True)  # placeholder, replaced below
        if not todo:
            return results
        text_views: dict[str, list[View]] = {}
        tier1: dict[str, list[Match]] = {}
        for text in todo:
            if tier1_clean:
                text_views[text] = [View("text", canonical(text))]
                tier1[text] = []
            else:
                text_views[text] = views(text)
                tier1[text] = match_views(text_views[text])
        classifier = self.classifier
        scores: dict[str, float] = {}
        tier2 = classifier is not None
        if classifier is not None:
            # The classifier reads the canonical text and every decoded or hidden payload in it;
            # the worst of them speaks for the text.
            owners: list[str] = []
            inputs: list[str] = []
            for text in todo:
                if _worth_scanning(text) != "full":
                    continue
                for view in text_views[text]:
                    if view.kind in _CLASSIFIED_VIEWS:
                        owners.append(text)
                        inputs.append(view.text)
            try:
                for owner, value in zip(owners, classifier.scores(inputs), strict=True):
                    scores[owner] = max(scores.get(owner, 0.0), value)
            except ScannerError as exc:
                self.tier2_error = str(exc)
                tier2 = False
                scores = {}
        for text in todo:
            results[text] = self._combine(
                tier1[text], scores.get(text), tier2, pointer_of.get(text, "")
            )
        with self._lock:
            for text in todo:
                self._cache[text] = results[text]
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return results

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

    def scan_text(self, text: str) -> Verdict:
        """Scan one text. A text holding serialized JSON is scanned field by field."""
        start = time.perf_counter()
        if _looks_like_json(text):
            try:
                document = json.loads(text)
            except ValueError:
                document = None
            if isinstance(document, (dict, list)):
                scan = self.scan_response(document, "redact")
                score = max((f.score for f in scan.findings), default=0.0)
                injection = scan.verdict != "clean"
                return Verdict(
                    injection,
                    score if injection else min(score, 0.49),
                    scan.findings,
                    (time.perf_counter() - start) * 1000.0,
                    scan.tier2_available,
                )
        assessment = self._assess_many([text], {})[text]
        return Verdict(
            assessment.score >= _THRESHOLD,
            assessment.score,
            [f for f in assessment.findings if assessment.score >= _THRESHOLD or f.tier == 1],
            (time.perf_counter() - start) * 1000.0,
            assessment.tier2,
        )

    # -- responses -------------------------------------------------------------------------------

    def scan_response(self, document: Any, policy: ScanPolicy = "redact") -> ResponseScan:
        """Scan every string of a JSON document (or a plain string) and apply ``policy``.

        Returns a ``ResponseScan`` whose ``document`` is a copy with each flagged string replaced
        (``redact``, ``block``) or wrapped in markers (``annotate``); the input is not modified.
        """
        if policy not in ("redact", "block", "annotate"):
            raise ValueError(f"unknown scan policy {policy!r}; use 'redact', 'block' or 'annotate'")
        start = time.perf_counter()
        leaves: list[_Leaf] = []
        groups: list[tuple[str, list[tuple[str, str]]]] = []
        collect(document, "", leaves, groups)
        pointer_of: dict[str, str] = {}
        for leaf in leaves:
            pointer_of.setdefault(leaf.text, leaf.pointer)
        # Tier 1 reads every string of the response as one text first: a response is almost
        # always clean, and one pass over the whole is far cheaper than one per string. Only when
        # something matches is each string read on its own, to say which one.
        pieces = [*pointer_of, *(" ".join(t for _, t in members) for _, members in groups)]
        whole = match_views(views("\n".join(pieces))) if len(pieces) > 1 else [None]
        assessed = self._assess_many(
            [leaf.text for leaf in leaves], pointer_of, tier1_clean=not whole
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
        if whole:
            self._scan_groups(groups, flagged)
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

    def _scan_groups(
        self, groups: list[tuple[str, list[tuple[str, str]]]], flagged: dict[str, list[Finding]]
    ) -> None:
        """Tier 1 on the short strings of one object read together: catches split instructions."""
        short = [
            t for _, members in groups for p, t in members if p not in flagged and len(t) < 200
        ]
        if len(short) < 2 or not any(
            m.weight >= _STRONG for m in match_views(views(" ".join(short)))
        ):
            return  # nothing strong even with every short string together
        for _, members in groups:
            parts = [(p, t) for p, t in members if p not in flagged and len(t) < 200]
            if len(parts) < 2:
                continue
            joined = " ".join(t for _, t in parts)
            whole = [m for m in match_views(views(joined)) if m.weight >= _STRONG]
            if not whole:
                continue
            separately = {
                m.rule.id for _, t in parts for m in match_views(views(t)) if m.weight >= _STRONG
            }
            new = {m.rule.id for m in whole} - separately
            if new:
                window = _smallest_window(parts, new)
                names = ", ".join(p.rsplit("/", 1)[-1] for p, _ in window)
                for p, _ in window:
                    flagged.setdefault(p, []).extend(
                        Finding(
                            p, 1, m.rule.id, m.weight, f"{m.rule.reason} (split across {names})"
                        )
                        for m in whole
                        if m.rule.id in new
                    )


def _smallest_window(parts: list[tuple[str, str]], rules: set[str]) -> list[tuple[str, str]]:
    """Return the fewest consecutive fields whose joined text still matches one of ``rules``."""
    for size in range(2, len(parts)):
        for i in range(len(parts) - size + 1):
            window = parts[i : i + size]
            joined = " ".join(t for _, t in window)
            if any(m.rule.id in rules for m in match_views(views(joined))):
                return window
    return parts


@dataclass(frozen=True, slots=True)
class _Leaf:
    pointer: str
    text: str
    is_key: bool = False
    where: str = ""  # "in embedded JSON at /x" when the string sits inside a serialized document


def collect(
    node: Any,
    pointer: str,
    leaves: list[_Leaf],
    groups: list[tuple[str, list[tuple[str, str]]]],
    where: str = "",
    depth: int = 0,
) -> None:
    """Append every string worth scanning in ``node`` (values and keys) with its JSON pointer.

    A string that itself holds serialized JSON is opened and its strings reported at the outer
    string's pointer (that is the field to redact). ``groups`` receives, per object, its
    direct short string members, for the split-instruction check.
    """
    if isinstance(node, str):
        if _worth_scanning(node) == "skip":
            return
        if _looks_like_json(node) and depth < _MAX_JSON_DEPTH:
            try:
                inner = json.loads(node)
            except ValueError:
                inner = None
            if isinstance(inner, (dict, list)):
                inner_leaves: list[_Leaf] = []
                collect(inner, "", inner_leaves, groups, "", depth + 1)
                leaves.extend(
                    _Leaf(pointer, leaf.text, False, f"in embedded JSON at {leaf.pointer or '/'}")
                    for leaf in inner_leaves
                )
                return
        leaves.append(_Leaf(pointer, node, False, where))
    elif isinstance(node, dict):
        members: list[tuple[str, str]] = []
        for key, value in node.items():
            child = f"{pointer}/{_escape(str(key))}"
            if isinstance(key, str) and _worth_scanning(key) != "skip":
                leaves.append(_Leaf(child, key, True, where))
            if isinstance(value, str) and " " in value.strip():
                members.append((child, value))
            collect(value, child, leaves, groups, where, depth)
        if len(members) > 1 and depth == 0:
            groups.append((pointer, members))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            collect(value, f"{pointer}/{index}", leaves, groups, where, depth)


def _rewrite(node: Any, pointer: str, values: set[str], keys: set[str], policy: ScanPolicy) -> Any:
    """Copy ``node`` with flagged values replaced or wrapped and flagged keys renamed."""
    if pointer in values:
        if isinstance(node, str) and policy == "annotate":
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

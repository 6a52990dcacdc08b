"""Which text of a run's result came from outside the sandbox: decided by the host, never the worker.

Only text from outside (answers of SDK calls and extensions, Klaviyo's words in its error answers,
the session store an earlier run wrote) can carry a prompt injection. The script's own literals,
numbers and ids, and the host's own messages, cannot: they are never scanned. The worker runs
hostile code and could lie about where a string came from, so the host keeps what it delivered
in this run (:meth:`Provenance.add`) and finds it again in the result (:meth:`Provenance.find`).

Matching is by word trigrams, casefolded: letters and digits make tokens (scripts written without
spaces give one token per character), everything else separates them. An output token is outside
text when a trigram through it occurs, in that order, in the delivered text and is not one the
script's own source contains. Trigrams survive what scripts do with data (slicing, changing case,
joining fields, wrapping, quoting, tabulating) and do not arise from a script's own words by chance.
Neighbouring strings of a document are read as one text, so an instruction split across fields or
list items and printed together is still found.

Time and memory are bounded: up to ``budget_chars`` of delivered text is kept. Past that the host
cannot tell, and falls back to scanning: every word the script never wrote (numbers aside) counts
as outside text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codemode.scanner import ANNOTATE_END, ANNOTATE_START, REDACTED

__all__ = ["UNINDEXED", "Provenance", "Span", "tokens"]

UNINDEXED = "data the host could not index"
_NOSPACE = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
_TOKEN = re.compile(rf"[{_NOSPACE}]|[^\W_{_NOSPACE}]+")
# JSON escapes (\n, \", \u00e9 ...) become separators: the dump is read as text, not decoded.
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
# An object key in a JSON dump: taken out of the values' stream (so that neighbouring values
# read as one text) and read as a stream of its own.
_KEY = re.compile(r'"(?:[^"\\]|\\.)*"\s*:')
# The scanner's own marks inside delivered data are the host's words, not the data's.
_HOST_MARKS = (REDACTED, ANNOTATE_START, ANNOTATE_END)
_N = 3

Gram = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Span:
    """A run of outside text in a result string: ``text[start:end]``, first seen in ``source``."""

    start: int
    end: int
    source: str


def tokens(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, casefolded token)`` for each token of ``text``, in order."""
    found: list[tuple[int, int, str]] = []
    for match in _TOKEN.finditer(text):
        folded = match.group().casefold()
        # Casefolding can split a token (a dotted capital I gains a combining mark): keep the
        # pieces the delivered side would see, all at the original token's place.
        parts = _TOKEN.findall(folded) if not folded.isalnum() else [folded]
        found.extend((match.start(), match.end(), part) for part in parts)
    return found


def _fold(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def _grams(toks: Sequence[str]) -> zip[Gram]:
    return zip(toks, toks[1:], toks[2:], strict=False)


def _as_text(value: Any) -> str:
    """Values in document order, then the keys: neighbouring strings read as one text."""
    if isinstance(value, str):
        text = value
    else:
        try:
            dump = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            dump = str(value)
        keys = " ".join(_KEY.findall(dump))
        text = _ESCAPE.sub(" ", _KEY.sub(" ", dump) + " | " + keys)
    for mark in _HOST_MARKS:
        text = text.replace(mark, " | ")
    return text


class Provenance:
    """The outside text delivered to one run's worker, and where a result repeats it."""

    def __init__(self, script: str = "", *, budget_chars: int = 8_000_000) -> None:
        """Start empty.

        Args:
            script: the script's source: trigrams it contains are the script's own words.
            budget_chars: how much delivered text to keep; past it, :attr:`overflow` is set.
        """
        script_tokens = _fold(script)
        self._script_grams: set[Gram] = set(_grams(script_tokens))
        self._script_words = frozenset(script_tokens)
        self._sources: list[tuple[str, str]] = []
        self._left = budget_chars
        self.overflow = False

    @property
    def empty(self) -> bool:
        """True when nothing from outside reached the worker (nothing in a result can be data)."""
        return not self._sources and not self.overflow

    def add(self, source: str, value: Any) -> None:
        """Record ``value`` (a string or a JSON document) as delivered, labelled ``source``."""
        if value is None or value == "" or value == {} or value == []:
            return
        text = _as_text(value)
        if len(text) > self._left:
            self.overflow = True
            text = text[: max(self._left, 0)]
        self._left -= len(text)
        if text:
            self._sources.append((source, text))

    def find(self, texts: Sequence[str]) -> list[list[Span]]:
        """For each text, the runs of outside text in it (one pass over the delivered text)."""
        tokenised = [tokens(text) for text in texts]
        wanted: set[Gram] = set()
        for toks in tokenised:
            wanted.update(_grams([t[2] for t in toks]))
        wanted -= self._script_grams
        owner: dict[Gram, str] = {}
        if wanted:
            for source, text in self._sources:
                for gram in wanted.intersection(_grams(_fold(text))):
                    owner.setdefault(gram, source)
                if len(owner) == len(wanted):
                    break
        return [self._runs(toks, owner) for toks in tokenised]

    def _runs(self, toks: list[tuple[int, int, str]], owner: dict[Gram, str]) -> list[Span]:
        labels: list[str | None] = [None] * len(toks)
        words = [t[2] for t in toks]
        for i, gram in enumerate(_grams(words)):
            if gram in self._script_grams:
                continue
            source = owner.get(gram)
            if source is not None:
                for j in range(i, i + _N):
                    labels[j] = labels[j] or source
            elif self.overflow:  # cannot tell: every word the script never wrote is data
                for j in range(i, i + _N):
                    if labels[j] is None and self._unexplained(words[j]):
                        labels[j] = UNINDEXED
        spans: list[Span] = []
        i = 0
        while i < len(toks):
            if labels[i] is None:
                i += 1
                continue
            j = i
            while j + 1 < len(toks) and labels[j + 1] is not None:
                j += 1
            votes = Counter(label for label in labels[i : j + 1] if label is not None)
            spans.append(Span(toks[i][0], toks[j][1], votes.most_common(1)[0][0]))
            i = j + 1
        return spans

    def _unexplained(self, word: str) -> bool:
        return not word.isdigit() and word not in self._script_words

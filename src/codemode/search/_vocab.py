"""The domain vocabulary: the words marketers and developers use, folded onto Klaviyo's concepts.

The tables live in ``vocabulary.json`` beside this file (data, reviewed as data) and are stemmed
here at import so they meet documents and queries on the same terms:

* ``CONCEPTS``: surface phrases -> a concept term (``~profile``). Documents and queries both get the
  concept terms of the phrases they contain, so "subscribers", "contacts" and "customers" all meet
  the profile actions even where an annotation did not list that exact word.
* ``CUES``: phrases that say what the caller wants to *do* (read, create, change, delete, bulk,
  report, IDs only, client-side...), with a strength. They feed the intent scorer.
* ``HEADS`` / ``RESOURCE_HEADS``: resource words, to tell what a query is about ("what LISTS has
  profile X joined" wants lists), and the catalog's resource types under the same names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

from codemode.search._text import stem, words

__all__ = [
    "ABBREVIATIONS",
    "CONCEPTS",
    "CUES",
    "FACETS",
    "HEADS",
    "MAX_PHRASE",
    "RESOURCE_HEADS",
    "SURFACE_WORDS",
    "phrase_table",
]

PhraseTable = Mapping[tuple[str, ...], list[tuple[str, float]]]


def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("vocabulary.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def phrase_table(
    table: Mapping[str, list[tuple[str, float]]],
) -> dict[tuple[str, ...], list[tuple[str, float]]]:
    """Stem every phrase of ``table`` (label -> [(phrase, weight)]) into token tuple -> [(label, weight)].

    Stopwords are kept: cue phrases such as "which" or "by id" are made of them.
    """
    out: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for label, phrases in table.items():
        for phrase, weight in phrases:
            key = tuple(stem(w) for w in words(phrase))
            if key:
                out.setdefault(key, []).append((label, weight))
    return out


_DATA = _load()

CONCEPTS: PhraseTable = MappingProxyType(
    phrase_table({c: [(p, 1.0) for p in ps] for c, ps in _DATA["concepts"].items()})
)
CUES: PhraseTable = MappingProxyType(
    phrase_table({f: [(p, float(w)) for p, w in ps] for f, ps in _DATA["cues"].items()})
)
# Facets an action can have; cue groups starting with "_" only block shorter phrases.
FACETS: tuple[str, ...] = tuple(f for f in _DATA["cues"] if not f.startswith("_"))
HEADS: PhraseTable = MappingProxyType(
    phrase_table({h: [(p, 1.0) for p in ps] for h, ps in _DATA["heads"].items()})
)
RESOURCE_HEADS: Mapping[str, str] = MappingProxyType(dict(_DATA["resource_heads"]))
# Short form -> what it stands for ("seg" -> "segment"), read by ``_shorthand``.
ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {short: full for full, shorts in _DATA["abbreviations"].items() for short in shorts}
)

# Every word the vocabulary is written in, as typed (typo repair may land on these).
SURFACE_WORDS: frozenset[str] = frozenset(
    w
    for section in ("concepts", "heads")
    for phrases in _DATA[section].values()
    for phrase in phrases
    for w in words(phrase)
) | frozenset(
    w for phrases in _DATA["cues"].values() for phrase, _ in phrases for w in words(phrase)
)

# Longest phrase, in tokens, that the matchers need to look at.
MAX_PHRASE = max(len(k) for table in (CONCEPTS, CUES, HEADS) for k in table)

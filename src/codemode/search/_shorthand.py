"""Shorthand, app-screen paths and verb-last word order, read before the request (issue #17, round 12).

Marketers and operators type to a search box the way they write to a colleague or title a ticket,
and three shapes of that cost the ranking the most on the round's tuning set
(``tests/data/search/shorthand_tuning.jsonl``):

- **abbreviations**: "seg", "camp", "tpl", "cpn", "msg", "upd", "w/": a word the index does not
  know that the vocabulary's ``abbreviations`` table (``vocabulary.json``, written per resource
  and verb of the API from general usage) spells out. A word the index knows is never expanded.
- **screen paths**: "Content > Templates", "Audience > Lists & Segments > Create list": a path
  through the Klaviyo app, whose last step is the request and whose earlier steps say where it
  is. The last step is read alone when it names a resource, else with the step before it; a
  step that is only one of the app's top-level sections ("Audience", "Content", "Settings") is
  dropped. A short request closed by "page", "tab" or "screen" names where a resource is shown.
- **verb last**: "list member remove", "profile unsubscribe": a noun pile closed by a verb (a
  second language's word order, a ticket title). The verb is moved to the front, where the
  parser reads a request's verb; a leading "list" is then the resource. A pile with an article,
  a question word or a clause is a sentence, and a closing word that is as often a noun ("log",
  "import", "settings") is its noun.

Every rule is read from how people write and from the API's nouns and verbs, none from a query
set; ``expand`` never leaves a request without words (it keeps the text as it was).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from codemode.search._text import STOPWORDS, words

__all__ = ["PARTS", "expand"]

# The rules ``expand`` applies, in order (each can be left out to measure it).
PARTS = ("paths", "places", "abbreviations", "verb_last")

# "A > B > C", "A \u203a B", "A \u00bb B", "A -> B", "A \u2192 B": the separators of a menu path.
_PATH = re.compile("\\s*(?:>|\u203a|\u00bb|->|\u2192)\\s*")
_STEP_WORDS = 8
# The app's top-level sections: where a screen is, never what it holds.
_SECTIONS = frozenset({"audience", "content", "settings", "home", "dashboard", "menu"})
# Where a thing is shown, closing a short request ("flows page", "reviews tab"); in a sentence,
# "the product page" is a storefront's page.
_PLACE = re.compile(r"\s+(?:list\s+)?(?:page|tab|screen|menu|section|view)\s*$", re.I)
_PLACE_WORDS = 4
# "w/" and "w/o": "with" and "without".
_WITH = re.compile(r"(?<![\w/])w/o(?![\w/])|(?<![\w/])w/(?![\w/])", re.I)
# A pile with an article, a question word or a clause is a sentence: its last word closes no
# noun pile ("errors from the contact import").
_SENTENCE = frozenset({"the", "a", "an", "what", "which", "who", "how", "where", "when", "why"})
_PILE_WORDS = 6
# Words as often nouns as verbs end a pile as its noun ("activity log", "profile import").
_NOUN_TOO = frozenset(
    [
        "list",
        "mark",
        "set",
        "record",
        "track",
        "log",
        "post",
        "point",
        "drop",
        "draft",
        "import",
        "export",
        "report",
        "view",
        "sign",
        "signup",
        "upload",
        "send",
        "start",
        "launch",
        "feed",
        "test",
        "schedule",
        "change",
        "update",
    ]
)


def _with(match: re.Match[str]) -> str:
    return " without " if match.group(0).lower().endswith("o") else " with "


def _path(text: str, names_resource: Callable[[str], bool]) -> str:
    parts = [p for p in _PATH.split(text) if p.strip()]
    if len(parts) < 2 or any(len(words(p)) > _STEP_WORDS for p in parts):
        return text
    steps = [s for p in parts if (s := " ".join(words(p))) and s not in _SECTIONS]
    if not steps:
        return text
    last = steps[-1]
    if not names_resource(last) and len(steps) >= 2:
        last = f"{last} {steps[-2]}"
    return last


def _place(text: str, names_resource: Callable[[str], bool]) -> str:
    if len(words(text)) > _PLACE_WORDS or not _PLACE.search(text):
        return text
    placed = _PLACE.sub("", text)
    return placed if names_resource(placed) else text


def _abbreviations(
    text: str, abbreviations: Mapping[str, str], known: Callable[[str], bool]
) -> str:
    out: list[str] = []
    for token in _WITH.sub(_with, text).split():
        core = token.strip(".,;:!?()'\"").lower()
        if core in abbreviations and not known(core):
            token = token.lower().replace(core, abbreviations[core])
        out.append(token)
    return " ".join(out)


def _verb_last(text: str, verb: Callable[[str], bool]) -> str:
    every = words(text)
    content = [w for w in every if w not in STOPWORDS]
    if not (
        2 <= len(content) <= _PILE_WORDS
        # a plural or a participle closing the pile is a noun ("tracking settings", "sends")
        and not content[-1].endswith(("s", "ed"))
        and content[-1] not in _NOUN_TOO
        and verb(content[-1])
        and not verb(content[0])
        and not _SENTENCE & set(every)
        and not any(c in text for c in "?,;/_{}")
    ):
        return text
    rest = re.sub(rf"\W*\b{re.escape(content[-1])}\W*$", "", text, flags=re.I)
    return f"{content[-1]} {rest}"


def expand(
    query: str,
    *,
    abbreviations: Mapping[str, str],
    known: Callable[[str], bool],
    names_resource: Callable[[str], bool],
    verb: Callable[[str], bool],
    parts: tuple[str, ...] = PARTS,
) -> str:
    """``query`` read as a screen path's last step, with its shorthand spelled out and a closing
    verb moved to the front.

    Args:
        query: the request as typed.
        abbreviations: short form (lower case) -> what it stands for.
        known: whether the index knows a word as typed (then it is never expanded).
        names_resource: whether a text names one of the API's resources.
        verb: whether a word is a verb of a request that names no resource ("remove", not
            "list").
        parts: which of ``PARTS`` to apply.
    """
    text = query
    if "paths" in parts:
        text = _path(text, names_resource)
    if "places" in parts:
        text = _place(text, names_resource)
    if "abbreviations" in parts:
        text = _abbreviations(text, abbreviations, known)
    if "verb_last" in parts:
        text = _verb_last(text, verb)
    return text if words(text) else query

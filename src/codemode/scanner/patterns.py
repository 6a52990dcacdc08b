"""Tier-1 patterns: each rule has an id, a weight and a one-line reason an agent can read.

A rule describes an instruction aimed at the model that reads the text, never a topic: "ignore the
old price" is marketing, "ignore your previous instructions" is an override. Weights are the
probability the rule alone gives (combined with the classifier by noisy-OR in the scanner): strong
rules (forged chat tokens, overrides, hiding an action from the user) decide alone; weak ones
(greeting an AI, a markdown image with a templated query) only tip a borderline classifier score.

A match quoted inside text that talks *about* prompt injection ("the tester tried 'ignore all
previous instructions'") is kept as a finding but its weight drops to ``QUOTED_WEIGHT``, so such
articles and moderation notes are left to the classifier.

Multilingual rules cover French, German, Spanish, Portuguese, Italian, Dutch, Polish, Swedish,
Danish/Norwegian, Turkish, Russian, Chinese, Japanese and Korean; their ids end with the language.
"""
# ruff: noqa: RUF001  (multilingual text and look-alike characters are the point)

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no stubs

from ._rules import RULES, Rule
from .normalize import View

__all__ = ["QUOTED_WEIGHT", "RULES", "Match", "Rule", "match_views"]

QUOTED_WEIGHT = 0.15


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched one view: the rule, the view kind, the matched snippet and its weight."""

    rule: Rule
    view: str
    snippet: str
    weight: float


_DISCUSSION = re.compile(
    r"prompt[ -]?injection|jailbreak|red[ -]?team|attack|payload|example|phrases? (?:like|such as)|"
    r"such as|moderation|filter|detect|owasp|tester|researchers?|webinar|article|blog|training|"
    r"security|phishing|scam|beware|warning|awareness|policy|quoted|e\.g\.|for instance|"
    r"test case|verify|sentence|phrase",
)
_QUOTES = "'\"“”‘’«»„`"


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] sits inside a quotation: an opening quote (after a space, a colon
    or a bracket, so not the apostrophe of "don't") at most 80 characters before it and a
    closing quote at most 60 characters after it."""
    opened = False
    for i in range(start - 1, max(-1, start - 81), -1):
        if text[i] in _QUOTES and (i == 0 or text[i - 1] in " \t\n(:[,"):
            opened = True
            break
    if not opened:
        return False
    window = text[end : end + 60]
    return any(
        ch in _QUOTES and (k + 1 == len(window) or not window[k + 1].isalpha())
        for k, ch in enumerate(window)
    )


_LONG = 3000  # from this length, rules search windows around their anchors, not the whole text
_WINDOW = 400  # characters either side of an anchor; every match is shorter than this
_MAX_WINDOWS = 12


def _search(rule: Rule, text: str) -> re.Match[str] | None:
    """Search ``text`` for ``rule`` if one of its anchors occurs in it.

    On a long text the regex only reads the windows around the anchors' first occurrences
    (falling back to the whole text when an anchor is too frequent): Python's regex engine tries
    every alternative at every position, which made 10k-character jailbreaks cost tens of
    milliseconds.
    """
    if len(text) < _LONG:
        return rule.regex.search(text) if any(a in text for a in rule.anchors) else None
    spans: list[tuple[int, int]] = []
    for anchor in rule.anchors:
        at = text.find(anchor)
        while at >= 0:
            if len(spans) >= _MAX_WINDOWS:
                return rule.regex.search(text)
            spans.append((max(0, at - _WINDOW), min(len(text), at + len(anchor) + _WINDOW)))
            at = text.find(anchor, at + _WINDOW)
    if not spans:
        return None
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    for start, end in merged:
        found = rule.regex.search(text, start, end)
        if found is not None:
            return found
    return None


# Every anchor once: a view is searched for all distinct anchors in one pass of an Aho-Corasick
# automaton (pyahocorasick), and only the rules with an anchor in it run (what ``_search`` would
# find without one is nothing). One pass costs about a fifth of testing each anchor in turn. The
# rules' ``needs`` are found in the same pass: a rule none of whose needed literals is in the
# view runs no regex either (every string it matches, in a window or the whole text, holds one).
_ANCHORS: tuple[str, ...] = tuple(
    sorted({a for rule in RULES for a in (*rule.anchors, *rule.needs)})
)
_AUTOMATON = ahocorasick.Automaton()
for _anchor in _ANCHORS:
    _AUTOMATON.add_word(_anchor, _anchor)
_AUTOMATON.make_automaton()


def anchors_in(text: str) -> set[str]:
    """The rules' anchors and needed literals that occur in ``text`` (overlapping ones included)."""
    return {anchor for _, anchor in _AUTOMATON.iter(text)}


_RULE_ANCHORS: tuple[tuple[Rule, frozenset[str], frozenset[str] | None], ...] = tuple(
    (rule, frozenset(rule.anchors), frozenset(rule.needs) if rule.needs else None) for rule in RULES
)


def match_views(views: list[View]) -> list[Match]:
    """Run every rule on every view; return one ``Match`` per rule, strongest first.

    A rule is reported from the first view it matches: one that matched the plain text is not
    looked for again in the other views; one that only
    matched a hidden or decoded payload gets a small bonus, since someone took the trouble to hide it.
    """
    best: dict[str, Match] = {}
    for view in views:
        # The leading space lets " ai" anchor a text that starts with "AI:".
        text = " " + view.text.lower()
        discussion: bool | None = None
        present = anchors_in(text)
        for rule, anchors, needs in _RULE_ANCHORS:
            if present.isdisjoint(anchors) or (needs is not None and present.isdisjoint(needs)):
                continue
            if view.kind != "text" and rule.id in best:
                continue
            if view.kind == "markup" and not rule.markup:
                continue
            found = _search(rule, text)
            if found is None:
                continue
            weight = rule.weight
            if _quoted(text, found.start(), found.end()):
                if discussion is None:
                    discussion = _DISCUSSION.search(text) is not None
                if discussion:
                    weight = min(weight, QUOTED_WEIGHT)
            if view.kind not in ("text", "leetspeak", "markup") and weight == rule.weight:
                weight = min(1.0, weight + 0.05)
            best[rule.id] = Match(rule, view.kind, found.group(0).strip()[:80], weight)
    return sorted(best.values(), key=lambda m: -m.weight)

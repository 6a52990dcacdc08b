"""Long requests: find the clause that states what the caller wants.

A marketer often wraps a request in context ("we moved from Mailchimp in spring and a few things
are messy; right now the priority is to export the VIP list"). The context hurts twice: its words
add lexical noise, and it hides the verb, since the parser reads the first content word as the
request's verb ("we", "so", "hi" tell it nothing; "new", "find" mislead it). A query of ``LONG``
words or more is therefore split into clauses at sentence punctuation and linking words; the
clause whose words match the operations' documents best (the highest raw BM25 score, supplied by
the index) is the request, read from its lead-in ("I need to", "how do I") on. Since context
comes first and the ask last, a later clause nearly as strong (``NEAR``) is the request instead,
unless it says what happens next or a condition ("then", "but"), follows a question, or the ask
came first (a clause up to the strongest opens with a verb; issue #17, round 7).

Measured on the tuning queries wrapped in context sentences (``benchmarks/search.md``): four
wrappers tuned on, four written beforehand and only measured; the unwrapped queries, almost all
shorter than ``LONG`` words, rank as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codemode.search._text import STOPWORDS, stem, words
from codemode.search._vocab import CUES

__all__ = ["LONG", "NEAR", "clauses", "linked_clauses", "long_parts", "request_clause"]

LONG = 10
# Sentence ends, dashes, and the linking words that join context to a request.
_SPLIT = re.compile(
    r"[.!?;:]+(?:\s+|$)|\s+--?\s+|,\s*(?:but|so|and|because|then)\b|\b(?:but|so that|because)\b",
    re.I,
)
# What comes before the request inside its clause ("could you help me figure out how to ...").
_LEADS = (
    r"need to|want to|trying to|like to|have to|how (?:do i|can i|to)|help me|figure out|"
    r"please|is to"
)
_LEAD = re.compile(rf"^.*?\b(?:{_LEADS})(?:\s+(?:{_LEADS}))*\s+", re.I)

# A later clause nearly as strong as the strongest one is the request: context comes first and
# the ask last ("our spring segment still counts last year's buyers, so I need to edit that
# segment").
NEAR = 0.8
# Unless it says what happens next ("then we can tidy the rest") or a condition ("but leave
# its tags alone").
_AFTER = re.compile(r"\b(?:then|but)\b", re.I)

# A clause that opens with one of these verbs is itself a request ("Fetch one segment by id;
# can include tags"): no later clause takes over from it.
_VERBS = frozenset(
    key[0]
    for key, facets in CUES.items()
    if any(f in ("read", "create", "update", "delete", "link") for f, _ in facets)
) - {stem(w) for w in ("which", "what", "how", "who", "new", "all", "every", "any")}

# Words that point back to something named in an earlier clause.
_BACK = re.compile(r"\b(?:it|its|them|their|they|those|that one|this one)\b", re.I)


def clauses(query: str) -> list[str]:
    """The clauses of ``query``: split at sentence punctuation, dashes and linking words."""
    return [p.strip() for p in _SPLIT.split(query) if p and re.search(r"\w", p)]


def linked_clauses(query: str) -> list[tuple[str, str]]:
    """The clauses of ``query`` (as :func:`clauses`), each with the separator before it."""
    out: list[tuple[str, str]] = []
    start, link = 0, ""
    for match in _SPLIT.finditer(query):
        out.append((link, query[start : match.start()]))
        start, link = match.end(), match.group(0)
    out.append((link, query[start:]))
    return [(sep, part.strip()) for sep, part in out if part and re.search(r"\w", part)]


def long_parts(query: str, split: Callable[[str], list[str]]) -> list[str] | None:
    """``split(query)`` when ``query`` is long (``LONG`` words or more) and has two clauses or
    more; else None (the query is read whole)."""
    if len(words(query)) < LONG:
        return None
    parts = split(query)
    return parts if len(parts) >= 2 else None


def request_clause(query: str, strength: Callable[[str], float], near: float = NEAR) -> str | None:
    """The part of a long ``query`` that states the request; None when the query is short or one clause.

    Args:
        query: the caller's words.
        strength: how well a text matches the best operation's document (raw, not normalised),
            so clauses of one query compare.
        near: a later clause at least this share of the strongest one's strength is the request
            (context comes first, the ask last), unless "then" or "but" opens it (what happens
            next, or a condition on the request), it follows a question, or a clause up to the
            strongest opens with a verb (the ask came first); 1 reads the strongest clause (the
            last of equals).
    """
    linked = linked_clauses(query) if len(words(query)) >= LONG else []
    if len(linked) < 2:
        return None
    parts = [part for _, part in linked]
    scores = [strength(part) for part in parts]
    strongest = max(range(len(parts)), key=lambda i: scores[i])
    # A question asks: what follows it is context ("Which flows does the Placed Order metric
    # start? We are about to rename the metric").
    asked = next(
        (i for i in range(strongest, len(parts) - 1) if "?" in linked[i + 1][0]), len(parts)
    )
    # A clause up to the strongest that opens with a verb is the request (the ask first, the
    # details after): no later clause takes over.
    ordered = any(_opens_with_verb(p) for p in parts[: strongest + 1])
    k = max(
        i
        for i in range(min(asked + 1, len(parts)))
        if i == strongest
        or (
            not ordered
            and i > strongest
            and scores[i] >= near * scores[strongest]
            and not _AFTER.search(linked[i][0])
        )
    )
    best = parts[k]
    lead = _LEAD.search(best)
    if lead and lead.end() < len(best):
        best = best[lead.end() :]
    if k and _BACK.search(best):
        # "add these people to it": what "it" is was said before; it follows the request so the
        # request's verb still comes first.
        best = f"{best}, {parts[k - 1]}"
    return best


def _from_lead(clause: str) -> str:
    """``clause`` from after its lead-in ("could you help me figure out how to ...")."""
    lead = _LEAD.search(clause)
    return clause[lead.end() :] if lead and lead.end() < len(clause) else clause


def _opens_with_verb(clause: str) -> bool:
    """Whether ``clause``, read from its lead-in, opens with a verb of the intent cues."""
    content = [w for w in words(_from_lead(clause)) if w not in STOPWORDS]
    return bool(content) and stem(content[0]) in _VERBS

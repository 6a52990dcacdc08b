"""Long requests: find the clause that states what the caller wants.

A marketer often wraps a request in context ("we moved from Mailchimp in spring and a few things
are messy; right now the priority is to export the VIP list"). The context hurts twice: its words
add lexical noise, and it hides the verb, since the parser reads the first content word as the
request's verb ("we", "so", "hi" tell it nothing; "new", "find" mislead it). A query of ``LONG``
words or more is therefore split into clauses at sentence punctuation and linking words; the
clause whose words match the operations' documents best (the highest raw BM25 score, supplied by
the index) is the request, read from its lead-in ("I need to", "how do I") on.

Measured on the tuning queries wrapped in context sentences (``benchmarks/search.md``): four
wrappers tuned on, four written beforehand and only measured; the unwrapped queries, almost all
shorter than ``LONG`` words, rank as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codemode.search._text import words

__all__ = ["LONG", "clauses", "long_parts", "request_clause"]

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

# Words that point back to something named in an earlier clause.
_BACK = re.compile(r"\b(?:it|its|them|their|they|those|that one|this one)\b", re.I)


def clauses(query: str) -> list[str]:
    """The clauses of ``query``: split at sentence punctuation, dashes and linking words."""
    return [p.strip() for p in _SPLIT.split(query) if p and re.search(r"\w", p)]


def long_parts(query: str, split: Callable[[str], list[str]]) -> list[str] | None:
    """``split(query)`` when ``query`` is long (``LONG`` words or more) and has two clauses or
    more; else None (the query is read whole)."""
    if len(words(query)) < LONG:
        return None
    parts = split(query)
    return parts if len(parts) >= 2 else None


def request_clause(query: str, strength: Callable[[str], float]) -> str | None:
    """The part of a long ``query`` that states the request; None when the query is short or one clause.

    Args:
        query: the caller's words.
        strength: how well a text matches the best operation's document (raw, not normalised),
            so clauses of one query compare.
    """
    parts = long_parts(query, clauses)
    if parts is None:
        return None
    k = max(range(len(parts)), key=lambda i: strength(parts[i]))
    best = parts[k]
    lead = _LEAD.search(best)
    if lead and lead.end() < len(best):
        best = best[lead.end() :]
    if k and _BACK.search(best):
        # "add these people to it": what "it" is was said before; it follows the request so the
        # request's verb still comes first.
        best = f"{best}, {parts[k - 1]}"
    return best

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

The strongest clause is often the background, not the ask: "Our welcome flow is live and the
newsletter list is growing fast. I need to create a new list" names more of the API in its
first sentence. When the strongest clause asks nothing (no lead-in of wanting or asking, no
verb first, no question mark) and another clause does, at least a quarter as strong
(``ASKING_SHARE``), that clause is the request; a clause that says what happens next ("then
...", "afterwards ...") is a later step of a plan and never asks (issue #17, round 13).

Measured on the tuning queries wrapped in context sentences (``benchmarks/search.md``): four
wrappers tuned on, four written beforehand and only measured; the unwrapped queries, almost all
shorter than ``LONG`` words, rank as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codemode.search._text import STOPWORDS, stem, words
from codemode.search._vocab import CUES

__all__ = [
    "ASKING_SHARE",
    "LONG",
    "NEAR",
    "clauses",
    "linked_clauses",
    "long_parts",
    "opens_with_verb",
    "request_clause",
]

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


# A clause that asks in so many words: a lead-in of wanting or asking ("I need", "could you",
# "please", "how do I", "show me"). Background clauses state what is or was ("our welcome flow
# is live", "we ran a campaign last week") and ask nothing.
_ASKING = re.compile(
    r"\b(?:i|we)(?:'d|\s+would)\s+like\b|\b(?:i|we)\s+(?:really\s+|also\s+|just\s+)?"
    r"(?:need|want|have\s+to|must)\b|\b(?:can|could|would|will)\s+(?:you|we|i)\b|\bplease\b|"
    r"\bhow\s+(?:do|can|could|should|would)\s+(?:i|we)\b|\bhow\s+to\b|"
    r"\b(?:show|give|get|send|tell|find|pull)\s+me\b|\blet\s+me\b",
    re.I,
)
# A clause that asks takes over from a stronger one that does not when it is at least this
# share of its strength (an aside such as "drop everything else" asks but names nothing).
ASKING_SHARE = 0.25


# A clause that says what happens next ("then add them", "afterwards delete the codes") is a
# later step of a plan, not the request.
_NEXT = re.compile(
    r"^\s*(?:and\s+)?(?:then|afterwards?|after\s+that|later|next|subsequently)\b", re.I
)


def _asks(linked: list[tuple[str, str]], i: int, query: str = "") -> bool:
    """Whether clause ``i`` asks: a lead-in of asking, a verb first, or a question mark after it;
    never a later step of a plan."""
    sep, part = linked[i]
    if _AFTER.search(sep) or _NEXT.search(part):
        return False
    after = linked[i + 1][0] if i + 1 < len(linked) else query.rstrip()[-1:]
    question = "?" in after
    return bool(_ASKING.search(part)) or opens_with_verb(part) or question


def request_clause(
    query: str,
    strength: Callable[[str], float],
    near: float = NEAR,
    asking: float | None = ASKING_SHARE,
) -> str | None:
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
        asking: when the strongest clause asks nothing, the strongest clause that asks and has
            at least this share of its strength is read instead; None reads by strength alone.
    """
    linked = linked_clauses(query) if len(words(query)) >= LONG else []
    if len(linked) < 2:
        return None
    parts = [part for _, part in linked]
    scores = [strength(part) for part in parts]
    strongest = max(range(len(parts)), key=lambda i: scores[i])
    if asking is not None and not _asks(linked, strongest, query):
        # The strongest clause only sets the scene: the strongest clause that asks is the
        # request, when one does and names something ("We ran a campaign last week. I need to
        # see which profiles are in the VIP segment").
        askers = [
            i
            for i in range(len(parts))
            if _asks(linked, i, query) and scores[i] > 0 and scores[i] >= asking * scores[strongest]
        ]
        if askers:
            strongest = max(askers, key=lambda i: scores[i])
    # A question asks: what follows it is context ("Which flows does the Placed Order metric
    # start? We are about to rename the metric").
    asked = next(
        (i for i in range(strongest, len(parts) - 1) if "?" in linked[i + 1][0]), len(parts)
    )
    # A clause up to the strongest that opens with a verb is the request (the ask first, the
    # details after): no later clause takes over.
    ordered = any(opens_with_verb(p) for p in parts[: strongest + 1])
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


def opens_with_verb(clause: str) -> bool:
    """Whether ``clause``, read from its lead-in, opens with a verb of the intent cues."""
    content = [w for w in words(_from_lead(clause)) if w not in STOPWORDS]
    return bool(content) and stem(content[0]) in _VERBS

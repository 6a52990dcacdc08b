"""Long requests read from the caller's ask (opt-in: ``Weights(asks=True)``; issue #17, round 5).

An alternative to ``_clauses``, which reads a long request from the clause that matches the
operations best. Here a query of ``LONG`` words or more is split into clauses at sentence
punctuation, linking words, and before an ask or an imperative after a comma or "so"; the request
is the last clause where the caller asks (their own "I need to", "can you", "please", "is there
a way to", what has to happen, a question about their data, or an imperative verb), since
context comes first and the ask last ("we built a segment of VIPs, so I need to export their
profiles" asks for profiles); with no such clause, the strongest clause as in ``_clauses``. It is
read from its lead-in ("I need to", "how do I") on, and a pronoun or an ask that names nothing
brings the clause before it.

Measured (``benchmarks/search.md``, round 5): the tuning sets' long requests and a dev set of long
requests gain; over the untouched sets top-1 moved 88.8% -> 88.9% with the round's other wording
changes, one set losing 1.3 points, so it stays off until it is shown not to lose.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codemode.search._clauses import long_parts
from codemode.search._text import STOPWORDS, stem, words
from codemode.search._vocab import CUES

__all__ = ["ask_clauses", "asked_clause"]

# Sentence ends, dashes, and the linking words that join context to a request.
_SPLIT = re.compile(
    r"[.!?;:]+(?:\s+|$)|\s+--?\s+|,\s*(?:but|so|and|because|then)\b|\b(?:but|so that|because)\b"
    # "... and now I want to ...": the caller's own ask starts a clause of its own.
    r"|\s+and\s+(?:now\s+|then\s+|so\s+|first\s+)?(?=(?:i|we)(?:'d|'m|\s+(?:would|need|want|just|am)))",
    re.I,
)
# What comes before the request inside its clause ("could you help me figure out how to ...").
_LEADS = (
    r"need to|want to|trying to|like to|have to|how (?:do i|can i|to)|help me|figure out|"
    r"please|is to|possible to|way to|(?:want|wants|need|needs|asked|asks) (?:us|me) to"
)
_LEAD = re.compile(rf"^.*?\b(?:{_LEADS})(?:\s+(?:{_LEADS}))*\s+", re.I)

# The caller's own ask ("I need to", "we'd like to", "can you", "please"): the clause that says it
# states the request, whatever the context around it matches ("we built a segment of VIPs, so I
# need to export their profiles" asks for profiles). Third persons ("the team wants to") are context.
_ASK = re.compile(
    r"\b(?:i|we)(?:'d|\s+would)\s+(?:really\s+|just\s+|also\s+)?(?:like|love|want)\b"
    r"|\b(?:i|we)(?:'m|\s+am|'re|\s+are)?\s+(?:just\s+|really\s+|also\s+|first\s+|now\s+|only\s+)?"
    r"(?:(?:need|want)(?:\s+to)?|(?:have|trying|hoping|looking)\s+to|looking\s+for)\b"
    r"|\bis\s+there\s+(?:a|an|any)\s+(?:way|endpoint|call|api)\b|\bany\s+way\s+to\b"
    r"|\bis\s+it\s+possible\s+to\b|\bwhat\s+(?:i|we)\s+(?:need|want)\b|\b(?:i|we)(?:'m|'re)\s+after\b"
    r"|\bwhat(?:'s|\s+is)\s+the\s+(?:call|endpoint|api)\b"
    # What has to happen, said of the thing ("the tag has to come off those segments").
    r"|\b(?:needs?|has|have)\s+to\s+(?:be|come|go|get)\b|\bmust\b|\bshould\s+(?:be|come|go)\b"
    r"|\bneeds?\s+(?:an?\s+)?(?:edit|update|change|fix|refresh|cleanup|clean-up)\b"
    # A question ("what tags are on that flow?").
    # A question about the caller's data ("what tags are on that flow?"), not about the API itself
    # ("what's the right way to do that in Klaviyo?", "which call should I make?").
    r"|^\W*(?:which|what|who|whom|whose|how\s+(?:many|much))\b"
    r"(?!.*\b(?:call|calls|endpoint|api|way|method|function|route|klaviyo|sdk)\b)"
    r"|\b(?:wants?|needs?|asked|asks)\s+(?:us|me)\s+to\b"
    r"|\b(?:priority|goal|plan|task|job|aim)\s+is\s+to\b"
    r"|\bplease\b(?!\s+(?:let\s+(?:me|us)\s+know|advise))|\b(?:can|could|would)\s+you\b"
    r"|\bhelp\s+me\b|\bhow\s+(?:do|can|should|would)\s+(?:i|we)\b",
    re.I,
)

_ASK_WORDS = frozenset({"want", "need", "like", "love", "help", "please", "know", "can", "could"})

# Words that point back to something named in an earlier clause.
_BACK = re.compile(
    r"\b(?:it|its|them|their|they|those|(?:that|this|the|old|new|other|same)\s+ones?"
    r"|everything else|the rest)\b",
    re.I,
)


# Verbs of the intent cues that open an imperative ("fix the phone number", "remove the old one").
_VERB_FACETS = frozenset({"read", "create", "update", "delete", "link"})
# A phrase's first word counts too ("take off", "get rid", "turn off").
_IMPERATIVES = frozenset(
    key[0] for key, facets in CUES.items() if any(f in _VERB_FACETS for f, _ in facets)
)
# Cue words that open a clause without ordering anything: questions, adjectives, prepositions.
_NOT_IMPERATIVE = frozenset(stem(w) for w in (
    "which", "what", "how", "who", "new", "existing", "exactly", "should", "into", "too",
    "alongside", "gone", "obsolete", "out", "detail", "relationship", "membership", "lookup",
    "setup", "signup", "all", "every", "any", "by", "keep", "as"
))  # fmt: skip
# Particles of phrasal verbs, and the words that open a verb's object ("delete that segment").
_PARTICLES = frozenset({"up", "off", "on", "out", "rid", "of", "back", "down", "in", "me", "us"})
_OBJECTS = frozenset({
    "the", "a", "an", "that", "this", "those", "these", "it", "them", "all", "every", "each",
    "my", "our", "its", "their", "her", "his", "some", "one", "any", "both", "how", "which",
    "what", "who", "whether"
})  # fmt: skip
# Where an imperative may start a clause inside a sentence: after a comma or "so" ("then" joins
# steps of one request: "copy that campaign and then tweak the content").
_RELATIVE = re.compile(r"\W*(?:which|what|who|whom|whose|how)\b", re.I)
_INNER = re.compile(r",\s*|\s+so\s+", re.I)


def _imperative(text: str, inner: bool = False) -> bool:
    """Whether ``text`` opens with a verb in the imperative ("remove the old one").

    ``inner``: the text follows a comma or "so" inside a sentence, where a noun that is also a
    verb often stands in a series ("by email, phone, push token"); there the verb must be followed
    (after a particle: "set up", "get rid of") by what it acts on: an article, a pronoun, a
    quantifier or a number ("take those profiles off", "fix the phone number").
    """
    rest = [w for w in words(text) if w not in ("please", "just", "now", "also")]
    first = rest[0] if rest else ""
    if first.endswith(("ing", "ed", "s")) and not first.endswith("ss"):
        return False  # "sending volume", "opens and clicks": a gerund, a participle, a plural
    if stem(first) not in _IMPERATIVES or stem(first) in _NOT_IMPERATIVE:
        return False
    if not inner:
        return True
    after = [w for w in rest[1:4] if w not in _PARTICLES]
    return bool(after) and (after[0] in _OBJECTS or after[0].isdigit())


def ask_clauses(query: str) -> list[str]:
    """The clauses of ``query``: split at sentence punctuation, dashes and linking words, and
    before an ask or an imperative after a comma or "so" ("the popup is not converting, so take
    the form off the site"; "..., any way to list its actions?")."""
    out: list[str] = []
    for part in _SPLIT.split(query):
        if not part or not re.search(r"\w", part):
            continue
        start = 0
        for m in _INNER.finditer(part):
            rest = part[m.end() :]
            # ", which the team planned": inside a sentence a question word opens a relative clause.
            ask = _ASK.match(rest) and not _RELATIVE.match(rest)
            if m.start() > start and (ask or _imperative(rest, inner=True)):
                out.append(part[start : m.start()])
                start = m.end()
        out.append(part[start:])
    return [p.strip() for p in out if re.search(r"\w", p)]


def asked_clause(query: str, strength: Callable[[str], float]) -> str | None:
    """The part of a long ``query`` that states the request; None when the query is short or one clause.

    Args:
        query: the caller's words.
        strength: how well a text matches the best operation's document (raw, not normalised),
            so clauses of one query compare.
    """
    parts = long_parts(query, ask_clauses)
    if parts is None:
        return None
    # An ask with no word of the API in it ("which call is that?") leaves the choice to the others.
    asks = [
        i
        for i, part in enumerate(parts)
        if (_ASK.search(part) or _imperative(part)) and strength(part) > 0
    ]
    # The last clause that asks (context comes first); with none, the strongest of all.
    k = asks[-1] if asks else max(range(len(parts)), key=lambda i: strength(parts[i]))
    best = parts[k]
    lead = _LEAD.search(best)
    if lead and lead.end() < len(best):
        best = best[lead.end() :]
    # Words that name what the ask is about: not its verbs ("I want see").
    content = [
        w
        for w in words(best)
        if w not in STOPWORDS and w not in _ASK_WORDS and len(w) > 2 and stem(w) not in _IMPERATIVES
    ]
    if k and (_BACK.search(parts[k]) or not content):
        # "add these people to it", "the preview text of the email, I want to see": what is
        # meant was said before; it follows the request so the request's verb still comes first.
        best = f"{best}, {parts[k - 1]}"
    return best

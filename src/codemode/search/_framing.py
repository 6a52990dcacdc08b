"""How agents and developers frame a request, read before the request itself (issue #17, round 11).

The callers of ``search_api`` are mostly LLM agents and the scripts they write. Their requests
come wrapped in a structure that carries no operation of its own, and whose words misled the
ranking:

- **labels**: a planning step's label ("Step 2:", "Next step -", "Thought:", "Action:") or a
  code comment's marker ("# TODO:", "// FIXME") opens the request; "step" is also a flow's step
  and "action" a flow action, so the label is cut before the words are read.
- **purpose**: "so I can ...", "so that ...", "in order to ..." name what the caller will do
  *after* this call ("fetch the campaign so I can check its send time"), and a fronted or
  trailing "before / after / once / until <doing>" names the call around it ("delete the old
  webhook before registering the new one"): that part is a second operation, not this request,
  so it is cut, unless nothing but a question about the API is left before it ("which call
  should I use so that I can add people to a list").
- **agent lead**: "First I'll list the metrics", "Now let me fetch ...": the verb after the
  first-person lead is the request (the parser otherwise reads "list" after "I'll" as a noun).
- **finding out**: "list the metrics to find the id of Placed Order": an infinitive of a verb of
  finding out (find, see, check, confirm...) after the request says why, not what, and is cut
  (not after "need to", "how to", "want to", where it is the request).
- **contrast** is left to the parser's negation scope. Cutting every denied contrast ("X, not
  Y", "rather than Y", "do not Y") was measured and lost: the denied words are what the
  parser's "!" terms match in summaries that deny the same thing ("remove from the list, do not
  unsubscribe"). Cutting only a denying clause before the ask ("I don't want the event, I want
  its metric") changed no first hit (one answerable request fewer refused) and was not kept.

Every rule is read from English and from how requests are framed, none from a query set; a rule
never cuts a request down to nothing (``frame`` then keeps the text as it was).
"""

from __future__ import annotations

import re

from codemode.search._text import STOPWORDS, words

__all__ = ["PARTS", "frame"]

# "# TODO:", "// FIXME -", "/* ", "-- NOTE:" (a script's comment marker, then an optional tag).
_COMMENT = re.compile(
    r"^\s*(?:#+|//+|/\*+|\*+|--+|;+)?\s*(?:(?:TODO|FIXME|XXX|HACK|NOTE|NB)\b\s*(?:\([^)]*\))?\s*"
    r"[:\-\u2013\u2014]?\s*)?",
    re.I,
)
# "Step 2:", "Next step -", "Plan: 1)", "Thought:", "Action:" (an agent's planning label).
_LABEL = re.compile(
    r"^\s*(?:(?:(?:first|next|then|final|last)\s+)?(?:step|stage|phase)\s*\d*|"
    r"(?:plan|thought|action|task|goal|subtask)(?:\s+step)?\s*\d*)\s*[:.)\-\u2013\u2014]+\s*"
    r"|^\s*\(?\d{1,2}[.)]\s+",
    re.I,
)
# Where a span stops: a clause's punctuation, or a word that opens the wanted part ("but").
_STOP = r"(?=[,;.!?]|\s+(?:but|and then|i mean|just)\b|$)"
# What the caller will do after this call: cut to the end of its clause ("so I can ...", "so
# that ...", "in order to ..."). "so the message needs an edit" is no purpose but the ask after
# its context, and stays.
_PURPOSE = re.compile(
    r"\s*(?:,\s*)?\b(?:so\s+that|so\s+as\s+to|in\s+order\s+(?:to|that)|"
    r"so\s+(?:i|we|you|they|he|she|it)\s+(?:can|could|may|might|will|would|get\s+to))"
    rf"\b.*?{_STOP}",
    re.I,
)
# An infinitive of purpose after the request ("list the metrics to find the id of Placed
# Order"): a verb of finding out names why, not what, unless the request leads into it ("I need
# to find", "how to check").
_TO_LEARN = re.compile(
    r"(?<=\w)\s+to\s+(?:find|see|check|know|learn|confirm|verify|work\s+out|figure\s+out|"
    rf"decide|compare|understand|make\s+sure|double-check)\b.*?{_STOP}",
    re.I,
)
_INTO_LEARN = frozenset(
    [
        "need",
        "needs",
        "want",
        "wants",
        "trying",
        "try",
        "like",
        "have",
        "has",
        "how",
        "way",
        "able",
        "going",
        "help",
        "order",
        "tool",
        "call",
        "endpoint",
        "possible",
    ]
)
# An agent's plan in the first person ("First I'll list the metrics", "Now let me fetch"): the
# verb after it is the request.
_PLAN_LEAD = re.compile(
    r"^\s*(?:(?:first|then|next|now|finally|after\s+that|ok|okay)[,\s]+)?"
    r"(?:i'?ll|i\s+will|we'?ll|we\s+will|let\s+me|let'?s|i'?m\s+going\s+to|i\s+am\s+going\s+to|"
    r"i\s+should|we\s+should|i\s+must|i\s+can)\s+(?!be\b|have\b)",
    re.I,
)
# A fronted or trailing "before/after/once/until/while <doing> ...": the call around this one.
_AROUND = re.compile(rf"\b(?:before|after|once|until|while)\s+\w+ing\b.*?{_STOP}", re.I)
# What a cut leaves dangling at the end: a comma, "but", "and".
_TRAIL = re.compile(r"(?:[\s,;:\-]+|\s+(?:but|and)\b)+$", re.I)
# What a question about the API says without naming any operation.
_META = frozenset(
    [
        "endpoint",
        "endpoints",
        "call",
        "calls",
        "use",
        "used",
        "using",
        "way",
        "method",
        "methods",
        "function",
        "route",
        "routes",
        "need",
        "want",
        "best",
        "right",
        "correct",
        "should",
        "make",
        "which",
        "what",
        "api",
        "sdk",
        "there",
    ]
)


def _content(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and w not in _META]


def _cut(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` without the spans ``pattern`` finds, unless that leaves no content word."""
    cut = pattern.sub(" ", text)
    cut = re.sub(r"\s{2,}", " ", cut)
    cut = _TRAIL.sub("", re.sub(r"^[\s,;:.\-]+", "", cut)).strip()
    return cut if _content(cut) else text


# The framing rules ``frame`` applies, in order (each can be left out to measure it).
PARTS = ("labels", "plan", "purpose", "around", "to_learn")


def frame(query: str, parts: tuple[str, ...] = PARTS) -> str:
    """``query`` without its framing: labels, an agent's first-person lead, purpose clauses and
    the call around this one."""
    text = query
    if "labels" in parts:
        text = _COMMENT.sub("", text, count=1)
        for _ in range(2):  # "Plan: 1) ..."
            text = _LABEL.sub("", text, count=1)
        if not _content(text):
            return query
    if "plan" in parts:
        led = _PLAN_LEAD.sub("", text, count=1)
        text = led if _content(led) else text
    for name, pattern in (("purpose", _PURPOSE), ("around", _AROUND)):
        if name in parts:
            text = _cut(text, pattern)
    match = _TO_LEARN.search(text) if "to_learn" in parts else None
    if match:
        before = words(text[: match.start()])
        if before and before[-1] not in _INTO_LEARN and _content(text[: match.start()]):
            text = _cut(text, _TO_LEARN)
    return text

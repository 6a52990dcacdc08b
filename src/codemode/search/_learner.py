"""English as a second language, read as the request it means (issue #17, round 13).

Many callers write English as a second language, and two of its constructions cost the ranking
although the request is plain to a reader:

- **"what" for "that"**: "the templates what exist", "the coupon code what is wrong": after a
  resource's name, "what" opens a relative clause, not a question (the parser otherwise reads
  a question's "what" and the clause's verb as the request).
- **"the list of all ..."**: "give me the list with all templates", "the list of all flows":
  a list as a count noun ("a list of all X" is "all X"), not the API's list resource.

Measured on the tuning sets and not kept (no first hit changed): a light verb with the
request's verb as its noun ("make delete of the profile" read as "delete the profile"), the
"to" after a modal ("how I can to see"), and the question order "how I can" read as "how can
I". Every rule is read from how learners of English write, none from a query set; ``plain``
never leaves a request without words (it keeps the text as it was).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codemode.search._text import words

__all__ = ["PARTS", "plain"]

# The rules ``plain`` applies, in order (each can be left out to measure it).
PARTS = ("relative_what", "list_of_all")

# "<word> what ...", unless a question follows ("tell me what is the status").
_WHAT = re.compile(r"\b(\w+)\s+what\b(?!\s+(?:is|are)\s+(?:the|its|their|my|our)\b)", re.I)
_LIST_OF_ALL = re.compile(r"\b(?:a|the)?\s*list\s+(?:of|with)\s+(?=all\b)", re.I)


def plain(
    query: str,
    *,
    names_resource: Callable[[str], bool],
    parts: tuple[str, ...] = PARTS,
) -> str:
    """``query`` with the second-language constructions above read as plain English.

    Args:
        query: the request as typed (after shorthand).
        names_resource: whether a text names one of the API's resources.
        parts: which of ``PARTS`` to apply.
    """
    text = query
    if "relative_what" in parts:
        text = _WHAT.sub(
            lambda m: f"{m.group(1)} that" if names_resource(m.group(1)) else m.group(0), text
        )
    if "list_of_all" in parts:
        text = re.sub(r"\s{2,}", " ", _LIST_OF_ALL.sub(" ", text)).strip()
    return text if words(text) else query

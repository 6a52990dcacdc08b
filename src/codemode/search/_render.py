"""Compact text for the model: ranked hits, signatures, and the help shown when nothing matches.

Every line here is read by an agent on every call, so the format is terse and regular: one line per
hit, the destructive ones marked. When the search is confident (:func:`top_signature`), the top
hit's signature follows the hits, so a one-call read needs no ``get_signature`` round trip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from codemode.catalog import Catalog, load_catalog
from codemode.errors import CatalogError
from codemode.search._signature import signature_of

if TYPE_CHECKING:  # types only: rendering needs no ranker (numpy)
    from codemode.search._index import SearchHit
    from codemode.search._signature import Signature

__all__ = ["CONFIDENT_RATIO", "render_help", "render_hits", "render_signatures", "top_signature"]

_KIND_MARK = {
    "destructive": " [DESTRUCTIVE]",
    "client": " [client-side, public key]",
    "write": " [write]",
    "read": "",
}

# The top hit is confident when the second scores at most this share of it. Calibrated on the
# untouched held-out queries (tests/data/search/heldout_untouched.jsonl), not on the benchmark's:
# 80% of those queries pass it, and their top hit is right 92% of the time (84% over all).
CONFIDENT_RATIO = 0.95


def render_help(
    query: str, catalog: Catalog | None = None, flagged: Callable[[str], bool] | None = None
) -> str:
    """What to do when a query matched nothing: the categories and how to ask. The query is
    repeated unless ``flagged`` (the scanner) finds an instruction in it: the answer is the
    server's own text, which no screen reads."""
    cat = catalog if catalog is not None else load_catalog()
    groups = ", ".join(f"{g} ({len(actions)})" for g, actions in sorted(cat.groups.items()))
    said = ""
    if query.strip():
        shown = cat.shown(query.strip(), 200)
        said = (
            "No action matches the query (not repeated: it reads as an instruction). "
            if flagged is not None and flagged(shown)
            else f"No action matches {shown!r}. "
        )
    return (
        f'{said}Describe the task in plain words ("add a contact to a list", "campaign click rate last '
        'month"), name a resource and a verb, or give an operation id or METHOD /api/path.\n'
        f"Categories: {groups}."
    )


def _policy(marks: Mapping[str, str] | None, action_id: str) -> str:
    """The server's policy for the action in a few words (``marks`` from ``Policy.mark``)."""
    text = (marks or {}).get(action_id, "")
    return f" [{text}]" if text else ""


def _names(query: str) -> str:
    """The query as an operation id would spell it (``get metrics`` -> ``get_metrics``)."""
    return "_".join(re.findall(r"[a-z0-9]+", query.lower()))


def top_signature(hits: Sequence[SearchHit], query: str, catalog: Catalog) -> Signature | None:
    """The top hit's signature when the search is confident, else None.

    Confident: the query spells the top hit's operation id, or the top hit leads the second by a
    clear margin (:data:`CONFIDENT_RATIO`). A single hit is confident.
    """
    if not hits:
        return None
    top = hits[0]
    lead = len(hits) == 1 or (top.score > 0 and hits[1].score <= CONFIDENT_RATIO * top.score)
    if not (lead or _names(query) == top.id):
        return None
    try:
        return signature_of(catalog.resolve(top.id))
    except CatalogError:  # pragma: no cover - hits come from the same catalog
        return None


def _first_clause(summary: str) -> str:
    """A runner-up's summary up to its first ``;`` (the rest is in its signature)."""
    return summary.split("; ", 1)[0]


def render_hits(
    hits: Sequence[SearchHit],
    query: str,
    marks: Mapping[str, str] | None = None,
    unserved: Sequence[str] = (),
    inline: Signature | None = None,
    flagged: Callable[[str], bool] | None = None,
) -> str:
    """One line per hit (``function [kind] [policy] - summary``), then the top hit's signature.

    ``marks`` maps an action id to what the server's policy will do with it (refused, asks the
    user), so nothing refused is offered without saying so. The top hit keeps its whole summary,
    the others their first clause. With ``unserved`` (the query's words no operation is about),
    the answer says first that no operation does this and marks the lines as the closest ones
    only. ``inline`` (from :func:`top_signature`) follows the lines. Help when there are no hits.
    ``flagged`` (the scanner): the help does not repeat a query it reads as an instruction (the
    ``unserved`` words are single words the index has, repeated one by one).
    """
    if not hits:
        return render_help(query, flagged=flagged)
    lines = [
        f"{h.function}{_KIND_MARK.get(h.kind, '')}{_policy(marks, h.id)} - "
        + (h.summary if i == 0 else _first_clause(h.summary))
        for i, h in enumerate(hits)
    ]
    if unserved:
        said = ", ".join(repr(w) for w in unserved)
        lines.insert(
            0, f"No operation does this (nothing in the API is about {said}). Closest only:"
        )
        lines.append("If none fits, tell the user the Klaviyo API cannot do it.")
    elif inline is not None:
        lines.append("")
        lines.append(inline.inline())
    return "\n".join(lines)


def render_signatures(
    sigs: Sequence[Signature], errors: Sequence[str], marks: Mapping[str, str] | None = None
) -> str:
    """Each signature (with the policy's mark), docs and returned shape, then unknown names."""
    blocks = [
        f"{s.signature}{_policy(marks, s.id).replace(' [', '  # [', 1)}\n{s.doc}\nReturns: {s.returns}"
        for s in sigs
    ]
    blocks += list(errors)
    if not blocks:
        return "No names given: pass operation ids or functions from search_api, e.g. ['get_profiles']."
    return "\n\n".join(blocks)

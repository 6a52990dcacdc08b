"""Compact text for the model: ranked hits, signatures, and the help shown when nothing matches.

Every line here is read by an agent on every call, so the format is terse and regular: one line per
hit, the destructive ones marked, and the next step named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from codemode.catalog import Catalog, load_catalog

if TYPE_CHECKING:  # types only: rendering needs neither the ranker (numpy) nor the stubs
    from codemode.search._index import SearchHit
    from codemode.search._signature import Signature

__all__ = ["render_help", "render_hits", "render_signatures"]

_KIND_MARK = {
    "destructive": " [DESTRUCTIVE]",
    "client": " [client-side, public key]",
    "write": " [write]",
    "read": "",
}


def render_help(query: str, catalog: Catalog | None = None) -> str:
    """What to do when a query matched nothing: the categories and how to ask."""
    cat = catalog if catalog is not None else load_catalog()
    groups = ", ".join(f"{g} ({len(actions)})" for g, actions in sorted(cat.groups.items()))
    said = f"No action matches {query.strip()!r}. " if query.strip() else ""
    return (
        f'{said}Describe the task in plain words ("add a contact to a list", "campaign click rate last '
        'month"), name a resource and a verb, or give an operation id or METHOD /api/path.\n'
        f"Categories: {groups}."
    )


def _policy(marks: Mapping[str, str] | None, action_id: str) -> str:
    """The server's policy for the action in a few words (``marks`` from ``Policy.mark``)."""
    text = (marks or {}).get(action_id, "")
    return f" [{text}]" if text else ""


def render_hits(
    hits: Sequence[SearchHit],
    query: str,
    marks: Mapping[str, str] | None = None,
    unserved: Sequence[str] = (),
) -> str:
    """One line per hit (``function [kind] [policy] - summary``), then the next step.

    ``marks`` maps an action id to what the server's policy will do with it (refused, asks the
    user), so nothing refused is offered without saying so. With ``unserved`` (the query's words
    no operation is about), the answer says first that no operation does this and marks the lines
    as the closest ones only. Help when there are no hits.
    """
    if not hits:
        return render_help(query)
    lines = [
        f"{h.function}{_KIND_MARK.get(h.kind, '')}{_policy(marks, h.id)} - {h.summary}"
        for h in hits
    ]
    if unserved:
        said = ", ".join(repr(w) for w in unserved)
        lines.insert(
            0, f"No operation does this (nothing in the API is about {said}). Closest only:"
        )
        lines.append("If none fits, tell the user the Klaviyo API cannot do it.")
    else:
        lines.append("Next: get_signature([...]) with the function names you will call.")
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

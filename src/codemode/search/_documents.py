"""Per-action search documents and intent facets, derived from the catalog alone.

A document is a few weighted fields of terms: the operation id split into words, the project's
summary and keywords, the resource names, the path, and (lightly) parameter and attribute names.
Facets describe what the action *does* (read one, list, create, bulk job, IDs-only relationship,
values vs series report, client-side...) so the intent scorer can separate look-alike actions that
share every noun.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from codemode.catalog import Action
from codemode.search._text import NEGATORS, STOPWORDS, negation_mask, stem, words
from codemode.search._vocab import CONCEPTS, CUES, HEADS, MAX_PHRASE, RESOURCE_HEADS

__all__ = [
    "FIELD_WEIGHTS",
    "action_facets",
    "action_nesting",
    "action_owner",
    "action_parent",
    "action_targets",
    "changed_types",
    "concept_terms",
    "document_fields",
    "neighbour_types",
    "resource_heads",
    "resource_phrases",
    "resource_verbs",
    "terms",
]

# How much one occurrence in each field counts (BM25F-style weighted term frequency). Tuned on
# half of the dev queries, checked on the other half.
FIELD_WEIGHTS: Mapping[str, float] = {
    "name": 3.0,
    "summary": 0.75,
    "keywords": 2.0,
    "resource": 1.0,
    "path": 0.8,
    "schema": 0.25,
}

# First word of every concept phrase -> its longest phrase, so most words cost one lookup.
_CONCEPT_STARTS: dict[str, int] = {}
for _phrase in CONCEPTS:
    _CONCEPT_STARTS[_phrase[0]] = max(_CONCEPT_STARTS.get(_phrase[0], 0), len(_phrase))
CONCEPT_WORDS = frozenset(w for phrase in CONCEPTS for w in phrase)
_KNOWN_HEADS = frozenset(name for entries in HEADS.values() for name, _ in entries)
_HTTP_FORM = re.compile(r"^(GET|POST|PATCH|PUT|DELETE)\s+/")
_LEADING_VERBS = frozenset({"list"})
# Parameters every listing has; they say nothing about which action it is.
_GENERIC_PARAMS = frozenset({"filter", "sort", "page_cursor", "page_size", "include", "id"})


def concept_terms(stream: list[str], negated: list[bool] | None = None) -> list[str]:
    """The ``~concept`` terms whose phrases occur in ``stream`` (stemmed words, stopwords kept).

    Args:
        stream: stemmed words.
        negated: per word, whether it is denied; denied concepts come out as ``!~concept``.
    """
    out: list[str] = []
    n = len(stream)
    for i in range(n):
        longest = _CONCEPT_STARTS.get(stream[i], 0)
        for size in range(1, min(longest, n - i) + 1):
            hit = CONCEPTS.get(tuple(stream[i : i + size]))
            if hit:
                prefix = "!~" if negated is not None and negated[i] else "~"
                out.extend(prefix + concept for concept, _ in hit)
    return out


def terms(text: str, *, drop_leading_verb: bool = False) -> list[str]:
    """Content terms of ``text`` plus its concept terms.

    Args:
        text: any text (summary, keyword phrase, identifier).
        drop_leading_verb: treat a leading "list" as the verb it is ("List campaigns"), not the noun.
    """
    raw = words(text)
    negated = negation_mask(text, raw)
    if drop_leading_verb and raw and raw[0] in _LEADING_VERBS:
        raw, negated = raw[1:], negated[1:]
    stream = [stem(w) for w in raw]
    content = [
        ("!" if neg else "") + s
        for w, s, neg in zip(raw, stream, negated, strict=True)
        if w not in STOPWORDS and w not in NEGATORS and len(w) > 1
    ]
    return content + concept_terms(stream, negated)


def _body_names(schema: Mapping[str, Any]) -> list[str]:
    data = schema.get("properties", {}).get("data", {})
    if data.get("type") == "array":
        data = data.get("items", {})
    props = data.get("properties", {})
    names = list(props.get("attributes", {}).get("properties", {}))
    names += list(props.get("relationships", {}).get("properties", {}))
    return names


def own_summary(action: Action, ids: frozenset[str]) -> str:
    """``action``'s summary without what it says about other operations.

    A summary may point elsewhere ("...; to halt a scheduled send use cancel_campaign_send"):
    such a clause describes the other operation, and its words ("scheduled", "halt") would rank
    this one for the other's requests. A later clause (after ";") naming another operation id
    is dropped; in the first clause only the id itself is.
    """
    clauses = action.summary.split(";")
    kept: list[str] = []
    for i, clause in enumerate(clauses):
        named = [w for w in re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", clause) if w in ids]
        others = [w for w in named if w != action.id]
        if others and i > 0:
            continue
        for other in others:
            clause = clause.replace(other, " ")
        kept.append(clause)
    return ";".join(kept)


def document_fields(action: Action, ids: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """The weighted fields of ``action``'s search document, as term lists (``ids``: the
    catalog's operation ids, whose mentions in a summary are the other operation's words)."""
    keywords: list[str] = []
    path_text = [action.method, action.path]
    for phrase in action.keywords:
        if _HTTP_FORM.match(phrase):
            path_text.append(phrase)
        else:
            keywords += terms(phrase, drop_leading_verb=True)
    resource_names = [action.category, action.group]
    if action.response.resource_type:
        resource_names.append(action.response.resource_type)
    if action.body and action.body.resource_type:
        resource_names.append(action.body.resource_type)
    schema_names: list[str] = [p.name for p in action.params if p.name not in _GENERIC_PARAMS]
    schema_names += [name.split(".")[0] for name in action.filters]
    schema_names += [name.split(".")[0] for name in action.response.fields]
    schema_names += list(action.include)
    schema_names += [name for values in action.additional_fields.values() for name in values]
    if action.body:
        schema_names += _body_names(action.body.schema)
    return {
        "name": terms(action.id),
        "summary": terms(own_summary(action, ids), drop_leading_verb=True),
        "keywords": keywords,
        "resource": terms(" ".join(resource_names)),
        "path": terms(" ".join(path_text).replace("/api/", " ").replace("{id}", " ")),
        "schema": terms(" ".join(sorted(set(schema_names)))),
    }


def _relationship_target(action: Action) -> bool:
    """True for reads of the objects related to one resource (``/api/lists/{id}/profiles``)."""
    parts = [p for p in action.path.split("/") if p]
    return action.method == "GET" and "relationships" not in parts and len(parts) >= 4


def action_facets(action: Action) -> frozenset[str]:
    """What ``action`` does, in the same facet names the query cues use (see ``_vocab.CUES``)."""
    aid = action.id
    facets: set[str] = set()
    bulk = aid.startswith("bulk_") or "-bulk-" in action.path or "_bulk_" in aid
    if action.method == "GET" or aid.startswith(("query_", "render_")):
        facets.add("read")
        if action.method == "GET":
            facets.add("list" if action.response.collection else "one")
    if (
        action.method == "POST"
        and action.kind != "read"
        and not aid.startswith(("bulk_delete", "bulk_update"))
    ):
        facets.add("create")
    if action.method in ("PATCH", "PUT") or aid.startswith(("update_", "bulk_update")):
        facets.add("update")
    if action.method == "DELETE" or aid.startswith(
        ("delete_", "remove_", "bulk_delete", "request_profile_deletion")
    ):
        facets.add("delete")
    if bulk:
        facets.add("bulk")
    elif action.kind != "read":
        facets.add("single")
    if aid.startswith("query_"):
        facets.add("report")
        if aid.endswith("_series") or (
            action.body is not None and "interval" in _body_names(action.body.schema)
        ):
            # A report that takes an interval (per day, per week) returns a series.
            facets.add("series")
        elif aid.endswith("_values"):
            facets.add("values")
    if action.method == "GET" and "/relationships/" in action.path:
        facets.add("ids")
    if _relationship_target(action):
        facets.add("full")
    if action.method == "GET" and (
        action.companion_of or re.search(r"-jobs/\{[a-z_]+\}$", action.path)
    ):
        facets.add("poll")
    if action.method in ("POST", "DELETE") and "/relationships/" in action.path:
        facets.add("link")
    facets.add("client" if action.kind == "client" else "server")
    return frozenset(facets)


_JOB = re.compile(
    r"-(?:bulk-[a-z]+|send|values|series|recipient-estimation|merge|deletion)(?:-job|-report)?$"
)


def _singular(segment: str) -> str:
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") else segment


def _head(resource: str | None) -> str | None:
    """The head name of a resource type: the vocabulary's name, else the type itself.

    Types the vocabulary does not name (``push-token``, ``object-schema``, ``web-feed``) are their
    own heads, so every resource of the OpenAPI document can be what a query is about.
    """
    if not resource:
        return None
    base = _JOB.sub("", resource)
    return RESOURCE_HEADS.get(base) or RESOURCE_HEADS.get(resource) or base


def resource_heads(actions: list[Action]) -> dict[tuple[str, ...], list[tuple[str, float]]]:
    """Head phrases for the resource types of ``actions`` that the vocabulary does not name.

    ``push-token`` gives the phrase ("push", "token") for the head ``push-token``; the vocabulary's
    own words come first, so "custom metric" keeps meaning what it always meant.
    """
    out: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for action in actions:
        for name in (*action_targets(action), action_parent(action)):
            if not name or name in _KNOWN_HEADS:
                continue
            key = tuple(stem(w) for w in words(name))[:MAX_PHRASE]
            if key and key not in HEADS and key not in out:
                out[key] = [(name, 1.0)]
    # The last word of a compound type alone ("feeds" for web-feed, "tokens" for push-token),
    # where it names one type only and is neither a vocabulary word nor an intent cue.
    tails: dict[tuple[str, ...], set[str]] = {}
    for key, entries in out.items():
        if len(key) > 1:
            tails.setdefault(key[-1:], set()).update(name for name, _ in entries)
    for key, names in tails.items():
        known = key in HEADS or key in out or key in CUES or key[0] in CONCEPT_WORDS
        if len(names) == 1 and not known:
            out[key] = [(names.pop(), 1.0)]
    return out


def action_targets(action: Action) -> frozenset[str]:
    """The resources ``action`` returns or acts on, as head names (``_vocab.RESOURCE_HEADS``)."""
    parts = [
        p
        for p in action.path.split("/")
        if p and not p.startswith("{") and p not in ("api", "client")
    ]
    if "relationships" in parts:
        if action.method == "GET":
            found = {_head(action.response.resource_type)}
        elif parts[0] == "tags":
            # "tag the blast" / "apply tag X to flows": either side may come first
            found = {"tag", _head(action.body.resource_type if action.body else None)}
        else:
            # "add products to a category": the member moved is the target, not the container
            found = {_head(action.body.resource_type if action.body else None)}
    else:
        found = {
            _head(action.response.resource_type)
            or _head(action.body.resource_type if action.body else None)
            or _head(_singular(parts[-1]) if parts else None)
        }
    if action.id == "create_back_in_stock_subscription":
        found |= {"variant", "profile"}
    return frozenset(t for t in found if t)


def action_parent(action: Action) -> str | None:
    """The resource a nested read hangs off (``/api/lists/{id}/profiles`` -> ``list``), or None."""
    parts = [p for p in action.path.split("/") if p and p not in ("api", "client")]
    if action.method != "GET" or len(parts) < 3 or not parts[1].startswith("{"):
        return None
    return _head(_singular(parts[0]))


_CHANGES = ("create", "update", "delete")


def _base(resource: str | None) -> str | None:
    """A resource type without its job or report suffix (``coupon-code-bulk-create-job`` -> ``coupon-code``)."""
    return _JOB.sub("", resource) if resource else None


def changed_types(action: Action) -> frozenset[str]:
    """The resource types ``action`` writes: what its body carries (the member a relationship
    write moves), else what it returns, else what its path names (``DELETE /api/coupons/{id}``)."""
    types = {_base(action.body.resource_type if action.body else None)}
    if "/relationships/" not in action.path or not action.body:
        types.add(_base(action.response.resource_type))
    if action.path.startswith("/api/tags/") and "/relationships/" in action.path:
        types.add("tag")
    parts = [p for p in action.path.split("/") if p and p not in ("api", "client")]
    if len(parts) == 1 or (len(parts) == 2 and parts[1].startswith("{")):
        types.add(_base(_singular(parts[0])))
    return frozenset(t for t in types if t)


def resource_verbs(actions: list[Action]) -> dict[str, frozenset[str]]:
    """Resource type of the OpenAPI document -> the changes some operation makes to it.

    A change is create, update or delete (the action's facets) of a type ``changed_types`` names.
    Types are the document's own (``custom-metric`` apart from ``metric``), so "delete a metric"
    can be told from "delete a custom metric".
    """
    out: dict[str, set[str]] = {}
    for action in actions:
        changes = [c for c in _CHANGES if c in action_facets(action)]
        for t in changed_types(action):
            out.setdefault(t, set()).update(changes)
    return {t: frozenset(v) for t, v in out.items()}


def neighbour_types(types: list[str]) -> dict[str, frozenset[str]]:
    """Each type -> the other types that share a word of its name or its vocabulary head
    (``metric``: ``custom-metric``, ``mapped-metric``, ``metric-property``)."""
    out: dict[str, frozenset[str]] = {}
    for t in types:
        parts = set(t.split("-"))
        head = RESOURCE_HEADS.get(t) or t
        out[t] = frozenset(
            u
            for u in types
            if u != t and (parts & set(u.split("-")) or (RESOURCE_HEADS.get(u) or u) == head)
        )
    return out


def resource_phrases(types: list[str]) -> dict[tuple[str, ...], list[tuple[str, float]]]:
    """Stemmed phrases that name each resource type: its own words, then the vocabulary's heads.

    A vocabulary head shared by several types ("message": campaign and flow messages) names all
    of them; a phrase that is a type's own name ("metric") names that type alone.
    """
    own: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for t in sorted(types):
        key = tuple(stem(w) for w in words(t))[:MAX_PHRASE]
        own.setdefault(key, []).append((t, 1.0))
    by_head: dict[str, list[str]] = {}
    for t in types:
        head = RESOURCE_HEADS.get(t) or t
        by_head.setdefault(head, []).append(t)
    out = dict(own)
    for key, entries in HEADS.items():
        if key in own:
            continue
        named = sorted({t for head, _ in entries for t in by_head.get(head, ())})
        if named:
            out[key] = [(t, 1.0) for t in named]
    return out


def action_nesting(action: Action) -> tuple[str, str] | None:
    """The first two resources along a nested route (``/api/lists/{id}/relationships/tags``: list, tag)."""
    parts = [p for p in action.path.split("/") if p and p not in ("api", "client", "relationships")]
    names = [n for p in parts if not p.startswith("{") and (n := _head(_singular(p)))]
    targets = sorted(action_targets(action) - {names[0]}) if names else []
    if len(names) == 2 and len(targets) == 1:
        names[1] = targets[0]  # /catalog-categories/{id}/items: the items are products
    if len(names) < 2 or names[0] == names[1]:
        return None
    return names[0], names[1]


def action_owner(action: Action) -> str | None:
    """The one record a nested route hangs off, for any method (``/api/tags/{id}/relationships/flows``: tag).

    A query that names one record of that resource ("product P", "list 12", "this campaign")
    is about the routes under it: "add product P to categories" is the item's route, not the
    category's.
    """
    parts = [p for p in action.path.split("/") if p and p not in ("api", "client")]
    if len(parts) < 3 or not parts[1].startswith("{"):
        return None
    return _head(_singular(parts[0]))

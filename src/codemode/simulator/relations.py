"""How each relationship of each resource type is stored, and where each type lives in the URL space.

A relationship is either *owned* (the record keeps the ids in ``rels[name]``) or the *inverse* of
another type's owned relationship (computed by scanning that type), so every link is stored once
and a write can never leave the two sides disagreeing.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from codemode.simulator.operations import load_operations
from codemode.simulator.store import Account, Record

__all__ = ["INVERSE", "MEMBERSHIP", "collection_path", "related_ids", "routable"]


class Inverse(NamedTuple):
    """The relationship is ``target_type`` records whose ``target_rel`` names this record."""

    target_type: str
    target_rel: str


# (type, relationship) -> where the ids come from; anything absent is owned by the record.
INVERSE: dict[tuple[str, str], Inverse] = {
    ("campaign", "campaign-messages"): Inverse("campaign-message", "campaign"),
    ("campaign", "tags"): Inverse("tag", "campaigns"),
    ("catalog-category", "items"): Inverse("catalog-item", "categories"),
    ("catalog-item", "variants"): Inverse("catalog-variant", "item"),
    ("flow", "flow-actions"): Inverse("flow-action", "flow"),
    ("flow", "tags"): Inverse("tag", "flows"),
    ("flow-action", "flow-messages"): Inverse("flow-message", "flow-action"),
    ("list", "tags"): Inverse("tag", "lists"),
    ("list", "flow-triggers"): Inverse("flow", "triggers"),
    ("segment", "tags"): Inverse("tag", "segments"),
    ("segment", "flow-triggers"): Inverse("flow", "triggers"),
    ("metric", "flow-triggers"): Inverse("flow", "triggers"),
    ("profile", "lists"): Inverse("list", "profiles"),
    ("profile", "segments"): Inverse("segment", "profiles"),
    ("tag-group", "tags"): Inverse("tag", "tag-group"),
    ("object-type", "object-records"): Inverse("object-record", "object-type"),
    ("object-type", "object-ingestion-logs"): Inverse("object-ingestion-log", "object-type"),
    ("form", "form-versions"): Inverse("form-version", "form"),
    ("metric", "metric-properties"): Inverse("metric-property", "metric"),
    ("profile", "push-tokens"): Inverse("push-token", "profile"),
    ("coupon", "coupon-codes"): Inverse("coupon-code", "coupon"),
}

# Relationships too large to inline: their ``data`` appears only when the caller includes them.
MEMBERSHIP = frozenset(
    {
        ("list", "profiles"),
        ("segment", "profiles"),
        ("profile", "lists"),
        ("profile", "segments"),
        ("metric", "flow-triggers"),
        ("list", "flow-triggers"),
        ("segment", "flow-triggers"),
    }
)


def related_ids(account: Account, record: Record, name: str) -> list[str]:
    """The ids ``record`` relates to through ``name`` (owned or inverse)."""
    inverse = INVERSE.get((record.type, name))
    if inverse is None:
        value = record.rels.get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]
    out: list[str] = []
    for other in account.records(inverse.target_type):
        value = other.rels.get(inverse.target_rel)
        if value == record.id or (isinstance(value, list) and record.id in value):
            out.append(other.id)
    return out


@cache
def _paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    for action in load_operations().values():
        kind = action.response.resource_type
        parts = action.path.strip("/").split("/")
        if kind and action.method == "GET" and len(parts) == 3 and parts[2] in ("{id}", "{job_id}"):
            paths.setdefault(kind, f"/{parts[0]}/{parts[1]}")
    return paths


def routable(kind: str) -> bool:
    """True when the API has an endpoint that reads records of ``kind`` by id."""
    return kind in _paths()


def collection_path(kind: str) -> str:
    """The URL path of a type's collection, e.g. ``/api/profiles`` (a plural guess when unrouted)."""
    return _paths().get(kind) or f"/api/{kind}s"

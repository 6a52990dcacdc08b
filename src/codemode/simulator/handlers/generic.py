"""Table-driven handlers for actions whose meaning follows from method and path alone.

Shapes: list a collection, get, create, update and delete one record, list a record's related
records, list relationship ids, and add or remove relationship ids. Each factory's docstring
carries the "Differs:" lines that feed the coverage table for every action it serves.
"""

from __future__ import annotations

from typing import Any

from codemode.catalog import Action
from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import identifiers, listing, shape, single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import Handler
from codemode.simulator.relations import INVERSE, related_ids, routable
from codemode.simulator.store import Record

__all__ = ["classify", "generic_handler", "store_attributes"]


def classify(action: Action) -> str | None:
    """The generic shape of an action, or None when it needs a specific handler."""
    parts = action.path.strip("/").split("/")
    has_id = len(parts) >= 3 and parts[2].startswith("{")
    if len(parts) == 2:
        if action.method == "GET":
            return "list"
        if (
            action.method == "POST"
            and action.response.status == 201
            and action.body
            and action.body.resource_type == action.response.resource_type
        ):
            return "create"
        return None
    if len(parts) == 3 and has_id:
        return {"GET": "get", "PATCH": "update", "DELETE": "delete"}.get(action.method)
    if len(parts) == 4 and has_id and action.method == "GET":
        return "related"
    if len(parts) == 5 and has_id and parts[3] == "relationships":
        return {"GET": "ids", "POST": "link", "DELETE": "unlink", "PATCH": "replace"}.get(
            action.method
        )
    return None


def _owner_type(ctx: Ctx) -> str:
    # The type a path like /api/lists/{id}/... addresses, found through the catalog's get action.
    head = "/".join(ctx.action.path.strip("/").split("/")[:2])
    for other in ctx.sim.catalog.values():
        if other.method == "GET" and other.path.strip("/") in (
            f"{head}/{{id}}",
            f"{head}/{{job_id}}",
        ):
            kind = other.response.resource_type
            if kind:
                return kind
    raise ApiError(500, "error", f"no resource type is routed at /{head}")


def _ident(ctx: Ctx) -> str:
    return ctx.path.get("id") or ctx.path.get("job_id") or ""


def store_attributes(kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes worth storing: the ones the resource's response shape knows (others are write-only)."""
    known = shape(kind)["attributes"]
    return {k: v for k, v in attrs.items() if k in known or not known}


def list_records(ctx: Ctx) -> Reply:
    """List a collection with filter, sort, sparse fields, include and cursor pages.

    Differs: records come in creation order when no sort is given; a whole ``links.next`` URL
    is accepted as ``page[cursor]`` (Klaviyo's SDK sends one when the base URL is http).
    Differs: a ``_kx`` filter matches the profile id; ``push_token`` filters match nothing.
    """
    kind = ctx.action.response.resource_type or ""
    return Reply(200, listing(ctx, ctx.account.records(kind)))


def get_record(ctx: Ctx) -> Reply:
    """Get one record by id (404 when absent), with sparse fields and include."""
    kind = ctx.action.response.resource_type or ""
    record = ctx.account.get(kind, _ident(ctx))
    if record.id in ctx.account.jobs and record.type.endswith("-job"):
        # Reading a job is a poll: it moves the job along its deterministic clock.
        from codemode.simulator.handlers.jobs import advance

        advance(ctx.account, record, ctx.sim.config.job_polls)
    return Reply(200, single(ctx, record))


def _body_rel_type(action: Action, name: str) -> str:
    # The type a body relationship names, from the request schema's type enum.
    node: Any = action.body.schema if action.body else {}
    for key in ("data", "relationships", name, "data"):
        node = (node.get("properties") or {}).get(key) or {}
    node = node.get("items", node)
    enum = ((node.get("properties") or {}).get("type") or {}).get("enum") or [name]
    return str(enum[0])


def _own_rels(ctx: Ctx, kind: str) -> dict[str, Any]:
    # Relationships in the body that the record owns; inverse ones are written on the other side.
    out: dict[str, Any] = {}
    rels = ctx.data().get("relationships") or {}
    for name in rels:
        if (kind, name) in INVERSE:
            continue
        target = (shape(kind)["relationships"].get(name) or {}).get("type") or _body_rel_type(
            ctx.action, name
        )
        ids = ctx.rel_ids(name)
        for ident in ids:
            if ctx.account.find(target, ident) is None:
                raise ApiError(
                    404,
                    "not_found",
                    f"The related {target} {ident!r} does not exist.",
                    pointer=f"/data/relationships/{name}",
                )
        many = (shape(kind)["relationships"].get(name) or {}).get("many", True)
        out[name] = ids if many else (ids[0] if ids else None)
    return out


def create_record(ctx: Ctx) -> Reply:
    """Create a record from ``data.attributes`` and its owned relationships (201).

    Differs: uniqueness is only enforced where Klaviyo documents a 409 (profiles, coupon codes).
    """
    kind = ctx.action.response.resource_type or ""
    record = ctx.account.add(kind, store_attributes(kind, ctx.attributes()), _own_rels(ctx, kind))
    stamp_dates(record)
    return Reply(201, single(ctx, record))


def stamp_dates(record: Record) -> None:
    """Fill the created/updated attributes a resource type has, from the record's timestamp."""
    known = shape(record.type)["attributes"]
    for name in ("created", "created_at", "updated", "updated_at"):
        if name in known and record.attributes.get(name) is None:
            record.attributes[name] = record.created


def update_record(ctx: Ctx, *, attributes: dict[str, Any] | None = None) -> Reply:
    """Update the attributes given in the body (``data.id`` must match the path id).

    Differs: nested objects are replaced, not merged.
    """
    kind = (
        (ctx.action.body.resource_type if ctx.action.body else None)
        or ctx.action.response.resource_type
        or ""
    )
    ident = _ident(ctx)
    record = ctx.account.get(kind, ident)
    data = ctx.data()
    if data.get("id") not in (None, ident):
        raise ApiError(
            409,
            "conflict",
            f"data.id {data.get('id')!r} does not match the id in the path {ident!r}.",
            pointer="/data/id",
        )
    given = ctx.attributes() if attributes is None else attributes
    record.attributes.update(store_attributes(kind, given))
    record.rels.update(_own_rels(ctx, kind))
    stamp = ctx.account.timestamp()
    for name in ("updated", "updated_at"):
        if name in shape(kind)["attributes"]:
            record.attributes[name] = stamp
    ctx.account.touch(kind, record.id)
    if ctx.action.response.status == 204:
        return Reply(204)
    return Reply(200, single(ctx, record))


def delete_record(ctx: Ctx) -> Reply:
    """Delete a record (204; 404 when absent) and unlink it everywhere.

    Differs: deletion is immediate; records that Klaviyo only archives are removed too.
    """
    kind = _owner_type(ctx)
    ctx.account.remove(kind, _ident(ctx))
    return Reply(204)


# To-one related endpoints whose schema has no null ``data``: nothing linked is a 404 there.
NOT_NULLABLE = frozenset({"get_image_for_campaign_message"})


def related_records(ctx: Ctx) -> Reply:
    """List the records related to one record (404 when the record is absent)."""
    owner = ctx.account.get(_owner_type(ctx), _ident(ctx))
    name = ctx.action.path.rstrip("/").rsplit("/", 1)[-1]
    kind = ctx.action.response.resource_type or ""
    records = [
        r
        for r in (ctx.account.find(kind, i) for i in related_ids(ctx.account, owner, name))
        if r is not None
    ]
    if ctx.action.response.collection:
        return Reply(200, listing(ctx, records))
    if records:
        return Reply(200, single(ctx, records[0]))
    if ctx.action.id in NOT_NULLABLE:
        raise ApiError(404, "not_found", f"{owner.type} {owner.id!r} has no {name}.")
    # Klaviyo's to-one related documents answer ``data: null`` when nothing is linked.
    return Reply(200, {"data": None, "links": {"self": ctx.url()}})


def relationship_ids(ctx: Ctx) -> Reply:
    """List the ids of one relationship of a record (404 when the record is absent)."""
    owner = ctx.account.get(_owner_type(ctx), _ident(ctx))
    name = ctx.action.path.rstrip("/").rsplit("/", 1)[-1]
    kind = ctx.action.response.resource_type or name
    ids = related_ids(ctx.account, owner, name)
    if not ctx.action.response.collection:
        # A to-one relationship answers one identifier, or null when nothing is linked.
        data = {"type": kind, "id": ids[0]} if ids else None
        return Reply(200, {"data": data, "links": {"self": ctx.url()}})
    return Reply(200, identifiers(kind, ids, ctx))


def _require_targets(ctx: Ctx, target: str, items: list[dict[str, Any]]) -> None:
    # Ids of types the API can read must exist; others (profile object schemas) are opaque.
    for n, item in enumerate(items):
        if routable(target) and ctx.account.find(target, str(item["id"])) is None:
            raise ApiError(
                404,
                "not_found",
                f"{target} {item['id']!r} does not exist.",
                pointer=f"/data/{n}/id",
            )


def _link(ctx: Ctx, add: bool, items: list[dict[str, Any]] | None = None) -> Reply:
    owner = ctx.account.get(_owner_type(ctx), _ident(ctx))
    name = ctx.action.path.rstrip("/").rsplit("/", 1)[-1]
    target = ctx.action.body.resource_type if ctx.action.body else None
    target = target or (shape(owner.type)["relationships"].get(name) or {}).get("type") or name
    items = ctx.data_list() if items is None else items
    for n, item in enumerate(items):
        if item.get("type") not in (None, target):
            raise bad_body(
                f"/data/{n}/type", f"expected type {target!r}, got {item.get('type')!r}."
            )
    _require_targets(ctx, target, items)
    inverse = INVERSE.get((owner.type, name))
    for item in items:
        ident = str(item["id"])
        if inverse is None:
            ids = owner.many(name)
            if add and ident not in ids:
                ids.append(ident)
                if name == "profiles":
                    ctx.account.joined.setdefault(owner.id, {})[ident] = ctx.account.timestamp()
            elif not add and ident in ids:
                ids.remove(ident)
            ctx.account.touch(owner.type, owner.id)
        else:
            other = ctx.account.get(inverse.target_type, ident)
            ids = other.many(inverse.target_rel)
            if add and owner.id not in ids:
                ids.append(owner.id)
            elif not add and owner.id in ids:
                ids.remove(owner.id)
            ctx.account.touch(other.type, other.id)
    return Reply(204)


def link_records(ctx: Ctx) -> Reply:
    """Add relationship ids (204; 404 when the record or a named id is absent)."""
    return _link(ctx, True)


def unlink_records(ctx: Ctx) -> Reply:
    """Remove relationship ids (204; ids not linked are ignored, as in Klaviyo)."""
    return _link(ctx, False)


def replace_links(ctx: Ctx) -> Reply:
    """Replace a relationship's ids with the ones given (204; 404 when a named id is absent).

    Differs: a to-one relationship is replaced by the single id given; ``meta`` is not stored.
    """
    owner = ctx.account.get(_owner_type(ctx), _ident(ctx))
    name = ctx.action.path.rstrip("/").rsplit("/", 1)[-1]
    body = ctx.body.get("data") if isinstance(ctx.body, dict) else None
    if isinstance(body, dict):
        items = [body]
        if not body.get("id"):
            raise bad_body("/data/id", "Name the related record by its id.")
    else:
        items = ctx.data_list()
    target = ctx.action.body.resource_type if ctx.action.body else None
    target = target or (shape(owner.type)["relationships"].get(name) or {}).get("type") or name
    _require_targets(ctx, target, items)
    current = related_ids(ctx.account, owner, name)
    _link(ctx, False, [{"id": i} for i in current])
    if not (shape(owner.type)["relationships"].get(name) or {}).get("many", True) and (
        (owner.type, name) not in INVERSE
    ):
        owner.rels[name] = str(items[-1]["id"]) if items else None
        ctx.account.touch(owner.type, owner.id)
        return Reply(204)
    return _link(ctx, True, items)


GENERIC: dict[str, Handler] = {
    "list": list_records,
    "get": get_record,
    "create": create_record,
    "update": update_record,
    "delete": delete_record,
    "related": related_records,
    "ids": relationship_ids,
    "link": link_records,
    "unlink": unlink_records,
    "replace": replace_links,
}


def generic_handler(action: Action) -> Handler | None:
    """The generic handler serving ``action``, or None."""
    shape_name = classify(action)
    return GENERIC.get(shape_name) if shape_name else None

"""Render stored records as Klaviyo JSON:API documents: attributes, relationships, links, included."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from functools import cache, partial
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from codemode.simulator.context import Ctx
from codemode.simulator.errors import ApiError, bad_param
from codemode.simulator.filters import Condition, matches, parse_filter
from codemode.simulator.operations import load_operations
from codemode.simulator.relations import MEMBERSHIP, collection_path, related_ids
from codemode.simulator.store import Account, Record

__all__ = ["field_value", "listing", "render", "shape", "single"]

ValueOf = Callable[[Record, str], Any]


@cache
def _shapes() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("resources.json").read_text(encoding="utf-8")
    shapes: dict[str, Any] = json.loads(text)["resources"]
    return shapes


def shape(kind: str) -> dict[str, Any]:
    """The generated shape of a resource type: attribute defaults, required names, relationships."""
    return _shapes().get(kind) or {"attributes": {}, "required": [], "relationships": {}}


@cache
def _hidden() -> dict[str, frozenset[str]]:
    # Attributes Klaviyo returns only when asked for through additional-fields[type].
    out: dict[str, set[str]] = {}
    for action in load_operations().values():
        for kind, names in action.additional_fields.items():
            out.setdefault(kind, set()).update(names)
    return {k: frozenset(v) for k, v in out.items()}


def _flow_definition(account: Account, flow: Record) -> dict[str, Any]:
    # Seeded flows keep their steps as flow-action records; the definition is assembled from them.
    actions = [
        dict(a.attributes.get("definition") or {"id": a.id, "type": "time-delay"})
        for a in account.records("flow-action")
        if a.rels.get("flow") == flow.id
    ]
    for action, following in zip(actions, [*actions[1:], None], strict=True):
        action["links"] = {"next": following["id"] if following else None}
    kind = "list" if flow.attributes.get("trigger_type") == "Added to List" else "metric"
    triggers = [{"type": kind, "id": t} for t in related_ids(account, flow, "triggers")]
    return {
        "triggers": triggers,
        "profile_filter": None,
        "actions": actions,
        "entry_action_id": actions[0]["id"] if actions else None,
    }


def _computed(account: Account, record: Record, name: str) -> Any:
    value = record.attributes.get(name)
    if name == "profile_count":
        return len(record.many("profiles"))
    if name == "definition" and record.type == "flow" and not value:
        return _flow_definition(account, record)
    return value


def _fill(value: Any, stamp: str) -> Any:
    if value == "@now":
        return stamp
    if isinstance(value, dict):
        return {k: _fill(v, stamp) for k, v in value.items()}
    return value


def _pick(value: Any, path: list[str]) -> Any:
    if not path or not isinstance(value, dict):
        return value
    head = path[0]
    if head not in value:
        return {}
    return {head: _pick(value[head], path[1:])}


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def requested_fields(ctx: Ctx, kind: str) -> list[str] | None:
    """The ``fields[kind]`` list, checked against the action's allowed names."""
    raw = ctx.param(f"fields[{kind}]")
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    allowed = ctx.action.fields.get(kind)
    if allowed is None:
        raise bad_param(f"fields[{kind}]", f"{ctx.action.id} has no sparse fieldset for {kind!r}.")
    for name in names:
        if name not in allowed:
            raise bad_param(
                f"fields[{kind}]",
                f"{name!r} is not a field of {kind}; choose from: {', '.join(allowed)}.",
            )
    return names


def _extra_fields(ctx: Ctx, kind: str) -> set[str]:
    raw = ctx.param(f"additional-fields[{kind}]")
    if raw is None:
        return set()
    names = {n.strip() for n in raw.split(",") if n.strip()}
    allowed = set(ctx.action.additional_fields.get(kind, ()))
    wrong = names - allowed
    if wrong:
        raise bad_param(
            f"additional-fields[{kind}]",
            f"{', '.join(sorted(wrong))} cannot be requested here; allowed: {', '.join(sorted(allowed)) or 'none'}.",
        )
    return names


def render(ctx: Ctx, record: Record, *, include: Iterable[str] = ()) -> dict[str, Any]:
    """One resource object: type, id, attributes (defaults filled), relationships and links."""
    spec = shape(record.type)
    stamp = record.created or ctx.account.timestamp()
    hidden = _hidden().get(record.type, frozenset()) - _extra_fields(ctx, record.type)
    # joined_group_at belongs to list/segment member listings only; those pass it in the record.
    attributes: dict[str, Any] = {
        k: _fill(v, stamp)
        for k, v in spec["attributes"].items()
        if k not in hidden and k != "joined_group_at"
    }
    for name, value in record.attributes.items():
        if name not in hidden:
            attributes[name] = value
    for name in _extra_fields(ctx, record.type) | (attributes.keys() & {"profile_count"}):
        attributes[name] = _computed(ctx.account, record, name)
    wanted = requested_fields(ctx, record.type)
    if wanted is not None:
        picked: dict[str, Any] = {}
        for name in wanted:
            if name == "id":
                continue
            _merge(picked, _pick(attributes, name.split(".")))
        attributes = picked
    base = f"{ctx.base_url}{collection_path(record.type)}/{record.id}"
    relationships: dict[str, Any] = {}
    included = set(include)
    for name in spec["relationships"]:
        rel: dict[str, Any] = {
            "links": {"self": f"{base}/relationships/{name}/", "related": f"{base}/{name}/"}
        }
        if (record.type, name) not in MEMBERSHIP or name in included:
            ids = related_ids(ctx.account, record, name)
            target = spec["relationships"][name]["type"] or name
            if spec["relationships"][name]["many"]:
                rel["data"] = [{"type": target, "id": i} for i in ids]
            elif ids:
                # Klaviyo's schemas type a to-one ``data`` as an object: an empty link has no data.
                rel["data"] = {"type": target, "id": ids[0]}
        relationships[name] = rel
    out: dict[str, Any] = {
        "type": record.type,
        "id": record.id,
        "attributes": attributes,
        "links": {"self": f"{base}/"},
    }
    if relationships:
        out["relationships"] = relationships
    return out


def includes(ctx: Ctx) -> list[str]:
    """The ``include`` names, checked against the action's allowed relationships."""
    raw = ctx.param("include")
    if raw is None:
        return []
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for name in names:
        if name not in ctx.action.include:
            allowed = ", ".join(ctx.action.include) or "nothing"
            raise bad_param(
                "include", f"{name!r} cannot be included by {ctx.action.id}; allowed: {allowed}."
            )
    return names


def _included(ctx: Ctx, records: list[Record], names: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for record in records:
        rels = shape(record.type)["relationships"]
        for name in names:
            target = (rels.get(name) or {}).get("type") or name
            for ident in related_ids(ctx.account, record, name):
                other = ctx.account.find(target, ident)
                if other is None or (target, ident) in seen:
                    continue
                seen.add((target, ident))
                out.append(render(ctx, other))
    return out


def single(ctx: Ctx, record: Record) -> dict[str, Any]:
    """A document holding one resource (and what ``include`` asked for)."""
    names = includes(ctx)
    doc: dict[str, Any] = {"data": render(ctx, record, include=names), "links": {"self": ctx.url()}}
    if names:
        doc["included"] = _included(ctx, [record], names)
    return doc


def field_value(account: Account, record: Record, name: str) -> Any:
    """A record's value for a filter or sort field (dotted attribute paths and relationship ids)."""
    if name in ("id", "ids", "_kx"):
        return record.id
    if name in ("metric_id", "profile_id") and record.type != "profile":
        return record.rels.get(name[:-3])
    if name == "profile_id":
        return record.id
    if name.endswith(".id"):
        rel = name[:-3]
        for candidate in (rel, rel + "s", rel.replace("category", "categories")):
            ids = related_ids(account, record, candidate)
            if ids or candidate in record.rels:
                return ids
        return []
    if name == "messages.channel":
        return [
            ((m.attributes.get("definition") or {}).get("channel"))
            for m in account.records("campaign-message")
            if m.rels.get("campaign") == record.id
        ]
    if name == "push_token":
        return None
    value: Any = record.attributes
    for part in name.split("."):
        if isinstance(value, list):
            value = [v.get(part) for v in value if isinstance(v, dict)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    if isinstance(value, dict) and "value" in value:
        # Status objects (reviews: {"value": "published", ...}) filter on their value.
        return value["value"]
    return value


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _bare_cursor(cursor: str) -> str:
    # A whole ``links.next`` URL given as the cursor: Klaviyo's Python SDK extracts the cursor
    # only from https links, so against the simulator on http it passes the URL through.
    if "://" not in cursor:
        return cursor
    query = parse_qs(urlsplit(cursor).query)
    found = query.get("page[cursor]") or query.get("page_cursor") or [cursor]
    return found[0]


def _offset(cursor: str, parameter: str) -> int:
    cursor = _bare_cursor(cursor)
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(raw["o"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "invalid", "Invalid cursor provided.", parameter=parameter) from None
    if offset < 0:
        raise ApiError(400, "invalid", "Invalid cursor provided.", parameter=parameter)
    return offset


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, bool | int | float):
        return (0, float(value))
    return (0, str(value))


def filtered(ctx: Ctx, records: Iterable[Record], value_of: ValueOf | None = None) -> list[Record]:
    """Records that pass ``filter`` and ordered by ``sort`` (both checked against the action)."""
    read = value_of or (lambda r, f: field_value(ctx.account, r, f))
    raw = ctx.param("filter")
    conditions: list[Condition] = parse_filter(raw, ctx.action) if raw else []
    out = [r for r in records if not conditions or matches(conditions, partial(read, r))]
    sort = ctx.param("sort")
    if sort:
        if sort not in ctx.action.sort:
            allowed = ", ".join(ctx.action.sort) or "none"
            raise bad_param("sort", f"{ctx.action.id} cannot sort by {sort!r}; allowed: {allowed}.")
        key = sort.lstrip("-")
        out.sort(key=lambda r: _sort_key(read(r, key)), reverse=sort.startswith("-"))
    return out


def listing(ctx: Ctx, records: Iterable[Record], value_of: ValueOf | None = None) -> dict[str, Any]:
    """A collection document: filter, sort, one page, links (next/prev as full URLs), included."""
    rows = filtered(ctx, records, value_of)
    names = includes(ctx)
    size = ctx.page_size()
    cursor_param = (
        "page_cursor" if any(p.wire == "page_cursor" for p in ctx.action.params) else "page[cursor]"
    )
    cursor = ctx.param(cursor_param)
    offset = _offset(cursor, cursor_param) if cursor else 0
    page = rows[offset : offset + size]
    links: dict[str, Any] = {"self": ctx.url()}
    if offset + size < len(rows):
        links["next"] = ctx.url({cursor_param: _cursor(offset + size)})
    if offset > 0:
        links["prev"] = ctx.url(
            {cursor_param: _cursor(max(0, offset - size)) if offset > size else None}
        )
    doc: dict[str, Any] = {"data": [render(ctx, r, include=names) for r in page], "links": links}
    if names:
        doc["included"] = _included(ctx, page, names)
    return doc


def identifiers(kind: str, ids: Iterable[str], ctx: Ctx) -> dict[str, Any]:
    """A relationship document: ``data`` as resource identifiers."""
    return {"data": [{"type": kind, "id": i} for i in ids], "links": {"self": ctx.url()}}

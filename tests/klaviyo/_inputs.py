"""Valid inputs for any catalog action, built from the catalog alone (path ids, filters, bodies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from codemode.catalog import Action
from codemode.klaviyo import F
from codemode.klaviyo._body import body_shape

WHEN = dt.datetime(2024, 8, 1, tzinfo=dt.UTC)


def minimal(schema: dict[str, Any]) -> Any:
    """The smallest instance of a (resolved, prose-free) JSON schema: required keys, first enums."""
    if "oneOf" in schema or "anyOf" in schema:
        return minimal((schema.get("oneOf") or schema.get("anyOf"))[0])
    if "allOf" in schema:
        out: dict[str, Any] = {}
        for part in schema["allOf"]:
            out.update(minimal(part))
        return out
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        keys = list(schema.get("required") or ())
        # A relationship object ({"data": ...}) is useless without its data, required or not.
        if list(props) == ["data"] and not keys:
            keys = ["data"]
        return {key: minimal(props.get(key, {})) for key in keys}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [minimal(schema.get("items") or {}) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2024-08-01T00:00:00+00:00"
        if fmt == "date":
            return "2024-08-01"
        if fmt == "email":
            return "ada@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/x"
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return "x"


def path_values(action: Action) -> dict[str, str]:
    """A plausible id for every path parameter."""
    return {p.name: str(p.enum[0]) if p.enum else f"{p.name}-01HX" for p in action.path_params}


def required_query(action: Action) -> dict[str, Any]:
    """Values for the required query parameters (a filter the endpoint allows, a company id)."""
    out: dict[str, Any] = {}
    for p in action.query_params:
        if not p.required:
            continue
        if p.name == "filter":
            name, spec = next(
                (n, f) for n, f in sorted(action.filters.items()) if "equals" in f.operators
            )
            value: Any = (
                WHEN if spec.type == "datetime" else "email" if spec.type == "string" else True
            )
            out["filter"] = F.equals(name, value)
        elif p.enum:
            out[p.name] = p.enum[0]
        else:
            out[p.name] = "ABC123"
    return out


def full_body(action: Action) -> dict[str, Any] | None:
    """A minimal valid request document, with ``data.id`` matching the path id when both exist."""
    if action.body is None:
        return None
    doc = minimal(dict(action.body.schema))
    data = doc.get("data")
    ids = path_values(action)
    if isinstance(data, dict) and "id" in data and "id" in ids:
        # On a relationship endpoint data.id is the related resource, not the owner in the path.
        data["id"] = "related-01HX" if "/relationships/" in action.path else ids["id"]
    return doc


def plain_form(action: Action, doc: dict[str, Any]) -> dict[str, Any]:
    """The same body as SDK keywords: ``attributes=``, ``relationships=`` (ids), ``id=``, ``ids=``."""
    shape = body_shape(action)
    data = doc["data"]
    if shape["array"]:
        return {"ids": [item["id"] for item in data]}
    out: dict[str, Any] = {}
    if "attributes" in data:
        out["attributes"] = data["attributes"]
    if "relationships" in data:
        rels: dict[str, Any] = {}
        for name, rel in data["relationships"].items():
            inner = rel["data"]
            rels[name] = [i["id"] for i in inner] if isinstance(inner, list) else inner["id"]
        out["relationships"] = rels
    if "meta" in data:
        out["meta"] = data["meta"]
    if "id" in data and not any(p.name == "id" for p in action.path_params):
        out["id"] = data["id"]
    elif "id" in data and "/relationships/" in action.path:
        out["related_id"] = data["id"]
    return out


def optional_query(action: Action) -> tuple[dict[str, Any], dict[str, str]]:
    """Optional facets to exercise (sort, page size, fields, include) and their expected wire form."""
    params: dict[str, Any] = {}
    wire: dict[str, str] = {}
    for p in action.query_params:
        if p.name == "sort" and p.enum:
            params["sort"] = wire["sort"] = str(p.enum[-1])
        if p.name == "page_size" and action.page_size:
            params["page_size"] = action.page_size.max
            wire[p.wire] = str(action.page_size.max)
    if action.fields:
        rtype, names = next(iter(action.fields.items()))
        params["fields"] = {rtype: list(names[:2])}
        wire[f"fields[{rtype}]"] = ",".join(names[:2])
    if action.include:
        params["include"] = list(action.include[:2])
        wire["include"] = ",".join(action.include[:2])
    return params, wire

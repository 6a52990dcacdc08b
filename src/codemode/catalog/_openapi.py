"""Turn operations of a Klaviyo OpenAPI document into catalog records.

Used by ``tools/gen_catalog.py`` for the built-in actions and at start-up for an operator's extra
operations (``codemode.extensions``), so both go through exactly the same resolution and checks.
Prose (descriptions, titles, examples) is dropped; only facts are kept.
"""

from __future__ import annotations

import re
from typing import Any

METHODS = ("get", "post", "patch", "put", "delete")
# Schema keywords kept in the resolved request body; prose (description, title, example) is dropped.
KEEP_KEYWORDS = {
    "type",
    "properties",
    "required",
    "enum",
    "items",
    "format",
    "nullable",
    "oneOf",
    "anyOf",
    "allOf",
    "additionalProperties",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "default",
    "const",
    "discriminator",
}
MAX_DEPTH = 24  # deep enough for bulk event bodies (about 20 levels of properties and items)
BRANCH_COST = 5  # a oneOf/anyOf/allOf level costs this much of MAX_DEPTH


def snake(text: str) -> str:
    """Return ``text`` in snake_case ("Data Privacy" -> "data_privacy")."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


class Resolver:
    """Resolves ``$ref`` pointers of one OpenAPI document, dropping prose keywords."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def deref(self, ref: str) -> dict[str, Any]:
        node: Any = self.spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict)
        return node

    def resolve(self, schema: Any, depth: int = 0, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(schema, list):
            return [self.resolve(item, depth, seen) for item in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen or depth > MAX_DEPTH:
                return {"type": "object"}  # recursion cut: accept any object below this point
            return self.resolve(self.deref(ref), depth + 1, (*seen, ref))
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key not in KEEP_KEYWORDS:
                continue
            if key == "properties":
                out[key] = {name: self.resolve(sub, depth + 1, seen) for name, sub in value.items()}
            elif key in {"items", "additionalProperties"} and isinstance(value, dict):
                out[key] = self.resolve(value, depth + 1, seen)
            elif key in {"oneOf", "anyOf", "allOf"}:
                # Branches multiply the tree (flow definitions): they spend more of the budget.
                out[key] = [self.resolve(sub, depth + BRANCH_COST, seen) for sub in value]
            elif key == "discriminator":
                out[key] = {"propertyName": value.get("propertyName")}
            else:
                out[key] = value
        if "allOf" in out:
            return merge_all_of(out)
        return out


def merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Fold ``allOf`` parts into one object schema (Klaviyo uses it to add fields to a base)."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        for key, value in part.items():
            if key == "properties":
                props = merged.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = deep_merge(props[name], sub) if name in props else sub
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            else:
                merged.setdefault(key, value)
    return merged


def deep_merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Merge two object schemas property by property (used by ``merge_all_of``)."""
    out = dict(left)
    for key, value in right.items():
        if key == "properties" and isinstance(out.get(key), dict):
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = deep_merge(props[name], sub) if name in props else sub
            out[key] = props
        elif key == "required":
            out[key] = sorted(set(out.get(key, [])) | set(value))
        else:
            out[key] = value
    return out


def type_name(schema: dict[str, Any]) -> str:
    """A short, Python-flavoured type for a resolved schema ("str", "int", "list[str]", ...)."""
    if "oneOf" in schema or "anyOf" in schema:
        options = [type_name(s) for s in schema.get("oneOf", schema.get("anyOf", []))]
        return " | ".join(dict.fromkeys(options)) or "object"
    if "allOf" in schema:
        return "object"
    kind = schema.get("type")
    if kind == "array":
        base = f"list[{type_name(schema.get('items', {}))}]"
    elif kind == "string":
        base = "str"  # date-time too: JSON carries ISO 8601 text, and that is what a script gets
    else:
        base = {"integer": "int", "number": "float", "boolean": "bool", "object": "dict"}.get(
            kind or "", "any"
        )
    if "enum" in schema and kind == "string":
        base = "str"
    if schema.get("nullable"):
        base += " | None"
    return base


def flatten_attributes(schema: dict[str, Any]) -> dict[str, str]:
    """Map attribute name -> short type for a resolved ``attributes`` object (one level of nesting)."""
    fields: dict[str, str] = {}
    for name, sub in (schema.get("properties") or {}).items():
        fields[name] = type_name(sub)
        if sub.get("type") == "object" and sub.get("properties"):
            for inner, inner_schema in sub["properties"].items():
                fields[f"{name}.{inner}"] = type_name(inner_schema)
    return fields


def python_name(raw: str) -> str:
    """The SDK keyword for a raw query parameter name (``page[size]`` -> ``page_size``)."""
    if raw in {"page[cursor]", "page_cursor"}:
        return "page_cursor"
    return re.sub(r"[^a-zA-Z0-9]+", "_", raw).strip("_").lower()


def build_params(op: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    """Split an operation's parameters into path/query params, fieldsets and extras."""
    params: list[dict[str, Any]] = []
    fields: dict[str, list[str]] = {}
    additional_fields: dict[str, list[str]] = {}
    include: list[str] = []
    sort: list[str] = []
    page_size: dict[str, int] | None = None
    for prm in op.get("parameters", []):
        if prm["in"] == "header":
            continue
        raw = prm["name"]
        schema = resolver.resolve(prm.get("schema", {}))
        items_enum = sorted((schema.get("items") or {}).get("enum") or [])
        if raw.startswith("fields["):
            fields[raw[len("fields[") : -1]] = items_enum
            continue
        if raw.startswith("additional-fields["):
            additional_fields[raw[len("additional-fields[") : -1]] = items_enum
            continue
        if raw == "include":
            include = items_enum
            continue
        if raw == "sort":
            sort = list(schema.get("enum") or [])
        if raw == "page[size]":
            page_size = {
                "default": int(schema.get("default", schema.get("maximum", 100))),
                "min": int(schema.get("minimum", 1)),
                "max": int(schema["maximum"]),
            }
        entry: dict[str, Any] = {
            "name": python_name(raw),
            "wire": raw,
            "in": prm["in"],
            "required": bool(prm.get("required", prm["in"] == "path")),
            "type": type_name(schema),
        }
        for key in ("enum", "minimum", "maximum", "default", "format"):
            if key in schema:
                entry[key] = schema[key]
        params.append(entry)
    return {
        "params": params,
        "fields": fields,
        "additional_fields": additional_fields,
        "include": include,
        "sort": sort,
        "page_size": page_size,
    }


def build_filters(op: dict[str, Any]) -> dict[str, Any]:
    """Filterable fields with their allowed operators, from ``x-klaviyo-filters``."""
    out: dict[str, Any] = {}
    for field, spec in (op.get("x-klaviyo-filters") or {}).items():
        operators = spec.get("operators", {})
        value = spec.get("value", {})
        out[field] = {
            "operators": sorted(set(operators.get("single", [])) | set(operators.get("list", []))),
            "list_operators": sorted(operators.get("list", [])),
            "type": "datetime"
            if value.get("format") == "date-time"
            else value.get("type", "string"),
        }
    return out


def success_response(op: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    """The success status, the returned resource type, and the flattened record fields."""
    statuses = sorted(code for code in op["responses"] if code.startswith("2"))
    status = int(statuses[0])
    content = op["responses"][statuses[0]].get("content") or {}
    media = next(iter(content.values()), None)
    if media is None:
        return {
            "status": status,
            "resource_type": None,
            "collection": False,
            "fields": {},
            "schema": None,
        }
    ref = media["schema"].get("$ref", "")
    schema = resolver.resolve(media["schema"])
    data = (schema.get("properties") or {}).get("data") or {}
    collection = data.get("type") == "array"
    record = data.get("items", {}) if collection else data
    options = record.get("oneOf") or record.get("anyOf")
    if options:
        record = options[0]
    props = record.get("properties") or {}
    types = (props.get("type") or {}).get("enum") or []
    return {
        "status": status,
        "resource_type": types[0] if types else None,
        "collection": collection,
        "fields": flatten_attributes(props.get("attributes") or {}),
        "relationships": sorted((props.get("relationships") or {}).get("properties", {}).keys()),
        "schema": ref.rsplit("/", 1)[-1] or None,
    }


def request_body(op: dict[str, Any], resolver: Resolver) -> dict[str, Any] | None:
    """The resolved request body schema and the resource type it carries."""
    body = op.get("requestBody")
    if not body:
        return None
    media_type, media = next(iter(body["content"].items()))
    schema = resolver.resolve(media["schema"])
    data = (schema.get("properties") or {}).get("data") or {}
    record = data.get("items", {}) if data.get("type") == "array" else data
    types = ((record.get("properties") or {}).get("type") or {}).get("enum") or []
    return {
        "required": bool(body.get("required", False)),
        "resource_type": types[0] if types else None,
        "array": data.get("type") == "array",
        "schema": schema,
        "media_type": media_type,
    }


def rate_limit(op: dict[str, Any]) -> dict[str, int]:
    """``{"burst": per second, "steady": per minute, "daily": per day}`` from the spec."""
    out: dict[str, int] = {}
    for key, value in (op.get("x-klaviyo-ratelimit") or {}).items():
        out[key] = int(str(value).split("/")[0])
    return out


def index_operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Map operationId -> (METHOD, path, operation) over a whole OpenAPI document."""
    ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict) and "operationId" in op:
                ops[op["operationId"]] = (method.upper(), path, op)
    return ops


def build_record(
    op_id: str,
    method: str,
    path: str,
    op: dict[str, Any],
    resolver: Resolver,
    *,
    category: str,
    kind: str,
    summary: str,
    keywords: list[str],
    n: int | None = None,
    companion_of: str | None = None,
) -> dict[str, Any]:
    """One catalog record (the shape of ``actions.json`` entries) for an OpenAPI operation."""
    record: dict[str, Any] = {
        "id": op_id,
        "n": n,
        "category": category,
        "group": snake(category),
        "method": method,
        "path": path,
        "kind": kind,
        "companion_of": companion_of,
        "summary": summary,
        "keywords": keywords,
        "scopes": op.get("x-klaviyo-scopes", []),
        "rate_limit": rate_limit(op),
        "filters": build_filters(op),
        "body": request_body(op, resolver),
        "response": success_response(op, resolver),
    }
    record.update(build_params(op, resolver))
    record["paginated"] = any(p["name"] == "page_cursor" for p in record["params"])
    return record

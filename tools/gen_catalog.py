"""Generate the shipped action catalog from ../shared and the project's own annotations.

Inputs:
  ../shared/spec/actions.json            the 162 actions (id, method, path, category, kind)
  ../shared/klaviyo/openapi-stable.json  Klaviyo's OpenAPI document: parameters, filters, schemas
  tools/catalog/annotations.json         the project's own summaries and search keywords

Output:
  src/codemode/catalog/actions.json      one record per action, plus companion reads

Usage:
  python tools/gen_catalog.py            write the catalog
  python tools/gen_catalog.py --check    exit 1 when the committed catalog differs from a fresh run
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ACTIONS = SHARED / "spec" / "actions.json"
OPENAPI = SHARED / "klaviyo" / "openapi-stable.json"
ANNOTATIONS = ROOT / "tools" / "catalog" / "annotations.json"
OUTPUT = ROOT / "src" / "codemode" / "catalog" / "actions.json"

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
MAX_DEPTH = 12  # deep enough for flow definitions; guards recursive schemas


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
                out[key] = [self.resolve(sub, depth + 1, seen) for sub in value]
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
        base = "datetime" if schema.get("format") == "date-time" else "str"
    else:
        base = {"integer": "int", "number": "float", "boolean": "bool", "object": "dict"}.get(kind or "", "any")
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
            "type": "datetime" if value.get("format") == "date-time" else value.get("type", "string"),
        }
    return out


def success_response(op: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    """The success status, the returned resource type, and the flattened record fields."""
    statuses = sorted(code for code in op["responses"] if code.startswith("2"))
    status = int(statuses[0])
    content = op["responses"][statuses[0]].get("content") or {}
    media = next(iter(content.values()), None)
    if media is None:
        return {"status": status, "resource_type": None, "collection": False, "fields": {}, "schema": None}
    ref = media["schema"].get("$ref", "")
    schema = resolver.resolve(media["schema"])
    data = (schema.get("properties") or {}).get("data") or {}
    collection = data.get("type") == "array"
    record = data.get("items", {}) if collection else data
    if "oneOf" in record or "anyOf" in record:
        record = (record.get("oneOf") or record.get("anyOf"))[0]
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
    media = next(iter(body["content"].values()))
    schema = resolver.resolve(media["schema"])
    data = (schema.get("properties") or {}).get("data") or {}
    record = data.get("items", {}) if data.get("type") == "array" else data
    types = ((record.get("properties") or {}).get("type") or {}).get("enum") or []
    return {
        "required": bool(body.get("required", False)),
        "resource_type": types[0] if types else None,
        "array": data.get("type") == "array",
        "schema": schema,
    }


def rate_limit(op: dict[str, Any]) -> dict[str, int]:
    """``{"burst": per second, "steady": per minute, "daily": per day}`` from the spec."""
    out: dict[str, int] = {}
    for key, value in (op.get("x-klaviyo-ratelimit") or {}).items():
        out[key] = int(str(value).split("/")[0])
    return out


def find_companions(
    seeds: list[dict[str, Any]], ops: dict[str, tuple[str, str, dict[str, Any]]]
) -> dict[str, str]:
    """Companion reads: the GET at ``<path>/{id}`` of every job or send an action starts (202)."""
    ours = {a["id"] for a in seeds}
    by_route = {(m, p): oid for oid, (m, p, _) in ops.items()}
    companions: dict[str, str] = {}
    for action in seeds:
        method, path, op = ops[action["id"]]
        if "202" not in op["responses"]:
            continue
        target = next(
            (oid for (m, p), oid in sorted(by_route.items()) if m == "GET" and re.fullmatch(re.escape(path) + r"/\{[a-z_]+\}", p)),
            None,
        )
        if target and target not in ours:
            companions.setdefault(target, action["id"])
    return companions


def generate() -> str:
    """Build the catalog document and return it as the exact text to write."""
    for path in (ACTIONS, OPENAPI):
        if not path.is_file():
            sys.exit(f"gen_catalog: {path.relative_to(ROOT.parent)} is missing; run from a checkout with ../shared beside it")
    seeds = json.loads(ACTIONS.read_text(encoding="utf-8"))
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    annotations = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))
    resolver = Resolver(spec)
    ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                ops[op["operationId"]] = (method.upper(), path, op)

    actions = seeds["actions"]
    companions = find_companions(actions, ops)
    rows: list[tuple[dict[str, Any], str | None]] = [(a, None) for a in actions]
    by_id = {a["id"]: a for a in actions}
    for companion_id, parent in sorted(companions.items()):
        rows.append(({"id": companion_id, "n": None, "category": by_id[parent]["category"], "kind": "read"}, parent))

    missing = [a["id"] for a, _ in rows if a["id"] not in annotations]
    if missing:
        sys.exit(f"gen_catalog: tools/catalog/annotations.json lacks a summary for: {', '.join(missing)}")
    unknown = sorted(set(annotations) - {a["id"] for a, _ in rows})
    if unknown:
        sys.exit(f"gen_catalog: tools/catalog/annotations.json names unknown ids: {', '.join(unknown)}")

    out_actions = []
    for action, parent in rows:
        method, path, op = ops[action["id"]]
        if parent is None and (method, path) != (action["method"], action["path"]):
            sys.exit(f"gen_catalog: {action['id']} is {method} {path} in the OpenAPI document, not {action['method']} {action['path']}")
        note = annotations[action["id"]]
        record: dict[str, Any] = {
            "id": action["id"],
            "n": action.get("n"),
            "category": action["category"],
            "group": snake(action["category"]),
            "method": method,
            "path": path,
            "kind": action["kind"],
            "companion_of": parent,
            "summary": note["summary"],
            "keywords": note["keywords"],
            "scopes": op.get("x-klaviyo-scopes", []),
            "rate_limit": rate_limit(op),
            "filters": build_filters(op),
            "body": request_body(op, resolver),
            "response": success_response(op, resolver),
        }
        record.update(build_params(op, resolver))
        record["paginated"] = any(p["name"] == "page_cursor" for p in record["params"])
        out_actions.append(record)

    document = {
        "_generated": (
            "GENERATED by tools/gen_catalog.py from ../shared/spec/actions.json, "
            "../shared/klaviyo/openapi-stable.json and tools/catalog/annotations.json. Do not edit: "
            "change an input and run `make catalog`."
        ),
        "revision": spec["info"]["version"],
        "base_url": spec["servers"][0]["url"],
        "actions": out_actions,
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed catalog is stale")
    args = parser.parse_args()
    text = generate()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current != text:
            print("gen_catalog: src/codemode/catalog/actions.json is stale; run `make catalog`", file=sys.stderr)
            return 1
        print("gen_catalog: catalog is current")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"gen_catalog: wrote {OUTPUT.relative_to(ROOT)} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

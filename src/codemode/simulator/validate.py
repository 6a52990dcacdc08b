"""A small checker for request bodies against the catalog's (OpenAPI 3.0 subset) body schemas.

It covers what the catalog keeps: type, nullable, enum, required, properties, items, oneOf/anyOf,
allOf and numeric/length bounds, and reports the first problem as a JSON pointer, the way
Klaviyo's 400s point at ``/data/attributes/<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["first_error"]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _type_ok(kind: str, value: Any) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def first_error(schema: Mapping[str, Any], value: Any, pointer: str = "") -> tuple[str, str] | None:
    """The first place ``value`` breaks ``schema``: ``(pointer, detail)``, or None when it fits."""
    if value is None:
        if schema.get("nullable") or not schema:
            return None
        if "type" in schema or "properties" in schema:
            return pointer or "/", "must not be null"
        return None
    for part in schema.get("allOf", ()):
        problem = first_error(part, value, pointer)
        if problem:
            return problem
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if options:
            problems = [first_error(option, value, pointer) for option in options]
            if all(problems):
                # The option that got furthest (deepest pointer) is the one the caller meant.
                return max((p for p in problems if p), key=lambda p: p[0].count("/"))
    kind = schema.get("type")
    if kind and not _type_ok(kind, value):
        return pointer or "/", f"must be of type {kind}"
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"][:12])
        return pointer or "/", f"must be one of {allowed}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                return f"{pointer}/{name}", f"'{name}' is a required property"
        for name, item in value.items():
            # The catalog cuts schemas at a fixed depth, leaving {"type": "object"} where a
            # resource type enum was (deep bulk bodies): a string type there is no error.
            if name == "type" and props.get(name) == {"type": "object"} and isinstance(item, str):
                continue
            if name in props:
                problem = first_error(props[name], item, f"{pointer}/{name}")
                if problem:
                    return problem
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            problem = first_error(schema["items"], item, f"{pointer}/{n}")
            if problem:
                return problem
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return pointer or "/", f"must be at most {schema['maxLength']} characters"
        if "minLength" in schema and len(value) < schema["minLength"]:
            return pointer or "/", f"must be at least {schema['minLength']} characters"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema and value > schema["maximum"]:
            return pointer or "/", f"must be at most {schema['maximum']}"
        if "minimum" in schema and value < schema["minimum"]:
            return pointer or "/", f"must be at least {schema['minimum']}"
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return pointer or "/", f"must have at most {schema['maxItems']} items"
        if "minItems" in schema and len(value) < schema["minItems"]:
            return pointer or "/", f"must have at least {schema['minItems']} items"
    return None

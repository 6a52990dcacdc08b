"""A small checker for request bodies against the catalog's (OpenAPI 3.0 subset) body schemas.

It covers what the catalog keeps: type, nullable, enum, required, properties, items, oneOf/anyOf,
allOf and numeric/length bounds, and reports the first problem as a JSON pointer, the way
Klaviyo's 400s point at ``/data/attributes/<name>``.
"""

from __future__ import annotations

import difflib
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
                return _union_error(options, problems, value, pointer)
    kind = schema.get("type")
    if kind and not _type_ok(kind, value):
        return pointer or "/", f"must be of type {kind}"
    if "enum" in schema and value not in schema["enum"]:
        return pointer or "/", _enum_detail(schema["enum"], value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        missing = [name for name in schema.get("required", ()) if name not in value]
        if missing:
            # All of them at once: one retry per missing key is what a caller would pay otherwise.
            also = f" (also missing: {', '.join(map(repr, missing[1:]))})" if missing[1:] else ""
            return f"{pointer}/{missing[0]}", f"'{missing[0]}' is a required property{also}"
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


# An enum this long is listed in part: the closest values first, then the first ones.
ENUM_LISTED = 40


def _enum_detail(allowed: list[Any], value: Any) -> str:
    """``must be one of ...``: every allowed value when they are few; else the ones closest to
    ``value`` and the first ones, with how many there are (a value cut from the list would
    otherwise read as not allowed)."""
    if len(allowed) <= ENUM_LISTED:
        return "must be one of " + ", ".join(repr(v) for v in allowed)
    texts = [v for v in allowed if isinstance(v, str)]
    close = (
        difflib.get_close_matches(value, texts, n=3, cutoff=0.6) if isinstance(value, str) else []
    )
    shown = list(dict.fromkeys([*close, *allowed[: ENUM_LISTED - len(close)]]))
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    listed = ", ".join(repr(v) for v in shown)
    return f"must be one of {listed}, ... ({len(allowed)} values){hint}"


def _enum_of(option: Mapping[str, Any], name: str) -> list[Any] | None:
    prop = option.get("properties", {}).get(name) if isinstance(option, Mapping) else None
    enum = prop.get("enum") if isinstance(prop, Mapping) else None
    return list(enum) if isinstance(enum, list) else None


def _union_error(
    options: list[Any], problems: list[tuple[str, str] | None], value: Any, pointer: str
) -> tuple[str, str]:
    """The problem to report when ``value`` fits none of a oneOf/anyOf's ``options``.

    The options of a union are told apart by their enum-valued keys (``type``, then e.g. an
    ``operator``): a key whose value no option takes is the mistake, reported with the values
    the options take together; otherwise the options that take every such key are the ones the
    caller meant, and of those the problem furthest in (deepest pointer) is reported.
    """
    found = [p for p in problems if p]
    if isinstance(value, dict):
        meant = list(range(len(options)))
        for name, item in value.items():
            enums = {n: _enum_of(options[n], name) for n in meant}
            if all(e is None for e in enums.values()):
                continue
            taking = [n for n, e in enums.items() if e is not None and item in e]
            if not taking:
                union = list(dict.fromkeys(v for e in enums.values() if e for v in e))
                return f"{pointer}/{name}", _enum_detail(union, item)
            meant = taking
        found = [p for n, p in enumerate(problems) if p and n in meant] or found
    # The option that got furthest (deepest pointer) is the one the caller meant.
    return max(found, key=lambda p: p[0].count("/"))

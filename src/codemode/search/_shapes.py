"""Compact nested shapes of request attributes and returned records, for ``get_signature``.

``{name: str, definition: {condition_groups: [{conditions: [...]}]}, is_starred?: bool}``:
required keys bare, optional ones with ``?``, short enums as ``"a"|"b"``, unions by their
discriminating ``type``. A shape is drawn as deep as the spec goes while it fits its budget;
deeper levels then show as ``{…}`` and the shape ends with ``(depth N; {…} deeper)``.
``tools/gen_shapes.py`` renders them from the OpenAPI document into ``shapes.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["elided_values", "render_shape", "shapes_of"]

_BUDGET = 700
_MAX_ENUM = 6
_MAX_UNION = 4
# Values a shape cuts ("…+25") are listed apart, for enums and union types up to this many values,
# at most this deep, in at most this many lines and characters.
_LISTED_MAX = 40
_LISTED_DEPTH = 6
_LISTED_LINES = 6
_LISTED_BUDGET = 1200


def _enum(values: list[Any]) -> str:
    shown = "|".join(
        repr(v) if v is None or isinstance(v, bool) else json.dumps(v) for v in values[:_MAX_ENUM]
    )
    return shown + (f"|…+{len(values) - _MAX_ENUM}" if len(values) > _MAX_ENUM else "")


def _draw(schema: Mapping[str, Any], depth: int, cut: list[bool]) -> str:
    options = schema.get("oneOf") or schema.get("anyOf")
    if options:
        if depth <= 0:
            cut[0] = True
            return "{…}"
        drawn = [_draw(o, depth, cut) for o in options[:_MAX_UNION]]
        more = f" | …+{len(options) - _MAX_UNION}" if len(options) > _MAX_UNION else ""
        return " | ".join(dict.fromkeys(drawn)) + more
    if schema.get("enum"):
        return _enum(list(schema["enum"]))
    kind = schema.get("type")
    props: Mapping[str, Any] = schema.get("properties") or {}
    if props:
        if depth <= 0:
            cut[0] = True
            return "{…}"
        required = set(schema.get("required") or ())
        parts = [
            f"{k}{'' if k in required else '?'}: {_draw(v, depth - 1, cut)}"
            for k, v in props.items()
        ]
        return "{" + ", ".join(parts) + "}"
    if kind == "array":
        return "[" + _draw(schema.get("items") or {}, depth, cut) + "]"
    if kind == "string":
        fmt = schema.get("format")
        return "datetime" if fmt in ("date-time", "date") else "str"
    return {"integer": "int", "number": "float", "boolean": "bool", "object": "dict"}.get(
        str(kind), "any"
    )


def render_shape(schema: Mapping[str, Any]) -> str:
    """The deepest drawing of ``schema`` that fits the budget, marked when levels were cut."""
    for depth in range(8, 0, -1):
        cut = [False]
        text = _draw(schema, depth, cut)
        if len(text) <= _BUDGET or depth == 1:
            return text + (f" (depth {depth}; {{…}} deeper)" if cut[0] else "")
    return "{…}"  # pragma: no cover - the loop always returns


def _type_values(options: list[Any]) -> list[Any]:
    """The discriminating ``type`` values of a union's options, in order (empty when untyped)."""
    values: list[Any] = []
    for option in options:
        prop = (option.get("properties") or {}).get("type") if isinstance(option, Mapping) else None
        enum = prop.get("enum") if isinstance(prop, Mapping) else None
        if not isinstance(enum, list):
            return []
        values += [v for v in enum if v not in values]
    return values


def _elided(schema: Mapping[str, Any], path: str, depth: int, out: dict[str, list[Any]]) -> None:
    options = schema.get("oneOf") or schema.get("anyOf")
    if options:
        types = _type_values(list(options))
        if types:
            # Options told apart by type differ below it: only the types are listed.
            if len(options) > _MAX_UNION and len(types) <= _LISTED_MAX:
                out.setdefault(f"{path}.type" if path else "type", types)
            return
        for option in options:
            if isinstance(option, Mapping):
                _elided(option, path, depth, out)
        return
    enum = schema.get("enum")
    if isinstance(enum, list):
        if _MAX_ENUM < len(enum) <= _LISTED_MAX and path:
            out.setdefault(path, list(enum))
        return
    if schema.get("type") == "array":
        items = schema.get("items")
        if isinstance(items, Mapping):
            _elided(items, f"{path}[]", depth, out)
        return
    if depth <= 0:
        return
    for key, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            _elided(sub, f"{path}.{key}" if path else str(key), depth - 1, out)


def elided_values(schema: Mapping[str, Any]) -> str:
    """The values a drawing of ``schema`` cuts (enums past six, union types past four), one line
    per place: ``statistics[]: "a"|"b"|...``; the shallowest places first, while they fit. Below a
    union told apart by ``type`` only the types are listed (each option has its own keys)."""
    found: dict[str, list[Any]] = {}
    _elided(schema, "", _LISTED_DEPTH, found)
    ordered = sorted(found.items(), key=lambda kv: kv[0].count(".") + kv[0].count("[]"))
    lines: list[str] = []
    for path, values in ordered[:_LISTED_LINES]:
        line = f"{path}: " + "|".join(json.dumps(v) for v in values)
        if sum(map(len, lines)) + len(line) > _LISTED_BUDGET:
            break
        lines.append(line)
    return "\n".join(lines)


@cache
def _shapes() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("shapes.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)["shapes"]
    return data


def shapes_of(action_id: str) -> dict[str, str]:
    """``{"attributes": ..., "record": ...}`` for an operation (either may be missing)."""
    return _shapes().get(action_id, {})

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

__all__ = ["render_shape", "shapes_of"]

_BUDGET = 700
_MAX_ENUM = 6
_MAX_UNION = 4


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


@cache
def _shapes() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("shapes.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)["shapes"]
    return data


def shapes_of(action_id: str) -> dict[str, str]:
    """``{"attributes": ..., "record": ...}`` for an operation (either may be missing)."""
    return _shapes().get(action_id, {})

"""One runnable example call per action, for ``get_signature``.

An example is a Python expression an agent can paste into ``execute_code``: valid literals
(``True``, never JSON ``true``), every required parameter, required filters, and a body built from
the request schema's required members to their full depth. Ids the agent must supply are written
``"<type id>"`` (``"<list id>"``): the only thing to replace. Actions whose meaning a schema cannot
carry (a metric-aggregate filter, a flow definition, a report timeframe) take a hand-written call
from ``examples.json`` beside this module; ``tests/search/test_examples.py`` runs every one against
the demo simulator inside the sandbox.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from codemode.catalog import Action
from codemode.search._shapes import shapes_of

__all__ = ["ID_PLACEHOLDER", "example_call", "literal", "path_type"]

# ``"<list id>"``, ``"<catalog-item id>"``: an id the caller fills in.
ID_PLACEHOLDER = re.compile(r'"<([a-z][a-z-]*) id>"')
_PREFERRED = ("name", "title", "label", "subject", "first_name", "email")
_GENERIC = frozenset(
    {"filter", "sort", "page_size", "page_cursor", "fields", "include", "additional_fields"}
)


@cache
def _curated() -> dict[str, str]:
    text = resources.files(__package__).joinpath("examples.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)["examples"]
    return data


def _singular(segment: str) -> str:
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    if segment.endswith(("sses", "ches")):
        return segment[:-2]
    return segment[:-1] if segment.endswith("s") and not segment.endswith("ss") else segment


def path_type(action: Action) -> str | None:
    """The resource type a path's ``{id}`` names (``/api/lists/{id}/profiles`` -> ``list``)."""
    parts = [p for p in action.path.split("/") if p]
    for i, part in enumerate(parts):
        if part.startswith("{") and i:
            return _singular(parts[i - 1])
    return None


def literal(value: Any) -> str:
    """``value`` as a compact Python literal (``True``/``None``, double quotes)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(f"{json.dumps(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(str(value))


def _identifier_type(schema: Mapping[str, Any]) -> str | None:
    """The type of a JSON:API resource identifier schema ({type, id}), else None."""
    props = schema.get("properties") or {}
    enum = (props.get("type") or {}).get("enum") or []
    if "id" in props and enum and set(props) <= {"type", "id", "meta"}:
        return str(enum[0])
    return None


def instance(schema: Mapping[str, Any], name: str = "", depth: int = 0) -> Any:
    """The smallest valid-looking value for ``schema``: required members, first enum, formats."""
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return instance(schema[key][0], name, depth)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = instance(part, name, depth)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if schema.get("enum"):
        return schema["enum"][0]
    if depth > 12:
        return None
    kind = schema.get("type")
    props: Mapping[str, Any] = schema.get("properties") or {}
    if kind == "object" or props:
        rtype = _identifier_type(schema)
        if rtype:
            return {"type": rtype, "id": f"<{rtype} id>"}
        keys = [k for k in schema.get("required") or () if k in props]
        if not keys and name == "attributes":
            # An update needs something to change: the first of the usual naming fields. A
            # resource named inside another's body (the profile a subscription or event is for)
            # is named by what identifies it: its email, not its job title.
            order = ("email", *_PREFERRED) if depth else _PREFERRED
            keys = [k for k in order if k in props][:1]
        out = {k: instance(props[k], k, depth + 1) for k in keys}
        type_enum = (props.get("type") or {}).get("enum") or []
        if "id" in out and type_enum:
            out["id"] = f"<{type_enum[0]} id>"
        return out
    if kind == "array":
        return [instance(schema.get("items") or {}, name, depth + 1)]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return _text(schema, name)


def _text(schema: Mapping[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if name.endswith("_id") and name != "external_id":
        # metric_id, conversion_metric_id: an id of the resource the name ends with.
        return f"<{name[:-3].rsplit('_', 1)[-1]} id>"
    if fmt == "date-time":
        return "2026-06-01T00:00:00+00:00"
    if fmt == "date":
        return "2026-06-01"
    if "email" in name or fmt == "email":
        return "ada@example.com"
    if "phone" in name:
        return "+15005550006"
    if "url" in name or fmt in ("uri", "url"):
        return "https://example.com/page"
    return "Example"


def _body_args(action: Action) -> list[str]:
    assert action.body is not None
    data = (action.body.schema.get("properties") or {}).get("data") or {}
    if data.get("type") == "array" or action.body.array:
        item = data.get("items") or {}
        rtype = _identifier_type(item) or action.body.resource_type or "resource"
        return [f'ids=["<{rtype} id>"]']
    one = _identifier_type(data)
    if one:
        # A to-one relationship swap: the body is just the identifier of the new target.
        return [f'body={{"data": {{"type": "{one}", "id": "<{one} id>"}}}}']
    props = data.get("properties") or {}
    required = set(data.get("required") or ())
    args: list[str] = []
    if "id" in props and "id" in required and not any(p.name == "id" for p in action.path_params):
        rtype = ((props.get("type") or {}).get("enum") or [action.body.resource_type])[0]
        args.append(f'id="<{rtype} id>"')
    if "attributes" in props:
        attrs = instance(props["attributes"], "attributes")
        if attrs or "attributes" in required:
            args.append(f"attributes={literal(attrs)}")
    rels = props.get("relationships") or {}
    if rels and "relationships" in required:
        out: dict[str, Any] = {}
        for rel in rels.get("required") or ():
            rel_data = ((rels.get("properties") or {}).get(rel) or {}).get("properties", {})
            node = rel_data.get("data") or {}
            many = node.get("type") == "array"
            rtype = _identifier_type(node.get("items") or {} if many else node) or rel
            out[rel] = [f"<{rtype} id>"] if many else f"<{rtype} id>"
        args.append(f"relationships={literal(out)}")
    return args


def record_values(action_id: str, name: str) -> list[str]:
    """The fixed values a returned record's top-level ``name`` takes, as its shape draws them."""
    record = shapes_of(action_id).get("record", "")
    found = re.search(rf'(?:^\{{|, ){re.escape(name)}\??: ((?:"[^"]*"\|)*"[^"]*")', record)
    return re.findall(r'"([^"]*)"', found.group(1)) if found else []


def _filter_arg(action: Action) -> list[str]:
    """A filter on the first plain field that takes ``equals``: shows the ``F`` builder at work."""
    for name, spec in action.filters.items():
        plain = not name.startswith("_") and name.count(".") < 2
        id_like = name == "id" or name.endswith((".id", "_id"))
        if "equals" not in spec.operators or not plain or id_like:
            continue
        if spec.type.startswith("bool"):
            value = "True"
        elif spec.type.startswith("str"):
            # A field with fixed values (form_type, review_type, a job's status) shows one of
            # them: "Example" there matches nothing and reads like a value to copy.
            values = record_values(action.id, name)
            value = literal(
                values[0] if values else "ada@example.com" if "email" in name else "Example"
            )
        else:
            continue
        return [f"filter=F.equals({literal(name)}, {value})"]
    return []


def example_call(action: Action) -> str:
    """A call of ``action`` that runs once its ``"<type id>"`` placeholders are real ids."""
    curated = _curated().get(action.id)
    if curated:
        return curated
    args: list[str] = []
    rtype = path_type(action)
    for p in action.path_params:
        args.append(f'{p.name}="<{rtype} id>"')
    for p in action.params:
        if p.location == "path" or not p.required or p.name in _GENERIC:
            continue
        value = "<company id>" if p.name == "company_id" else p.enum[0] if p.enum else "Example"
        args.append(f"{p.name}={literal(value)}")
    if action.method == "GET" and action.filters:
        args += _filter_arg(action)
    if action.body is not None and action.body.required:
        args += _body_args(action)
    return f"{action.function}({', '.join(args)})"

"""Request bodies: the full JSON:API document, or plain keywords the SDK wraps with the right type.

``attributes={...}``, ``relationships={"lists": ["id1"], "profile": "id"}`` (ids), ``id=`` (when no
path parameter supplies ``data.id``), ``meta=`` and, for relationship endpoints whose body is a list
of identifiers, ``ids=[...]``; when it is one identifier, ``related_id=`` (the path's ``id`` names
the owner, ``data.id`` the related resource). The resource type and relationship types come from the catalog's body
schema; PATCH bodies carry the path id as ``data.id``.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from codemode.catalog import Action
from codemode.klaviyo._messages import fail as _fail
from codemode.klaviyo._messages import options as _options

__all__ = ["body_id_keyword", "body_shape", "build_body"]


def body_shape(action: Action) -> dict[str, Any]:
    """What the body schema offers: ``data`` kind, attribute/relationship schemas, id and meta.

    Returns a dict with ``array`` (bool), ``type`` (resource type), ``attributes`` (schema or None),
    ``attributes_required`` (bool), ``relationships`` (name -> schema), ``relationships_required``,
    ``id`` (True when ``data.id`` exists), ``id_required`` and ``meta`` (bool).
    """
    out: dict[str, Any] = {
        "array": False,
        "type": None,
        "attributes": None,
        "attributes_required": False,
        "relationships": {},
        "relationships_required": False,
        "id": False,
        "id_required": False,
        "meta": False,
    }
    if action.body is None:
        return out
    data = (action.body.schema.get("properties") or {}).get("data") or {}
    out["type"] = action.body.resource_type
    if data.get("type") == "array" or action.body.array:
        out["array"] = True
        item = data.get("items") or {}
        enum = ((item.get("properties") or {}).get("type") or {}).get("enum") or []
        out["type"] = out["type"] or (enum[0] if enum else None)
        return out
    props = data.get("properties") or {}
    required = set(data.get("required") or ())
    enum = (props.get("type") or {}).get("enum") or []
    out["type"] = out["type"] or (enum[0] if enum else None)
    if "attributes" in props:
        out["attributes"] = props["attributes"]
        out["attributes_required"] = "attributes" in required
    if "relationships" in props:
        out["relationships"] = dict(props["relationships"].get("properties") or {})
        out["relationships_required"] = "relationships" in required
    out["id"] = "id" in props
    out["id_required"] = "id" in required
    out["meta"] = "meta" in props
    return out


def body_id_keyword(action: Action, shape: Mapping[str, Any]) -> str | None:
    """The keyword that carries the body's ``data.id``, or None when the path's ``id`` supplies it.

    On a relationship endpoint (``.../relationships/<name>``) ``data.id`` is the related resource,
    never the owner the path names, so it has a keyword of its own: ``related_id``.
    """
    if not shape["id"]:
        return None
    if not any(p.name == "id" for p in action.path_params):
        return "id"
    return "related_id" if "/relationships/" in action.path else None


def _jsonable(action: Action, value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(
            action, f"{where} is {value}, which JSON cannot carry; use a finite number or None"
        )
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(action, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(action, v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise _fail(
        action,
        f"{where} holds a {type(value).__name__}, which is not JSON; use str, number, bool, list or dict",
    )


def _relationships(action: Action, shape: Mapping[str, Any], value: Any) -> dict[str, Any]:
    schemas: Mapping[str, Any] = shape["relationships"]
    if not isinstance(value, Mapping):
        raise _fail(
            action,
            "relationships must be a dict such as {'list': 'id'} or {'lists': ['id1']}",
            "relationships",
        )
    out: dict[str, Any] = {}
    for raw_name, ids in value.items():
        name = str(raw_name)
        if name not in schemas and name.replace("_", "-") in schemas:
            name = name.replace("_", "-")
        if name not in schemas:
            raise _fail(
                action,
                f"no relationship {raw_name!r}; {_options(name, list(schemas))}",
                "relationships",
            )
        if isinstance(ids, Mapping):
            out[name] = _jsonable(action, ids, f"relationships.{name}")
            continue
        data_schema = ((schemas[name].get("properties") or {}).get("data")) or {}
        many = data_schema.get("type") == "array"
        item_schema = data_schema.get("items", {}) if many else data_schema
        enum = ((item_schema.get("properties") or {}).get("type") or {}).get("enum") or []
        if not enum:
            raise _fail(
                action,
                f"pass relationships[{name!r}] as the full {{'data': ...}} object",
                "relationships",
            )
        rtype = enum[0]
        if ids is None:
            out[name] = {"data": [] if many else None}
        elif isinstance(ids, str | int) and not isinstance(ids, bool):
            one = {"type": rtype, "id": str(ids)}
            out[name] = {"data": [one] if many else one}
        elif isinstance(ids, Sequence) and many:
            out[name] = {"data": [{"type": rtype, "id": str(i)} for i in ids]}
        else:
            want = "a list of ids" if many else "one id string"
            raise _fail(action, f"relationships[{name!r}] takes {want}", "relationships")
    return out


def _attributes(action: Action, shape: Mapping[str, Any], value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(action, "attributes must be a dict of the resource's attributes", "attributes")
    schema: Mapping[str, Any] = shape["attributes"] or {}
    props = schema.get("properties") or {}
    if props and schema.get("additionalProperties") is not True:
        for key in value:
            if key not in props:
                raise _fail(
                    action,
                    f"unknown attribute {key!r}; {_options(str(key), sorted(props))}",
                    "attributes",
                )
    missing = [r for r in schema.get("required") or () if r not in value]
    if missing:
        raise _fail(
            action, f"attributes is missing required {', '.join(map(repr, missing))}", "attributes"
        )
    result: dict[str, Any] = _jsonable(action, value, "attributes")
    return result


def build_body(action: Action, params: Mapping[str, Any], path_values: Mapping[str, Any]) -> Any:
    """The JSON body for ``action`` from ``params`` (None when the action takes none or none was given).

    Raises:
        ValidationError: conflicting forms, missing required parts, unknown attributes or relationships.
    """
    if action.body is None:
        return None
    shape = body_shape(action)
    forms = [n for n in ("attributes", "relationships", "ids", "meta") if n in params]
    id_keyword = body_id_keyword(action, shape)
    if id_keyword is not None and id_keyword in params:
        forms.append(id_keyword)
    if "body" in params:
        if forms:
            raise _fail(action, f"pass either body=... or {', '.join(forms)}=..., not both", "body")
        body = params["body"]
        if not isinstance(body, Mapping) or "data" not in body:
            raise _fail(
                action,
                "body must be the full JSON:API document {'data': ...}; or pass attributes={...}",
                "body",
            )
        return _jsonable(action, body, "body")
    rtype = shape["type"]
    if shape["array"]:
        if "ids" not in params:
            if action.body.required:
                raise _fail(
                    action, f"needs ids=[...] (the {rtype} ids) or body={{'data': [...]}}", "ids"
                )
            return None
        ids = params["ids"]
        if isinstance(ids, str) or not isinstance(ids, Sequence):
            raise _fail(action, f"ids must be a list of {rtype} ids", "ids")
        return {"data": [{"type": rtype, "id": str(i)} for i in ids]}
    bare = (
        not shape["attributes_required"]
        and not shape["relationships_required"]
        and (id_keyword is None or not shape["id_required"])
    )
    if not forms and not (action.body.required and bare):
        if not action.body.required:
            return None
        need = ["attributes={...}"] if shape["attributes"] is not None else []
        if shape["relationships_required"] or (shape["relationships"] and not need):
            need.append("relationships={...}")
        if shape["id_required"] and id_keyword is not None:
            need.append(f"{id_keyword}=...")
        required = (shape["attributes"] or {}).get("required") or []
        req = f" (required attributes: {', '.join(required)})" if required else ""
        raise _fail(
            action,
            f"needs a body: pass {', '.join(need) or 'body=...'}{req}, or body={{'data': ...}}",
            "body",
        )
    data: dict[str, Any] = {"type": rtype}
    if shape["id"]:
        body_id = path_values.get("id") if id_keyword is None else params.get(id_keyword)
        if body_id is not None:
            data["id"] = str(body_id)
        elif shape["id_required"]:
            what = "the related" if id_keyword == "related_id" else "the"
            raise _fail(
                action,
                f"needs {id_keyword or 'id'}=... ({what} {rtype} id this request acts on)",
                id_keyword or "id",
            )
    if "attributes" in params:
        data["attributes"] = _attributes(action, shape, params["attributes"])
    elif shape["attributes_required"]:
        required = (shape["attributes"] or {}).get("required") or []
        req = f" (required: {', '.join(required)})" if required else ""
        raise _fail(action, f"needs attributes={{...}}{req}", "attributes")
    if "relationships" in params:
        data["relationships"] = _relationships(action, shape, params["relationships"])
    elif shape["relationships_required"]:
        raise _fail(
            action,
            f"needs relationships={{...}}; {_options('', list(shape['relationships']))}",
            "relationships",
        )
    if "meta" in params:
        data["meta"] = _jsonable(action, params["meta"], "meta")
    return {"data": data}

"""Signatures and docstrings of the SDK methods, shared by the runtime and stub generators.

Used by ``tools/gen_sdk.py`` only; one place decides each action's parameters (mirroring
``codemode.klaviyo._params.accepted_params``), their annotations, docs and return description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from codemode.catalog import Action
from codemode.klaviyo._body import body_id_keyword, body_shape
from codemode.klaviyo._params import filter_requirement, ordered_query_params

LITERAL_MAX = 12  # closed sets longer than this are typed as str and listed in the docstring
DOC_LIST_MAX = 40  # longest list of names spelled out in a docstring
FORM_DOCS = {  # the upload form's plain fields (the file has its own doc)
    "name": "the image's name in the library (default: the file's name; a clash gets a suffix).",
    "hidden": "True keeps the image out of the asset library listing.",
}


def camel(name: str) -> str:
    """``catalog-item`` / ``data_privacy`` -> ``CatalogItem`` / ``DataPrivacy``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_.\s]+", name) if part)


def literal(values: Iterable[Any]) -> str:
    """``Literal["a", "b"]`` of the values."""
    return "Literal[" + ", ".join(repr(str(v)).replace("'", '"') for v in values) + "]"


def record_type(text: str) -> str:
    """A catalog field type (``str | None``, ``dict``) as a stub annotation."""
    return re.sub(r"\bdict\b(?!\[)", "dict[str, Any]", text)


def schema_type(schema: Mapping[str, Any], depth: int = 0) -> str:
    """A short Python annotation for a JSON schema (request attributes)."""
    if "oneOf" in schema or "anyOf" in schema:
        options = [
            schema_type(s, depth + 1) for s in schema.get("oneOf") or schema.get("anyOf") or []
        ]
        out = " | ".join(dict.fromkeys(options)) or "Any"
    elif (
        schema.get("enum")
        and len(schema["enum"]) <= 8
        and all(isinstance(v, str) for v in schema["enum"])
    ):
        out = literal(schema["enum"])
    else:
        kind = schema.get("type")
        if kind == "string":
            out = "DateTime" if schema.get("format") in ("date-time", "date") else "str"
        elif kind == "integer":
            out = "int"
        elif kind == "number":
            out = "float"
        elif kind == "boolean":
            out = "bool"
        elif kind == "array":
            item = schema_type(schema.get("items") or {}, depth + 1) if depth < 2 else "Any"
            out = f"list[{item}]"
        elif kind == "object":
            out = "dict[str, Any]"
        else:
            out = "Any"
    if schema.get("nullable") and "None" not in out.split(" | "):
        out += " | None"
    return out


def names_list(names: Iterable[str], limit: int = DOC_LIST_MAX) -> str:
    """Comma-separated names, truncated with a count."""
    items = list(names)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


class Param:
    """One parameter of a generated method: name, runtime and stub annotations, default, doc."""

    def __init__(
        self, name: str, runtime: str, stub: str, *, required: bool, positional: bool, doc: str
    ) -> None:
        self.name = name
        self.runtime = runtime
        self.stub = stub
        self.required = required
        self.positional = positional
        self.doc = doc


def params_for(action: Action) -> list[Param]:
    """The method parameters of an action, in signature order (mirrors ``accepted_params``)."""
    out: list[Param] = []
    for p in action.path_params:
        out.append(
            Param(
                p.name,
                "str",
                "str",
                required=True,
                positional=True,
                doc="(required) the resource id.",
            )
        )
    query = ordered_query_params(action)
    for p in query:
        req = "(required) " if p.required else ""
        if p.name == "filter":
            listing = "; ".join(
                f"{n} ({', '.join(f.operators)})" for n, f in sorted(action.filters.items())
            )
            # A field the summary names first ("a channel filter (messages.channel: ...) is
            # required"): the example is then one Klaviyo accepts.
            required = filter_requirement(action.summary)
            named = sorted(action.filters.items(), key=lambda kv: kv[0] not in required)
            example = next(
                (
                    f'F.equals("{n}", ...)'
                    for n, f in named
                    if "equals" in f.operators and not n.startswith("_")
                ),
                "F.equals(field, value)",
            )
            doc = f"{req}Klaviyo filter, e.g. {example}; join with F.and_. Filterable: {listing or 'see Klaviyo docs'}."
            annotation = "str | Filter"
        elif p.name == "sort":
            closed = bool(p.enum) and len(p.enum) <= LITERAL_MAX
            # A Literal in the signature already lists the keys; the doc only explains the '-'.
            keys = (
                "a key from the type" if closed else f"one of {names_list(str(e) for e in p.enum)}"
            )
            doc = f"{req}{keys}; a leading '-' sorts descending."
            annotation = literal(p.enum) if closed else "str"
        elif p.name == "page_size":
            bounds = action.page_size
            doc = (
                f"records per page, {bounds.min}..{bounds.max} (default {bounds.default})."
                if bounds
                else f"records per page (max {p.maximum:g})."
            )
            annotation = "int"
        elif p.name == "page_cursor":
            doc = "cursor or links.next URL of the previous page; result.all() pages for you."
            annotation = "str"
        else:
            doc = f"{req}{p.wire} query parameter" + (
                f", one of {names_list(map(str, p.enum))}." if p.enum else "."
            )
            annotation = (
                literal(p.enum)
                if p.enum and len(p.enum) <= LITERAL_MAX
                else ("int" if p.type == "int" else "str")
            )
        if not p.required:
            annotation += " | None"
        out.append(
            Param(p.name, annotation, annotation, required=p.required, positional=False, doc=doc)
        )
    if action.fields:
        # The action's own resource type first: it is the one callers trim most often.
        primary = action.response.resource_type
        types = sorted(action.fields, key=lambda t: (t != primary, t))
        listing = "; ".join(
            f"{t}: {names_list(f for f in action.fields[t] if '.' not in f)}" for t in types
        )
        out.append(
            Param(
                "fields",
                "Mapping[str, Sequence[str] | str] | None",
                "Mapping[str, Sequence[str] | str] | None",
                required=False,
                positional=False,
                doc=f"sparse fieldsets by type, e.g. {{'{types[0]}': [...]}}. {listing}.",
            )
        )
    if action.additional_fields:
        listing = "; ".join(f"{t}: {', '.join(v)}" for t, v in action.additional_fields.items())
        out.append(
            Param(
                "additional_fields",
                "Mapping[str, Sequence[str] | str] | None",
                "Mapping[str, Sequence[str] | str] | None",
                required=False,
                positional=False,
                doc=f"extra data off by default: {listing}.",
            )
        )
    if action.include:
        inc = literal(action.include) if len(action.include) <= LITERAL_MAX else "str"
        out.append(
            Param(
                "include",
                f"Sequence[{inc}] | str | None",
                f"Sequence[{inc}] | str | None",
                required=False,
                positional=False,
                doc="related resources to add to result.included"
                + ("." if inc != "str" else f": {', '.join(action.include)}."),
            )
        )
    if action.body is not None:
        out.extend(body_params(action))
    return out


def form_params(action: Action) -> list[Param]:
    """The form fields of a file upload (``multipart/form-data``): the file as content."""
    assert action.body is not None
    required = set(action.body.schema.get("required") or ())
    out: list[Param] = []
    for name, schema in (action.body.schema.get("properties") or {}).items():
        req = "(required) " if name in required else ""
        if schema.get("format") == "binary":
            annotation = "bytes | str | None"
            doc = (
                f"{req}the image itself (JPEG, PNG or GIF, at most 5 MB): bytes, or its base64 "
                "text (in the sandbox, base64 or bytes); never a path."
            )
        else:
            annotation = schema_type(schema) + " | None"
            doc = req + FORM_DOCS.get(name, f"the {name} form field.")
        out.append(Param(name, annotation, annotation, required=False, positional=False, doc=doc))
    return out


def body_params(action: Action) -> list[Param]:
    """``body=`` plus the plain forms the SDK wraps into a JSON:API document."""
    if action.body is not None and action.body.multipart:
        return form_params(action)
    shape = body_shape(action)
    rtype = shape["type"]
    out: list[Param] = []
    document = Param(
        "body",
        "Mapping[str, Any] | None",
        "Mapping[str, Any] | None",
        required=False,
        positional=False,
        doc="the full JSON:API document {'data': ...}, instead of the keywords above.",
    )
    if shape["array"]:
        out.append(
            Param(
                "ids",
                "Sequence[str] | None",
                "Sequence[str] | None",
                required=False,
                positional=False,
                doc=f"the {rtype} ids (wrapped as {{'data': [{{'type': '{rtype}', 'id': ...}}]}}).",
            )
        )
        return [*out, document]
    id_keyword = body_id_keyword(action, shape)
    if id_keyword is not None:
        req = "(required) " if shape["id_required"] else ""
        what = (
            f"the related {rtype} to point the relationship at"
            if id_keyword == "related_id"
            else "the resource this request acts on"
        )
        out.append(
            Param(
                id_keyword,
                "str | None",
                "str | None",
                required=False,
                positional=False,
                doc=f"{req}the id sent as data.id: {what}.",
            )
        )
    if shape["attributes"] is not None:
        attrs = shape["attributes"]
        props = attrs.get("properties") or {}
        required = list(attrs.get("required") or [])
        optional = [k for k in props if k not in required]
        doc = f"{'(required) ' if shape['attributes_required'] else ''}the {rtype} attributes"
        doc += f"; required keys: {', '.join(required)}" if required else ""
        doc += f"; optional: {names_list(optional)}" if optional else ""
        stub = f"{camel(action.id)}Attributes | None" if props else "Mapping[str, Any] | None"
        out.append(
            Param(
                "attributes",
                "Mapping[str, Any] | None",
                stub,
                required=False,
                positional=False,
                doc=doc + ".",
            )
        )
    if shape["relationships"]:
        rels = ", ".join(shape["relationships"])
        req = "(required) " if shape["relationships_required"] else ""
        out.append(
            Param(
                "relationships",
                "Mapping[str, str | Sequence[str] | Mapping[str, Any] | None] | None",
                "Mapping[str, str | Sequence[str] | Mapping[str, Any] | None] | None",
                required=False,
                positional=False,
                doc=f"{req}related ids by name ({rels}): an id, a list of ids, or {{'data': ...}}.",
            )
        )
    if shape["meta"]:
        out.append(
            Param(
                "meta",
                "Mapping[str, Any] | None",
                "Mapping[str, Any] | None",
                required=False,
                positional=False,
                doc="the document's data.meta object.",
            )
        )
    return [*out, document]


def record_name(rtype: str | None) -> str:
    """The TypedDict name of a resource type's flattened record."""
    return f"{camel(rtype)}Record" if rtype else "Record"


def returns_doc(action: Action) -> str:
    """The ``Returns:`` line of an action's docstring."""
    response = action.response
    if response.status == 204 or not response.resource_type:
        if response.status == 204:
            return "Result with no data (204: done)."
        return f"Result ({response.status}); .raw holds Klaviyo's document."
    record = record_name(response.resource_type)
    if response.collection:
        paged = (
            " One page; iterate every page with result.all(max_items=...)."
            if action.paginated
            else ""
        )
        return f"Result whose .data is a list of {record}.{paged}"
    job = " (an async job: poll its status)" if response.status == 202 else ""
    return f"Result whose .data is one {record}{job}."


def docstring(action: Action, params: list[Param]) -> str:
    """The docstring shared by the runtime method and the stub."""
    lines = [
        action.summary,
        "",
        f"{action.method} {action.path} ({action.kind}; scopes: {', '.join(action.scopes) or 'none'}).",
    ]
    if params:
        lines += ["", "Args:"]
        lines += [f"    {p.name}: {p.doc}" for p in params]
    lines += ["", "Returns:", f"    {returns_doc(action)}"]
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return text


def signature(action: Action, params: list[Param], *, stub: bool, is_async: bool) -> str:
    """``def name(self, id: str, *, filter: ... = None) -> R:``."""
    parts = ["self"]
    positional = [p for p in params if p.positional]
    keyword_only = [p for p in params if not p.positional]
    for p in positional:
        parts.append(f"{p.name}: {p.stub if stub else p.runtime}")
    if keyword_only:
        parts.append("*")
    for p in keyword_only:
        annotation = p.stub if stub else p.runtime
        parts.append(f"{p.name}: {annotation}" + ("" if p.required else " = None"))
    if stub:
        returns = f"Result[{record_name(action.response.resource_type) if action.response.status != 204 else 'Record'}]"
    else:
        returns = "Result"
    prefix = "async def" if is_async else "def"
    return f"{prefix} {action.id}({', '.join(parts)}) -> {returns}:"


def indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.splitlines())

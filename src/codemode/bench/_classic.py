"""The baseline: a conventional MCP server with one tool per catalog action.

This is what code mode is measured against, built for real on the official ``mcp`` SDK: every
action in the catalog (the 162 of the product plus the 12 async-job reads that some of them need)
becomes a tool whose description is the action's one-line summary and whose input schema is
generated from the catalog (path and query parameters, sparse fieldsets, includes and the full
request-body JSON schema). Each call goes through the project's SDK and returns the raw JSON:API
document as text, which is what a conventional server puts in front of the model.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext

from codemode.catalog import Action, Catalog, load_catalog

__all__ = ["ActionCaller", "build_classic_server", "input_schema", "tool_definitions"]

ActionCaller = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]
"""``await call(operation_id, arguments)`` -> the raw JSON:API document (None for 204)."""

_JSON_TYPES = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}


def _param_schema(action: Action, name: str) -> dict[str, Any]:
    param = next(p for p in action.params if p.name == name)
    schema: dict[str, Any] = {"type": _JSON_TYPES.get(param.type, "string")}
    if param.enum:
        schema["enum"] = list(param.enum)
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    if param.default is not None:
        schema["default"] = param.default
    if name == "filter" and action.filters:
        # The operators per field are what an agent needs to write a valid filter; a generated
        # server carries them in the parameter description (Klaviyo's own spec does the same).
        fields = "; ".join(
            f"{field}: {', '.join(spec.operators)}" for field, spec in action.filters.items()
        )
        schema["description"] = f"JSON:API filter, e.g. equals(field,value). Fields: {fields}"
    elif name == "page_cursor":
        schema["description"] = "Cursor from links.next of the previous page"
    return schema


def _facet_schema(facets: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            rtype: {"type": "array", "items": {"type": "string", "enum": list(names)}}
            for rtype, names in facets.items()
        },
        "additionalProperties": False,
    }


def input_schema(action: Action) -> dict[str, Any]:
    """The tool's JSON schema, generated from the catalog record of ``action``."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in action.params:
        properties[param.name] = _param_schema(action, param.name)
        if param.required:
            required.append(param.name)
    if action.fields:
        properties["fields"] = _facet_schema(action.fields)
    if action.additional_fields:
        properties["additional_fields"] = _facet_schema(action.additional_fields)
    if action.include:
        properties["include"] = {
            "type": "array",
            "items": {"type": "string", "enum": list(action.include)},
        }
    if action.body is not None:
        properties["body"] = dict(action.body.schema)
        if action.body.required:
            required.append("body")
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _annotations(action: Action) -> types.ToolAnnotations:
    return types.ToolAnnotations(
        read_only_hint=action.kind == "read",
        destructive_hint=action.kind == "destructive",
    )


def classic_actions(catalog: Catalog) -> list[Action]:
    """The classic baseline's actions: the 162 core ones, the job reads they need, and extensions.

    The other operations of the OpenAPI document stay out, so the baseline keeps the shape the
    benchmark was defined with (DESIGN: "classic 162-tool mode") and its figures stay comparable.
    """
    return [
        a
        for a in catalog.values()
        if a.core
        or a.source not in ("builtin", "companion")
        or (a.companion_of is not None and catalog[a.companion_of].core)
    ]


def tool_definitions(catalog: Catalog | None = None) -> list[types.Tool]:
    """One tool per classic action (``classic_actions``), in catalog order."""
    catalog = catalog if catalog is not None else load_catalog()
    return [
        types.Tool(
            name=action.id,
            description=action.summary,
            input_schema=input_schema(action),
            annotations=_annotations(action),
        )
        for action in classic_actions(catalog)
    ]


def build_classic_server(call: ActionCaller, catalog: Catalog | None = None) -> Server[Any]:
    """The one-tool-per-action MCP server; every tool call goes through ``call``.

    Successful calls return the raw document as JSON text (and as ``structuredContent`` when it is
    an object); failures return ``isError`` with the error message, as the MCP spec asks.
    """
    catalog = catalog if catalog is not None else load_catalog()
    tools = tool_definitions(catalog)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name not in catalog:
            return _error(f"unknown tool {params.name!r}")
        try:
            doc = await call(params.name, dict(params.arguments or {}))
        except Exception as exc:  # the agent must see the failure as a result, not a crash
            return _error(f"{type(exc).__name__}: {exc}")
        text = (
            json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            if doc is not None
            else "(no content)"
        )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structured_content=doc if isinstance(doc, dict) else None,
        )

    return Server(
        "klaviyo-classic",
        version="1",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )

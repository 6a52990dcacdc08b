"""The three MCP tools: their descriptions (written for the model), schemas and annotations.

Together the descriptions teach the workflow: search, then signature, then a short script that
prints only what is needed. Each tool returns text for the model plus ``structuredContent``
matching its ``outputSchema`` (:mod:`.results`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from pydantic import AnyUrl, Field, ValidationError

from codemode.catalog import quote_name
from codemode.server.results import ExecuteResult, SearchResult, SignatureResult

if TYPE_CHECKING:
    from codemode.server.runtime import Runtime

__all__ = ["EXECUTE_DOC", "GET_SIGNATURE_DOC", "SEARCH_DOC", "ToolServer", "register_tools"]

SEARCH_DOC = """Find SDK functions for a task (`klaviyo.<group>.<fn> [kind] [policy] - \
summary`); a confident top hit includes its signature, else call get_signature."""

GET_SIGNATURE_DOC = """Call details for search_api names: params, filter fields and operators, \
paging, include, shapes, an example."""

EXECUTE_DOC = """Run Python; returns what it prints. `klaviyo` SDK calls return a Result: \
iterate records, `.data`, `.all()` pages, `.next_cursor`, `.included`. Filters: \
`F.equals("email", x)`, `F.any`, `F.greater_than`, `F.and_`. Errors raise NotFoundError, \
BadRequestError, RateLimitError, PolicyError. `store` persists (pass `session` back); dry_run \
plans writes."""

_READ_ONLY_NOTE = "\nThis server is read-only: writes are refused."


# search_api and get_signature only read the shipped catalog: safe to call and to repeat.
_LOOKUP = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


class ToolServer(MCPServer[Any]):
    """The SDK's server, with a wrong tool call or prompt answered in a line the model can act on.

    For arguments that fail a tool's schema the SDK would return pydantic's report ("1 validation
    error for search_apiArguments ... For further information visit https://errors.pydantic.dev/
    ..."): several lines, a link, and not the bounds :func:`_drop_titles` leaves out of the listed
    schemas. For a prompt's unknown argument it would answer "Error rendering prompt" and log a
    traceback.

    A name the client sent is repeated in these answers only when it has a name's shape and the
    scanner (``flagged``, set by :func:`register_tools`) reads no instruction in it
    (:func:`quote_name`): they are the server's own words, which no screen reads.
    """

    flagged: Callable[[str], bool] | None = None

    def _quoted(self, name: str) -> str:
        return quote_name(name, flagged=self.flagged)

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        try:
            return await super().read_resource(uri, context)
        except ResourceNotFoundError as exc:
            known = [str(r.uri) for r in self._resource_manager.list_resources()]
            known += [t.uri_template for t in self._resource_manager.list_templates()]
            raise ResourceNotFoundError(
                f"unknown resource {quote_name(str(uri), 200, self.flagged)}; "
                f"the resources are {', '.join(known)}"
            ) from exc

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[Any, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            known = ", ".join(p.name for p in self._prompt_manager.list_prompts())
            raise MCPError(
                INVALID_PARAMS, f"unknown prompt {self._quoted(name)}; the prompts are {known}"
            )
        declared = {a.name: bool(a.required) for a in prompt.arguments or ()}
        given = set(arguments or {})
        unknown = sorted(given - set(declared))
        missing = sorted(n for n, required in declared.items() if required and n not in given)
        if unknown or missing:
            takes = ", ".join(f"{n}{'' if r else ' (optional)'}" for n, r in declared.items())
            problem = (
                f"has no argument {', '.join(map(self._quoted, unknown[:5]))}"
                + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
                if unknown
                else f"needs {', '.join(map(repr, missing))}"
            )
            raise MCPError(
                INVALID_PARAMS, f"prompt {name!r} {problem}; it takes {takes or 'no arguments'}"
            )
        return await super().get_prompt(name, arguments, context)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            tool = self._tool_manager.get_tool(name)
            if tool is None:
                tools = ", ".join(t.name for t in self._tool_manager.list_tools())
                raise ToolError(
                    f"unknown tool {self._quoted(name)}; this server's tools are {tools}"
                ) from None
            if not isinstance(exc.__cause__, ValidationError):
                raise
            # Chained to the same cause: the SDK still logs only the field names.
            raise ToolError(argument_error(name, exc.__cause__, tool.parameters)) from exc.__cause__


_JSON_TYPES = {
    "string": "a string",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


_PYTHON = {"string": "str", "integer": "int", "boolean": "bool", "array": "list", "object": "dict"}


def _expected(schema: dict[str, Any]) -> str:
    kind = str(schema.get("type", "a value"))
    if kind == "array":
        item = schema.get("items", {}).get("type")
        return f"a list of {item}s" if item else "a list"
    return _JSON_TYPES.get(kind, kind)


def _call_shape(name: str, parameters: dict[str, Any]) -> str:
    required = set(parameters.get("required", ()))
    parts = []
    for arg, schema in parameters.get("properties", {}).items():
        kind = _PYTHON.get(str(schema.get("type")), "Any")
        if kind == "list":
            kind = f"list[{_PYTHON.get(str(schema.get('items', {}).get('type')), 'Any')}]"
        text = f"{arg}: {kind}"
        if arg not in required:
            text += f" = {schema.get('default')!r}"
        parts.append(text)
    return f"{name}({', '.join(parts)})"


def argument_error(name: str, error: ValidationError, parameters: dict[str, Any]) -> str:
    """One line per argument that failed, then the call's shape."""
    properties = parameters.get("properties", {})
    problems: list[str] = []
    for item in error.errors():
        arg = str(item["loc"][0]) if item["loc"] else "arguments"
        kind, bound = item["type"], (item.get("ctx") or {})
        if kind == "missing":
            problems.append(f"{arg!r} is required")
        elif kind == "greater_than_equal":
            problems.append(f"{arg!r} must be at least {bound.get('ge')}")
        elif kind == "greater_than":
            problems.append(f"{arg!r} must be greater than {bound.get('gt')}")
        elif kind == "less_than_equal":
            problems.append(f"{arg!r} must be at most {bound.get('le')}")
        elif kind == "less_than":
            problems.append(f"{arg!r} must be less than {bound.get('lt')}")
        elif kind == "too_short":
            problems.append(f"{arg!r} needs at least {bound.get('min_length')} item(s)")
        elif kind == "too_long":
            problems.append(
                f"{arg!r} takes at most {bound.get('max_length')} items; split the call"
            )
        elif arg in properties and len(item["loc"]) == 1:
            got = type(item.get("input")).__name__
            problems.append(f"{arg!r} must be {_expected(properties[arg])} (got {got})")
        else:
            where = ".".join(str(part) for part in item["loc"])
            problems.append(f"{where!r}: {item['msg'].lower()}")
    return f"{name}: {'; '.join(problems)}. Call it as {_call_shape(name, parameters)}."


def register_tools(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add ``search_api``, ``get_signature`` and ``execute_code`` to ``server``."""
    read_only = runtime.settings.read_only
    if isinstance(server, ToolServer):
        server.flagged = runtime.flagged

    @server.tool(
        name="search_api",
        title="Search the Klaviyo API",
        description=SEARCH_DOC,
        annotations=_LOOKUP,
        structured_output=True,
    )
    async def search_api(
        query: str,
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> Annotated[CallToolResult, SearchResult]:
        hits, unserved = await anyio.to_thread.run_sync(runtime.rank, query, limit)
        result, text = runtime.present(query, hits, unserved, ctx)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json", exclude_none=True),
        )

    @server.tool(
        name="get_signature",
        title="Get SDK signatures",
        description=GET_SIGNATURE_DOC,
        annotations=_LOOKUP,
        structured_output=True,
    )
    async def get_signature(
        names: Annotated[list[str], Field(min_length=1, max_length=20)],
        ctx: Context,
    ) -> Annotated[CallToolResult, SignatureResult]:
        # Off the event loop, as search's ranking is: an unknown name is read by the scanner
        # before a message repeats it (the model loads on the first; about 15 ms each after).
        result, text, all_unknown = await anyio.to_thread.run_sync(runtime.signatures, names, ctx)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
            is_error=all_unknown,
        )

    @server.tool(
        name="execute_code",
        title="Run a Klaviyo script",
        description=EXECUTE_DOC + (_READ_ONLY_NOTE if read_only else ""),
        annotations=ToolAnnotations(
            read_only_hint=read_only,
            destructive_hint=not read_only,
            idempotent_hint=False,
            open_world_hint=True,
        ),
        structured_output=True,
    )
    async def execute_code(
        code: str,
        ctx: Context,
        dry_run: bool = False,
        session: str | None = None,
    ) -> Annotated[CallToolResult, ExecuteResult]:
        result, text = await runtime.execute(ctx, code, dry_run=dry_run, session=session)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
            is_error=result.error is not None,
        )

    _drop_titles(server)


def _drop_titles(server: MCPServer[Any]) -> None:
    """Trim the listed input schemas to what a model needs to write the arguments.

    Pydantic's ``title`` keys repeat each parameter's name, ``anyOf [X, null]`` with a null default
    says no more than an optional ``X``, and the bounds on ``limit`` and ``names`` are enforced on
    the call (:class:`ToolServer` names them in its error) whether or not they are listed. The
    model pays for every definition token on every turn.
    """
    for name in ("search_api", "get_signature", "execute_code"):
        tool = server._tool_manager.get_tool(name)  # the SDK keeps schemas on its manager only
        if tool is not None:
            _strip(tool.parameters)


_BOUNDS = ("minimum", "maximum", "minItems", "maxItems")


def _strip(schema: Any) -> None:
    if isinstance(schema, dict):
        schema.pop("title", None)
        for key in _BOUNDS:
            schema.pop(key, None)
        options = schema.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
            schema.update(next(o for o in options if o != {"type": "null"}))
            del schema["anyOf"]
            if schema.get("default", 0) is None:
                del schema["default"]
        for key, value in list(schema.items()):
            if key == "properties" and isinstance(value, dict):
                for prop in value.values():
                    _strip(prop)
            elif key in ("anyOf", "items"):
                for item in value if isinstance(value, list) else [value]:
                    _strip(item)

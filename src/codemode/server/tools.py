"""The three MCP tools: their descriptions (written for the model), schemas and annotations.

Together the descriptions teach the workflow: search, then signature, then a short script that
prints only what is needed. Each tool returns text for the model plus ``structuredContent``
matching its ``outputSchema`` (:mod:`.results`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from codemode.sandbox.guards import allowed_modules
from codemode.server.results import ExecuteResult, SearchResult, SignatureResult

if TYPE_CHECKING:
    from codemode.server.runtime import Runtime

__all__ = ["EXECUTE_DOC", "GET_SIGNATURE_DOC", "SEARCH_DOC", "register_tools"]

SEARCH_DOC = """Find Klaviyo SDK functions for a task (the whole Klaviyo API is available).
Returns ranked functions (`klaviyo.<group>.<id>`), each with a one-line summary and kind \
(read, write, destructive); a mark says when this server refuses one or asks the user first \
(only the user can change that). Next: get_signature on the ones you will call."""

GET_SIGNATURE_DOC = """Exact Python signatures, parameter docs and return shapes of SDK functions.
Pass ids (`get_profiles`) or paths (`klaviyo.profiles.get_profiles`) from search_api. Read them \
before writing code for execute_code."""

EXECUTE_DOC = """Run a Python script against the Klaviyo API; returns only what it prints.
`klaviyo` is the SDK (sync calls, e.g. `klaviyo.profiles.get_profiles(page_size=100)`; a result \
has `.data`, iterates its records, `.all()` follows every page); `store` is a dict kept across \
runs of this session (JSON values). Raw responses stay in the sandbox: filter and aggregate in \
the script, print just the answer (output is capped). dry_run=true performs reads and returns \
the planned writes without sending them. Pass `session` from the last result to keep its store."""

_READ_ONLY_NOTE = "\nThis server is read-only: writes are refused."


# search_api and get_signature only read the shipped catalog: safe to call and to repeat.
_LOOKUP = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def register_tools(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add ``search_api``, ``get_signature`` and ``execute_code`` to ``server``."""
    read_only = runtime.settings.read_only

    @server.tool(
        name="search_api",
        title="Search the Klaviyo API",
        description=SEARCH_DOC,
        annotations=_LOOKUP,
        structured_output=True,
    )
    async def search_api(
        query: Annotated[
            str, Field(description="The task in plain words, e.g. 'profiles in a list'")
        ],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=20, description="How many functions to return")] = 5,
    ) -> Annotated[CallToolResult, SearchResult]:
        result, text = runtime.search(query, limit, ctx)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
        )

    @server.tool(
        name="get_signature",
        title="Get SDK signatures",
        description=GET_SIGNATURE_DOC,
        annotations=_LOOKUP,
        structured_output=True,
    )
    async def get_signature(
        names: Annotated[
            list[str],
            Field(min_length=1, max_length=20, description="Function ids or paths from search_api"),
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, SignatureResult]:
        result, text, all_unknown = runtime.signatures(names, ctx)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
            is_error=all_unknown,
        )

    @server.tool(
        name="execute_code",
        title="Run a Klaviyo script",
        description=EXECUTE_DOC
        + f"\nImports: {', '.join(allowed_modules())}."
        + (_READ_ONLY_NOTE if read_only else ""),
        annotations=ToolAnnotations(
            read_only_hint=read_only,
            destructive_hint=not read_only,
            idempotent_hint=False,
            open_world_hint=True,
        ),
        structured_output=True,
    )
    async def execute_code(
        code: Annotated[
            str, Field(description="Python source; use `klaviyo` and `store`, print the answer")
        ],
        ctx: Context,
        dry_run: Annotated[
            bool, Field(description="Perform reads, plan writes without sending them")
        ] = False,
        session: Annotated[
            str | None, Field(description="The `session` of an earlier result, to keep its store")
        ] = None,
    ) -> Annotated[CallToolResult, ExecuteResult]:
        result, text = await runtime.execute(ctx, code, dry_run=dry_run, session=session)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=result.model_dump(mode="json"),
            is_error=result.error is not None,
        )

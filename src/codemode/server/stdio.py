"""Stdio serving that answers unparsable lines with a JSON-RPC parse error.

The mcp SDK's stdio transport hands a line it cannot parse to the session as an exception, which
logs and drops it; the client then waits for an answer that never comes. JSON-RPC says a frame
that is not valid JSON gets ``{"id": null, "error": {"code": -32700}}`` (and one that is JSON but
not a message gets -32600), so a reader between the transport and the session answers those
itself and forwards everything else untouched.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["serve_stdio"]


def _error_for(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error answering a frame the transport could not read."""
    if isinstance(exc, ValidationError) and any(
        e.get("type") != "json_invalid" for e in exc.errors()
    ):
        code, message = (
            INVALID_REQUEST,
            "Invalid request: the line is JSON but not a JSON-RPC 2.0 message",
        )
    else:
        code, message = (
            PARSE_ERROR,
            "Parse error: each line must be one JSON-RPC message in UTF-8 JSON",
        )
    return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=code, message=message))


async def serve_stdio(lowlevel_server: Any) -> None:
    """Run ``lowlevel_server`` (the SDK's low-level server) over this process's stdin/stdout."""
    async with stdio_server() as (read_stream, write_stream):
        forward_writer, forward_reader = anyio.create_memory_object_stream[
            SessionMessage | Exception
        ](0)

        async def screen() -> None:
            async with forward_writer:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        await write_stream.send(SessionMessage(_error_for(item)))
                        continue
                    await forward_writer.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(screen)
            await lowlevel_server.run(
                forward_reader, write_stream, lowlevel_server.create_initialization_options()
            )
            tg.cancel_scope.cancel()

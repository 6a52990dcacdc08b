"""Stdio serving that answers unparsable lines with a JSON-RPC parse error.

The mcp SDK's stdio transport hands a line it cannot parse to the session as an exception, which
logs and drops it; the client then waits for an answer that never comes. JSON-RPC says a frame
that is not valid JSON gets ``{"id": null, "error": {"code": -32700}}`` (and one that is JSON but
not a message gets -32600), so a reader between the transport and the session answers those
itself and forwards everything else untouched.

Started with an :class:`~codemode.server.handshake.EarlyInitialize` (``codemode serve``), the first
line was read, and perhaps answered, before the SDK was loaded: it goes to the session first, and
the session's answer to an ``initialize`` already answered is dropped (logged if it differs).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

if TYPE_CHECKING:
    from codemode.server.handshake import EarlyInitialize

__all__ = ["serve_stdio"]

logger = logging.getLogger("codemode.server")


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


def _first(early: EarlyInitialize | None) -> SessionMessage | Exception | None:
    """The line read before the SDK was loaded, as the transport would have read it."""
    line = early.join().line if early is not None else None
    if line is None:
        return None
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_json(line, by_name=False))
    except Exception as exc:  # the transport hands the session the same exception
        return exc


def _is_answer_to(message: SessionMessage, answered: dict[str, Any]) -> bool:
    inner = message.message
    return isinstance(inner, JSONRPCResponse) and inner.id == answered["id"]


async def serve_stdio(lowlevel_server: Any, early: EarlyInitialize | None = None) -> None:
    """Run ``lowlevel_server`` (the SDK's low-level server) over this process's stdin/stdout.

    ``early``: the first line, read (and perhaps answered) before the SDK was loaded.
    """
    first = _first(early)
    answered = early.answered if early is not None else None
    async with stdio_server() as (read_stream, write_stream):
        forward_writer, forward_reader = anyio.create_memory_object_stream[
            SessionMessage | Exception
        ](0)
        # The session's own kind of stream (it carries each request's context to its answer).
        out_writer, out_reader = create_context_streams[SessionMessage](0)

        async def relay() -> None:
            pending = answered
            # Closing the transport's stream at the end lets it finish (the session closed it
            # itself when it wrote there directly).
            async with out_reader, write_stream:
                async for message in out_reader:
                    if pending is not None and _is_answer_to(message, pending):
                        sent = pending["result"]
                        ours = json.loads(
                            message.message.model_dump_json(by_alias=True, exclude_none=True)
                        ).get("result")
                        if ours != sent:
                            logger.warning(
                                "the early answer to initialize differed from the SDK's: %s != %s",
                                sent,
                                ours,
                            )
                        pending = None
                        continue
                    await write_stream.send(message)

        async def screen() -> None:
            async with forward_writer:
                if isinstance(first, Exception):
                    await write_stream.send(SessionMessage(_error_for(first)))
                elif first is not None:
                    await forward_writer.send(first)
                async for item in read_stream:
                    if isinstance(item, Exception):
                        await write_stream.send(SessionMessage(_error_for(item)))
                        continue
                    await forward_writer.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(screen)
            tg.start_soon(relay)
            async with out_writer:
                await lowlevel_server.run(
                    forward_reader, out_writer, lowlevel_server.create_initialization_options()
                )
            tg.cancel_scope.cancel()

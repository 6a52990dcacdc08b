"""Stdio serving that answers unparsable lines with a JSON-RPC parse error.

The mcp SDK's stdio transport hands a line it cannot parse to the session as an exception, which
logs and drops it; the client then waits for an answer that never comes. JSON-RPC says a frame
that is not valid JSON gets ``{"id": null, "error": {"code": -32700}}`` (and one that is JSON but
not a message gets -32600), so a reader between the transport and the session answers those
itself and forwards everything else untouched.

Started with an :class:`~codemode.server.handshake.EarlyAnswers` (``codemode serve``), the first
lines were read, and perhaps answered, before the SDK was loaded: they go to the session first, and
the session's answers to the requests already answered are dropped (logged if they differ).
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
    from codemode.server.handshake import EarlyAnswers

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


def _early_lines(early: EarlyAnswers | None) -> list[SessionMessage | Exception]:
    """The lines read before the SDK was loaded, as the transport would have read them."""
    if early is None:
        return []
    read: list[SessionMessage | Exception] = []
    for line in early.finish().lines:
        try:
            read.append(SessionMessage(jsonrpc_message_adapter.validate_json(line, by_name=False)))
        except Exception as exc:  # the transport hands the session the same exception
            read.append(exc)
    return read


def _answered_early(
    message: SessionMessage, pending: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The early answer ``message`` repeats (removed from ``pending``), or None."""
    inner = message.message
    if not isinstance(inner, JSONRPCResponse):
        return None
    for i, answered in enumerate(pending):
        if inner.id == answered["id"]:
            return pending.pop(i)
    return None


async def serve_stdio(lowlevel_server: Any, early: EarlyAnswers | None = None) -> None:
    """Run ``lowlevel_server`` (the SDK's low-level server) over this process's stdin/stdout.

    ``early``: the reader that took the first lines (and perhaps answered them) while the SDK
    loaded; it is stopped here, before the SDK's transport takes stdin over.
    """
    first = _early_lines(early)
    pending = list(early.answered) if early is not None else []
    async with stdio_server() as (read_stream, write_stream):
        forward_writer, forward_reader = anyio.create_memory_object_stream[
            SessionMessage | Exception
        ](0)
        # The session's own kind of stream (it carries each request's context to its answer).
        out_writer, out_reader = create_context_streams[SessionMessage](0)

        async def relay() -> None:
            # Closing the transport's stream at the end lets it finish (the session closed it
            # itself when it wrote there directly).
            async with out_reader, write_stream:
                async for message in out_reader:
                    if pending and (sent := _answered_early(message, pending)) is not None:
                        ours = json.loads(
                            message.message.model_dump_json(by_alias=True, exclude_none=True)
                        ).get("result")
                        if ours != sent["result"]:
                            logger.warning(
                                "the early answer to request %r differed from the SDK's: %s != %s",
                                sent["id"],
                                sent["result"],
                                ours,
                            )
                        else:
                            logger.debug(
                                "the SDK's answer to request %r was sent early", sent["id"]
                            )
                        continue
                    await write_stream.send(message)

        async def screen() -> None:
            async with forward_writer:
                for item in first:
                    if isinstance(item, Exception):
                        await write_stream.send(SessionMessage(_error_for(item)))
                    else:
                        await forward_writer.send(item)
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

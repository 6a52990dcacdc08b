"""The stdio server answers ``initialize`` and ``tools/list`` while it is still loading.

An MCP client that starts ``codemode serve`` per conversation sends ``initialize``, then
``notifications/initialized`` and ``tools/list``, and shows the server as ready once it has the
tools. Both answers are fixed: the first is the server's name, title, version, instructions and
capabilities with the protocol revision it agrees to; the second is the three tools' definitions,
which depend only on the read-only setting. Importing the ``mcp`` SDK alone, needed for everything
else, takes about 0.3 to 0.8 s. So :class:`EarlyAnswers` reads stdin on a thread as soon as the
process starts and answers those requests (and ``ping``) straight away. Every line it read is handed
to the SDK's session once it is loaded, in order: the session goes through the real handshake (it
records the client's capabilities and revision) and lists its tools, and its own answers to the ids
already answered, which must be the same, are dropped (a differing one is logged). The first line
without a fixed answer, and everything after it, is the SDK's to answer. What the client gains is
that its start and its tool listing overlap ours; its first ``tools/call`` still waits for the load.

A client that reuses the id of a request answered early before the SDK has caught up could have the
SDK's answer to its new request dropped in place of the old one; ids are unique per connection in
every client we know (a counter), and the SDK answers the listed requests first.

This module imports nothing of ``mcp`` and nothing heavy; ``tests/server/test_handshake.py``
checks that both answers equal the SDK's for every revision, and ``tools/gen_tools_list.py
--check`` (``make check-generated``) that the stored tool list is current.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import threading
from typing import Any

__all__ = [
    "CAPABILITIES",
    "HANDSHAKE_VERSIONS",
    "INSTRUCTIONS",
    "NAME",
    "TITLE",
    "TOOLS_LIST_FILE",
    "EarlyAnswers",
    "initialize_result",
    "server_version",
    "tools_list_result",
]

NAME = "klaviyo-codemode"
TITLE = "Klaviyo (code mode)"
INSTRUCTIONS = (
    "The whole Klaviyo API through three tools: search_api to find functions, get_signature to "
    "read their exact parameters, execute_code to run a short Python script that prints only the "
    "answer. Raw API data never reaches you; only what the script prints."
)
# mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS (oldest first); the last is the counter-offer.
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
CAPABILITIES: dict[str, Any] = {
    "prompts": {"listChanged": False},
    "resources": {"listChanged": False, "subscribe": False},
    "tools": {"listChanged": False},
}
_MAX_LINE = 1 << 20
TOOLS_LIST_FILE = "tools_list.json"


def server_version() -> str:
    """This package's installed version (``0`` when run from a checkout without an install)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("codemode")
    except PackageNotFoundError:  # running from a checkout without an install
        return "0"


def initialize_result(requested: str) -> dict[str, Any]:
    """The ``result`` of the answer to ``initialize`` for a client asking for ``requested``."""
    agreed = requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1]
    return {
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "protocolVersion": agreed,
        "serverInfo": {"name": NAME, "title": TITLE, "version": server_version()},
    }


def _well_formed_initialize(message: Any) -> bool:
    """A request the SDK accepts as ``initialize`` as it stands (else the SDK answers it)."""
    if _request_method(message) != "initialize":
        return False
    params = message.get("params")
    if not isinstance(params, dict):
        return False
    info = params.get("clientInfo")
    return (
        isinstance(params.get("protocolVersion"), str)
        and isinstance(params.get("capabilities"), dict)
        and isinstance(info, dict)
        and isinstance(info.get("name"), str)
        and isinstance(info.get("version"), str)
    )


class EarlyAnswers:
    """Reads stdin on a thread while the server loads, answering what has a fixed answer.

    ``initialize`` as the first line, then ``ping`` and a first-page ``tools/list`` (the tool
    definitions depend only on ``read_only``; their wire form is generated into
    ``tools_list.json``). Every line read is kept for the SDK's session, answered or not, so the
    session goes through the same requests in the same order. Reading stops at the first line
    without a fixed answer (the SDK answers it and all after it), at the end of input, or when
    :meth:`finish` is called at a line boundary. Lines are read from fd 0 one byte at a time, so
    nothing after the last line kept is consumed: the SDK's transport, which reads from its own
    duplicate of fd 0, finds the rest of the stream intact.
    """

    def __init__(self, *, read_only: bool = False, fd_in: int = 0, fd_out: int = 1) -> None:
        self._fd_in = fd_in
        self._fd_out = fd_out
        self._read_only = read_only
        self.lines: list[bytes] = []
        """Every line read, in order (without its newline), for the SDK's session."""
        self.answered: list[dict[str, Any]] = []
        """The answers sent (id and result); the SDK's later answers to those ids are dropped."""
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="codemode-initialize", daemon=True)

    @classmethod
    def start(cls, *, read_only: bool = False, fd_in: int = 0, fd_out: int = 1) -> EarlyAnswers:
        """Start reading now; :meth:`finish` before the SDK takes over stdin and stdout."""
        early = cls(read_only=read_only, fd_in=fd_in, fd_out=fd_out)
        early._thread.start()
        return early

    def finish(self) -> EarlyAnswers:
        """Stop at the next line boundary (a line being read is read to its end) and wait."""
        if self._stop.is_set():
            return self
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        return self

    def _read_line(self) -> bytes | None:
        data = bytearray()
        while len(data) <= _MAX_LINE:
            chunk = os.read(self._fd_in, 1)
            if not chunk:
                return bytes(data) if data else None
            if chunk == b"\n":
                return bytes(data)
            data += chunk
        return bytes(data)  # an over-long line: the SDK reports it; nothing is answered here

    def _next_line(self) -> bytes | None:
        """The next line, or None at the end of input or once :meth:`finish` was called."""
        ready, _, _ = select.select([self._fd_in, self._wake_r], [], [])
        if self._stop.is_set() or self._wake_r in ready:
            return None
        return self._read_line()

    def _run(self) -> None:
        try:
            while (line := self._next_line()) is not None:
                self.lines.append(line)
                answer = self._fixed_answer(line)
                if answer is None:
                    return
                if answer:
                    self._send(answer)
        except (OSError, ValueError):
            return

    def _fixed_answer(self, line: bytes) -> dict[str, Any] | None:
        """The answer to ``line`` when it has a fixed one here (id and result), else None.

        ``{}``: a notification that needs no answer and leaves the next line answerable here.
        """
        if len(line) > _MAX_LINE:
            return None
        try:
            message = json.loads(line)
        except ValueError:
            return None
        if not self.answered:  # nothing but a well-formed initialize comes first
            if not _well_formed_initialize(message):
                return None
            return {
                "id": message["id"],
                "result": initialize_result(message["params"]["protocolVersion"]),
            }
        method = _request_method(message)
        if method == "ping":
            return {"id": message["id"], "result": {}}
        if method == "tools/list" and set(message.get("params") or {}) <= {"_meta"}:
            return {"id": message["id"], "result": tools_list_result(read_only=self._read_only)}
        if method is None and _is_initialized_notification(message):
            return {}  # no answer, and the next line may still have a fixed one
        return None

    def _send(self, answer: dict[str, Any]) -> None:
        payload = (
            json.dumps({"jsonrpc": "2.0", **answer}, separators=(",", ":"), ensure_ascii=False)
            + "\n"
        ).encode()
        self.answered.append(answer)  # before it can arrive: the SDK's copy must be dropped
        try:
            while payload:
                payload = payload[os.write(self._fd_out, payload) :]
        except OSError:
            self.answered.pop()  # not (wholly) sent: the SDK's answer goes out instead
            raise


def _request_method(message: Any) -> str | None:
    """The method of a well-formed JSON-RPC request with an id, else None."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    if set(message) - {"jsonrpc", "id", "method", "params"}:
        return None
    ident, method, params = message.get("id"), message.get("method"), message.get("params")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)) or not isinstance(method, str):
        return None
    if params is not None and not isinstance(params, dict):
        return None
    return method


def _is_initialized_notification(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and message.get("method") == "notifications/initialized"
        and "id" not in message
        and isinstance(message.get("params", {}), dict)
    )


def tools_list_result(*, read_only: bool) -> dict[str, Any]:
    """The wire ``result`` of ``tools/list`` (generated by ``tools/gen_tools_list.py``)."""
    global _TOOLS_LISTS
    if _TOOLS_LISTS is None:
        from importlib import resources

        text = resources.files("codemode.server").joinpath(TOOLS_LIST_FILE).read_text("utf-8")
        _TOOLS_LISTS = json.loads(text)
    return _TOOLS_LISTS["read_only" if read_only else "read_write"]  # type: ignore[no-any-return]


_TOOLS_LISTS: dict[str, Any] | None = None

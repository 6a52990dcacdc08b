"""The stdio server answers ``initialize`` while it is still loading.

An MCP client that starts ``codemode serve`` per conversation waits for the answer to its first
message, ``initialize``. That answer is fixed (the server's name, title, version, instructions and
capabilities, and the protocol revision it agrees to), but importing the ``mcp`` SDK alone, needed
for everything after it, takes about 0.3 to 0.5 s. So :class:`EarlyInitialize` reads the first line
from fd 0 on a thread as soon as the process starts, answers a well-formed ``initialize`` straight
away, and hands the same line to the SDK's session once it is loaded: the session goes through the
real handshake (it records the client's capabilities and revision), and its own answer, which must
be the same, is dropped (a differing one is logged). Every later request is answered by the SDK as
before, so ``tools/list`` still waits for the import; what the client gains is that its own start
(the handshake round trip) overlaps ours.

This module imports nothing of ``mcp`` and nothing heavy; ``tests/server/test_handshake.py``
checks that the answer equals the SDK's for every revision, so the copies below cannot drift.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

__all__ = [
    "CAPABILITIES",
    "HANDSHAKE_VERSIONS",
    "INSTRUCTIONS",
    "NAME",
    "TITLE",
    "EarlyInitialize",
    "initialize_result",
    "server_version",
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
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return False
    if message.get("method") != "initialize" or set(message) - {
        "jsonrpc",
        "id",
        "method",
        "params",
    }:
        return False
    ident = message.get("id")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)):
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


class EarlyInitialize:
    """Reads the first line of stdin on a thread and answers it when it is ``initialize``.

    The line is read from fd 0 one byte at a time, so nothing after it is consumed: the SDK's
    transport, which reads from its own duplicate of fd 0, finds the rest of the stream intact.
    """

    def __init__(self, *, fd_in: int = 0, fd_out: int = 1) -> None:
        self._fd_in = fd_in
        self._fd_out = fd_out
        self.line: bytes | None = None
        """The first line as read (without its newline), or None at end of input."""
        self.answered: dict[str, Any] | None = None
        """The answer sent (id and result), or None when the SDK must answer the line itself."""
        self._thread = threading.Thread(target=self._run, name="codemode-initialize", daemon=True)

    @classmethod
    def start(cls, *, fd_in: int = 0, fd_out: int = 1) -> EarlyInitialize:
        """Start reading now; :meth:`join` before the SDK takes over stdin and stdout."""
        early = cls(fd_in=fd_in, fd_out=fd_out)
        early._thread.start()
        return early

    def join(self) -> EarlyInitialize:
        """Wait until the first line has been read and, if it was ``initialize``, answered."""
        self._thread.join()
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

    def _run(self) -> None:
        try:
            self.line = self._read_line()
        except OSError:
            return
        if self.line is None:
            return
        try:
            message = json.loads(self.line)
        except ValueError:
            return
        if not _well_formed_initialize(message):
            return
        result = initialize_result(message["params"]["protocolVersion"])
        answer = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        payload = (json.dumps(answer, separators=(",", ":")) + "\n").encode()
        try:
            while payload:
                payload = payload[os.write(self._fd_out, payload) :]
        except OSError:
            return
        self.answered = answer

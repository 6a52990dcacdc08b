"""Messages between the host, the zygote and the workers: length-prefixed JSON frames.

Worker channel (a ``SOCK_STREAM`` socketpair, fd 3 in the worker), in order::

    worker -> host   {"t": "hello", "isolation": {...}}          after confinement, before any code
    host   -> worker {"code", "store", "names", "dry_run", "output_bytes", "store_bytes"}
    worker -> host   {"t": "out", "s": text}                      each print, until the output cap
    worker -> host   {"t": "call", "op": id, "params": {...}}     one SDK call; the host answers
    host   -> worker {"ok": true, "raw", "status"} | {"ok": false, "error": {...}}
    worker -> host   {"t": "done", "error": null | {...}, "store": {...} | null, "dropped": n}

Zygote channel (a ``SOCK_SEQPACKET`` socketpair: one datagram per message, descriptors travel
with the spawn request)::

    zygote -> host   {"t": "ready"}
    host   -> zygote {"t": "spawn", "limits": {...}} + [worker socket, stdio pipe]
    zygote -> host   {"t": "spawned", "pid": n}
    host   -> zygote {"t": "reap", "pid": n}
    zygote -> host   {"t": "reaped", "pid": n, "code": n | null, "signal": n | null, "cpu_s": x}

The host never trusts what a worker sends: frames are size-capped, decoding errors end the run,
and every field is checked before use.
"""

from __future__ import annotations

import json
import math
import socket
from typing import Any

__all__ = [
    "HEADER",
    "MAX_HOST_FRAME",
    "MAX_WORKER_FRAME",
    "ProtocolError",
    "decode",
    "encode",
    "encode_answer",
    "finite",
    "recv_frame",
    "send_frame",
]

HEADER = 4
MAX_WORKER_FRAME = 8 * 1024 * 1024  # worker -> host: call params (bulk jobs) and the final store
MAX_HOST_FRAME = 64 * 1024 * 1024  # host -> worker: one page of API data


class ProtocolError(Exception):
    """A peer sent something that is not a well-formed frame (or closed the channel mid-frame)."""


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def encode(message: dict[str, Any]) -> bytes:
    """One frame: 4-byte big-endian length, then compact UTF-8 JSON (NaN and infinities as null)."""
    try:
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # a non-finite float somewhere (an upstream answer may carry one)
        text = json.dumps(finite(message), separators=(",", ":"), ensure_ascii=False)
    # "replace": a lone surrogate (valid in a JSON string, not in UTF-8) becomes "?" instead of
    # an exception on either side.
    body = text.encode("utf-8", "replace")
    return len(body).to_bytes(HEADER, "big") + body


def encode_answer(raw_json: str, status: int) -> bytes:
    """The frame of a successful call whose document is already compact JSON.

    ``raw_json`` must come from ``json.dumps(..., allow_nan=False)`` (the bridge's
    ``compact_json``): it is spliced in as it is, so the answer is not encoded twice.
    """
    body = f'{{"ok":true,"status":{int(status)},"raw":{raw_json}}}'.encode("utf-8", "replace")
    return len(body).to_bytes(HEADER, "big") + body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes) -> dict[str, Any]:
    """The message of a frame body (NaN and infinities are refused: they are not JSON).

    Raises:
        ProtocolError: not JSON, too deep, or not an object.
    """
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"undecodable frame: {type(exc).__name__}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return message


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            if chunks:
                raise ProtocolError("channel closed in the middle of a frame")
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def send_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one message on a blocking socket (worker side)."""
    sock.sendall(encode(message))


def recv_frame(sock: socket.socket, max_bytes: int = MAX_HOST_FRAME) -> dict[str, Any] | None:
    """Receive one message on a blocking socket; None when the peer closed cleanly."""
    header = _recv_exact(sock, HEADER)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > max_bytes:
        raise ProtocolError(f"frame of {size} bytes exceeds {max_bytes}")
    body = _recv_exact(sock, size) if size else b""
    if body is None:
        raise ProtocolError("channel closed in the middle of a frame")
    return decode(body)

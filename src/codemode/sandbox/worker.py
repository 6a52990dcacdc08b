"""The worker: runs one script inside a confined, forked process and reports back.

:func:`run` is the whole execution given a request and a channel (the tests call it in-process
with a fake channel); :func:`serve` is what the forked child does: say hello with its isolation
report, read the request, run, send ``done``. Never imports httpx or the SDK client.
"""

from __future__ import annotations

import json
import socket
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from codemode.klaviyo._errors import KlaviyoError
from codemode.klaviyo._jsonapi import MissingKey
from codemode.sandbox import guards
from codemode.sandbox.protocol import recv_frame, send_frame
from codemode.sandbox.proxy import ERROR_CLASSES, F, SdkProxy, WorkerChannel

__all__ = ["SocketChannel", "describe", "run", "serve"]

_MAX_MESSAGE = 2000


class HostGone(Exception):
    """The host closed the channel: nothing left to do but exit."""


class SocketChannel:
    """The worker's end of its message socket (blocking)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, message: dict[str, Any]) -> None:
        """Send one message."""
        try:
            send_frame(self.sock, message)
        except OSError:
            raise HostGone from None

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send and wait for the host's answer."""
        self.send(message)
        reply = recv_frame(self.sock)
        if reply is None:
            raise HostGone
        return reply


def _script_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == guards.SCRIPT_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a script exception whose __str__ fails
        text = ""
    return text[:_MAX_MESSAGE]


# In a dry run a write returns no record: ``.data`` is None, and a script that goes on to read it
# (``create_list(...).data["id"]``) meets Python's bare TypeError unless it is told why.
_NONE_READ = ("'NoneType' object is not subscriptable", "'NoneType' object has no attribute")
DRY_RUN_NONE = (
    "; in a dry run a write is planned, not sent, so its result holds no record (.data is None): "
    "skip what reads it when result.meta.get('dry_run') is true"
)


def describe(exc: BaseException, *, memory_mb: int, dry_run: bool = False) -> dict[str, Any]:
    """The error as the agent sees it: type, a short reason written to be fixed, script line."""
    kind = type(exc).__name__
    message = _text(exc)
    if dry_run and isinstance(exc, (TypeError, AttributeError)) and message.startswith(_NONE_READ):
        message += DRY_RUN_NONE
    elif isinstance(exc, NameError) and getattr(exc, "name", None):
        reason = guards.closed_name_reason(str(exc.name))
        if reason:
            message = f"{exc.name} is not available in the sandbox: {reason}"
    elif isinstance(exc, MemoryError):
        kind = "LimitError"
        message = (
            f"memory limit of {memory_mb} MiB exceeded; handle fewer records at a time "
            "(smaller page_size, max_items, or keep only the fields you need)"
        )
    elif isinstance(exc, MissingKey):  # a record's key: the agent knows it as a KeyError
        kind = "KeyError"
    elif isinstance(exc, RecursionError):
        message = "maximum recursion depth exceeded; use a loop instead of deep recursion"
    elif isinstance(exc, KlaviyoError) and exc.status and str(exc.status) not in message:
        message = f"HTTP {exc.status}: {message}"
    elif isinstance(exc, (SystemExit, KeyboardInterrupt, GeneratorExit)):
        message = "scripts cannot stop the interpreter; let the script reach its end instead"
    if not message:
        message = kind
    return {"type": kind, "message": message, "line": _script_line(exc)}


def _store_problem(value: Any, limit: int) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return (
            None,
            f"store must stay a dict (it is now a {type(value).__name__}); put values in it instead",
        )
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        bad = next((k for k, v in value.items() if not _is_json(v)), None)
        where = f"store[{bad!r}]" if bad is not None else "the store"
        return None, (
            f"{where} is not JSON ({exc}); store only str, int, float, bool, None, lists and dicts"
        )
    except RecursionError:
        return None, "the store is nested too deeply (or refers to itself); keep it flat"
    except MemoryError:
        return (
            None,
            f"the store is far over its limit of {limit} bytes: keep only what the next script needs",
        )
    size = len(text.encode("utf-8"))
    if size > limit:
        return (
            None,
            f"store is {size} bytes as JSON; the limit is {limit} bytes: keep only what the next script needs",
        )
    return json.loads(text), None


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def run(request: Mapping[str, Any], channel: WorkerChannel) -> dict[str, Any]:
    """Compile and run one script; the ``done`` message for the host."""
    memory_mb = int(request.get("memory_mb", 0))
    sink = guards.OutputSink(
        int(request["output_bytes"]), lambda text: channel.send({"t": "out", "s": text})
    )
    sys.stdout = sys.stderr = sink  # stray writes are output too
    error: dict[str, Any] | None = None
    namespace: dict[str, Any] = {}
    store_in = request.get("store")
    try:
        code = guards.compile_script(str(request["code"]))
    except guards.CompileFailure as exc:
        error = {"type": exc.kind, "message": exc.message, "line": exc.line}
    else:
        extra: dict[str, Any] = {
            "klaviyo": SdkProxy(
                channel,
                request.get("names") or {},
                call_bytes=int(request.get("call_bytes") or 1024 * 1024),
            ),
            "store": dict(store_in) if isinstance(store_in, dict) else {},
            "F": F,
        }
        extra.update(ERROR_CLASSES)
        namespace = guards.build_globals(sink, extra)
        try:
            exec(code, namespace)
        # SystemExit and friends included: the run ends here either way.
        except BaseException as exc:
            if isinstance(exc, MemoryError):  # free the script's data so the report fits
                store_value = namespace.get("store")
                namespace.clear()
                namespace["store"] = store_value
            error = describe(exc, memory_mb=memory_mb, dry_run=bool(request.get("dry_run")))
    done: dict[str, Any] = {"t": "done", "error": error, "store": None, "dropped": sink.dropped}
    if "store" in namespace:
        store, problem = _store_problem(namespace["store"], int(request["store_bytes"]))
        if problem and error is None:
            done["error"] = {"type": "StoreError", "message": problem, "line": None}
        done["store"] = store
    return done


def serve(sock: socket.socket, isolation: Mapping[str, Any]) -> None:
    """The forked worker's life: hello, request, run, done."""
    channel = SocketChannel(sock)
    try:
        loaded = any(name == "httpx" or name == "codemode.klaviyo._client" for name in sys.modules)
        channel.send({"t": "hello", "isolation": {**isolation, "sdk_client_loaded": loaded}})
        request = recv_frame(sock)
        if request is None:
            return
        channel.send(run(request, channel))
    except HostGone:
        return
    except Exception:  # a bug of ours: the host reports "no result"; keep a trace for operators
        traceback.print_exc(file=sys.__stderr__)

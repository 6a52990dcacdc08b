"""The host side: the zygote, one worker per execution, the conversation, and the result.

``Sandbox.execute`` asks the zygote for a fresh worker (a fork, confined before it reads any
code), streams the script to it, serves its SDK calls through a :class:`Bridge`, and kills the
worker's process group when the script ends, fails, runs out of wall time or the caller cancels.
Nothing a worker sends is trusted: frames are size-capped and every field is checked.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from codemode.sandbox.bridge import Bridge, BridgeReply, monotonic_ms
from codemode.sandbox.channel import AsyncChannel
from codemode.sandbox.limits import Limits
from codemode.sandbox.protocol import ProtocolError
from codemode.sandbox.result import CallRecord, ErrorInfo, ExecutionResult
from codemode.sandbox.spawn import SandboxError, ZygoteClient

__all__ = ["ProgressCallback", "Sandbox", "SandboxError"]

log = logging.getLogger("codemode.sandbox")

ProgressCallback = Callable[[int, str], Awaitable[None]]

_MAX_ERROR_TEXT = 2000


class _Run:
    """Mutable state of one execution (host side)."""

    def __init__(self, limits: Limits, dry_run: bool) -> None:
        self.limits = limits
        self.output: list[str] = []
        self.kept = 0
        self.dropped = 0
        self.calls: list[CallRecord] = []
        self.planned: list[dict[str, Any]] = []
        self.done: dict[str, Any] | None = None
        self.hello = False
        self.dry_run = dry_run
        self.pid: int | None = None
        # Refusal and limit messages the host wrote itself (no script or Klaviyo text in them):
        # when the script's final error is one of these verbatim, it needs no scan.
        self.trusted: set[str] = set()

    def add_output(self, text: Any) -> None:
        if not isinstance(text, str):
            raise ProtocolError("output must be text")
        data = text.encode("utf-8", "replace")
        room = self.limits.output_bytes - self.kept
        if len(data) > room:
            self.dropped += len(data) - room
            text = data[:room].decode("utf-8", "ignore")
        self.kept += len(text.encode("utf-8"))
        self.output.append(text)


# Errors whose message the bridge writes itself from the policy and the catalog, never from
# script input or Klaviyo data.
_HOST_AUTHORED = frozenset({"PolicyError", "LimitError", "InjectionDetected"})
_WITHHELD = "[output withheld: the scanner could not check it; the operator's log says why]"


def _record(run: _Run, op: str, reply: BridgeReply, ms: float) -> str | None:
    """Append one served call (and its planned write) to the run; its error class, if any."""
    error_class = str(reply.error.get("class", "KlaviyoError")) if reply.error else None
    run.calls.append(CallRecord(op, reply.status, ms, reply.scan, error_class))
    if reply.planned:
        plan: dict[str, Any] = {"id": op, "params": reply.params}
        if reply.note:
            plan["note"] = reply.note
        run.planned.append(plan)
    if error_class in _HOST_AUTHORED and reply.error is not None:
        run.trusted.add(str(reply.error.get("message", "")))
    return error_class


def _json_size(value: Any) -> float:
    try:
        return len(json.dumps(value))
    except (TypeError, ValueError, RecursionError):
        return float("inf")


def _error(kind: str, message: str, line: int | None = None) -> ErrorInfo:
    return ErrorInfo(kind, message, line)


def _worker_error(value: Any) -> ErrorInfo | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return _error("SandboxError", "the worker sent a malformed message and was stopped")
    line = value.get("line")
    return ErrorInfo(
        str(value.get("type", "Error"))[:100],
        str(value.get("message", ""))[:_MAX_ERROR_TEXT],
        line if isinstance(line, int) and not isinstance(line, bool) else None,
    )


class Sandbox:
    """Runs scripts in fresh, confined worker processes forked from a warm zygote.

    Safe for many concurrent executions; ``await sandbox.aclose()`` when done.
    """

    def __init__(self, *, limits: Limits | None = None, python: str | None = None) -> None:
        """Prepare (the zygote starts on first use, or with :meth:`start`).

        Args:
            limits: per-execution limits (defaults: ``Limits()``).
            python: the interpreter for the zygote (default: this one).
        """
        self.limits = limits or Limits()
        self.python = python or sys.executable
        self.isolation: dict[str, Any] = {}
        self._zygote: ZygoteClient | None = None
        self._start_lock = anyio.Lock()
        self._closed = False

    async def start(self) -> None:
        """Start the zygote now (otherwise the first execution does)."""
        await self._ensure()

    async def _ensure(self) -> ZygoteClient:
        async with self._start_lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if (
                self._zygote is None
                or not self._zygote.alive
                or self._zygote.process.poll() is not None
            ):
                if self._zygote is not None:
                    await self._zygote.close()
                self._zygote = await ZygoteClient.start(self.python)
            return self._zygote

    async def aclose(self) -> None:
        """Stop the zygote and any worker still running."""
        async with self._start_lock:
            self._closed = True
            if self._zygote is not None:
                await self._zygote.close()
                self._zygote = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def execute(
        self,
        code: str,
        *,
        bridge: Bridge,
        store: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ExecutionResult:
        """Run ``code`` in a new worker and return its result (never raises for script faults).

        Cancelling the caller kills the worker's process group.
        """
        started = time.perf_counter()
        limits = self.limits
        store_in = dict(store or {})
        dry_run = bool(getattr(bridge, "dry_run", False))
        result = ExecutionResult(store=store_in, dry_run=dry_run)
        size = len(code.encode("utf-8", "replace"))
        if size > limits.code_bytes:
            result.error = _error(
                "LimitError",
                f"the script is {size} bytes; the limit is {limits.code_bytes} bytes: send a shorter script",
            )
            return result
        try:
            json.dumps(store_in, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            result.error = _error(
                "StoreError",
                "the session store handed to the sandbox is not JSON; start a new session",
            )
            return result
        run = _Run(limits, dry_run)
        try:
            exit_info = await self._run_worker(code, store_in, bridge, run, on_progress)
        except SandboxError as exc:
            log.error("sandbox failure: %s", exc)
            result.worker_pid = run.pid
            result.error = _error(
                "SandboxError",
                "the sandbox could not run the script; try again (the operator's log says why)",
            )
            result.wall_ms = monotonic_ms(started)
            return result
        result.worker_pid = run.pid
        result.calls = run.calls
        result.planned_writes = run.planned
        result.cpu_ms = round(float(exit_info.get("cpu_s") or 0.0) * 1000, 1)
        result.isolation = dict(self.isolation)
        error = self._final_error(run, exit_info)
        if error is not None and run.done is None:
            run.trusted.add(error.message)  # timeouts, CPU, crashes: written by the host
        worker_dropped = 0
        if run.done is not None:
            dropped = run.done.get("dropped", 0)
            worker_dropped = dropped if isinstance(dropped, int) and dropped > 0 else 0
            new_store = run.done.get("store")
            if isinstance(new_store, dict) and _json_size(new_store) <= limits.store_bytes:
                result.store = new_store
        output = "".join(run.output)
        result.dropped_bytes = run.dropped + worker_dropped
        result.truncated = result.dropped_bytes > 0
        if result.truncated:
            output += (
                f"\n[output truncated: {result.dropped_bytes} more bytes were not shown (limit "
                f"{limits.output_bytes} bytes); print a summary (counts, a few examples) instead]"
            )
        try:
            if error is not None and error.message not in run.trusted:
                message, _ = await bridge.scan_output(error.message)
                error = ErrorInfo(error.type, message, error.line)
            result.output, result.output_scan = await bridge.scan_output(output)
        except Exception:  # fail closed: nothing unscanned reaches the model
            log.exception("scanning the output failed")
            result.output, result.output_scan = _WITHHELD, "blocked"
            error = ErrorInfo(error.type, _WITHHELD, error.line) if error is not None else None
        result.error = error
        result.wall_ms = monotonic_ms(started)
        return result

    def _final_error(self, run: _Run, exit_info: dict[str, Any]) -> ErrorInfo | None:
        limits = self.limits
        if run.done is not None:
            return _worker_error(run.done.get("error"))
        if exit_info.get("timed_out"):
            return _error(
                "LimitError",
                f"wall time limit of {limits.wall_s:g} s exceeded; the worker was stopped. Do less per "
                "script (fewer pages, smaller page_size) or look for an endless loop",
            )
        if exit_info.get("protocol"):
            return _error("SandboxError", "the worker sent a malformed message and was stopped")
        sig = exit_info.get("signal")
        if sig == signal.SIGXCPU:
            return _error(
                "LimitError",
                f"CPU time limit of {limits.cpu_s:g} s exceeded; the worker was stopped. Avoid heavy "
                "computation (huge numbers, catastrophic regexes)",
            )
        if not run.hello:
            return _error(
                "SandboxError", "the worker could not be confined and did not run the script"
            )
        name = (
            signal.Signals(sig).name
            if isinstance(sig, int) and sig in signal.Signals._value2member_map_
            else None
        )
        reason = f" (signal {name})" if name else ""
        return _error(
            "WorkerCrashed",
            f"the worker ended without a result{reason}; the script may have exhausted memory or "
            "the interpreter's stack: simplify it",
        )

    async def _run_worker(
        self,
        code: str,
        store: dict[str, Any],
        bridge: Bridge,
        run: _Run,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        zygote = await self._ensure()
        host_sock, worker_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stdio_r, stdio_w = os.pipe()
        try:
            reply = await zygote.request(
                {"t": "spawn", "limits": self.limits.for_worker()}, [worker_sock.fileno(), stdio_w]
            )
        except BaseException:
            host_sock.close()
            raise
        finally:
            worker_sock.close()
            os.close(stdio_w)
        if reply.get("t") != "spawned":  # pragma: no cover - the zygote answers spawn with spawned
            host_sock.close()
            os.close(stdio_r)
            raise SandboxError(f"unexpected zygote reply {reply!r}")
        pid = int(reply["pid"])
        run.pid = pid
        channel = AsyncChannel(host_sock)
        info: dict[str, Any] = {}
        try:
            with anyio.move_on_after(self.limits.wall_s) as scope:
                try:
                    await self._converse(channel, code, store, bridge, run, on_progress)
                except ProtocolError as exc:
                    log.warning("worker %d: %s", pid, exc)
                    info["protocol"] = True
            info["timed_out"] = scope.cancelled_caught
        finally:
            with anyio.CancelScope(shield=True):
                channel.close()
                try:
                    reaped = await zygote.request({"t": "reap", "pid": pid})
                    info.update(
                        code=reaped.get("code"),
                        signal=reaped.get("signal"),
                        cpu_s=reaped.get("cpu_s"),
                    )
                except SandboxError as exc:
                    log.error("could not reap worker %d: %s", pid, exc)
                self._log_stderr(pid, stdio_r, run)
        return info

    def _log_stderr(self, pid: int, fd: int, run: _Run) -> None:
        try:
            os.set_blocking(fd, False)
            data = os.read(fd, 65536)
        except OSError:  # pragma: no cover - nothing written
            data = b""
        finally:
            os.close(fd)
        if data and run.done is None:
            log.warning(
                "worker %d wrote to stderr: %s", pid, data[-2000:].decode("utf-8", "replace")
            )

    async def _converse(
        self,
        channel: AsyncChannel,
        code: str,
        store: dict[str, Any],
        bridge: Bridge,
        run: _Run,
        on_progress: ProgressCallback | None,
    ) -> None:
        hello = await channel.recv()
        if hello is None or hello.get("t") != "hello":
            return
        run.hello = True
        isolation = hello.get("isolation")
        if isinstance(isolation, dict):
            self.isolation = isolation
        await channel.send(
            {
                "code": code,
                "store": store,
                "names": {k: list(v) for k, v in bridge.operations().items()},
                "output_bytes": self.limits.output_bytes,
                "store_bytes": self.limits.store_bytes,
                "memory_mb": self.limits.memory_mb,
            }
        )
        while True:
            message = await channel.recv()
            if message is None:
                return
            kind = message.get("t")
            if kind == "out":
                run.add_output(message.get("s"))
            elif kind == "call":
                await channel.send(await self._call(message, bridge, run, on_progress))
            elif kind == "done":
                run.done = message
                return
            else:
                raise ProtocolError(f"unknown message type {kind!r}")

    async def _call(
        self,
        message: dict[str, Any],
        bridge: Bridge,
        run: _Run,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        op, args, params = message.get("op"), message.get("args", []), message.get("params", {})
        if (
            not isinstance(op, str)
            or len(op) > 200
            or not isinstance(args, list)
            or not isinstance(params, dict)
        ):
            raise ProtocolError("malformed call")
        started = time.perf_counter()
        if len(run.calls) >= self.limits.max_calls:
            limit = self.limits.max_calls
            run.calls.append(CallRecord(op, 0, 0.0, "unscanned", "LimitError"))
            text = (
                f"SDK call limit of {limit} per execution reached; fetch fewer pages "
                "(larger page_size, filters, max_items) or continue in the next script via store"
            )
            run.trusted.add(text)
            return {"ok": False, "error": {"class": "LimitError", "message": text}}
        reply = await bridge.call(op, args, params)
        error_class = _record(run, op, reply, monotonic_ms(started))
        for inner_op, inner, inner_ms in reply.nested:  # a composite's own calls, in order
            _record(run, inner_op, inner, inner_ms)
        if on_progress is not None:
            try:
                await on_progress(
                    len(run.calls), f"{op} -> {reply.status or error_class or 'planned'}"
                )
            except Exception:  # a progress report must never break the run
                log.exception("on_progress failed")
        if reply.error is not None:
            return {"ok": False, "error": reply.error}
        return {"ok": True, "raw": reply.raw, "status": reply.status}

"""The host side: the zygote, one worker per execution, the conversation, and the result.

``Sandbox.execute`` asks the zygote for a fresh worker (a fork, confined before it reads any
code), streams the script to it, serves its SDK calls through a :class:`Bridge`, and kills the
worker's process group when the script ends, fails, runs out of wall time or the caller cancels.
Nothing a worker sends is trusted: frames are size-capped and every field is checked.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from anyio.lowlevel import checkpoint

from codemode.sandbox.bridge import (
    RUN_DEADLINE,
    RUN_HOST_CPU,
    Bridge,
    BridgeReply,
    HostCpu,
    monotonic_ms,
)
from codemode.sandbox.channel import OFFLOAD_BYTES, AsyncChannel
from codemode.sandbox.computed import keeps_computed_text
from codemode.sandbox.limits import Limits
from codemode.sandbox.protocol import ProtocolError, encode_answer
from codemode.sandbox.provenance import GLUE, Pair, Provenance, name_pairs
from codemode.sandbox.result import CallRecord, ErrorInfo, ExecutionResult
from codemode.sandbox.screen import screen
from codemode.sandbox.spawn import SandboxError, ZygoteClient

if TYPE_CHECKING:  # numpy: loaded by the first run that keeps computed text
    from codemode.sandbox.sketch import Sketch

__all__ = ["ProgressCallback", "Sandbox", "SandboxError"]

log = logging.getLogger("codemode.sandbox")

ProgressCallback = Callable[[int, str], Awaitable[None]]

_MAX_ERROR_TEXT = 2000
_MAX_OP_ID = 200
# Calls refused for the call limit that a script may still make (catching LimitError) before the
# run is stopped: only the first is recorded, so the result and the host's work stay bounded.
_OVER_LIMIT_CALLS = 10
# A new store up to this much JSON is checked for computed text on the event loop (well under a
# millisecond); a larger one in a thread, charged to the run's host CPU.
_INLINE_STORE_BYTES = 16 * 1024
# Frame slack over the largest payload a worker may send (call arguments, store, output).
_FRAME_SLACK = 64 * 1024


class _StopRun(Exception):
    """The host ends the run; the message is host-authored and goes to the agent as LimitError."""


# How many worker frames the host reads in a row before it lets the event loop serve others.
_YIELD_EVERY = 64


class _Run:
    """Mutable state of one execution (host side)."""

    def __init__(self, limits: Limits, dry_run: bool, provenance: Provenance | None = None) -> None:
        self.limits = limits
        self.output: list[str] = []
        self.kept = 0
        self.dropped = 0
        self.calls: list[CallRecord] = []
        self.planned: list[dict[str, Any]] = []
        self.planned_bytes = 0
        self.over_limit = 0
        self.stopped: str | None = None
        self.done: dict[str, Any] | None = None
        self.hello = False
        self.dry_run = dry_run
        self.pid: int | None = None
        # Every outside string delivered to the worker: only text found there is ever scanned.
        self.provenance = provenance or Provenance()
        self.known: frozenset[str] = frozenset()
        # The host CPU spent for this run (scanning its answers, then screening its result),
        # capped at its own CPU limit; kept past the conversation for the screen.
        self.host_cpu = HostCpu(limits.cpu_s)
        # Messages the host wrote for this run from its own words, limits and catalog ids only:
        # where the result repeats them, the output screen does not search.
        self.host_texts: set[str] = set()

    def add_output(self, text: Any) -> None:
        if not isinstance(text, str):
            raise ProtocolError("output must be text")
        # The worker's printer keeps the same count and sends nothing empty and nothing past the
        # limit: such frames come only from a worker that escaped, and would cost the host work
        # without bound (400,000 empty frames held the event loop for 4.3 s).
        if not text or self.kept >= self.limits.output_bytes:
            raise ProtocolError(
                "output frame an honest worker never sends (empty or past the limit)"
            )
        # Read as the worker's printer writes it: a lone surrogate (which only JSON from a worker
        # that escaped can carry) is a "?", not an encoding error that escapes the run.
        data = text.encode("utf-8", "replace")
        text = data.decode("utf-8")
        room = self.limits.output_bytes - self.kept
        if len(data) > room:
            self.dropped += len(data) - room
            text = data[:room].decode("utf-8", "ignore")
        self.kept += len(text.encode("utf-8"))
        self.output.append(text)


# The part of an error answer that is outside text the worker has not been given already: the
# fields a withheld answer flagged (their names are the data's keys). Klaviyo's own error words
# are not: they echo only what the request sent, and a request value taken from data is found
# again by the answer it came from (an attacker's text cannot enter a request any other way).
_OUTSIDE_ERROR_FIELDS = ("fields",)
# The word pairs of the names a bridge's catalog gives the host's messages, per operations table
# (a bridge's table is built once per catalog; a few catalogs live in one process at most).
_HOST_PAIRS: dict[int, tuple[object, frozenset[Pair]]] = {}
_HOST_PAIRS_MAX = 16


def _host_pairs(bridge: Bridge) -> frozenset[Pair]:
    """Word pairs of the operation, group and parameter names the host's messages print."""
    operations = bridge.operations()
    hit = _HOST_PAIRS.get(id(operations))
    if hit is not None and hit[0] is operations:
        return hit[1]
    names: set[str] = set(operations)
    for ops in operations.values():
        names.update(ops)
    catalog = getattr(bridge, "catalog", None)
    if catalog is not None:
        names.update(p.name for action in catalog.values() for p in action.params)
    if len(_HOST_PAIRS) >= _HOST_PAIRS_MAX:
        _HOST_PAIRS.clear()
    pairs = name_pairs(names)
    _HOST_PAIRS[id(operations)] = (operations, pairs)
    return pairs


def _sketched(
    provenance: Provenance,
    sketch: Sketch | None,
    cpu: HostCpu,
    stores: tuple[dict[str, Any], dict[str, Any], str] | None = None,
) -> Sketch | None:
    """``sketch`` (a copy; a new one when None) with the shingles of what this run was delivered;
    ``sketch`` itself when it was delivered nothing, or when ``stores`` (the new store, the one
    loaded, the script) is given and holds no computed text after all.

    Past the run's host-CPU budget, or with more shingles than the sketch holds, the copy is
    marked overflowed: later runs then scan every word their scripts never wrote (fail closed).
    """
    if not provenance.delivered and not provenance.overflow:
        return sketch
    started = time.thread_time()
    try:
        if stores is not None and not keeps_computed_text(*stores):
            return sketch
        from codemode.sandbox.sketch import Sketch  # numpy: only for sessions that need one

        out = sketch.copy() if sketch is not None else Sketch()
        out.record(
            provenance.delivered_tokens(),
            glue=GLUE,
            cpu_until=started + max(cpu.limit - cpu.spent, 0.0),
        )
        out.overflow = out.overflow or provenance.overflow
        return out
    finally:
        cpu.spent += time.thread_time() - started


def _record(
    run: _Run,
    op: str,
    reply: BridgeReply,
    ms: float,
    planner: Callable[[str, dict[str, Any], int, _Run], dict[str, Any]],
    size: int | None = None,
) -> str | None:
    """Append one served call (and its planned write) to the run; its error class, if any."""
    error_class = str(reply.error.get("class", "KlaviyoError")) if reply.error else None
    run.calls.append(CallRecord(op, reply.status, ms, reply.scan, error_class))
    if reply.planned:
        params = dict(reply.params or {})
        weight = size if size is not None else int(min(_json_size(params), 2**31))
        plan = planner(op, params, weight, run)
        if reply.note:
            plan["note"] = reply.note
        run.planned.append(plan)
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
        """Prepare (the zygote starts on first use, with :meth:`start`, or :meth:`adopt`).

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

    def adopt(self, zygote: ZygoteClient) -> None:
        """Use a zygote started with ``ZygoteClient.launch`` before this sandbox existed.

        A caller that starts per client (``codemode exec``, ``codemode serve`` on stdio) launches
        the zygote before importing the rest, so its start overlaps theirs; the first execution
        waits until it is ready. Nothing is adopted into a sandbox that has a zygote or is closed.

        Raises:
            SandboxError: this sandbox already has a zygote or is closed.
        """
        if self._zygote is not None or self._closed:
            raise SandboxError("this sandbox already has a zygote or is closed; adopt only once")
        self._zygote = zygote

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
            elif not self._zygote.started:  # launched by the caller: wait for it once
                try:
                    await self._zygote.ready()
                except BaseException:
                    self._zygote = None  # ready() closed it; the next use starts a fresh one
                    raise
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
        sketch: Sketch | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ExecutionResult:
        """Run ``code`` in a new worker and return its result (never raises for script faults).

        ``sketch``: the session's record of what earlier runs that kept computed text in the
        store were delivered (kept next to ``store``); the result's ``sketch`` is the one to keep
        with its store (the same object when the run added nothing to it).

        Cancelling the caller kills the worker's process group.
        """
        started = time.perf_counter()
        limits = self.limits
        store_in = dict(store or {})
        dry_run = bool(getattr(bridge, "dry_run", False))
        result = ExecutionResult(store=store_in, dry_run=dry_run, sketch=sketch)
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
        run = _Run(limits, dry_run, Provenance(code, host_pairs=_host_pairs(bridge), sketch=sketch))
        run.provenance.add("the session store", store_in)
        run.known = frozenset(op for ops in bridge.operations().values() for op in ops)
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
        result.cpu_ms = round(float(exit_info.get("cpu_s") or 0.0) * 1000, 1)
        result.isolation = dict(self.isolation)
        error = self._final_error(run, exit_info)
        worker_dropped = 0
        store_size = math.inf
        if run.done is not None:
            dropped = run.done.get("dropped", 0)
            worker_dropped = dropped if isinstance(dropped, int) and dropped > 0 else 0
            new_store = run.done.get("store")
            store_size = _json_size(new_store) if isinstance(new_store, dict) else math.inf
            if isinstance(new_store, dict) and store_size <= limits.store_bytes:
                result.store = new_store
        output = bridge.scrub("".join(run.output))
        if error is not None:
            error = ErrorInfo(bridge.scrub(error.type), bridge.scrub(error.message), error.line)
            if run.done is None:  # the host's own: a limit, a timeout, a crash
                run.host_texts.add(error.message)
        # The screen's scanning is charged to the run as its answers' was.
        cpu_token = RUN_HOST_CPU.set(run.host_cpu)
        try:
            screened = await screen(
                bridge,
                run.provenance,
                output=output,
                error=error,
                calls=run.calls,
                planned=run.planned,
                known_actions=run.known,
                cpu=run.host_cpu,
                host_texts=run.host_texts,
            )
        finally:
            RUN_HOST_CPU.reset(cpu_token)
        if result.store is not store_in and result.store != store_in:
            # The store may now hold text the script computed: what this run read goes into the
            # session's sketch, so a later run printing that text back in its first form is
            # screened as if it had read it. A small store is checked here (a walk of at most
            # 16 KiB of JSON); a larger one, and the sketch, in a thread charged to the run.
            stores = (result.store, store_in, code)
            if store_size > _INLINE_STORE_BYTES or keeps_computed_text(*stores):
                result.sketch = await anyio.to_thread.run_sync(
                    _sketched,
                    run.provenance,
                    sketch,
                    run.host_cpu,
                    stores if store_size > _INLINE_STORE_BYTES else None,
                )
        result.calls, result.planned_writes = screened.calls, screened.planned
        result.output, result.error = screened.output, screened.error
        result.output_scan, result.redactions = screened.verdict, screened.redactions
        result.host_cpu_ms = round(run.host_cpu.spent * 1000, 1)
        result.dropped_bytes = run.dropped + worker_dropped
        # A worker stopped after filling the cap never reported what it dropped: still truncated.
        cut_unknown = run.done is None and run.kept >= limits.output_bytes
        result.truncated = result.dropped_bytes > 0 or cut_unknown
        # The host's own words, added after the screen.
        if screened.spent:
            result.output += (
                f"\n[output screen stopped: this run has had {run.host_cpu.spent:.1f} s of host "
                f"time scanning, the most one run gets (its CPU limit of {limits.cpu_s:g} s); "
                "outside text it could not check was withheld. Print less of the data, or fetch "
                "fewer pages per script]"
            )
        if cut_unknown and not result.dropped_bytes:
            result.output += (
                f"\n[output truncated at the limit of {limits.output_bytes} bytes when the run "
                "was stopped; print a summary (counts, a few examples) instead]"
            )
        elif result.truncated:
            result.output += (
                f"\n[output truncated: {result.dropped_bytes} more bytes were not shown (limit "
                f"{limits.output_bytes} bytes); print a summary (counts, a few examples) instead]"
            )
        result.wall_ms = monotonic_ms(started)
        return result

    def _final_error(self, run: _Run, exit_info: dict[str, Any]) -> ErrorInfo | None:
        limits = self.limits
        if run.done is not None:
            return _worker_error(run.done.get("error"))
        if run.stopped is not None:
            return _error("LimitError", run.stopped)
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
        limits = self.limits
        channel = AsyncChannel(
            host_sock,
            max_frame=max(limits.call_bytes, limits.store_bytes, limits.output_bytes)
            + _FRAME_SLACK,
        )
        info: dict[str, Any] = {}
        try:
            with anyio.move_on_after(limits.wall_s) as scope:
                token = RUN_DEADLINE.set(time.monotonic() + limits.wall_s)
                cpu_token = RUN_HOST_CPU.set(run.host_cpu)
                try:
                    await self._converse(channel, code, store, bridge, run, on_progress)
                except ProtocolError as exc:
                    log.warning("worker %d: %s", pid, exc)
                    info["protocol"] = True
                except _StopRun as stop:
                    run.stopped = str(stop)
                finally:
                    RUN_HOST_CPU.reset(cpu_token)
                    RUN_DEADLINE.reset(token)
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
                "call_bytes": self.limits.call_bytes,
                "dry_run": run.dry_run,
            }
        )
        frames = 0
        while True:
            message = await channel.recv()
            if message is None:
                return
            frames += 1
            if frames % _YIELD_EVERY == 0:
                # Frames already buffered are read without waiting: let other sessions run.
                await checkpoint()
            kind = message.get("t")
            if kind == "out":
                run.add_output(message.get("s"))
            elif kind == "call":
                reply = await self._call(message, channel.last_size, bridge, run, on_progress)
                if isinstance(reply, bytes):
                    await channel.send_frame(reply)
                else:
                    await channel.send(reply, offload=reply.get("raw") is not None)
            elif kind == "done":
                run.done = message
                return
            else:
                raise ProtocolError(f"unknown message type {kind!r}")

    async def _call(
        self,
        message: dict[str, Any],
        size: int,
        bridge: Bridge,
        run: _Run,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any] | bytes:
        """The answer to one call: a message, or its frame when the bridge already encoded the
        document (small answers; a large one is encoded in a thread, as any message)."""
        op, args, params = message.get("op"), message.get("args", []), message.get("params", {})
        if (
            not isinstance(op, str)
            or len(op) > _MAX_OP_ID
            or not isinstance(args, list)
            or not isinstance(params, dict)
        ):
            raise ProtocolError("malformed call")
        started = time.perf_counter()
        limits = self.limits
        if len(run.calls) >= limits.max_calls:
            return self._over_limit(op, run)
        if size > limits.call_bytes + len(op) + 256:  # checked before any host work
            text = (
                f"the arguments of {op} are {size} bytes as JSON; the limit is {limits.call_bytes} "
                "bytes per call: send fewer records per call (split bulk jobs) or shorter filters"
            )
            run.calls.append(CallRecord(op, 0, 0.0, "unscanned", "ValidationError"))
            return {"ok": False, "error": {"class": "ValidationError", "message": text}}
        reply = await bridge.call(op, args, params)
        known = op in run.known
        if reply.error is not None and reply.error.get("class") == "LimitError" and known:
            run.host_texts.add(str(reply.error.get("message", "")))
        error_class = _record(run, op, reply, monotonic_ms(started), self._planned, size)
        for inner_op, inner, inner_ms in reply.nested:  # a composite's own calls, in order
            _record(run, inner_op, inner, inner_ms, self._planned)
        source = f"{op if known else 'an unknown action'} (call {len(run.calls)})"
        if not reply.planned and reply.raw is not None:
            run.provenance.add(source, reply.raw, dump=reply.raw_json)
        if reply.error is not None:
            run.provenance.add(source, [reply.error.get(k) for k in _OUTSIDE_ERROR_FIELDS])
        for inner_op, inner, _ in reply.nested:
            if inner.raw is not None and not inner.planned:
                run.provenance.add(f"{inner_op} (inside {op})", inner.raw)
        if on_progress is not None:
            try:
                # Only a catalog id is named: a name the script chose may be data.
                shown = op if known else "an unknown action"
                await on_progress(
                    len(run.calls), f"{shown} -> {reply.status or error_class or 'planned'}"
                )
            except Exception:  # a progress report must never break the run
                log.exception("on_progress failed")
        if reply.error is not None:
            return {"ok": False, "error": reply.error}
        if (
            reply.raw is not None
            and reply.raw_json is not None
            and len(reply.raw_json) < OFFLOAD_BYTES
        ):
            return encode_answer(reply.raw_json, reply.status)
        return {"ok": True, "raw": reply.raw, "status": reply.status}

    def _over_limit(self, op: str, run: _Run) -> dict[str, Any]:
        """The answer to a call past ``max_calls``: recorded once, then the run is stopped."""
        limit = self.limits.max_calls
        run.over_limit += 1
        if run.over_limit > _OVER_LIMIT_CALLS:
            raise _StopRun(
                f"SDK call limit of {limit} per execution reached and the script kept calling "
                f"({_OVER_LIMIT_CALLS} more calls were refused); the run was stopped. Stop "
                "calling once LimitError is raised, or continue in the next script via store"
            )
        if run.over_limit == 1:
            run.calls.append(CallRecord(op, 0, 0.0, "unscanned", "LimitError"))
        text = (
            f"SDK call limit of {limit} per execution reached; fetch fewer pages "
            "(larger page_size, filters, max_items) or continue in the next script via store"
        )
        run.host_texts.add(text)
        return {"ok": False, "error": {"class": "LimitError", "message": text}}

    def _planned(self, op: str, params: dict[str, Any], size: int, run: _Run) -> dict[str, Any]:
        """A planned write for the result: in full while the budget lasts, else id and size."""
        budget = self.limits.planned_bytes
        if run.planned_bytes + size <= budget:
            run.planned_bytes += size
            return {"id": op, "params": params}
        return {
            "id": op,
            "params": None,
            "omitted": (
                f"{size} bytes of parameters not kept: the planned writes of one run keep "
                f"{budget} bytes in all"
            ),
        }

"""The zygote: a clean, pre-imported interpreter that forks one worker per execution.

The host starts it (``spawn.BOOTSTRAP``) with ``python -I`` and an empty environment (no key, no
inherited variables), so nothing secret is in its memory to be copied into a worker. It never runs
user code: it imports the worker's modules, builds the sandbox's builtins and module proxies once,
runs a trusted warm-up script, then forks on request. Each child confines itself (confine.py) and
runs exactly one script; the zygote kills and reaps it when the host says so.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any

from codemode.sandbox import confine, guards, worker

__all__ = ["main"]

_MAX_FD = 65536
# Set by main(): whether the zygote itself already lives in an empty network namespace.
_NETWORK: tuple[bool, str] | None = None
_REAP_WAIT_S = 2.0

_WARM_UP = """
import json, math, statistics, datetime, re, collections, itertools, functools, decimal, string, textwrap, time, random, hashlib, base64, heapq, bisect
d = datetime.datetime.strptime("2024-01-02", "%Y-%m-%d") + datetime.timedelta(days=1)
print(json.dumps({"d": d.isoformat(), "m": statistics.mean([1, 2]), "r": re.findall(r"a+", "aa")}))
print(f"{decimal.Decimal('1.10') * 2:.2f}", textwrap.shorten("a b c", 10), "é".encode("utf-8"))
store["ok"] = sorted(collections.Counter("abca").items())
print(f"{d:%Y-%m-%d}", "{0:>4}|{k}".format(7, k=type(d).__name__), hashlib.sha256(b"x").hexdigest()[:4])
"""


class _NullChannel:
    def send(self, message: dict[str, Any]) -> None:
        """Discard."""

    def request(self, message: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - unused
        return {"ok": False, "error": {"class": "KlaviyoError", "message": "warm-up"}}


def preload() -> None:
    """Import and build everything a worker needs, so forks start warm."""
    import _strptime  # type: ignore[import-not-found]  # noqa: F401  # lazy import of strptime
    import encodings.idna
    import encodings.latin_1
    import encodings.utf_16
    import encodings.utf_32  # noqa: F401

    guards.load_policy()
    confine.prepare()
    guards.module_proxies()
    guards.safe_builtins()
    stdout, stderr = sys.stdout, sys.stderr
    done = worker.run(
        {"code": _WARM_UP, "store": {}, "names": {}, "output_bytes": 4096, "store_bytes": 4096},
        _NullChannel(),
    )
    sys.stdout, sys.stderr = stdout, stderr
    if done["error"] is not None:  # pragma: no cover - a broken policy file or interpreter
        raise RuntimeError(f"sandbox warm-up failed: {done['error']}")
    gc.collect()
    gc.freeze()  # keep the pre-imported heap shared between forks (no refcount writes on it)


def _child(fds: list[int], limits: dict[str, Any]) -> None:
    code = 70
    try:
        os.setsid()
        worker_fd, stdio_fd = fds
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(stdio_fd, 1)
        os.dup2(stdio_fd, 2)
        os.dup2(worker_fd, 3)
        os.closerange(4, _MAX_FD)
        isolation = confine.apply(limits, _NETWORK)
        worker.serve(socket.socket(fileno=3), isolation)
        code = 0
    except BaseException:
        # Straight to fd 2 (the stdio pipe the host drains and logs), whatever sys.stderr is.
        with contextlib.suppress(OSError):
            os.write(2, traceback.format_exc().encode("utf-8", "replace"))
    finally:
        os._exit(code)


def _status(status: int, rusage: Any) -> dict[str, Any]:
    return {
        "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 4),
    }


def _reap(pid: int, pending: set[int]) -> dict[str, Any]:
    try:
        wpid, status, rusage = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            return {"t": "reaped", "pid": pid, "killed": False, **_status(status, rusage)}
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + _REAP_WAIT_S
        while time.monotonic() < deadline:
            wpid, status, rusage = os.wait4(pid, os.WNOHANG)
            if wpid == pid:
                return {"t": "reaped", "pid": pid, "killed": True, **_status(status, rusage)}
            time.sleep(0.0005)
    except ChildProcessError:
        return {"t": "reaped", "pid": pid, "killed": False}
    # Still not reaped after SIGKILL: stuck in the kernel; reaped on a later turn.
    pending.add(pid)  # pragma: no cover
    return {"t": "reaped", "pid": pid, "killed": True, "pending": True}  # pragma: no cover


def _collect(pending: set[int]) -> None:
    for pid in list(pending):  # pragma: no cover - see _reap
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                pending.discard(pid)
        except ChildProcessError:
            pending.discard(pid)


def serve(ctrl: socket.socket) -> None:
    """Answer spawn and reap requests until the host closes the control socket."""
    live: set[int] = set()
    pending: set[int] = set()
    ctrl.send(json.dumps({"t": "ready", "pid": os.getpid()}).encode())
    while True:
        data, fds, _flags, _addr = socket.recv_fds(ctrl, 65536, 4)
        if not data:
            break
        message = json.loads(data)
        if message["t"] == "spawn":
            pid = os.fork()
            if pid == 0:
                ctrl.close()
                _child(fds, message["limits"])
            for fd in fds:
                os.close(fd)
            live.add(pid)
            reply: dict[str, Any] = {"t": "spawned", "pid": pid}
        else:
            pid = int(message["pid"])
            live.discard(pid)
            reply = _reap(pid, pending)
        _collect(pending)
        ctrl.send(json.dumps(reply).encode())
    for pid in live | pending:
        try:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):  # pragma: no cover - already gone
            pass


def main(control_fd: int) -> None:
    """Entry point of the zygote process."""
    global _NETWORK
    confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the host
    if os.geteuid() == 0:  # one empty namespace for every worker; the control socket still works
        _NETWORK = confine.no_network()
    with socket.socket(fileno=control_fd) as ctrl:
        try:
            preload()
        except BaseException as exc:
            ctrl.send(
                json.dumps({"t": "failed", "reason": f"{type(exc).__name__}: {exc}"}).encode()
            )
            raise SystemExit(1) from None
        serve(ctrl)

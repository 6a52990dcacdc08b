"""The zygote's loop, run in-process: spawn, converse, reap, and cleanup when the host leaves."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import sys
import threading

import pytest

from codemode.sandbox import worker, zygote
from codemode.sandbox.limits import Limits
from codemode.sandbox.protocol import recv_frame, send_frame

from . import _coverage_relay

LIMITS = Limits(cpu_s=2, memory_mb=96).for_worker()


def test_preload_warms_everything_and_restores_stdio() -> None:
    saved = sys.stdout, sys.stderr
    try:
        zygote.preload()
    finally:
        gc.unfreeze()
    assert (sys.stdout, sys.stderr) == saved
    assert "_strptime" in sys.modules


def _spawn(ctrl: socket.socket) -> tuple[int, socket.socket]:
    host_end, worker_end = socket.socketpair()
    stdio_r, stdio_w = os.pipe()
    socket.send_fds(
        ctrl,
        [json.dumps({"t": "spawn", "limits": LIMITS}).encode()],
        [worker_end.fileno(), stdio_w],
    )
    worker_end.close()
    os.close(stdio_w)
    os.close(stdio_r)
    reply = json.loads(ctrl.recv(65536))
    assert reply["t"] == "spawned"
    return int(reply["pid"]), host_end


@pytest.fixture
def relayed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers forked in-process send what coverage recorded as a last frame (see _coverage_relay)."""
    real = worker.serve

    def serve(sock: socket.socket, isolation: dict[str, object]) -> None:
        real(sock, isolation)
        with contextlib.suppress(OSError):
            send_frame(sock, {"t": "coverage", "data": _coverage_relay.snapshot()})

    monkeypatch.setattr(zygote.worker, "serve", serve)


def _drain(channel: socket.socket) -> None:
    """Read to the end, merging a relayed coverage frame if one comes."""
    while (message := recv_frame(channel)) is not None:
        if message.get("t") == "coverage":
            _coverage_relay.merge(message["data"])


@pytest.mark.usefixtures("relayed")
def test_serve_spawns_confined_workers_and_reaps_them() -> None:
    ctrl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    thread = threading.Thread(target=zygote.serve, args=(zygote_end,))
    thread.start()
    assert json.loads(ctrl.recv(65536))["t"] == "ready"

    pid, channel = _spawn(ctrl)
    hello = recv_frame(channel)
    assert hello is not None and hello["isolation"]["rlimits"] is True
    send_frame(
        channel,
        {"code": "print(6 * 7)", "store": {}, "names": {}, "output_bytes": 100, "store_bytes": 100},
    )
    assert recv_frame(channel) == {"t": "out", "s": "42"}
    _drain(channel)
    ctrl.send(json.dumps({"t": "reap", "pid": pid}).encode())
    reaped = json.loads(ctrl.recv(65536))
    assert reaped["pid"] == pid and reaped["t"] == "reaped"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    ctrl.send(json.dumps({"t": "reap", "pid": pid}).encode())  # twice: no such child any more
    assert json.loads(ctrl.recv(65536)) == {"t": "reaped", "pid": pid, "killed": False}
    channel.close()

    busy, busy_channel = _spawn(ctrl)
    recv_frame(busy_channel)
    send_frame(
        busy_channel,
        {
            "code": "while True:\n    pass",
            "store": {},
            "names": {},
            "output_bytes": 10,
            "store_bytes": 10,
        },
    )
    ctrl.close()  # the host goes away with a worker still running: the zygote kills it
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(busy, 0)
    busy_channel.close()
    zygote_end.close()


def test_reap_kills_a_running_worker() -> None:
    ctrl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    thread = threading.Thread(target=zygote.serve, args=(zygote_end,))
    thread.start()
    ctrl.recv(65536)
    pid, channel = _spawn(ctrl)
    recv_frame(channel)
    ctrl.send(json.dumps({"t": "reap", "pid": pid}).encode())
    reaped = json.loads(ctrl.recv(65536))
    assert reaped["killed"] is True and reaped["signal"] == 9
    ctrl.close()
    thread.join(10)
    channel.close()
    zygote_end.close()


def test_a_worker_that_cannot_be_confined_exits_with_its_reason_on_stderr() -> None:
    ctrl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    thread = threading.Thread(target=zygote.serve, args=(zygote_end,))
    thread.start()
    ctrl.recv(65536)
    host_end, worker_end = socket.socketpair()
    stdio_r, stdio_w = os.pipe()
    bad = {**LIMITS, "open_files": -5}
    socket.send_fds(
        ctrl, [json.dumps({"t": "spawn", "limits": bad}).encode()], [worker_end.fileno(), stdio_w]
    )
    worker_end.close()
    os.close(stdio_w)
    pid = json.loads(ctrl.recv(65536))["pid"]
    assert recv_frame(host_end) is None  # no hello: it refused to run
    ctrl.send(json.dumps({"t": "reap", "pid": pid}).encode())
    assert json.loads(ctrl.recv(65536))["code"] == 70
    with os.fdopen(stdio_r, "rb") as stderr:
        assert b"ConfinementError: could not set resource limits" in stderr.read()
    ctrl.close()
    thread.join(10)
    host_end.close()
    zygote_end.close()


def test_main_reports_a_failed_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    ctrl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def broken() -> None:
        raise RuntimeError("policy file unreadable")

    monkeypatch.setattr(zygote, "preload", broken)
    monkeypatch.setattr(zygote.confine, "prctl", lambda *args: True)  # not on the test process
    monkeypatch.setattr(zygote.os, "geteuid", lambda: 1000)  # and no namespace for it either
    with pytest.raises(SystemExit):
        zygote.main(zygote_end.detach())
    assert json.loads(ctrl.recv(65536)) == {
        "t": "failed",
        "reason": "RuntimeError: policy file unreadable",
    }
    ctrl.close()


def test_main_serves_after_warming_up(monkeypatch: pytest.MonkeyPatch) -> None:
    ctrl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    monkeypatch.setattr(zygote, "preload", lambda: None)
    monkeypatch.setattr(zygote.confine, "prctl", lambda *args: True)
    monkeypatch.setattr(zygote.confine, "no_network", lambda: (True, ""))
    thread = threading.Thread(target=zygote.main, args=(zygote_end.detach(),))
    thread.start()
    assert json.loads(ctrl.recv(65536))["t"] == "ready"
    ctrl.close()
    thread.join(10)
    assert not thread.is_alive()
    monkeypatch.setattr(zygote, "_NETWORK", None)

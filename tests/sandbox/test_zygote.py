"""The zygote's loop, run in-process: spawn, converse, reap, and cleanup when the host leaves."""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
import threading

import pytest

from codemode.sandbox import zygote
from codemode.sandbox.limits import Limits
from codemode.sandbox.protocol import recv_frame, send_frame

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
    while (message := recv_frame(channel)) is not None and message["t"] != "done":
        pass
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

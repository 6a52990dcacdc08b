"""The host against a stand-in zygote whose workers misbehave as an escaped worker could.

The real zygote and workers never send these things; a worker that escaped both layers could.
The stand-in speaks the zygote protocol and forks workers that do one bad thing each.
"""

from __future__ import annotations

import logging
import textwrap

import pytest

from codemode.sandbox import Sandbox, spawn

from .conftest import TEST_LIMITS, FakeBridge

pytestmark = pytest.mark.asyncio(loop_scope="function")

FAKE_ZYGOTE = """
import json, os, socket, sys
MODE = {mode!r}
ctrl = socket.socket(fileno=int(sys.argv[2]))
if MODE == "failed":
    ctrl.send(json.dumps({{"t": "failed", "reason": "RuntimeError: policy file broken"}}).encode())
    sys.exit(1)
ctrl.send(b'{{"t": "ready"}}')

def frame(message):
    body = json.dumps(message).encode()
    return len(body).to_bytes(4, "big") + body

while True:
    data, fds, _f, _a = socket.recv_fds(ctrl, 65536, 4)
    if not data:
        break
    message = json.loads(data)
    if message["t"] == "spawn":
        pid = os.fork()
        if pid == 0:
            sock = socket.socket(fileno=fds[0])
            os.dup2(fds[1], 2)
            if MODE == "no_hello":
                os.write(2, b"Fatal Python error: something")
                os._exit(1)
            iso = 5 if MODE == "bad_isolation" else {{"uid": 1}}
            sock.sendall(frame({{"t": "hello", "isolation": iso}}))
            sock.recv(65536)
            if MODE == "garbage":
                sock.sendall(frame({{"t": "exec", "code": "rm -rf /"}}))
            else:
                sock.sendall(frame({{"t": "done", "error": None, "store": {{"x": 1}}, "dropped": 0}}))
            os._exit(0)
        for fd in fds:
            os.close(fd)
        ctrl.send(json.dumps({{"t": "spawned", "pid": pid}}).encode())
    else:
        pid = int(message["pid"])
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        if MODE == "reap_dies":
            sys.exit(0)
        ctrl.send(json.dumps({{"t": "reaped", "pid": pid, "signal": 9, "cpu_s": 0.0}}).encode())
"""


async def run_with(mode: str, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(spawn, "BOOTSTRAP", textwrap.dedent(FAKE_ZYGOTE.format(mode=mode)))
    box = Sandbox(limits=TEST_LIMITS)
    try:
        return await box.execute("pass", bridge=FakeBridge())
    finally:
        await box.aclose()


async def test_a_worker_sending_unknown_messages_is_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    result = await run_with("garbage", monkeypatch)
    assert result.error is not None and result.error.type == "SandboxError"  # type: ignore[attr-defined]
    assert "malformed message" in result.error.message  # type: ignore[attr-defined]
    assert "unknown message type 'exec'" in caplog.text


async def test_a_worker_that_dies_before_hello_is_reported_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="codemode.sandbox")
    result = await run_with("no_hello", monkeypatch)
    assert result.error is not None and "could not be confined" in result.error.message  # type: ignore[attr-defined]
    assert "Fatal Python error" in caplog.text and "Fatal Python error" not in str(result.to_dict())  # type: ignore[attr-defined]


async def test_a_forged_isolation_report_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    result = await run_with("bad_isolation", monkeypatch)
    assert result.error is None and result.isolation == {} and result.store == {"x": 1}  # type: ignore[attr-defined]


async def test_a_zygote_that_fails_its_warm_up_is_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    result = await run_with("failed", monkeypatch)
    assert result.error is not None and result.error.type == "SandboxError"  # type: ignore[attr-defined]
    assert "policy file broken" in caplog.text


async def test_a_zygote_dying_while_reaping_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    result = await run_with("reap_dies", monkeypatch)
    assert result.error is None  # the worker said done before the zygote went away
    assert "could not reap worker" in caplog.text

"""The host side under stress: hostile worker messages, dead zygotes, cancellation, CPU limits."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from codemode.sandbox import Limits, Sandbox
from codemode.sandbox.channel import AsyncChannel
from codemode.sandbox.protocol import ProtocolError, encode, recv_frame
from codemode.sandbox.runner import _Run

from .conftest import TEST_LIMITS, FakeBridge, check_invariants, execute

pytestmark = pytest.mark.asyncio(loop_scope="module")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


async def converse_with(frames: list[bytes]) -> tuple[_Run, Exception | None]:
    """Play a hostile worker that sends ``frames`` after the hello; return the host's state."""
    host, worker = socket.socketpair()
    sandbox = Sandbox(limits=TEST_LIMITS)
    run = _Run(TEST_LIMITS, dry_run=False)

    def hostile() -> None:
        worker.sendall(encode({"t": "hello", "isolation": {"uid": 1}}))
        recv_frame(worker)
        for frame in frames:
            worker.sendall(frame)
        worker.close()

    thread = threading.Thread(target=hostile)
    thread.start()
    error: Exception | None = None
    try:
        with anyio.fail_after(5):
            await sandbox._converse(AsyncChannel(host), "pass", {}, FakeBridge(), run, None)
    except ProtocolError as exc:
        error = exc
    thread.join(5)
    host.close()
    return run, error


@pytest.mark.parametrize(
    ("frames", "fragment"),
    [
        ([encode({"t": "launch"})], "unknown message type"),
        ([encode({"t": "out", "s": 5})], "output must be text"),
        ([encode({"t": "call", "op": 5})], "malformed call"),
        ([encode({"t": "call", "op": "get_profiles", "params": []})], "malformed call"),
        ([(100_000_000).to_bytes(4, "big")], "exceeds"),
        ([(10).to_bytes(4, "big") + b"{"], "middle of a frame"),
        ([b"\x00\x00"], "middle of a frame"),
        ([(3).to_bytes(4, "big") + b"[1]"], "JSON object"),
    ],
)
async def test_a_hostile_worker_cannot_confuse_the_host(frames: list[bytes], fragment: str) -> None:
    _, error = await converse_with(frames)
    assert error is not None and fragment in str(error)


async def test_the_host_caps_output_itself_even_if_the_worker_lies() -> None:
    run, error = await converse_with(
        [encode({"t": "out", "s": "x" * 5000}), encode({"t": "done", "dropped": -3})]
    )
    assert (
        error is None
        and run.kept == TEST_LIMITS.output_bytes
        and run.dropped == 5000 - TEST_LIMITS.output_bytes
    )


async def test_forged_errors_from_a_worker_are_sanitised(sandbox: Sandbox) -> None:
    run = _Run(TEST_LIMITS, dry_run=False)
    run.done = {"error": {"type": "X" * 500, "message": "m" * 10000, "line": True}}
    error = sandbox._final_error(run, {})
    assert (
        error is not None
        and len(error.type) == 100
        and len(error.message) == 2000
        and error.line is None
    )
    run.done = {"error": "not an object"}
    forged = sandbox._final_error(run, {})
    assert forged is not None and forged.type == "SandboxError" and "malformed" in forged.message


async def test_exit_reasons_are_explained(sandbox: Sandbox) -> None:
    run = _Run(TEST_LIMITS, dry_run=False)
    assert "malformed message" in sandbox._final_error(run, {"protocol": True}).message  # type: ignore[union-attr]
    assert sandbox._final_error(run, {}).type == "SandboxError"  # type: ignore[union-attr]
    run.hello = True
    crashed = sandbox._final_error(run, {"signal": signal.SIGSEGV})
    assert crashed is not None and crashed.type == "WorkerCrashed" and "SIGSEGV" in crashed.message
    assert "signal" not in sandbox._final_error(run, {"code": 0}).message  # type: ignore[union-attr]


async def test_a_dead_zygote_is_replaced(sandbox: Sandbox) -> None:
    zygote = sandbox._zygote
    assert zygote is not None
    zygote.process.kill()
    zygote.process.wait()
    result = await execute(sandbox, "print('again')")
    assert result.output == "again\n" and sandbox._zygote is not zygote


async def test_a_zygote_dying_mid_request_gives_a_clean_error(sandbox: Sandbox) -> None:
    await execute(sandbox, "pass")
    zygote = sandbox._zygote
    assert zygote is not None
    os.kill(zygote.process.pid, signal.SIGKILL)
    await anyio.sleep(0)  # nothing to wait for: the next request may or may not see it die
    result = await sandbox.execute("print(1)", bridge=FakeBridge())
    assert result.error is None or result.error.type == "SandboxError"
    zygote.process.wait()
    again = await execute(sandbox, "print(2)")
    assert again.output == "2\n"


async def test_cancelling_the_caller_kills_the_worker(sandbox: Sandbox) -> None:
    await execute(sandbox, "pass")
    zygote = sandbox._zygote
    assert zygote is not None
    with anyio.move_on_after(0.5):
        await sandbox.execute("while True:\n    pass", bridge=FakeBridge())
    assert children_of(zygote.process.pid) == []
    result = await execute(sandbox, "print('still fine')")
    assert result.output == "still fine\n"


async def test_cpu_limit_stops_a_worker_before_the_wall_limit() -> None:
    async with Sandbox(limits=Limits(wall_s=10, cpu_s=1)) as box:
        result = await box.execute("while True:\n    pass", bridge=FakeBridge())
    check_invariants(result)
    assert result.error is not None and result.error.type == "LimitError"
    assert "CPU time limit of 1 s" in result.error.message
    assert result.cpu_ms >= 500  # rusage is sampled; the limit itself is the kernel's


async def test_a_worker_that_cannot_even_start_reports_no_result() -> None:
    async with Sandbox(limits=Limits(wall_s=5, memory_mb=1)) as box:
        result = await box.execute("x = list(range(10 ** 6))", bridge=FakeBridge())
    assert result.error is not None
    assert result.error.type in {"LimitError", "WorkerCrashed", "SandboxError"}


async def test_a_closed_sandbox_refuses_cleanly() -> None:
    box = Sandbox(limits=TEST_LIMITS)
    await box.aclose()
    result = await box.execute("pass", bridge=FakeBridge())
    assert result.error is not None and result.error.type == "SandboxError"
    assert "try again" in result.error.message


async def test_a_zygote_that_cannot_start_is_an_operator_error(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    box = Sandbox(limits=TEST_LIMITS, python=str(fake))
    result = await box.execute("pass", bridge=FakeBridge())
    assert result.error is not None and result.error.type == "SandboxError"
    await box.aclose()


async def test_channel_send_to_a_dead_worker_raises_protocol_error() -> None:
    host, worker = socket.socketpair()
    worker.close()
    channel = AsyncChannel(host)
    with pytest.raises(ProtocolError, match="closed"):
        for _ in range(100):
            await channel.send({"x": "y" * 100000})
    channel.close()


async def test_channel_waits_for_a_slow_reader_and_writer() -> None:
    host, worker = socket.socketpair()
    worker.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    channel = AsyncChannel(host)
    payload: dict[str, Any] = {"s": "z" * 500_000}
    received: list[dict[str, Any] | None] = []

    def reader() -> None:
        received.append(recv_frame(worker))
        worker.sendall(encode({"ok": True})[:3])
        worker.sendall(encode({"ok": True})[3:])

    thread = threading.Thread(target=reader)
    thread.start()
    with anyio.fail_after(5):
        await channel.send(payload)
        assert await channel.recv() == {"ok": True}
    thread.join(5)
    assert received == [payload]
    worker.close()
    with anyio.fail_after(5):
        assert await channel.recv() is None
    channel.close()


async def test_a_reset_connection_reads_as_the_end_of_the_stream() -> None:
    host, worker = socket.socketpair()
    host.sendall(b"unread by the worker")
    worker.close()  # closing with unread data resets the connection
    channel = AsyncChannel(host)
    with anyio.fail_after(5):
        assert await channel.recv() is None
    channel.close()


async def test_sending_waits_while_the_socket_buffer_is_full() -> None:
    host, worker = socket.socketpair()
    host.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    channel = AsyncChannel(host)
    received: list[dict[str, Any] | None] = []
    thread = threading.Thread(target=lambda: received.append(recv_frame(worker)))
    thread.start()
    with anyio.fail_after(5):
        await channel.send({"s": "q" * 1_000_000})
    thread.join(5)
    assert received == [{"s": "q" * 1_000_000}]
    channel.close()
    worker.close()


async def test_a_failed_spawn_request_closes_the_host_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codemode.sandbox.spawn import SandboxError, ZygoteClient

    async def broken(
        self: ZygoteClient, message: dict[str, Any], fds: list[int] | None = None
    ) -> dict[str, Any]:
        raise SandboxError("the sandbox zygote went away (test)")

    async with Sandbox(limits=TEST_LIMITS) as box:
        monkeypatch.setattr(ZygoteClient, "request", broken)
        result = await box.execute("pass", bridge=FakeBridge())
        monkeypatch.undo()
    assert result.error is not None and result.error.type == "SandboxError"


async def test_a_closed_control_socket_is_a_sandbox_error() -> None:
    from codemode.sandbox.spawn import SandboxError

    box = Sandbox(limits=TEST_LIMITS)
    await box.start()
    zygote = box._zygote
    assert zygote is not None
    zygote.ctrl.close()
    with pytest.raises(SandboxError, match="went away"):
        await zygote.request({"t": "reap", "pid": 1})
    await box.aclose()


async def test_a_silent_zygote_times_out_as_a_sandbox_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codemode.sandbox import spawn as spawn_module
    from codemode.sandbox.spawn import SandboxError

    monkeypatch.setattr(spawn_module, "_CONTROL_TIMEOUT_S", 0.2)
    box = Sandbox(limits=TEST_LIMITS)
    await box.start()
    zygote = box._zygote
    assert zygote is not None
    os.kill(zygote.process.pid, signal.SIGSTOP)
    try:
        with pytest.raises(SandboxError, match="did not answer"):
            await zygote.request({"t": "reap", "pid": 1})
        assert not zygote.alive
    finally:
        os.kill(zygote.process.pid, signal.SIGCONT)
        await box.aclose()


async def test_a_failing_progress_callback_does_not_break_the_run(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(done: int, message: str) -> None:
        raise RuntimeError("progress sink gone")

    result = await execute(
        sandbox, "klaviyo.profiles.get_profiles()\nprint('ok')", on_progress=broken
    )
    assert result.error is None and result.output == "ok\n"
    assert "on_progress failed" in caplog.text


async def test_closing_a_sandbox_that_never_started_is_fine() -> None:
    box = Sandbox(limits=TEST_LIMITS)
    await box.aclose()
    await box.aclose()


async def test_a_zygote_that_never_says_ready_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codemode.sandbox import spawn as spawn_module

    monkeypatch.setattr(spawn_module, "_START_TIMEOUT_S", 0.3)
    mute = tmp_path / "python"
    mute.write_text("#!/bin/sh\nexec sleep 1\n")
    mute.chmod(0o755)
    with pytest.raises(spawn_module.SandboxError, match="did not start within"):
        await spawn_module.ZygoteClient.start(str(mute))


async def test_a_reset_control_socket_is_a_sandbox_error() -> None:
    from codemode.sandbox.spawn import SandboxError, ZygoteClient

    host, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    host.setblocking(False)
    host.send(b"unread")
    peer.close()  # closing with an unread message resets the connection
    client = ZygoteClient(None, host)  # type: ignore[arg-type]
    with pytest.raises(SandboxError, match="went away"):
        await client._recv()
    assert not client.alive
    host.close()


async def test_the_zygote_starts_with_an_empty_environment(sandbox: Sandbox) -> None:
    await execute(sandbox, "pass")
    zygote = sandbox._zygote
    assert zygote is not None
    assert os.environ.get("KLAVIYO_API_KEY")  # the canary is in the host's environment...
    assert (
        Path(f"/proc/{zygote.process.pid}/environ").read_bytes() == b""
    )  # ...and not in the zygote's


async def test_a_forged_store_that_cannot_be_measured_is_ignored(sandbox: Sandbox) -> None:
    from codemode.sandbox.runner import _json_size

    assert _json_size({"s": {1}}) == float("inf")

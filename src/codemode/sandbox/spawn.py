"""The host's handle on the zygote: start it clean, ask it to fork and reap workers.

The zygote is exec'd as ``python -I`` with an empty environment (so no credential is ever in its
memory) and driven over a ``SOCK_SEQPACKET`` socketpair, one request and one answer at a time.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import anyio

from codemode.sandbox.zygote import BOOTSTRAP

__all__ = ["SandboxError", "ZygoteClient"]

_SRC = str(Path(__file__).resolve().parent.parent.parent)
_START_TIMEOUT_S = 30.0
_CONTROL_TIMEOUT_S = 10.0


class SandboxError(Exception):
    """The sandbox itself failed (zygote could not start, died...); an operator problem."""


class ZygoteClient:
    """The pre-imported parent of the workers, driven over a SEQPACKET socket."""

    def __init__(self, process: subprocess.Popen[bytes], ctrl: socket.socket) -> None:
        self.process = process
        self.ctrl = ctrl
        self.lock = anyio.Lock()
        self.alive = True

    @classmethod
    async def start(cls, python: str) -> ZygoteClient:
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Started from the event loop's thread, not a worker thread: the zygote's parent-death
            # signal fires when the *thread* that forked it exits.
            process = subprocess.Popen(
                [python, "-I", "-c", BOOTSTRAP, _SRC, str(child_end.fileno())],
                env={},  # nothing of the server's environment, the key included
                pass_fds=(child_end.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        finally:
            child_end.close()
        host_end.setblocking(False)
        zygote = cls(process, host_end)
        try:
            with anyio.move_on_after(_START_TIMEOUT_S):
                ready = await zygote._recv()
                if ready.get("t") == "ready":
                    return zygote
                raise SandboxError(
                    f"the sandbox zygote failed to start: {ready.get('reason', ready)}"
                )
            raise SandboxError(f"the sandbox zygote did not start within {_START_TIMEOUT_S:.0f} s")
        except BaseException:
            with anyio.CancelScope(shield=True):
                await zygote.close()
            raise

    async def _recv(self) -> dict[str, Any]:
        while True:
            try:
                data = self.ctrl.recv(65536)
            except BlockingIOError:
                await anyio.wait_readable(self.ctrl)
                continue
            except OSError as exc:
                data, reason = b"", exc.strerror
            else:
                reason = "closed"
            if not data:
                self.alive = False
                raise SandboxError(f"the sandbox zygote went away ({reason})")
            message: dict[str, Any] = json.loads(data)
            return message

    async def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        while True:
            try:
                if fds:
                    socket.send_fds(self.ctrl, [data], fds)
                else:
                    self.ctrl.send(data)
                return
            except BlockingIOError:
                await anyio.wait_writable(self.ctrl)
            except OSError as exc:
                self.alive = False
                raise SandboxError(f"the sandbox zygote went away ({exc.strerror})") from None

    async def request(
        self, message: dict[str, Any], fds: list[int] | None = None
    ) -> dict[str, Any]:
        async with self.lock:
            try:
                with anyio.fail_after(_CONTROL_TIMEOUT_S):
                    await self._send(message, fds)
                    return await self._recv()
            except TimeoutError:  # the exchange is out of step now: replace the zygote
                self.alive = False
                raise SandboxError(
                    f"the sandbox zygote did not answer within {_CONTROL_TIMEOUT_S:.0f} s"
                ) from None

    async def close(self) -> None:
        self.alive = False
        self.ctrl.close()  # the zygote kills its workers and exits on EOF
        try:
            await anyio.to_thread.run_sync(lambda: self.process.wait(timeout=5))
        except subprocess.TimeoutExpired:  # pragma: no cover - a wedged zygote
            self.process.kill()
            await anyio.to_thread.run_sync(self.process.wait)

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

__all__ = ["BOOTSTRAP", "SandboxError", "ZygoteClient"]

# Run as `python -I -c BOOTSTRAP <src dir> <control fd>`. The package initialisers of codemode,
# codemode.klaviyo and codemode.sandbox are replaced by empty packages so that importing the
# worker's leaf modules never pulls in the SDK client, httpx or anyio. It lives here, not in
# zygote.py, so that the host never imports the worker's modules (RestrictedPython, the policy).
# Once main() returns, every worker is dead and reaped and there is nothing to flush (stdio is
# /dev/null): the zygote exits at once instead of tearing its heap down while the host waits.
BOOTSTRAP = """\
import os, sys, types
src, fd = sys.argv[1], int(sys.argv[2])
for name in ("codemode", "codemode.klaviyo", "codemode.sandbox"):
    module = types.ModuleType(name)
    module.__path__ = [os.path.join(src, *name.split("."))]
    sys.modules[name] = module
from codemode.sandbox.zygote import main
main(fd)
os._exit(0)
"""

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
        self.started = False
        """Whether the zygote said ``ready`` (see :meth:`ready`)."""

    @classmethod
    def launch(cls, python: str) -> ZygoteClient:
        """Start the zygote's process and return at once; :meth:`ready` waits for it.

        Synchronous, so a one-shot caller can start it before importing the rest of the host
        (the zygote's start then overlaps the host's). Call it on the thread that will run the
        event loop: the zygote's parent-death signal fires when the *thread* that forked it exits.
        """
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
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
        except BaseException:
            host_end.close()
            raise
        finally:
            child_end.close()
        host_end.setblocking(False)
        return cls(process, host_end)

    @classmethod
    async def start(cls, python: str) -> ZygoteClient:
        """Start a zygote and wait until it is ready."""
        # Started from the event loop's thread, not a worker thread (see launch).
        return await cls.launch(python).ready()

    async def ready(self) -> ZygoteClient:
        """Wait for a launched zygote's ``ready``; on failure it is closed and this raises.

        Raises:
            SandboxError: the zygote failed to start, or did not within the start timeout.
        """
        if self.started:
            return self
        try:
            with anyio.move_on_after(_START_TIMEOUT_S):
                ready = await self._recv()
                if ready.get("t") == "ready":
                    self.started = True
                    return self
                raise SandboxError(
                    f"the sandbox zygote failed to start: {ready.get('reason', ready)}"
                )
            raise SandboxError(f"the sandbox zygote did not start within {_START_TIMEOUT_S:.0f} s")
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.close()
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

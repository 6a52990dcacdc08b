"""A rolling restart loses no answer: SIGTERM lets a running script finish before exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

SLOW = "n = 0\nfor i in range(6_000_000):\n    n += i\nprint('finished', n > 0)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sigterm_lets_a_running_script_finish_and_then_the_server_exits(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {**os.environ, "CODEMODE_AUDIT_DB": "off", "CODEMODE_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from codemode.cli import app; app()",
            "serve",
            "--demo",
            "--transport",
            "http",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx2.AsyncClient(timeout=60) as raw:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await raw.get(url.removesuffix("/mcp") + "/healthz")).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                    raise AssertionError(
                        f"the server did not come up (rc {proc.returncode}): {err[-2000:]}"
                    )
                await anyio.sleep(0.1)
            async with Client(streamable_http_client(url, http_client=raw)) as client:  # type: ignore[arg-type]
                warm = await client.call_tool("execute_code", {"code": "print(1)"})
                assert (warm.structured_content or {}).get("output", "").strip() == "1"
                result: list[object] = []

                async def run() -> None:
                    result.append(await client.call_tool("execute_code", {"code": SLOW}))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run)
                    await anyio.sleep(0.5)  # the script is running in a worker now
                    proc.send_signal(signal.SIGTERM)
        answer = result[0]
        content = getattr(answer, "structured_content", None) or {}
        assert content.get("error") is None, content
        assert content["output"].strip() == "finished True"
        # uvicorn re-raises the signal once it has drained, so the exit status names SIGTERM.
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()

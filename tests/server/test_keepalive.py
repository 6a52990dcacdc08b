"""An idle keep-alive connection outlives a load balancer's idle timeout.

uvicorn closes idle connections after 5 s by default. A balancer (or a keep-alive client) that
reuses one just as the server closes it loses that request: the load bench's raw client lost 558
runs that way when each session's connection to one replica sat idle while the other replica
ran its previous request. ``CODEMODE_KEEPALIVE_S`` (default 75 s) sets how long the server waits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemode.config import ConfigError, Settings

SERVE = [sys.executable, "-c", "from codemode.cli import app; app()", "serve", "--demo"]
SERVE += ["--transport", "http"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(sock: socket.socket, port: int) -> bytes:
    """One ``GET /healthz`` on ``sock``; the whole answer, or b"" when the server had closed."""
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n\r\n" % port)
        answer = b""
        while b"\r\n\r\n" not in answer:  # the head and the body may come in two segments
            chunk = sock.recv(65536)
            if not chunk:
                return answer
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(
            next(line for line in head.lower().split(b"\r\n") if b"content-length:" in line).split(
                b":"
            )[1]
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body
    except (BrokenPipeError, ConnectionResetError):
        return b""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> int:
        port = _free_port()
        proc = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            env={**os.environ, "CODEMODE_AUDIT_DB": "off", "CODEMODE_STATE_DIR": str(tmp_path)}
            | env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    if _get(probe, port).startswith(b"HTTP/1.1 200"):
                        return port
            except OSError:
                pass
            time.sleep(0.1)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise AssertionError(f"the server did not come up (rc {proc.poll()}): {err[-2000:]}")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_an_idle_connection_stays_open_past_uvicorns_default_and_closes_at_the_setting(
    serve: object,
) -> None:
    start = serve
    assert callable(start)
    default, short = start(), start(CODEMODE_KEEPALIVE_S="1")
    with (
        socket.create_connection(("127.0.0.1", default), timeout=10) as kept,
        socket.create_connection(("127.0.0.1", short), timeout=10) as closed,
    ):
        assert _get(kept, default).startswith(b"HTTP/1.1 200")
        assert _get(closed, short).startswith(b"HTTP/1.1 200")
        time.sleep(6.5)  # past uvicorn's own 5 s
        assert _get(kept, default).startswith(b"HTTP/1.1 200")
        assert _get(closed, short) == b""


@pytest.mark.parametrize("raw", ["0", "-3", "soon", "nan"])
def test_a_keepalive_that_is_not_a_positive_number_is_refused_with_what_to_do(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"CODEMODE_KEEPALIVE_S.*unset it to use 75"):
        Settings.from_env({"CODEMODE_KEEPALIVE_S": raw})


def test_the_default_outlives_a_sixty_second_balancer() -> None:
    assert Settings.from_env({}).keepalive_s > 60

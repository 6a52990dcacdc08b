"""``codemode bench sandbox``: what the sandbox costs, measured against its own baseline in one run.

Three figures, all on this machine, all against the in-process simulator (no network):

1. round trip of a trivial script (``print(1)``): fork a confined worker from the zygote, compile,
   run, collect, kill and reap. Target: p50 under 25 ms.
2. per-SDK-call overhead: a script making N calls, minus the trivial round trip, divided by N,
   compared with the same N calls made directly with ``AsyncKlaviyo`` on the same simulator
   (the baseline). Reported as milliseconds and as a ratio. Target: overhead under 1 ms. The
   scanner is left out here (its cost is the scanner benchmark's), so only the sandbox is timed.
3. executions per second with 8 concurrent callers running the trivial script.

It also times the proxy round trip alone (a bridge that answers at once, no HTTP), which is
what the overhead in (2) should be made of, and records the machine's load average: on a busy
machine every round trip waits for the scheduler twice.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any

import anyio
import httpx
from rich.console import Console
from rich.table import Table

from codemode.bench._machine import load_now, machine_info
from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo
from codemode.sandbox import BridgeReply, Limits, OutputScan, Sandbox, SdkBridge
from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app

__all__ = ["run"]

_BASE = "http://simulator"
_OPERATION = "get_accounts"


class _NoopBridge:
    """Answers every call at once with a small document: the proxy's own cost, no HTTP."""

    dry_run = False

    def operations(self) -> dict[str, list[str]]:
        return {"accounts": [_OPERATION]}

    async def call(self, op_id: str, args: Any, params: Any) -> BridgeReply:
        return BridgeReply(
            status=200, raw={"data": [{"type": "account", "id": "A1", "attributes": {}}]}
        )

    async def scan_output(self, pieces: dict[str, str]) -> OutputScan:
        return OutputScan("unscanned")

    def scrub(self, text: str) -> str:
        return text


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _measure(quick: bool) -> dict[str, Any]:
    trivial_runs, calls, call_runs, concurrent_total = (
        (30, 20, 3, 40) if quick else (200, 100, 10, 400)
    )
    app = create_app(SimConfig(seed=0, rate_limits=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=_BASE) as http:
        client = AsyncKlaviyo(
            api_key=DEMO_PRIVATE_KEY, base_url=_BASE, http_client=http, max_retries=0
        )
        bridge = SdkBridge(client=client, catalog=load_catalog(), secrets=[DEMO_PRIVATE_KEY])
        async with Sandbox(limits=Limits(max_calls=max(200, calls + 1))) as sandbox:
            for _ in range(3):  # warm the zygote, the simulator and the SDK
                await sandbox.execute(f"klaviyo.call('{_OPERATION}')", bridge=bridge)
                await client.call(_OPERATION)

            trivial: list[float] = []
            for _ in range(trivial_runs):
                started = time.perf_counter()
                result = await sandbox.execute("print(1)", bridge=bridge)
                trivial.append((time.perf_counter() - started) * 1000)
                assert result.error is None, result.error

            script = f"for i in range({calls}):\n    klaviyo.call('{_OPERATION}')\n"
            per_call_sandbox: list[float] = []
            per_call_direct: list[float] = []
            for _ in range(call_runs):
                started = time.perf_counter()
                result = await sandbox.execute(script, bridge=bridge)
                elapsed = (time.perf_counter() - started) * 1000
                assert result.error is None and len(result.calls) == calls, result.error
                per_call_sandbox.append(max(0.0, elapsed - statistics.median(trivial)) / calls)
                started = time.perf_counter()
                for _ in range(calls):
                    await client.call(_OPERATION)
                per_call_direct.append((time.perf_counter() - started) * 1000 / calls)

            noop: list[float] = []
            for _ in range(call_runs):
                started = time.perf_counter()
                result = await sandbox.execute(script, bridge=_NoopBridge())
                elapsed = (time.perf_counter() - started) * 1000
                assert result.error is None, result.error
                noop.append(max(0.0, elapsed - statistics.median(trivial)) / calls)

            done = 0

            async def caller(count: int) -> None:
                nonlocal done
                for _ in range(count):
                    result = await sandbox.execute("print(1)", bridge=bridge)
                    assert result.error is None, result.error
                    done += 1

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(caller, concurrent_total // 8)
            concurrent_s = time.perf_counter() - started
            isolation = dict(sandbox.isolation)

    sandbox_call = statistics.median(per_call_sandbox)
    direct_call = statistics.median(per_call_direct)
    return {
        "trivial_ms": trivial,
        "sandbox_call_ms": sandbox_call,
        "noop_call_ms": statistics.median(noop),
        "direct_call_ms": direct_call,
        "calls_per_script": calls,
        "executions": done,
        "concurrent_s": concurrent_s,
        "isolation": isolation,
    }


def run(*, quick: bool, console: Console) -> dict[str, Any]:
    """Measure and print; the returned dict's ``summary`` holds the headline figures."""
    load_before = load_now()
    data = anyio.run(_measure, quick)
    trivial = data["trivial_ms"]
    overhead = data["sandbox_call_ms"] - data["direct_call_ms"]
    summary = {
        "trivial_p50_ms": round(statistics.median(trivial), 2),
        "trivial_p95_ms": round(_percentile(trivial, 0.95), 2),
        "per_call_ms_sandbox": round(data["sandbox_call_ms"], 3),
        "per_call_ms_direct": round(data["direct_call_ms"], 3),
        "per_call_overhead_ms": round(overhead, 3),
        "proxy_round_trip_ms": round(data["noop_call_ms"], 3),
        "per_call_ratio": round(data["sandbox_call_ms"] / data["direct_call_ms"], 2)
        if data["direct_call_ms"]
        else None,
        "executions_per_s_8_callers": round(data["executions"] / data["concurrent_s"], 1),
        "targets_met": statistics.median(trivial) < 25.0 and overhead < 1.0,
    }
    table = Table(title="sandbox (in-process simulator, no scanner)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_row("trivial script round trip p50", f"{summary['trivial_p50_ms']} ms", "< 25 ms")
    table.add_row("trivial script round trip p95", f"{summary['trivial_p95_ms']} ms", "")
    table.add_row("SDK call through the sandbox", f"{summary['per_call_ms_sandbox']} ms", "")
    table.add_row(
        "same call directly (AsyncKlaviyo)", f"{summary['per_call_ms_direct']} ms", "baseline"
    )
    table.add_row(
        "overhead per call",
        f"{summary['per_call_overhead_ms']} ms (x{summary['per_call_ratio']})",
        "< 1 ms",
    )
    table.add_row("proxy round trip alone (no HTTP)", f"{summary['proxy_round_trip_ms']} ms", "")
    table.add_row(
        "executions/s, 8 concurrent callers", str(summary["executions_per_s_8_callers"]), ""
    )
    console.print(table)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print(f"load average during the run: {load} on {os.cpu_count()} CPUs")
    iso = data["isolation"]
    console.print(
        f"worker isolation: uid {iso.get('uid')}, network namespace {iso.get('network_namespace')}, "
        f"Landlock ABI {iso.get('landlock_abi')}, seccomp {iso.get('seccomp')}"
        + (f"; notes: {'; '.join(iso.get('notes') or [])}" if iso.get("notes") else "")
    )
    return {
        "summary": summary,
        "quick": quick,
        "trivial_runs": len(trivial),
        "calls_per_script": data["calls_per_script"],
        "concurrent_executions": data["executions"],
        "isolation": iso,
        "machine": {**machine_info(load_before), "platform": platform.platform()},
    }

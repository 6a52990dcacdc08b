"""``codemode bench load --replicas N``: what N replicas sharing Redis serve against one.

A CPU-bound figure and one per modelled latency, each with one replica and with N in the same
run, the same client and the same per-replica configuration (workers, caps: the environment is
identical but for the fleet size):

- **CPU-bound**: the demo simulator answers at once, so a run costs only CPU: the server's (MCP,
  policy, scanning, the in-process simulator), its sandbox worker's, the load generator's and
  Redis's. Each replica is pinned to its share of the cores, the one-replica baseline to one
  share; the load generator and Redis are not pinned. The CPU measured per run gives the ceiling
  this machine allows: one replica cannot exceed its share's cores divided by its server and
  worker CPU per run, N cannot exceed all the cores divided by everything a run costs, client
  and Redis included. On a machine where the client and Redis share the servers' cores, that
  ceiling, not the code, caps the ratio.
- **Latency-modelled**: the simulator waits ``latency_ms`` before every answer (Klaviyo answers in
  tens to hundreds of milliseconds), so a run mostly waits while holding its worker slot. A
  replica's throughput is then bounded by its slots: workers / (API calls per run x latency).
  N replicas have N times the slots; a third run, one replica with N times the workers, says
  whether those slots are all that scales, i.e. whether one process could have done the same on
  this host (replicas exist for more hosts than one, which a one-host bench cannot show).

Every run reports failures and leaks (markers seen by another principal, keys in results,
audit rows of unknown principals); throughput counts answered runs only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from codemode.bench._fleet import Fleet

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

__all__ = ["scale_out"]

TARGET = 1.7
"""The issue's target: two replicas serve at least 1.7 times what one serves."""


def cores() -> list[int]:
    """The cores this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return list(range(os.cpu_count() or 1))


def machine_busy_s() -> float:
    """CPU seconds every process on this machine has used since boot (``/proc/stat``); 0 when
    unknown. The bench's own processes are a part: the rest is other users' load."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0.0
    # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    values = [int(v) for v in fields[:8]]
    return (sum(values) - values[3] - values[4]) / _TICK


def _calls_per_run(sessions: int, runs: int) -> float:
    """Mean SDK calls per ``execute_code`` run of a load level (the boot and probe make none)."""
    from codemode.bench.load import WORK

    calls = [script.count("klaviyo.") for script in WORK]
    work = max(0, runs - 2)
    total = sum(calls[(i + d) % len(WORK)] for i in range(sessions) for d in range(work))
    return total / (sessions * runs)


async def _measured(
    folder: Path,
    *,
    label: str,
    levels: Sequence[int],
    runs: int,
    console: Console,
    replicas: int,
    pins: Sequence[tuple[int, ...]],
    env: dict[str, str],
    client: str,
) -> dict[str, Any]:
    """One fleet through every level, with client and Redis CPU per run beside the servers'."""
    from codemode.bench.load import _fleet_levels, _level

    async def level(urls: Sequence[str], fleet: Fleet, *args: Any) -> dict[str, Any]:
        client_before, state_before = time.process_time(), fleet.state_cpu_s()
        busy_before, cpu_before = machine_busy_s(), fleet.cpu()
        began = time.monotonic()
        row: dict[str, Any] = await _level(urls, fleet, *args)
        done = max(1, row["ok"])
        cpu_after, wall = fleet.cpu(), time.monotonic() - began
        client_s = time.process_time() - client_before
        state_s = fleet.state_cpu_s() - state_before
        row["client_cpu_ms_per_run"] = round(client_s * 1000 / done, 2)
        row["redis_cpu_ms_per_run"] = round(state_s * 1000 / done, 2)
        ours = cpu_after.host_s + cpu_after.sandbox_s - cpu_before.host_s - cpu_before.sandbox_s
        ours += client_s + state_s
        others = max(0.0, machine_busy_s() - busy_before - ours)
        # Both over the same window (the level, with its 2 s pause for memory at the end).
        row["bench_cores"] = round(ours / wall, 2) if wall > 0 else 0.0
        row["other_processes_cores"] = round(others / wall, 2) if wall > 0 else 0.0
        return row

    result = await _fleet_levels(
        folder,
        levels,
        runs,
        console,
        replicas=replicas,
        cores=pins,
        label=label,
        client=client,
        env=env,
        level=level,
    )
    return {**result, "environment": dict(sorted(env.items()))}


def _cpu(row: dict[str, Any]) -> dict[str, float]:
    parts = ("server", "worker", "client", "redis")
    return {p: float(row.get(f"{p}_cpu_ms_per_run", 0.0)) for p in parts}


def cpu_ceiling(
    one: dict[str, float], many: dict[str, float], *, share: int, replicas: int, total: int
) -> dict[str, float]:
    """The most runs/s the cores allow, from the CPU one run costs (ms, by process).

    One replica is pinned to ``share`` cores, and the client runs anywhere; N replicas have
    ``share`` cores each and every process competes for all ``total`` cores.
    """

    def bound(cost: dict[str, float], servers: int) -> float:
        serving = cost["server"] + cost["worker"]
        everything = serving + cost["client"] + cost["redis"]
        if serving <= 0 or everything <= 0:
            return 0.0
        return min(servers * share * 1000 / serving, total * 1000 / everything)

    first, scaled = bound(one, 1), bound(many, replicas)
    return {
        "one_per_s": round(first, 1),
        "many_per_s": round(scaled, 1),
        "ratio": round(scaled / first, 2) if first else 0.0,
    }


def _ratio(one: dict[str, Any], many: dict[str, Any]) -> float:
    base = float(one.get("throughput_per_s") or 0.0)
    return round(float(many.get("throughput_per_s") or 0.0) / base, 2) if base else 0.0


def _finding(ratio: float, control: float) -> str:
    """What scales, said plainly: the replicas, or only the worker slots they bring."""
    if control >= 0.85 * ratio:
        return (
            "What scales is the worker slots: one process given as many workers does about as "
            "well on this host, so here replicas add slots, not speed; across hosts they add "
            "each host's cores and memory as well."
        )
    return (
        "One process with as many workers falls short: its one share of the cores (or its "
        "event loop) is the bound, which the replicas' own cores lift."
    )


def _figure(
    latency_ms: float,
    runs_out: list[dict[str, Any]],
    *,
    replicas: int,
    workers: int,
    share: int,
    total: int,
) -> dict[str, Any]:
    """Ratios and bounds of one figure (its 1-replica, N-replica and control runs)."""
    one, many = runs_out[0], runs_out[1]
    control = runs_out[2] if len(runs_out) > 2 else None
    levels = []
    for index, (a, b) in enumerate(zip(one["levels"], many["levels"], strict=True)):
        item: dict[str, Any] = {
            "sessions": a["sessions"],
            "one_per_s": a["throughput_per_s"],
            "many_per_s": b["throughput_per_s"],
            "ratio": _ratio(a, b),
            "cpu_ms_per_run_one": _cpu(a),
            "cpu_ms_per_run_many": _cpu(b),
            "cpu_ceiling": cpu_ceiling(
                _cpu(a), _cpu(b), share=share, replicas=replicas, total=total
            ),
        }
        for key in ("bench_cores", "other_processes_cores"):
            item[key] = {"one": a.get(key), "many": b.get(key)}
        if latency_ms > 0:
            calls = _calls_per_run(a["sessions"], a["runs_per_session"])
            wait_s = calls * latency_ms / 1000
            slots = min(a["sessions"], workers)
            item["api_calls_per_run"] = round(calls, 2)
            item["slot_bound_one_per_s"] = round(slots / wait_s, 1) if wait_s else 0.0
            slots = min(a["sessions"], workers * replicas)
            item["slot_bound_many_per_s"] = round(slots / wait_s, 1) if wait_s else 0.0
        if control is not None:
            c = control["levels"][index]
            item["control_one_replica_all_workers_per_s"] = c["throughput_per_s"]
            item["control_ratio"] = _ratio(a, c)
            item["finding"] = _finding(item["ratio"], item["control_ratio"])
        levels.append(item)
    return {
        "latency_ms": latency_ms,
        "bound_by": "waiting on the API (worker slots)" if latency_ms > 0 else "CPU",
        "runs": runs_out,
        "levels": levels,
    }


async def scale_out(
    console: Console,
    folder: Path,
    *,
    levels: Sequence[int],
    runs: int,
    replicas: int,
    client: str,
    latencies_ms: Sequence[float],
    workers: int,
) -> dict[str, Any]:
    """The CPU-bound figure and one per latency, each with one replica and with ``replicas``."""
    available = cores()
    share = max(1, len(available) // replicas)
    pins = [tuple(available[i * share : (i + 1) * share]) for i in range(replicas)]
    figures = []
    for latency in [0.0, *sorted({float(v) for v in latencies_ms if v > 0})]:
        env = {"CODEMODE_MAX_WORKERS": str(workers)}
        if latency:
            env["CODEMODE_DEMO_LATENCY_MS"] = f"{latency:g}"
        name = f"latency {latency:g} ms" if latency else "CPU-bound"
        console.print(f"[bold]{name}[/]: {workers} workers per replica")
        common: dict[str, Any] = {"levels": levels, "runs": runs, "console": console}
        common["client"] = client
        runs_out = [
            await _measured(
                folder / f"{name}-one",
                label=f"1 replica, {name}",
                replicas=1,
                pins=pins[:1],
                env=env,
                **common,
            ),
            await _measured(
                folder / f"{name}-many",
                label=f"{replicas} replicas, {name}",
                replicas=replicas,
                pins=pins,
                env=env,
                **common,
            ),
        ]
        if latency:  # is it the replicas, or only their workers? one replica with all of them
            runs_out.append(
                await _measured(
                    folder / f"{name}-control",
                    label=f"1 replica with {workers * replicas} workers, {name}",
                    replicas=1,
                    pins=pins[:1],
                    env={**env, "CODEMODE_MAX_WORKERS": str(workers * replicas)},
                    **common,
                )
            )
        figures.append(
            _figure(
                latency,
                runs_out,
                replicas=replicas,
                workers=workers,
                share=share,
                total=len(available),
            )
        )
    return _summarise(figures, replicas=replicas, workers=workers, total=len(available))


def _summarise(
    figures: list[dict[str, Any]], *, replicas: int, workers: int, total: int
) -> dict[str, Any]:
    runs = [run for figure in figures for run in figure["runs"]]
    rows = [row for run in runs for row in run["levels"]]
    leaks = sum(r["leaks"] + r.get("keys_in_results", 0) for r in rows) + sum(
        run["checks"]["keys_in_logs_or_audit"]
        + (0 if run["checks"]["audit_principals_match"] else 1)
        for run in runs
    )
    summary: dict[str, Any] = {
        "cores": total,
        "replicas": replicas,
        "workers_per_replica": workers,
        "target_ratio": TARGET,
        "failures": sum(r["failures"] for r in rows),
        "leaks": leaks,
    }
    summary["latency"] = []
    for figure in figures:
        best = max(figure["levels"], key=lambda item: item["many_per_s"])
        headline: dict[str, Any] = {
            "latency_ms": figure["latency_ms"],
            "sessions": best["sessions"],
            "one_per_s": best["one_per_s"],
            "many_per_s": best["many_per_s"],
            "ratio": best["ratio"],
            "cpu_ceiling_ratio": best["cpu_ceiling"]["ratio"],
            "other_processes_cores": best["other_processes_cores"],
            **({"control_ratio": best["control_ratio"]} if "control_ratio" in best else {}),
        }
        if figure["latency_ms"]:
            summary["latency"].append(headline)
        else:
            summary["cpu_bound"] = headline
    return {"figures": figures, "runs": runs, "summary": summary}


def report(console: Console, result: dict[str, Any]) -> None:
    """What the figures say, in sentences after the tables."""
    summary = result["summary"]
    n, total = summary["replicas"], summary["cores"]
    for figure in result["figures"]:
        for item in figure["levels"]:
            ceiling = item["cpu_ceiling"]
            head = (
                f"latency {figure['latency_ms']:g} ms per API request"
                if figure["latency_ms"]
                else "CPU-bound (no added latency)"
            )
            console.print(
                f"{head}, {item['sessions']} sessions: {n} replicas {item['many_per_s']}/s vs 1 "
                f"replica {item['one_per_s']}/s = x{item['ratio']} on {total} cores "
                f"(CPU ceiling from the CPU per run: {ceiling['many_per_s']}/s vs "
                f"{ceiling['one_per_s']}/s = x{ceiling['ratio']}; cores busy with the bench "
                f"{item['bench_cores']['many']}, with other processes "
                f"{item['other_processes_cores']['many']})"
            )
            if "slot_bound_one_per_s" in item:
                console.print(
                    f"  bound by worker slots ({summary['workers_per_replica']} per replica, "
                    f"{item['api_calls_per_run']} API calls per run): "
                    f"{item['slot_bound_many_per_s']}/s vs {item['slot_bound_one_per_s']}/s; "
                    f"one replica with all {summary['workers_per_replica'] * n} workers: "
                    f"{item['control_one_replica_all_workers_per_s']}/s "
                    f"(x{item['control_ratio']}). {item['finding']}"
                )
    console.print(
        f"failures {summary['failures']}, leaks {summary['leaks']} (target x{summary['target_ratio']})"
    )

"""The README's load and startup tables are rendered from the benchmarks' JSON."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_readme_results_start", ROOT / "tools" / "gen_readme_results.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_readme_results_start"] = module
    spec.loader.exec_module(module)
    return module


def test_load_rows_show_cpu_per_run_rss_and_the_baseline_ratio() -> None:
    row = {
        "sessions": 64,
        "throughput_per_s": 51.2,
        "p50_ms": 800.0,
        "p99_ms": 1500.0,
        "failures": 0,
        "server_cpu_ms_per_run": 6.5,
        "worker_cpu_ms_per_run": 5.1,
        "rss_before_mb": 240.0,
        "rss_peak_mb": 260.0,
        "rss_after_mb": 245.0,
    }
    data = {
        "runs": [{"label": "this tree", "levels": [row]}],
        "summary": {"vs_baseline": {"64": 0.9}},
        "machine": {"cores": 2, "load_average": [3.1, 2.0, 1.0]},
    }

    text = "\n".join(_gen().render_other("load", data))

    assert (
        "| this tree | SDK reads and a write | 64 | 51.2 | 800.0 / 1500.0 | 0 | 6.5 | 5.1 | - "
        "| 240/260/245 |" in text
    )
    assert "64 sessions x0.9" in text
    assert "the official MCP client" in text and "inside the server" in text
    assert "2 cores, load average [3.1, 2.0, 1.0]" in text


def test_load_rows_name_each_workload_the_simulators_cpu_and_the_host_ratio() -> None:
    row = {
        "sessions": 16,
        "throughput_per_s": 4.2,
        "p50_ms": 900.0,
        "p99_ms": 2000.0,
        "failures": 0,
        "server_cpu_ms_per_run": 40.0,
        "worker_cpu_ms_per_run": 10.0,
        "simulator_cpu_ms_per_run": 12.5,
        "rss_before_mb": 240.0,
        "rss_peak_mb": 250.0,
        "rss_after_mb": 241.0,
    }
    data = {
        "settings": {"client": "raw", "simulator": "process", "workloads": ["pages"]},
        "runs": [{"label": "this tree", "workload": "pages", "levels": [row]}],
        "summary": {"host_over_worker": {"pages": {"16": 4.0}}},
        "machine": {"cores": 2, "load_average": [3.1, 2.0, 1.0]},
    }

    text = "\n".join(_gen().render_other("load", data))

    assert (
        "| this tree | 20 SDK calls | 16 | 4.2 | 900.0 / 2000.0 | 0 | 40.0 | 10.0 | 12.5 |" in text
    )
    assert "`--client raw`" in text and "its own process" in text
    assert "(`codemode bench load --json --workload pages --client raw --simulator process`" in text
    assert "20 SDK calls: x4.0 at 16" in text


def test_startup_rows_give_each_start_against_the_bare_interpreter() -> None:
    data = {
        "repeats": 9,
        "target_ratio": 20.0,
        "figures": {
            "bare": {"wall_ms": 15.0, "cpu_ms": 12.0},
            "serve": {
                "wall_ms": 90.0,
                "wall_ratio": 6.0,
                "cpu_ms": 900.0,
                "cpu_ratio": 75.0,
                "tools_list_ms": 600.0,
                "tools_list_ratio": 40.0,
                "tools_call_ms": 750.0,
                "tools_call_ratio": 50.0,
            },
            "exec": {"wall_ms": 300.0, "wall_ratio": 20.0, "cpu_ms": 240.0, "cpu_ratio": 20.0},
        },
        "machine": {"date": "2026-12-05", "cores": 2, "load_before": 1.0, "load_after": 2.0},
    }

    text = "\n".join(_gen().render_other("startup", data))

    assert "| `serve --demo` (stdio) answers initialize | 90 | 6.0 | <= 20 x |" in text
    assert "| `serve --demo` answers tools/list | 600 | 40.0 | <= 20 x |" in text
    assert "| `serve --demo` answers the first tools/call (`print(1)`) | 750 | 50.0 | |" in text
    assert "| `exec print(1)` --demo | 300 | 20.0 | <= 20 x |" in text
    assert "bare 12 ms, `exec print(1)` 240 ms (20.0 x)" in text
    assert "2026-12-05, 2 cores" in text


def test_scale_out_rows_give_both_figures_their_ceiling_and_the_control() -> None:
    cost = {"server": 8.0, "worker": 4.0, "client": 5.0, "redis": 1.0}
    level = {
        "sessions": 16,
        "one_per_s": 40.0,
        "many_per_s": 52.0,
        "ratio": 1.3,
        "cpu_ceiling": {"ratio": 1.33},
        "cpu_ms_per_run_one": cost,
        "cpu_ms_per_run_many": cost,
        "other_processes_cores": {"one": 0.1, "many": 0.8},
    }
    latency = {
        **level,
        "one_per_s": 25.0,
        "many_per_s": 49.0,
        "ratio": 1.96,
        "control_one_replica_all_workers_per_s": 47.0,
        "control_ratio": 1.88,
    }
    data = {
        "figures": [
            {"latency_ms": 0.0, "levels": [level]},
            {"latency_ms": 100.0, "levels": [latency]},
        ],
        "summary": {"replicas": 2, "workers_per_replica": 4, "failures": 0, "leaks": 0},
        "machine": {"date": "2026-12-06", "cores": 2, "load_before": 1.0, "load_after": 2.0},
    }

    text = "\n".join(_gen().render_other("load_replicas", data))

    assert (
        "| CPU-bound | 16 | 40.0 | 52.0 | x1.3 | x1.33 | - | 8 + 4 + 5 + 1 / 8 + 4 + 5 + 1 | 0.1 / 0.8 |"
        in text
    )
    assert (
        "| latency 100 ms per API call | 16 | 25.0 | 49.0 | x1.96 | x1.33 | 47.0 (x1.88) |" in text
    )
    assert "4 workers per replica" in text and "2 cores" in text

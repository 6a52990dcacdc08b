"""Load, bounded: 32 concurrent MCP sessions over Streamable HTTP, and hostile scripts under load.

The multi-minute run is ``codemode bench load``; this is its short variant (the same client code,
:func:`codemode.bench.load.drive`) against an in-process server on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from codemode.audit import AuditLog
from codemode.bench.load import drive, process_rss
from codemode.server import key_principal
from tests.reliability.conftest import BuildServer, keyed_http_server
from tests.sandbox.test_hostile import REFUSED
from tests.server.conftest import serving


async def test_each_workload_runs_and_checks_its_scripts_with_the_raw_client(
    make_server: BuildServer,
) -> None:
    built = keyed_http_server(make_server)
    with anyio.fail_after(240):
        async with serving(built.http_app()) as url:
            for workload in ("trivial", "pages"):
                report = await drive(url, sessions=2, scripts=1, client="raw", workload=workload)
                assert report.failures == 0, (workload, report.failure_samples)
                assert report.ok == 2 * 3 and report.leaks == 0  # boot, one script, the probe


async def test_an_unknown_workload_is_refused_before_any_session_starts() -> None:
    with pytest.raises(ValueError, match="unknown workload 'nope'; use one of mixed, trivial"):
        await drive("http://127.0.0.1:9/mcp", sessions=1, scripts=1, workload="nope")


HOSTILE = (
    "import_os",
    "class_walk",
    "getattr_built_name",
    "gen_frame_getattr",
    "str_format",
    "open_proc",
    "exec_call",
    "key_private",
    "key_getattr",
    "string_bomb",
    "cpu_loop",
)


async def test_32_sessions_run_scripts_concurrently_without_failures_or_leaks(
    make_server: BuildServer, audit_path: Path
) -> None:
    built = keyed_http_server(make_server)
    with anyio.fail_after(240):
        async with serving(built.http_app()) as url:
            report = await drive(url, sessions=32, scripts=2, rss=lambda: process_rss(os.getpid()))
    summary = report.summary()
    assert report.failures == 0, report.failure_samples
    assert report.leaks == 0
    # boot + 2 work scripts + the probe of a neighbour's store, per session
    assert report.ok == 32 * 4
    assert report.requests == report.ok + report.busy + report.rate_limited
    assert summary["p95_ms"] >= summary["p50_ms"] > 0
    assert summary["rss_samples"] > 0 and summary["peak_rss_mb"] > 0
    every_text = "\n".join(report.outputs)
    assert not any(key in every_text for key in report.keys)
    # each session's runs ran under its own credential: 4 audit rows per key fingerprint
    rows = AuditLog(audit_path).rows(limit=10_000)
    per_principal = Counter(str(r["principal"]) for r in rows)
    assert per_principal == {key_principal(key): 4 for key in report.keys}


async def test_hostile_scripts_are_refused_the_same_way_while_load_runs(
    make_server: BuildServer,
) -> None:
    # The hostile tests' limits (96 MiB, 2 s of CPU) so their expected messages hold.
    built = keyed_http_server(make_server, memory_mb=96, cpu_s=2.0)
    canary = "pk_canary_" + os.urandom(8).hex()
    cases = [case for case in REFUSED if case[0] in HOSTILE]
    assert len(cases) == len(HOSTILE)
    outcomes: list[tuple[str, dict[str, object], str]] = []

    async def hostile(url: str) -> None:
        raw = httpx2.AsyncClient(headers={"X-Klaviyo-API-Key": canary}, timeout=120)
        async with raw, Client(streamable_http_client(url, http_client=raw)) as client:  # type: ignore[arg-type]
            for name, code, _types, _fragment in cases:
                result = await client.call_tool("execute_code", {"code": code})
                text = "\n".join(getattr(c, "text", "") for c in result.content)
                outcomes.append((name, dict(result.structured_content or {}), text))

    with anyio.fail_after(240):
        async with serving(built.http_app()) as url, anyio.create_task_group() as tg:
            tg.start_soon(hostile, url)
            report = await drive(url, sessions=8, scripts=2)

    assert report.failures == 0, report.failure_samples
    assert report.leaks == 0 and report.ok == 8 * 4
    assert [name for name, _, _ in outcomes] == [case[0] for case in cases]
    for (name, data, text), (_, _, types, fragment) in zip(outcomes, cases, strict=True):
        error = data.get("error")
        assert isinstance(error, dict), f"{name} should have been refused: {text}"
        assert error["type"] in types, (name, error)
        assert fragment in str(error["message"]), (name, error)
        assert canary not in text and canary not in str(data)
        assert "Traceback" not in text


async def test_a_policy_refusal_reaches_the_agent_with_its_reason(make_server: BuildServer) -> None:
    built = make_server()
    _, code, types, fragment = next(c for c in REFUSED if c[0] == "webhook_default_refused")
    with anyio.fail_after(60):
        async with built.running(), Client(built.mcp) as client:
            result = await client.call_tool("execute_code", {"code": code})
    error = (result.structured_content or {}).get("error") or {}
    assert error.get("type") in types
    assert fragment in str(error.get("message")), error


def test_bench_load_takes_sessions_and_levels_and_stays_out_of_bench_all() -> None:
    import typer.main
    from typer.testing import CliRunner

    from codemode.cli import app
    from codemode.commands import bench

    shown = CliRunner().invoke(app, ["bench", "load", "--help"])
    assert shown.exit_code == 0, shown.output
    # The options themselves, not the help text: Rich wraps and truncates it to the terminal width.
    group = typer.main.get_command(app)
    load = group.commands["bench"].commands["load"]  # type: ignore[attr-defined]
    options = {opt for param in load.params for opt in param.opts}
    assert {"--sessions", "--levels", "--replicas", "--url"} <= options
    assert "load" in bench._BENCHMARKS and "load" not in bench._IN_ALL
    refused = CliRunner().invoke(app, ["bench", "load", "--sessions", "0"])
    assert refused.exit_code != 0


def test_bench_load_refuses_unknown_workloads_and_simulator_places_saying_what_to_use() -> None:
    from typer.testing import CliRunner

    from codemode.cli import app

    bad = CliRunner().invoke(app, ["bench", "load", "--workload", "mixed,nope"])
    assert bad.exit_code == 2 and "use one or more of mixed, trivial, pages" in bad.output
    bad = CliRunner().invoke(app, ["bench", "load", "--simulator", "remote"])
    assert bad.exit_code == 2 and "use inline or process" in bad.output
    bad = CliRunner().invoke(app, ["bench", "load", "--replicas", "2", "--latency-ms", "inf"])
    assert bad.exit_code == 2 and "finite number of ms" in bad.output
    bad = CliRunner().invoke(app, ["bench", "load", "--latency-ms", "100"])
    assert bad.exit_code == 2 and "add --replicas 2" in bad.output
    # Without --latency-ms a plain run is not refused for it (it reaches the next check).
    bad = CliRunner().invoke(app, ["bench", "load", "--levels", "x"])
    assert bad.exit_code == 2 and "give whole numbers" in bad.output


def test_the_load_report_summarises_percentiles_and_the_memory_trend() -> None:
    from codemode.bench.load import LoadReport

    report = LoadReport(sessions=2, ok=100, requests=103, busy=3, wall_s=10.0)
    report.latencies_ms = [float(v) for v in range(1, 101)]
    report.end_to_end_ms = [float(v) for v in range(1, 101)]
    report.rss = [(float(t), (100 + (t >= 6) * 10) * 2**20) for t in range(9)]
    summary = report.summary()
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (50.0, 95.0, 99.0)
    assert summary["rss_first_third_mb"] == 100.0 and summary["rss_last_third_mb"] == 110.0
    assert summary["rss_growth_pct"] == 10.0 and summary["peak_rss_mb"] == 110.0
    assert summary["throughput_per_s"] == 10.0

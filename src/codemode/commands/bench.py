"""``codemode bench tokens|search|scan|sandbox|startup|load|all``: rerunnable benchmarks.

Each benchmark lives in ``codemode.bench.<name>`` and exposes
``run(*, quick: bool, console: rich.console.Console) -> dict``: it prints a table to the console,
measures its own baseline in the same run, and returns a JSON-serialisable dict whose ``summary``
holds the headline figures. This command writes that dict to ``benchmarks/results/<name>.json``
(or ``--out``) and, with ``--json``, prints it as one JSON object on stdout.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from codemode.commands._json import dumps as dumps_json

_BENCHMARKS = ("tokens", "search", "scan", "sandbox", "startup", "load")
# `load` runs for minutes by default, so `bench all` (and `make bench`) leaves it out.
_IN_ALL = ("tokens", "search", "scan", "sandbox", "startup")


def _run_one(
    name: str, *, as_json: bool, quick: bool, out_dir: Path, stem: str | None = None, **options: Any
) -> dict[str, Any]:
    from codemode.bench._machine import load_now, machine_info

    module = importlib.import_module(f"codemode.bench.{name}")
    # With --json, stdout carries only the JSON object; tables go to stderr.
    console = Console(stderr=as_json)
    load_before = load_now()
    result: dict[str, Any] = module.run(quick=quick, console=console, **options)
    # Date, cores and load: what its times depend on (kept beside what the benchmark recorded).
    result["machine"] = {**result.get("machine", {}), **machine_info(load_before)}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem or name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dumps_json(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return result


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command group to ``app``."""
    bench = typer.Typer(help="Rerunnable benchmarks; each measures its baseline in the same run.")
    app.add_typer(bench, name="bench")

    def make(name: str) -> None:
        @bench.command(
            name=name, help=f"Run the {name} benchmark and write benchmarks/results/{name}.json."
        )
        def _cmd(
            as_json: bool = typer.Option(
                False, "--json", help="Print the result as one JSON object."
            ),
            quick: bool = typer.Option(False, "--quick", help="A smaller run, for smoke tests."),
            out: Path = typer.Option(
                Path("benchmarks/results"), "--out", help="Folder for the JSON results."
            ),
        ) -> None:
            result = _run_one(name, as_json=as_json, quick=quick, out_dir=out)
            if as_json:
                sys.stdout.write(dumps_json(result, sort_keys=True) + "\n")

    for name in _IN_ALL:
        make(name)

    @bench.command(
        name="load",
        help="Concurrent MCP sessions over Streamable HTTP at several levels (default 1, 16, 64 "
        "and 256 sessions x 5 runs) against servers it starts (or --url ones); reports "
        "throughput, latency, failures by kind, server vs worker CPU per run and RSS; writes "
        "benchmarks/results/load.json.",
    )
    def _load(
        as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
        quick: bool = typer.Option(False, "--quick", help="1 and 8 sessions, for smoke tests."),
        levels: str = typer.Option(
            None, "--levels", help="Comma-separated session counts, e.g. 1,16,64,256."
        ),
        sessions: int = typer.Option(None, "--sessions", min=1, help="One level of N sessions."),
        runs: int = typer.Option(5, "--runs", min=2, help="execute_code runs per session."),
        url: list[str] = typer.Option(
            None, "--url", help="Drive running servers (repeat for replicas; requests alternate)."
        ),
        replicas: int = typer.Option(
            1,
            "--replicas",
            min=1,
            help="Start N replicas sharing Redis, each pinned to its share of the cores, and a "
            "1-replica baseline on one share: reports the scale-out ratio CPU-bound and with "
            "--latency-ms per API request, and the CPU ceiling of this machine; writes "
            "load_replicas.json (default level: 64 sessions).",
        ),
        latency_ms: list[float] | None = typer.Option(
            None,
            "--latency-ms",
            min=0.0,
            help="With --replicas: the demo API's delay per request for a latency-modelled "
            "figure (Klaviyo answers in tens to hundreds of ms); repeat for several; 0: the "
            "CPU-bound figure only. [default: 100]",
        ),
        workers: int = typer.Option(
            4,
            "--workers",
            min=1,
            help="With --replicas: sandbox workers per replica, the same in every fleet.",
        ),
        baseline_python: str = typer.Option(
            None,
            "--baseline-python",
            help="Also run the same levels on the `codemode` of this interpreter (e.g. the "
            "previous release's venv) and report our throughput against it.",
        ),
        client: str = typer.Option(
            "mcp",
            "--client",
            help="mcp: the official MCP client per session; raw: one stateless JSON-RPC POST "
            "per call (cheap, so a small machine's cores go to the servers under test).",
        ),
        workload: str = typer.Option(
            "mixed",
            "--workload",
            help="Comma-separated scripts to run each level with: mixed (SDK reads and a write), "
            "trivial (no SDK call), pages (20 SDK calls); the first makes the summary.",
        ),
        simulator: str = typer.Option(
            "inline",
            "--simulator",
            help="inline: servers run --demo (the simulator's CPU counts as theirs); process: "
            "one `codemode sim` the servers call like Klaviyo, its CPU reported apart.",
        ),
        out: Path = typer.Option(
            Path("benchmarks/results"), "--out", help="Folder for the JSON results."
        ),
    ) -> None:
        if client not in ("mcp", "raw"):
            typer.echo(f"--client {client!r}: use mcp or raw", err=True)
            raise typer.Exit(2)
        if simulator not in ("inline", "process"):
            typer.echo(f"--simulator {simulator!r}: use inline or process", err=True)
            raise typer.Exit(2)
        from codemode.bench.load import WORKLOADS

        workloads = [w.strip() for w in workload.split(",") if w.strip()]
        unknown = [w for w in workloads if w not in WORKLOADS]
        if unknown or not workloads:
            typer.echo(
                f"--workload {workload!r}: use one or more of {', '.join(WORKLOADS)}", err=True
            )
            raise typer.Exit(2)
        if replicas > 1 and (url or baseline_python):
            typer.echo(
                "--replicas starts its own fleets: drop --url/--baseline-python, or drop "
                "--replicas to drive given servers",
                err=True,
            )
            raise typer.Exit(2)
        # Not given is not the same as given: only a given --latency-ms without --replicas is
        # refused (a default of [100] made every plain `bench load` refuse itself).
        if any(not math.isfinite(ms) for ms in latency_ms or ()):
            typer.echo("--latency-ms: give a finite number of ms (0 or more), e.g. 100", err=True)
            raise typer.Exit(2)
        if replicas <= 1 and latency_ms:
            typer.echo("--latency-ms shapes the scale-out fleets: add --replicas 2", err=True)
            raise typer.Exit(2)
        chosen: list[int] | None = None
        if sessions is not None:
            chosen = [sessions]
        elif levels:
            try:
                chosen = [int(v) for v in levels.split(",") if v.strip()]
            except ValueError:
                typer.echo(f"--levels {levels!r}: give whole numbers, e.g. 1,16,64", err=True)
                raise typer.Exit(2) from None
            if not chosen or min(chosen) < 1:
                typer.echo("--levels needs positive session counts, e.g. 1,16,64", err=True)
                raise typer.Exit(2)
        result = _run_one(
            "load",
            as_json=as_json,
            quick=quick,
            out_dir=out,
            levels=chosen,
            runs=runs,
            urls=list(url or ()),
            replicas=replicas,
            baseline_python=baseline_python,
            client=client,
            workloads=workloads,
            simulator=simulator,
            latencies_ms=list(latency_ms) if latency_ms else [100.0],
            workers=workers,
            stem="load_replicas" if replicas > 1 else None,
        )
        if as_json:
            sys.stdout.write(dumps_json(result, sort_keys=True) + "\n")

    @bench.command(name="all", help="Run every benchmark in turn (what `make bench` runs).")
    def _all(
        quick: bool = typer.Option(False, "--quick", help="A smaller run, for smoke tests."),
        out: Path = typer.Option(
            Path("benchmarks/results"), "--out", help="Folder for the JSON results."
        ),
    ) -> None:
        for step, name in enumerate(_IN_ALL, 1):
            Console(stderr=True).print(f"[bold]bench {step}/{len(_IN_ALL)}: {name}[/]")
            _run_one(name, as_json=False, quick=quick, out_dir=out)

"""Where the host's CPU goes per SDK call: the parts of benchmarks/hostcpu.md, measured in process.

Runs the load bench's 20-call ``pages`` script (or, with ``--workload mixed``, its four mixed
scripts in turn: five SDK calls in four runs) in the real sandbox with the real bridge, scanner
and SDK on one pooled httpx client, against ``codemode sim`` in its own process, and times each
part with ``time.thread_time()`` (the scan on its worker thread, the rest on the event loop).

    .venv/bin/python tools/host_profile.py             # a new principal per run (cold)
    .venv/bin/python tools/host_profile.py --again     # one principal, answers read before
    .venv/bin/python tools/host_profile.py --workload mixed

Prints one JSON object: microseconds of CPU per SDK call for each part, and the whole process's
CPU per call (the run's fixed costs spread over its 20 calls). Compare trees in the same sitting
(another tree's interpreter runs this file against its own ``codemode``): the figures move with
the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codemode.bench.load import PAGES, WORK

SCRIPT = PAGES.replace("store['n'] += 1\nprint(store['marker'], store['n'], k)", "print(k)")


def _scripts(workload: str, index: int) -> str:
    """The script of run ``index`` (mixed: the bench's four in turn, each e-mail new)."""
    if workload == "pages":
        return SCRIPT
    return WORK[index % len(WORK)].format(email=f"profile-{index}@host-profile.example")


# (owner, method, part): what each timed method stands for.
PARTS: list[tuple[str, str, str]] = [
    ("codemode.scanner._scanner:Scanner", "scan_response", "scanner"),
    ("codemode.sandbox.bridge:SdkBridge", "_scan_sync", "bridge_scan"),
    ("httpx:AsyncClient", "send", "httpx"),
    ("codemode.klaviyo:AsyncKlaviyo", "call", "sdk"),
    ("codemode.sandbox.bridge:SdkBridge", "_serve", "bridge"),
    ("codemode.sandbox.runner:Sandbox", "_call", "runner"),
    ("codemode.sandbox.provenance:Provenance", "add", "provenance"),
    ("codemode.sandbox.channel:AsyncChannel", "recv", "channel_recv"),
    ("codemode.sandbox.channel:AsyncChannel", "send_frame", "channel_send"),
]
# Each part less what it contains (so the parts add up).
INSIDE = {
    "bridge_scan": "scanner",
    "sdk": "httpx",
    "bridge": "sdk",
    "runner": "bridge",
}

spent: dict[str, float] = defaultdict(float)
counted: dict[str, int] = defaultdict(int)  # calls of each part
_local = threading.local()  # the parts running on this thread, innermost last


def _timed(func: Callable[..., Any], part: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return await func(*args, **kwargs)
            finally:
                spent[part] += time.thread_time() - started
                counted[part] += 1

        return timed_async

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        stack: list[str] = _local.__dict__.setdefault("parts", [])
        # The scanner also reads the run's output once at its end: counted apart.
        name = "output_scan" if part == "scanner" and "bridge_scan" not in stack else part
        stack.append(name)
        started = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            spent[name] += time.thread_time() - started
            stack.pop()

    return timed


def _instrument() -> None:
    import importlib

    for where, method, part in PARTS:
        module, owner = where.split(":")
        cls = getattr(importlib.import_module(module), owner)
        setattr(cls, method, _timed(getattr(cls, method), part))


async def _profile(runs: int, again: bool, workload: str, transport: str) -> dict[str, Any]:
    import httpx

    from codemode.bench._fleet import _start_simulator
    from codemode.catalog import load_catalog
    from codemode.klaviyo import AsyncKlaviyo
    from codemode.policy import LearnedScopes, Policy
    from codemode.sandbox import Limits, Sandbox
    from codemode.scanner import Scanner
    from codemode.server.scopes import ScopeLearningBridge

    folder = tempfile.TemporaryDirectory(prefix="codemode-host-profile-")
    sim, base = await _start_simulator(Path(folder.name))
    if transport == "httpx":
        http = httpx.AsyncClient()
    else:  # another transport under httpx's client (round 8 of benchmarks/hostcpu.md)
        from http_micro import candidates

        http = candidates()[transport]()
    try:
        catalog, scanner = load_catalog(), Scanner.default()
        extra: dict[str, Any] = {}
        try:  # an older tree (a baseline) has no record of clean answers
            from codemode.sandbox.seen import CleanAnswers

            extra["seen"] = CleanAnswers()
        except ImportError:
            pass
        learned, policy, sandbox = LearnedScopes(), Policy(), Sandbox(limits=Limits())
        per_run: list[float] = []
        for index in range(runs + 2):
            if index == 2:  # the first two runs load the models and warm the zygote
                spent.clear()
                counted.clear()
            principal = "again" if again else f"cold-{index}"
            key = f"pk_profile_{principal}"
            client = AsyncKlaviyo(api_key=key, base_url=base, http_client=http, catalog=catalog)
            bridge = ScopeLearningBridge(
                learned=learned,
                principal=principal,
                client=client,
                catalog=catalog,
                policy=policy,
                scanner=scanner,
                secrets=(key,),
                **extra,
            )
            started = time.process_time()
            store = {"marker": "host-profile", "n": 0}
            result = await sandbox.execute(_scripts(workload, index), bridge=bridge, store=store)
            if result.error is not None:
                raise SystemExit(f"the script failed: {result.error}")
            if index >= 2:
                per_run.append(time.process_time() - started)
    finally:
        await http.aclose()
        sim.kill()
        sim.wait()
        folder.cleanup()
    calls = counted["sdk"]
    names = [part for _, _, part in PARTS] + ["output_scan"]
    parts = {
        part: (spent[part] - spent[INSIDE[part]] if part in INSIDE else spent[part]) * 1e6 / calls
        for part in names
    }
    return {
        "workload": workload,
        "mode": "again" if again else "cold",
        "runs": runs,
        "transport": transport,
        "sdk_calls": calls,
        "us_per_call": {k: round(v) for k, v in parts.items()},
        # pages: the median run's CPU over its 20 calls; mixed: all runs' CPU over all calls
        "process_us_per_call": round(
            statistics.median(per_run) * 1e6 / 20
            if workload == "pages"
            else sum(per_run) * 1e6 / calls
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs measured (after 2 warm-ups)")
    parser.add_argument("--again", action="store_true", help="one principal, answers seen before")
    parser.add_argument(
        "--workload", choices=("pages", "mixed"), default="pages", help="the bench's script(s)"
    )
    parser.add_argument(
        "--transport",
        default="httpx",
        help="the HTTP client: httpx (its own transport) or a name from tools/http_micro.py",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    _instrument()
    print(
        json.dumps(
            asyncio.run(_profile(args.runs, args.again, args.workload, args.transport)), indent=2
        )
    )


if __name__ == "__main__":
    main()

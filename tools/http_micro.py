"""Host CPU per SDK call, by HTTP transport: ``get_profiles`` through ``AsyncKlaviyo`` alone.

Starts ``codemode sim`` in its own process, then alternates the transports in this process,
each making ``--calls`` calls of ``get_profiles(page_size=5)`` (each page the next one) on one
pooled client, and prints the process CPU per call of each round (the simulator's CPU is its
own process's):

    .venv/bin/python tools/http_micro.py --rounds 4 --calls 300

No scanner, sandbox or bridge: the SDK and the HTTP client only (benchmarks/hostcpu.md, round 8).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def candidates() -> dict[str, Callable[[], httpx.AsyncClient]]:
    """The clients measured, by name; ``httpx_aiohttp`` only where that package is installed
    (it is not a dependency: measured and not kept)."""
    from codemode.server.app import _no_cookies, shared_http_client

    found: dict[str, Callable[[], httpx.AsyncClient]] = {
        "httpx": shared_http_client,
        "httpx_no_env": lambda: httpx.AsyncClient(cookies=_no_cookies(), trust_env=False),
    }
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport

        def aiohttp_client() -> httpx.AsyncClient:
            def session() -> aiohttp.ClientSession:
                return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())

            return httpx.AsyncClient(
                cookies=_no_cookies(), transport=AiohttpTransport(client=session)
            )

        found["httpx_aiohttp"] = aiohttp_client
    except ImportError:
        pass
    return found


_sent = [0.0]  # CPU inside AsyncClient.send (the HTTP client's part of a call)
_send = httpx.AsyncClient.send


async def _timed_send(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> httpx.Response:
    started = time.thread_time()
    try:
        return await _send(self, *args, **kwargs)
    finally:
        _sent[0] += time.thread_time() - started


async def _calls(http: httpx.AsyncClient, base: str, calls: int) -> tuple[int, int]:
    from codemode.klaviyo import AsyncKlaviyo

    client = AsyncKlaviyo(api_key="pk_http_micro", base_url=base, http_client=http)
    _sent[0] = 0.0
    started = time.process_time()
    cursor = None
    for _ in range(calls):
        page = await client.call("get_profiles", page_size=5, page_cursor=cursor)
        cursor = page.next_cursor
    spent = time.process_time() - started
    return round(spent * 1e6 / calls), round(_sent[0] * 1e6 / calls)


async def _main(rounds: int, calls: int, only: list[str] | None) -> dict[str, Any]:
    from codemode.bench._fleet import _start_simulator

    folder = tempfile.TemporaryDirectory(prefix="codemode-http-micro-")
    sim, base = await _start_simulator(Path(folder.name))
    results: dict[str, list[int]] = {}
    sends: dict[str, list[int]] = {}
    try:
        chosen = {k: v for k, v in candidates().items() if not only or k in only}
        clients = {name: make() for name, make in chosen.items()}
        for http in clients.values():  # warm: connections open, imports done
            await _calls(http, base, 20)
        for _ in range(rounds):
            for name, http in clients.items():
                whole, send = await _calls(http, base, calls)
                results.setdefault(name, []).append(whole)
                sends.setdefault(name, []).append(send)
        for http in clients.values():
            await http.aclose()
    finally:
        sim.kill()
        sim.wait()
        folder.cleanup()
    return {"calls": calls, "us_per_call": results, "send_us_per_call": sends}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--only", nargs="*", help="candidate names to run")
    parser.add_argument("--uvloop", action="store_true", help="on uvloop (as the server runs)")
    args = parser.parse_args()
    httpx.AsyncClient.send = _timed_send  # type: ignore[method-assign]
    run = _main(args.rounds, args.calls, args.only)
    if args.uvloop:
        import uvloop

        print(json.dumps(uvloop.run(run)))
    else:
        print(json.dumps(asyncio.run(run)))


if __name__ == "__main__":
    main()

"""Host CPU per run around the provenance sketch: run it on this tree, then on a tree without it.

``python tools/sketch_cpu.py [--runs N]`` runs, in one process, the real ``Sandbox`` with the
real scanner on an in-process demo simulator, one session per workload (each run gets the store,
and the sketch where the tree has one, that the run before it left):

* ``stash``: reads a page of 100 profiles and keeps their emails reversed in the store (computed
  text: the run adds to the session's sketch);
* ``print back``: prints those emails back in their first form (the screen looks them up);
* ``bench``: the load bench's scripts (``BOOT``, then ``WORK``, ``TRIVIAL`` and ``PAGES`` in
  turn), which keep only ``store['n'] += 1``: nothing computed, nothing added.

Per run it prints the median of two thread-CPU figures: the host CPU charged to the run
(``host_cpu_ms``: scanning its answers, the output screen, and building the sketch, each on the
thread that did it) and the event loop thread's own CPU for the run (the runner, the bridge, the
store checks, and the in-process simulator answering). Run it on the tree without the change
with ``PYTHONPATH=<that tree>/src`` in the same sitting: the numbers move between sittings.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from tests.sandbox._simulated import make_bridge, simulator_client

from codemode.bench.load import BOOT, PAGES, TRIVIAL, WORK
from codemode.sandbox import Limits, Sandbox

STASH = (
    "ps = klaviyo.profiles.get_profiles(page_size=100).records\n"
    "k = store['k'] = store.get('k', 0) + 1\n"
    "store['r'] = [str(p.get('email'))[::-1] + str(k) for p in ps]\n"
    "print(len(ps))"
)
BACK = "print('\\n'.join('customer: ' + e[::-1] for e in store['r']))"


async def _session(box: Sandbox, http: Any, scripts: list[str]) -> list[tuple[float, float]]:
    store: dict[str, Any] = {}
    sketch: Any = None
    out = []
    for code in scripts:
        extra = {"sketch": sketch} if sketch is not None else {}
        started = time.thread_time()
        result = await box.execute(code, bridge=make_bridge(http), store=store, **extra)
        loop_ms = (time.thread_time() - started) * 1000
        assert result.error is None, result.error
        store, sketch = result.store, getattr(result, "sketch", None)
        out.append((result.host_cpu_ms, loop_ms))
    return out


def _report(name: str, rows: list[tuple[float, float]]) -> None:
    charged = statistics.median(r[0] for r in rows)
    loop = statistics.median(r[1] for r in rows)
    print(f"{name:12} runs {len(rows):3}  host_cpu_ms {charged:8.2f}  event loop ms {loop:8.2f}")


async def main(runs: int) -> None:
    import codemode.sandbox.runner as runner

    print("tree:", Path(runner.__file__).resolve().parents[3])
    limits = Limits(wall_s=30.0, cpu_s=10.0, output_bytes=256 * 1024, max_calls=30)
    async with simulator_client() as http, Sandbox(limits=limits) as box:
        await _session(box, http, [STASH, BACK])  # warm up: imports, the scanner's models
        mixed = [BOOT.format(marker="m-1")]
        for i in range(runs):
            mixed += [s.format(email=f"load{i}@example.com") for s in WORK] + [TRIVIAL, PAGES]
        bench = await _session(box, http, mixed)
        pairs = await _session(box, http, [STASH, BACK] * runs)
    _report("stash", pairs[2::2])  # from the second: the session's sketch is there
    _report("print back", pairs[3::2])
    _report("bench", bench[1:])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args().runs))

"""Hand the memory a burst of work freed back to the operating system once the server is idle.

A burst of concurrent runs (hundreds of sessions, their request bodies, answers and scans) grows
the heap; when it is over, Python and the C allocator keep the freed pages for reuse, so the
server's resident memory stays at the burst's peak. :func:`trim_when_idle` watches the process's
CPU time: after a second with almost none used, following at least ``busy_cpu_s`` of work since
the last time, it collects garbage cycles and asks glibc to return free pages (``malloc_trim``).
One trim per burst, never while work is going on; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable

import anyio

__all__ = ["libc_trim", "settle_heap", "trim_when_idle"]

logger = logging.getLogger("codemode.server")


def settle_heap() -> None:
    """Before serving: collect what starting left behind and keep the rest out of later
    collections (the catalog, the SDK, the MCP server: about 100,000 objects that live as long as
    the process, and that every full collection walked, 70-85 ms each)."""
    gc.collect()
    gc.freeze()


def libc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)`` as a function, or None where there is no such call."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


async def trim_when_idle(
    *,
    interval_s: float = 1.0,
    busy_cpu_s: float = 0.5,
    idle_share: float = 0.05,
    clock: Callable[[], float] = time.process_time,
    trim: Callable[[], object] | None = None,
) -> None:
    """Run forever: after each burst of work, once the process is idle, release freed memory.

    Args:
        interval_s: How often the CPU clock is read; idle means one interval with less than
            ``idle_share`` of it spent on CPU.
        busy_cpu_s: CPU seconds of work since the last trim that make a burst worth trimming.
        idle_share: Share of an interval below which the process counts as idle.
        clock: The process's CPU clock (tests pass a fake one).
        trim: What releases memory; default glibc's ``malloc_trim(0)``.
    """
    release = trim if trim is not None else libc_trim()
    if release is None:
        return
    last = clock()
    worked = 0.0
    while True:
        await anyio.sleep(interval_s)
        now = clock()
        used, last = now - last, now
        worked += used
        if worked >= busy_cpu_s and used <= idle_share * interval_s:
            gc.collect()
            release()
            logger.debug("idle after %.1f s of CPU: freed memory returned", worked)
            worked, last = 0.0, clock()  # the trim's own CPU is not work

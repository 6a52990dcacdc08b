"""The server hands freed memory back once after each burst of work, only when idle."""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

import pytest

from codemode.server.memory import libc_trim, trim_when_idle


class _Done(Exception):
    pass


def _clock(readings: list[float]) -> Callable[[], float]:
    values = iter(readings)

    def clock() -> float:
        try:
            return next(values)
        except StopIteration:
            raise _Done from None

    return clock


async def test_memory_is_released_once_per_burst_and_only_when_the_process_is_idle() -> None:
    trims: list[int] = []
    # CPU seconds read at each interval: start, busy, idle (trim), idle again (no new work:
    # nothing to release), a small blip below the burst size, busy, still busy, idle (trim).
    clock = _clock([0.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 2.0, 3.0, 3.0, 3.0])
    with pytest.raises(_Done):
        await trim_when_idle(
            interval_s=0.0, busy_cpu_s=0.5, clock=clock, trim=lambda: trims.append(1)
        )
    assert len(trims) == 2


async def test_nothing_is_released_while_work_goes_on() -> None:
    trims: list[int] = []
    clock = _clock([float(i) for i in range(20)])
    with pytest.raises(_Done):
        await trim_when_idle(interval_s=0.0, clock=clock, trim=lambda: trims.append(1))
    assert trims == []


def test_the_trim_is_glibcs_malloc_trim_where_glibc_is_the_c_library() -> None:
    trim = libc_trim()
    assert (trim is not None) == (platform.libc_ver()[0] == "glibc")
    if trim is not None:
        assert trim() in (0, 1)  # 1: memory was released, 0: there was none to release


def test_settling_keeps_the_heap_built_at_start_out_of_later_collections() -> None:
    import gc

    from codemode.server.memory import settle_heap

    built = [{"catalog": i} for i in range(1000)]  # what a server holds for its whole life
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(built)
        assert not any(item is built for item in gc.get_objects())  # no collection walks it
    finally:
        gc.unfreeze()


def test_serving_over_http_settles_the_heap_before_the_first_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    from codemode.commands.serve import run_serve
    from codemode.server import memory

    monkeypatch.setenv("CODEMODE_STATE_DIR", str(tmp_path))
    events: list[str] = []
    monkeypatch.setattr(memory, "settle_heap", lambda: events.append("settled"))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: events.append("serving"))
    run_serve(transport="http", demo=True, port=0)
    assert events == ["settled", "serving"]

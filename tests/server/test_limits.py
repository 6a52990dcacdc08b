"""Worker gate (busy after a bounded wait) and per-session run rate."""

from __future__ import annotations

import anyio
import pytest

from codemode.server.limits import Busy, RateLimited, RateLimiter, WorkerGate


async def test_a_run_beyond_the_worker_cap_waits_then_gets_busy_with_a_retry_hint() -> None:
    gate = WorkerGate(max_workers=1, queue_s=0.05)
    with anyio.fail_after(5):
        async with gate.slot():
            assert gate.in_use == 1
            with pytest.raises(Busy) as caught:
                async with gate.slot():
                    pass  # pragma: no cover - never admitted
        assert caught.value.retry_after_s >= 1
        assert "retry after" in str(caught.value)
        async with gate.slot():  # the slot was released
            assert gate.in_use == 1
    assert gate.in_use == 0


async def test_a_queued_run_starts_as_soon_as_a_slot_frees() -> None:
    gate = WorkerGate(max_workers=1, queue_s=5)
    order: list[str] = []
    release = anyio.Event()

    async def first() -> None:
        async with gate.slot():
            order.append("first")
            await release.wait()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await anyio.wait_all_tasks_blocked()
            release.set()
            async with gate.slot():
                order.append("second")
    assert order == ["first", "second"]


def test_a_session_gets_at_most_n_runs_per_sliding_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.check(("p", "s"))
    limiter.check(("p", "s"))
    limiter.check(("p", "other"))  # another session has its own budget
    with pytest.raises(RateLimited) as caught:
        limiter.check(("p", "s"))
    assert caught.value.retry_after_s == 60
    now[0] = 60.5
    limiter.check(("p", "s"))

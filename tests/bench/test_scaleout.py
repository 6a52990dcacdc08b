"""The scale-out bench's arithmetic: CPU ceilings, API calls per run, and what it says scales."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from codemode.bench import _scaleout, load
from codemode.bench.load import WORK


def test_one_replica_is_bounded_by_its_share_and_two_by_everything_a_run_costs() -> None:
    one = {"server": 8.0, "worker": 4.0, "client": 5.0, "redis": 0.0}
    many = {"server": 11.0, "worker": 4.0, "client": 5.0, "redis": 1.0}

    ceiling = _scaleout.cpu_ceiling(one, many, share=1, replicas=2, total=2)

    assert ceiling["one_per_s"] == pytest.approx(1000 / 12, abs=0.1)  # its one core: server+worker
    assert ceiling["many_per_s"] == pytest.approx(2000 / 21, abs=0.1)  # two cores: everything
    assert ceiling["ratio"] == pytest.approx((2000 / 21) / (1000 / 12), abs=0.01)


def test_with_spare_cores_for_client_and_redis_the_ceiling_follows_the_replicas() -> None:
    cost = {"server": 8.0, "worker": 4.0, "client": 5.0, "redis": 1.0}

    ceiling = _scaleout.cpu_ceiling(cost, cost, share=4, replicas=2, total=16)

    assert ceiling["ratio"] == pytest.approx(2.0)


def test_a_ceiling_without_measured_cpu_is_zero_not_a_division_error() -> None:
    nothing = {"server": 0.0, "worker": 0.0, "client": 0.0, "redis": 0.0}

    assert _scaleout.cpu_ceiling(nothing, nothing, share=1, replicas=2, total=2)["ratio"] == 0.0


def test_calls_per_run_counts_the_sdk_calls_of_the_work_scripts_only() -> None:
    calls = [script.count("klaviyo.") for script in WORK]
    runs = 2 + len(WORK)  # the boot and the probe, then each work script once

    assert _scaleout._calls_per_run(sessions=3, runs=runs) == pytest.approx(sum(calls) / runs)
    assert _scaleout._calls_per_run(sessions=5, runs=2) == 0.0


def test_the_finding_says_plainly_when_only_the_worker_slots_scale() -> None:
    assert "worker slots" in _scaleout._finding(ratio=1.9, control=1.8)
    assert "falls short" in _scaleout._finding(ratio=1.9, control=1.2)


@pytest.mark.parametrize(
    ("replicas", "expected"), [(2, [load.REPLICA_SESSIONS]), (1, [1, 16, 64, 256])]
)
def test_the_scale_out_level_is_deep_enough_to_keep_every_replica_busy(
    monkeypatch: pytest.MonkeyPatch, replicas: int, expected: list[int]
) -> None:
    """16 sessions over two pinned replicas left a core idle; the default level is deeper."""
    seen: dict[str, Any] = {}

    async def fake_bench(_console: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return {}

    monkeypatch.setattr(load, "_bench", fake_bench)
    load.run(quick=False, console=Console(quiet=True), replicas=replicas)
    assert seen["levels"] == expected
    assert load.REPLICA_SESSIONS >= 64

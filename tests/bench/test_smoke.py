"""Smoke: two tasks through all three real servers and clients, answers checked."""

from __future__ import annotations

import pytest

pytest.importorskip("tiktoken", reason="the bench extra is not installed")
pytest.importorskip("fastmcp", reason="the bench extra is not installed")

from codemode.bench._harness import open_bench
from codemode.bench.tokens import TASKS, _run_tasks


async def test_two_tasks_run_correctly_in_every_mode_and_code_mode_costs_least() -> None:
    tasks = [t for t in TASKS if t.id in ("set_loyalty_tier", "disabled_webhooks")]
    seen: list[str] = []
    async with open_bench() as bench:
        rows = await _run_tasks(bench, tasks, seen.append)
    assert seen[-1] == "done"
    for row in rows:
        modes = row["modes"]
        for mode in ("classic", "peer", "code"):
            assert modes[mode]["correct"], (row["id"], mode, modes[mode])
        assert modes["code"]["total_tokens"] * 20 < modes["classic"]["total_tokens"]
        assert modes["code"]["definition_tokens_per_turn"] < 2_000
        assert isinstance(modes["code"]["search_found_all"], bool)  # search quality: wt-search's
        for mode in ("peer", "code"):  # the real servers got the plan's queries first, in order
            record = modes[mode]
            assert record["searches"][: len(row["queries"])] == row["queries"]
            trips = record["round_trips"]
            assert sum(t["tokens"] for t in trips) == record["total_tokens"]
            assert {t["kind"] for t in trips} <= {
                "definitions",
                "search",
                "signature",
                "code",
                "output",
            }
            assert sum(record["breakdown"].values()) == record["total_tokens"]
    writer = next(r for r in rows if r["id"] == "set_loyalty_tier")
    assert writer["modes"]["code"]["state_verified"] is True

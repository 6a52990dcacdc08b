"""``codemode bench search`` in quick mode: the result carries the headline figures and baselines."""

from __future__ import annotations

import io

from rich.console import Console

from codemode.bench import search as bench
from tests._shared import shared_dir


def test_quick_bench_reports_quality_latency_build_and_the_bm25_floor() -> None:
    shared_dir()  # skip (or fail under CI) without ../shared
    out = io.StringIO()
    result = bench.run(quick=True, console=Console(file=out, width=120))
    summary = result["summary"]
    assert summary["queries"] == 96
    assert summary["top1"] > summary["baseline_bm25_top1"] + 0.3
    assert summary["half_A_tuned_top1"] > 0 and summary["half_B_heldout_top1"] > 0
    assert summary["p50_ms"] > 0 and summary["build_cpu_ms"] > 0
    assert summary["summary_reachability_top3"] == "162/162"
    assert set(result["results"]) == {
        "codemode",
        "bm25 seeds (README floor)",
        "bm25 summaries only",
    }
    assert "search_api on the dev queries" in out.getvalue()

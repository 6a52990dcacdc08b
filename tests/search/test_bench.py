"""``codemode bench search`` in quick mode: the result carries the headline figures and baselines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from codemode.bench import search as bench


def test_quick_bench_reports_quality_latency_build_and_the_bm25_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh clone has nothing beside it: the seed-sentence baseline is left out, with a note.
    monkeypatch.setattr(bench, "shared_dir", lambda: tmp_path)
    out = io.StringIO()
    result = bench.run(quick=True, console=Console(file=out, width=120))
    summary = result["summary"]
    assert summary["queries"] == 96
    assert summary["top1"] > summary["baseline_bm25_top1"] + 0.3
    assert summary["half_A_tuned_top1"] > 0 and summary["half_B_heldout_top1"] > 0
    assert summary["p50_ms"] > 0 and summary["build_cpu_ms"] > 0
    assert summary["summary_reachability_top3"] == "162/162"
    assert set(result["results"]) == {"codemode", "bm25 summaries only"}
    text = out.getvalue()
    assert "search_api on the dev queries" in text
    assert "bm25 seeds baseline left out" in text


def test_dev_queries_outside_a_checkout_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(bench.ConfigError, match=r"dev_queries\.jsonl not found.*checkout"):
        bench.load_dev_queries(tmp_path / "dev_queries.jsonl")

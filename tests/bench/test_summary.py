"""Headline figures, Klaviyo MCP coverage and the README section, on synthetic results."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from codemode.bench._klaviyo_mcp import coverage
from codemode.bench.tokens import summarize

ROOT = Path(__file__).resolve().parents[2]


def _mode(total: int, correct: bool = True, per_turn: int = 100) -> dict[str, Any]:
    return {
        "total_tokens": total,
        "definition_tokens": total // 2,
        "argument_tokens": 10,
        "result_tokens": total // 2 - 10,
        "correct": correct,
        "definition_tokens_per_turn": per_turn,
    }


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "id": "a",
            "modes": {"classic": _mode(100_000), "peer": _mode(4_000), "code": _mode(2_000)},
            "klaviyo_mcp": {"covered": True},
        },
        {
            "id": "b",
            "modes": {"classic": _mode(200_000), "peer": _mode(3_000), "code": _mode(4_000)},
            "klaviyo_mcp": {"covered": False},
        },
        {
            "id": "c",
            "modes": {"classic": _mode(50_000), "peer": {"error": "boom"}, "code": _mode(1_000)},
        },
    ]


def test_summary_reports_median_and_total_reductions_and_peer_wins() -> None:
    s = summarize(_rows(), {"definition_tokens": 15_000, "tools": 28})
    assert s["median_reduction_vs_classic"] == 0.98  # 0.98, 0.98, 0.98
    assert s["total_reduction_vs_classic"] == round(1 - 7_000 / 350_000, 4)
    assert s["total_reduction_vs_peer"] == round(1 - 6_000 / 7_000, 4)  # only tasks both ran
    assert s["tasks_compared_with_peer"] == 2
    assert s["tasks_fewer_than_peer"] == 1
    assert s["median_reduction_vs_peer"] == pytest.approx((0.5 + (1 - 4_000 / 3_000)) / 2, abs=1e-3)
    assert s["klaviyo_mcp_tool_definition_tokens"] == 15_000
    assert s["klaviyo_mcp_tasks_covered"] == 1
    assert s["definition_tokens"] == {
        "classic": 175_000,
        "peer": 3_500,
        "code": 3_500,
        "klaviyo": 0,
    }
    assert s["result_tokens"]["code"] == 3_500 - 30


def test_all_correct_is_false_when_any_mode_failed_or_was_wrong() -> None:
    assert summarize(_rows(), {})["all_correct"] is False
    rows = _rows()[:2]
    assert summarize(rows, {})["all_correct"] is True
    rows[0]["modes"]["code"]["correct"] = False
    assert summarize(rows, {})["all_correct"] is False


def test_klaviyo_coverage_needs_every_called_endpoint_in_its_listing() -> None:
    listing = {
        "available": True,
        "tool_names": ["klaviyo_get_profiles", "klaviyo_update_profile"],
        "definition_tokens": 1000,
    }
    ok = coverage(["get_profiles", "update_profile"], listing, turns=3)
    assert ok == {
        "covered": True,
        "missing": [],
        "tools": ["klaviyo_get_profiles", "klaviyo_update_profile"],
        "definition_tokens": 3000,
    }
    assert coverage(["get_profiles", "get_lists_for_profile"], listing, turns=3)["missing"] == [
        "get_lists_for_profile"
    ]
    assert coverage(["get_profiles"], {"available": False}, turns=3)["covered"] is False


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_readme_results", ROOT / "tools" / "gen_readme_results.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_readme_results"] = module
    spec.loader.exec_module(module)
    return module


def _write_results(folder: Path) -> None:
    rows = _rows()[:2]
    for r in rows:
        r["prompt"] = "p"
        r["reduction_vs_classic"] = 0.98
    result = {
        "tokenizer": "o200k_base",
        "anchor_date": "2026-11-01",
        "counting": "definitions x turns",
        "summary": summarize(rows, {"available": True, "definition_tokens": 15_000, "tools": 28}),
        "klaviyo_mcp": {
            "available": True,
            "definition_tokens": 15_000,
            "package": "klaviyo-mcp-server 0.4.2",
        },
        "tasks": rows,
    }
    folder.mkdir()
    (folder / "tokens.json").write_text(json.dumps(result), encoding="utf-8")
    (folder / "search.json").write_text(json.dumps({"summary": {"top1": 0.9}}), encoding="utf-8")
    (folder / "newbench.json").write_text(json.dumps({"summary": {"speed": 3}}), encoding="utf-8")


def test_readme_section_is_generated_between_markers_and_checked(tmp_path: Path) -> None:
    gen = _gen()
    results = tmp_path / "results"
    _write_results(results)
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\n<!-- bench:start -->\nold\n<!-- bench:end -->\n\nafter\n", encoding="utf-8"
    )
    args = ["--readme", str(readme), "--results", str(results)]
    assert gen.main([*args, "--check"]) == 1
    assert gen.main(args) == 0
    text = readme.read_text(encoding="utf-8")
    assert "98.0% median reduction" in text
    assert "benchmarks/tokens.png" in text
    assert (
        "| top-1, dev queries (tuned on) | 90.0% | >= 85% |" in text
    )  # a known benchmark: labelled, with its target
    assert "**newbench**: speed 3" in text  # an unknown one: every summary figure, raw
    assert text.endswith("<!-- bench:end -->\n\nafter\n")
    assert gen.main([*args, "--check"]) == 0


def test_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    gen = _gen()
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    assert gen.main(["--readme", str(readme), "--results", str(tmp_path), "--check"]) == 1


def test_chart_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from codemode.bench._chart import draw_tokens_chart

    rows = _rows()
    result = {"tasks": rows, "summary": summarize(rows, {})}
    path = draw_tokens_chart(result, tmp_path / "tokens.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

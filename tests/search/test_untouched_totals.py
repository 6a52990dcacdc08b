"""``tools/eval_untouched.py`` scores untouched sets as totals and never prints a query or a miss."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests._shared import REPO_ROOT, load_tool

TOOL = REPO_ROOT / "tools" / "eval_untouched.py"


def _tool() -> ModuleType:
    return load_tool(TOOL)


class _Index:
    """Ranks "b" first for every query; serves only queries that mention "b"."""

    def rank(self, query: str) -> list[str]:
        return ["b", "a", "c", "d", "e", "f"]

    def serves(self, query: str) -> bool:
        return "b" in query.split()


def test_totals_count_hits_and_refusals_without_keeping_a_row() -> None:
    rows = [
        {"query": "b please", "answers": ["b"]},
        {"query": "the second", "answers": ["a", "z"]},
        {"query": "far down", "answers": ["f"]},
        {"query": "nothing does this", "answers": []},
        {"query": "b again", "answers": []},
    ]
    assert _tool().totals(_Index(), rows) == {
        "n": 3,
        "top1": 1,
        "top5": 2,
        "unserved": 2,
        "refused": 1,
        "answerable_refused": 2,
    }


def test_the_report_holds_no_query_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    secret = "quarterly zebra export of every contact"
    (tmp_path / "probe_untouched.jsonl").write_text(
        json.dumps({"query": secret, "answers": ["get_profiles"], "style": "task"}) + "\n",
        encoding="utf-8",
    )
    (tmp_path / "probe_tuning.jsonl").write_text("", encoding="utf-8")
    monkeypatch.setattr(tool, "SEARCH", tmp_path)
    assert tool.untouched_sets(tmp_path) == ["probe_untouched"]
    assert tool.main(["probe_untouched"]) == 0
    out = capsys.readouterr().out
    assert "probe_untouched" in out and "n=1" in out
    assert "zebra" not in out and "get_profiles" not in out

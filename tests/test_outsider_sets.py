"""The outsider evaluation sets are well formed and ``tools/eval_outsider.py`` runs on them.

No accuracy is asserted here: the figures are for the coordinator to compare builds.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from codemode.catalog import load_catalog
from tests._shared import REPO_ROOT

INJECTION = REPO_ROOT / "tests" / "data" / "injection" / "outsider.jsonl"
SEARCH = REPO_ROOT / "tests" / "data" / "search" / "outsider_untouched.jsonl"
TOOL = REPO_ROOT / "tools" / "eval_outsider.py"


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_outsider", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_injection_rows_have_text_a_binary_label_and_their_slices() -> None:
    rows = _rows(INJECTION)
    assert len(rows) >= 600
    for row in rows:
        assert {"text", "label", "style", "language", "carrier"} <= row.keys(), row
        assert row["label"] in (0, 1), row
        assert isinstance(row["text"], str) and row["text"].strip(), row
    assert len({r["text"] for r in rows}) == len(rows), "duplicate texts"
    injections = [r for r in rows if r["label"] == 1]
    assert 0.45 <= len(injections) / len(rows) <= 0.65
    assert len({r["language"] for r in injections}) >= 15


def test_search_answers_are_operation_ids_of_the_vendored_catalog() -> None:
    catalog = load_catalog()
    rows = _rows(SEARCH)
    assert len(rows) >= 300
    assert len({r["query"] for r in rows}) == len(rows), "duplicate queries"
    for row in rows:
        assert isinstance(row["query"], str) and row["query"].strip(), row
        answers = row["answers"]
        assert isinstance(answers, list), row
        assert all(a in catalog for a in answers), row
        assert (row["style"] == "unserved") == (not answers), row
    assert Counter(r["style"] for r in rows)["unserved"] >= 25


def test_eval_tool_reports_both_systems_on_a_twenty_item_slice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _tool().main(["--limit", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    scan, search = result["scanner"], result["search"]
    assert scan["items"] == 20
    assert {"precision", "recall", "f1", "fpr_benign", "cpu_p50_ms"} <= scan.keys()
    assert sum(g["n"] for g in scan["recall_by_language"].values()) == scan["injections"]
    assert search["n"] + search["unserved"]["n"] == 20
    assert {"top1", "top5", "mrr", "core", "other", "by_style"} <= search.keys()


def test_eval_tool_prints_tables_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main(["--limit", "20", "--only", "search", "--details"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("search on ") and "unserved:" in out

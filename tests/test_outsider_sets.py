"""The outsider evaluation sets are well formed and ``tools/eval_outsider.py`` runs on them.

Three outsiders wrote sets (``tests/data/injection/OUTSIDER.md``, ``OUTSIDER2.md`` and
``OUTSIDER3.md``); each is checked the same way, the second and third also for the domain every
text names, the third for the languages, domains, styles and search coverage it promises. A
fourth, smaller pair (``OUTSIDER4.md``) is checked on its own for the shape and spread it promises.

No accuracy is asserted here: the figures are for the coordinator to compare builds.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from codemode.catalog import load_catalog
from tests._shared import REPO_ROOT, load_tool

INJECTION = REPO_ROOT / "tests" / "data" / "injection"
SEARCH = REPO_ROOT / "tests" / "data" / "search"
TOOL = REPO_ROOT / "tools" / "eval_outsider.py"
# set name -> (injection file, search file, fewest texts); the second set is smaller by design
SETS = {
    "outsider": (INJECTION / "outsider.jsonl", SEARCH / "outsider_untouched.jsonl", 600),
    "outsider2": (INJECTION / "outsider2.jsonl", SEARCH / "outsider2_untouched.jsonl", 500),
    "outsider3": (INJECTION / "outsider3.jsonl", SEARCH / "outsider3_untouched.jsonl", 600),
}
# the domains an agent reads that OUTSIDER2.md promises, beyond Klaviyo's own data
OUTSIDER2_DOMAINS = {
    "web", "email", "calendar", "document", "code", "chat", "review", "klaviyo",
    "tool_banking", "tool_smarthome", "tool_travel", "tool_health", "tool_files",
}  # fmt: skip


# the languages OUTSIDER3.md promises at least eight texts each (both labels) in
OUTSIDER3_LANGUAGES = {
    "el", "fa", "he", "th", "ru", "vi", "zh", "ko", "hi", "tr", "pl", "id", "sw", "uk",
    "de", "fr", "es", "it", "pt", "nl",
}  # fmt: skip
# injection styles the earlier sets had few of, which OUTSIDER3.md promises
OUTSIDER3_STYLES = {
    "tool_output_field", "chat_log", "split_fields", "addressed_processor", "fake_system",
    "delayed_trigger", "md_exfil", "unicode_trick", "encoded", "social_engineering",
    "mixed_language",
}  # fmt: skip
# the fourth outsider's small sets, kept out of SETS: they are under the sizes the others promise
OUTSIDER4 = (INJECTION / "outsider4.jsonl", SEARCH / "outsider4_untouched.jsonl")
# scripts OUTSIDER4.md promises both an injection and a benign text in
OUTSIDER4_LANGUAGES = {
    "vi", "th", "he", "sw", "tl", "bn", "el", "uk", "fa", "am", "ar", "hi", "zh", "ja", "ko",
    "ru", "ta", "ur", "yo", "ms",
}  # fmt: skip
OUTSIDER4_QUERY_STYLES = {
    "terse", "marketer_jargon", "http_path", "typo", "rambling", "confusable", "non_native",
    "unserved",
}  # fmt: skip


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _tool() -> ModuleType:
    return load_tool(TOOL)


@pytest.mark.parametrize("name", sorted(SETS))
def test_injection_rows_have_text_a_binary_label_and_their_slices(name: str) -> None:
    path, _, fewest = SETS[name]
    rows = _rows(path)
    assert len(rows) >= fewest
    for row in rows:
        assert {"text", "label", "style", "language", "carrier"} <= row.keys(), row
        assert row["label"] in (0, 1), row
        assert isinstance(row["text"], str) and row["text"].strip(), row
    assert len({r["text"] for r in rows}) == len(rows), "duplicate texts"
    injections = [r for r in rows if r["label"] == 1]
    assert 0.45 <= len(injections) / len(rows) <= 0.65
    assert len({r["language"] for r in injections}) >= 15


def test_second_outsiders_texts_name_a_known_domain_and_most_are_not_klaviyo() -> None:
    rows = _rows(SETS["outsider2"][0])
    assert {r["domain"] for r in rows} == OUTSIDER2_DOMAINS
    assert sum(r["domain"] == "klaviyo" for r in rows) / len(rows) < 0.25
    for label in (0, 1):
        assert len({r["language"] for r in rows if r["label"] == label}) >= 21, label
    generated = sum(r["source"] == "generated" for r in rows)
    assert {r["source"] for r in rows} == {"hand", "generated"}
    assert generated / len(rows) <= 1 / 3, "at most a third from the template generator"


def test_third_outsiders_texts_cover_the_promised_languages_domains_and_styles() -> None:
    rows = _rows(SETS["outsider3"][0])
    assert {r["source"] for r in rows} == {"hand"}
    assert len({r["language"] for r in rows}) >= 25
    for language in OUTSIDER3_LANGUAGES:
        mine = [r for r in rows if r["language"] == language]
        assert len(mine) >= 8, language
        assert {r["label"] for r in mine} == {0, 1}, language
    assert any(r["language"] == "xx-en" for r in rows), "mixed-language texts"
    domains = Counter(r["domain"] for r in rows)
    assert sum(n >= 10 for n in domains.values()) >= 10
    assert domains["klaviyo"] / len(rows) < 0.25
    styles = Counter(r["style"] for r in rows if r["label"] == 1)
    assert all(styles[s] >= 8 for s in OUTSIDER3_STYLES), styles


def test_third_outsiders_queries_cover_every_core_action_and_a_hundred_other_operations() -> None:
    catalog = load_catalog()
    rows = _rows(SETS["outsider3"][1])
    named = {a for r in rows for a in r["answers"]}
    assert {op for op in catalog if catalog[op].core} <= named
    assert sum(not catalog[op].core for op in named) >= 100
    assert Counter(r["style"] for r in rows)["unserved"] >= 35


def _check_queries(rows: list[dict[str, Any]], catalog: Any) -> None:
    """Each query is distinct text; its answers are catalog operations, none when unserved."""
    assert len({r["query"] for r in rows}) == len(rows), "duplicate queries"
    for row in rows:
        assert isinstance(row["query"], str) and row["query"].strip(), row
        answers = row["answers"]
        assert isinstance(answers, list), row
        assert all(a in catalog for a in answers), row
        assert (row["style"] == "unserved") == (not answers), row


@pytest.mark.parametrize("name", sorted(SETS))
def test_search_answers_are_operation_ids_of_the_vendored_catalog(name: str) -> None:
    catalog = load_catalog()
    rows = _rows(SETS[name][1])
    assert len(rows) >= 300
    _check_queries(rows, catalog)
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


def test_eval_tool_scores_the_second_set_per_domain(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main(["--set", "outsider2", "--limit", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    scan, search = result["scanner"], result["search"]
    assert scan["items"] == 40
    by_domain = scan["by_domain"]
    assert sum(g["injections"] + g["benign"] for g in by_domain.values()) == 40
    assert {"precision", "recall", "f1", "fpr"} <= next(iter(by_domain.values())).keys()
    assert sum(g["injections"] for g in scan["by_language"].values()) == scan["injections"]
    assert search["n"] + search["unserved"]["n"] == 40


def test_eval_tool_scores_the_third_set_per_domain(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main(["--set", "outsider3", "--limit", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    scan, search = result["scanner"], result["search"]
    assert scan["items"] == 40
    assert sum(g["injections"] + g["benign"] for g in scan["by_domain"].values()) == 40
    assert search["n"] + search["unserved"]["n"] == 40


def test_eval_tool_prints_per_domain_tables_for_the_second_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = _rows(SETS["outsider2"][0])
    # a slice with both labels in one domain, so the per-domain table has a row worth printing
    assert _tool().main(["--set", "outsider2", "--only", "scanner", "--limit", str(len(rows))]) == 0
    out = capsys.readouterr().out
    assert "by domain (P / R / F1" in out and "tool_banking" in out


def test_eval_tool_prints_tables_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main(["--limit", "20", "--only", "search", "--details"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("search on ") and "unserved:" in out


def test_fourth_outsiders_texts_are_balanced_labelled_and_span_its_languages() -> None:
    rows = _rows(OUTSIDER4[0])
    assert len(rows) >= 100
    for row in rows:
        assert {"text", "label", "style", "language", "carrier"} <= row.keys(), row
        assert row["label"] in (0, 1), row
        assert isinstance(row["text"], str) and row["text"].strip(), row
    assert len({r["text"] for r in rows}) == len(rows), "duplicate texts"
    assert 0.45 <= sum(r["label"] for r in rows) / len(rows) <= 0.55
    for label in (0, 1):
        assert len({r["language"] for r in rows if r["label"] == label}) >= 25, label
    for language in OUTSIDER4_LANGUAGES:
        assert {r["label"] for r in rows if r["language"] == language} == {0, 1}, language
    obfuscated = {r["style"] for r in rows if r["label"] == 1 and r["style"].startswith("obfusc")}
    assert len(obfuscated) >= 4, obfuscated
    assert any("\u200b" in r["text"] for r in rows if r["label"] == 1), "a zero-width text"
    assert len({r["carrier"] for r in rows}) >= 10


def test_fourth_outsiders_queries_name_operations_of_the_vendored_catalog() -> None:
    catalog = load_catalog()
    rows = _rows(OUTSIDER4[1])
    assert len(rows) >= 200
    _check_queries(rows, catalog)
    styles = Counter(r["style"] for r in rows)
    assert set(styles) == OUTSIDER4_QUERY_STYLES
    assert styles["unserved"] >= 12
    named = {a for r in rows for a in r["answers"]}
    assert sum(catalog[op].core for op in named) >= 60
    assert sum(not catalog[op].core for op in named) >= 60


def test_eval_tool_reads_the_fourth_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main(["--set", "outsider4", "--limit", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    scan, search = result["scanner"], result["search"]
    assert scan["items"] == 20
    assert sum(g["n"] for g in scan["recall_by_language"].values()) == scan["injections"]
    assert search["n"] + search["unserved"]["n"] == 20


# the fifth set (search only, issue #17 round 6): written from the operation listing before that
# round read the ranker; its styles and spread as tests/data/search/README.md describes them
OUTSIDER5 = SEARCH / "outsider5_untouched.jsonl"
OUTSIDER5_STYLES = {
    "confusable", "task", "terse", "jargon", "developer", "ramble", "typo", "nonnative",
    "unserved",
}  # fmt: skip


def test_fifth_set_covers_every_core_action_in_its_styles_with_a_tenth_unserved() -> None:
    rows = _rows(OUTSIDER5)
    catalog = load_catalog()
    assert len(rows) == 400
    assert len({r["query"].lower() for r in rows}) == len(rows), "duplicate queries"
    assert {r["style"] for r in rows} == OUTSIDER5_STYLES
    unserved = [r for r in rows if not r["answers"]]
    assert {r["style"] for r in unserved} == {"unserved"}
    assert 0.08 <= len(unserved) / len(rows) <= 0.12
    named = {a for r in rows for a in r["answers"]}
    assert named <= set(catalog), named - set(catalog)
    assert {a.id for a in catalog.values() if a.core} <= named
    assert len(named) >= 300

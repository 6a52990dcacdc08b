"""Search data is kept apart from evaluation data.

An annotation keyword or a vocabulary phrase that equals an evaluation query (case-insensitively)
would let the ranker recognise the query instead of understanding it, and make the figure measured
on that set meaningless. HTTP routes (``GET /api/lists``) are facts of the API, not phrasings, so
they may appear on both sides.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVAL_SETS = [
    *sorted((ROOT / "tests" / "data" / "search").glob("*.jsonl")),
    Path(__file__).with_name("paraphrases.jsonl"),
]
ANNOTATIONS = ROOT / "tools" / "catalog" / "annotations.json"
VOCABULARY = ROOT / "src" / "codemode" / "search" / "vocabulary.json"
_METHOD = re.compile(r"\b(?:GET|POST|PATCH|PUT|DELETE)\b")


def is_route(text: str) -> bool:
    """``GET /api/lists``, ``/api/profiles/{id}``, ``campaigns/{id} GET``: a route, maybe with a method."""
    rest = _METHOD.sub(" ", text).split()
    return len(rest) == 1 and "/" in rest[0]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def evaluation_queries() -> dict[str, str]:
    """Every evaluation query (normalised) -> the file it comes from."""
    out: dict[str, str] = {}
    for path in EVAL_SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                query = json.loads(line)["query"]
                if not is_route(query):
                    out.setdefault(_key(query), path.name)
    return out


def annotation_keywords() -> list[tuple[str, str]]:
    notes = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))
    return [(aid, kw) for aid, note in notes.items() for kw in note["keywords"]]


def vocabulary_phrases() -> list[tuple[str, str]]:
    vocab = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []
    for section in ("concepts", "heads"):
        for label, phrases in vocab[section].items():
            out += [(f"{section}.{label}", p) for p in phrases]
    for label, phrases in vocab["cues"].items():
        out += [(f"cues.{label}", p) for p, _ in phrases]
    return out


def test_the_evaluation_sets_are_found() -> None:
    names = {p.name for p in EVAL_SETS}
    assert {"dev_queries.jsonl", "heldout_untouched.jsonl", "heldout_tuning.jsonl"} <= names
    assert len(evaluation_queries()) > 2000


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("GET /api/lists", True),
        ("/api/profiles/{id}", True),
        ("campaigns/{id} GET", True),
        ("delete campaign", False),
        ("GET the lists", False),
    ],
)
def test_a_route_form_is_a_path_with_at_most_a_method(text: str, route: bool) -> None:
    assert is_route(text) is route


def test_no_annotation_keyword_equals_an_evaluation_query() -> None:
    queries = evaluation_queries()
    leaks = [
        f"{aid}: {kw!r} (in {queries[_key(kw)]})"
        for aid, kw in annotation_keywords()
        if _key(kw) in queries and not is_route(kw)
    ]
    assert not leaks, (
        "reword or drop these keywords in tools/catalog/annotations.json:\n" + "\n".join(leaks)
    )


def test_no_vocabulary_phrase_equals_an_evaluation_query() -> None:
    queries = evaluation_queries()
    leaks = [
        f"{label}: {phrase!r} (in {queries[_key(phrase)]})"
        for label, phrase in vocabulary_phrases()
        if _key(phrase) in queries and not is_route(phrase)
    ]
    assert not leaks, "reword or drop these phrases in src/codemode/search/vocabulary.json:\n" + (
        "\n".join(leaks)
    )


def test_the_refusal_models_own_rows_hold_no_query_of_an_untouched_set() -> None:
    # unserved_tuning.jsonl is fitted on (tools/gen_search_refusal.py); agent_tuning.jsonl,
    # shorthand_tuning.jsonl and context_tuning.jsonl are tuned on row by row (rounds 11 to 13):
    # a row equal to a query of a set nobody tunes on would
    # let the ranking recognise that query instead of judging it.
    untouched = {
        _key(json.loads(line)["query"])
        for path in EVAL_SETS
        if "untouched" in path.name
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    data = ROOT / "tests" / "data" / "search"
    leaks = [
        query
        for own in (
            data / "unserved_tuning.jsonl",
            data / "agent_tuning.jsonl",
            data / "shorthand_tuning.jsonl",
            data / "context_tuning.jsonl",
        )
        for line in own.read_text(encoding="utf-8").splitlines()
        if line.strip()
        and _key(query := json.loads(line)["query"]) in untouched
        and not is_route(query)
    ]
    assert not leaks, "drop or reword these tuning rows:\n" + "\n".join(leaks)

"""Tokens, stems and negation scopes: the same word always reduces to the same term."""

from __future__ import annotations

import pytest

from codemode.search import __all__ as public
from codemode.search._text import negation_mask, stem, tokenize, words


@pytest.mark.parametrize(
    ("word", "want"),
    [
        ("categories", "category"),
        ("lists", "list"),
        ("tagged", "tag"),
        ("labelled", "label"),
        ("series", "series"),
        ("status", "status"),
    ],
)
def test_stem_folds_inflections_and_leaves_invariant_words(word: str, want: str) -> None:
    assert stem(word) == want


def test_identifiers_split_into_words() -> None:
    assert words("get_profiles_for_list GET /api/catalog-items/{id}") == [
        "get",
        "profiles",
        "for",
        "list",
        "get",
        "api",
        "catalog",
        "items",
        "id",
    ]
    assert tokenize("the campaignMessages") == ["campaign", "messag"]


def test_negation_covers_the_rest_of_its_clause_only() -> None:
    text = "remove them from the list, do not unsubscribe them"
    mask = negation_mask(text, words(text))
    assert mask == [False] * 5 + [False, True, True, True]


def test_a_trailing_overkill_negates_its_clause() -> None:
    text = "make one code; a bulk job is overkill"
    mask = negation_mask(text, words(text))
    assert mask[:3] == [False] * 3 and all(mask[3:])


def test_public_api_is_sorted_and_complete() -> None:
    assert list(public) == sorted(public)
    assert {
        "SearchIndex",
        "SearchHit",
        "Signature",
        "get_signatures",
        "render_hits",
        "render_signatures",
    } <= set(public)

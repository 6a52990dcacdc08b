"""The calibrated "no operation does this" decision (``codemode.search._refusal``).

The probes are written for the mechanism they check and appear in no evaluation set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemode.catalog import Catalog
from codemode.search import SearchIndex
from codemode.search._refusal import REFUSAL_FEATURES, RefusalModel

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "search"
_NEVER = RefusalModel(
    mean=(0.0,) * len(REFUSAL_FEATURES),
    scale=(1.0,) * len(REFUSAL_FEATURES),
    coef=(0.0,) * len(REFUSAL_FEATURES),
    intercept=-50.0,
    threshold=0.5,
)


@pytest.mark.parametrize(
    "query",
    [
        "DELETE /api/users/{id}",  # a route the API does not have, though every word is common
        "telephone the shopper about her parcel",  # one unknown word, but nothing else fits well
        "invite my assistant to the workspace",
        "order more staples for the office",
    ],
)
def test_requests_no_operation_serves_are_refused_with_what_is_missing(
    index: SearchIndex, query: str
) -> None:
    assert not index.serves(query)
    assert index.unserved(query)  # the answer always names what it could not serve


@pytest.mark.parametrize(
    "query",
    [
        "get the profiles on list L",
        "POST /api/lists",
        "list every campaign tagged holiday",
        "put the Aurora lamp into the Lighting category",
    ],
)
def test_answerable_requests_are_served(index: SearchIndex, query: str) -> None:
    assert index.serves(query)


def test_serves_is_the_refusal_model(catalog: Catalog) -> None:
    never = SearchIndex(catalog, refusal=_NEVER)
    assert never.serves("order more staples for the office")


def test_a_route_the_api_lacks_is_refused_whatever_the_model_says(catalog: Catalog) -> None:
    never = SearchIndex(catalog, refusal=_NEVER)
    assert not never.serves("DELETE /api/users/{id}")
    assert not never.serves("POST /api/events/{id}")  # the path exists, that method does not
    assert never.serves("GET /api/events/{id}")


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        ("GET /api/lists", 0.0),
        ("GET /api/users", 1.0),  # no operation at the path
        ("DELETE /api/events/{id}", 1.0),  # events are read and created, never deleted
        ("PATCH /api/metrics/{id}", 1.0),  # metrics are only read
        ("PUT /api/profiles/{id}", 0.0),  # PUT reads as PATCH
        ("profiles/{id}/lists", 0.0),  # a bare route the API has
        ("members/{id}", 1.0),  # a bare route with a placeholder: a route, and not the API's
        ("compare the A/B results of the spring campaign", 0.0),  # words, not a route
        ("send it to customers and/or prospects", 0.0),
    ],
)
def test_a_route_is_missing_by_its_path_or_its_method(
    index: SearchIndex, query: str, missing: float
) -> None:
    route = REFUSAL_FEATURES.index("unknown_route")
    assert index.refusal_features(query)[route] == missing


def test_snake_case_keys_are_the_callers_names_not_unknown_words(index: SearchIndex) -> None:
    raw, unknown = index._unknown_words("give her a shoe_sizw property of nine")
    assert "sizw" not in raw and "sizw" not in unknown
    # A guessed function (the verb of an operation id first, or dotted, or called) still counts.
    assert "invoices" in index._unknown_words("Billing.get_invoices")[0]
    assert "invoices" in index._unknown_words("get_invoices()")[0]


def test_a_refusal_without_unknown_words_names_what_the_closest_operation_lacks(
    index: SearchIndex,
) -> None:
    query = "DELETE /api/users/{id}"
    assert index._unknown_words(query) == ([], [])
    assert index.missing_change(query) is None
    assert "users" in index.unserved(query)
    assert "delete" not in index.unserved(query)  # the route's method is not what is missing


def test_refusal_features_flag_a_route_the_api_lacks(index: SearchIndex) -> None:
    known = dict(zip(REFUSAL_FEATURES, index.refusal_features("GET /api/lists"), strict=True))
    unknown = dict(zip(REFUSAL_FEATURES, index.refusal_features("GET /api/users"), strict=True))
    assert known["unknown_route"] == 0.0
    assert unknown["unknown_route"] == 1.0


def test_the_lead_word_is_read_after_names_in_title_case(index: SearchIndex) -> None:
    lead = REFUSAL_FEATURES.index("lead_unknown")
    assert index.refusal_features("knit a sweater")[lead] == 1.0
    assert index.refusal_features("Zorblax: get every list")[lead] == 0.0


def test_the_model_is_monotone_in_each_coefficient_sign() -> None:
    model = RefusalModel.shipped()
    base = tuple(model.mean)
    for k, c in enumerate(model.coef):
        up = tuple(v + model.scale[k] if i == k else v for i, v in enumerate(base))
        assert (model.probability(up) > model.probability(base)) == (c > 0)


def test_a_model_fitted_over_other_features_is_refused() -> None:
    data = json.loads((ROOT / "src/codemode/search/refusal.json").read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="gen_search_refusal"):
        RefusalModel.from_json(data)


def test_the_refusal_tuning_set_holds_written_unserved_and_answerable_rows(
    catalog: Catalog,
) -> None:
    rows = [
        json.loads(line)
        for line in (DATA / "unserved_tuning.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert sum(not r["answers"] for r in rows) >= 100
    assert sum(bool(r["answers"]) for r in rows) >= 100
    assert all(a in catalog for r in rows for a in r["answers"])


def test_a_search_and_its_decision_share_one_parse_and_score(catalog: Catalog) -> None:
    fresh = SearchIndex(catalog)
    fresh.search("which lists is this shopper on")
    fresh.serves("which lists is this shopper on")
    assert fresh._scores.cache_info().hits >= 1  # type: ignore[attr-defined]
    scores = fresh._scores("which lists is this shopper on")
    with pytest.raises(ValueError, match="read-only"):
        scores.lexical[0] = 1.0  # the cached vectors cannot be changed by a caller


def test_the_shipped_model_refuses_more_unserved_tuning_rows_within_the_cap() -> None:
    """Cross-validated on its own rows (``tools/gen_search_refusal.py``): at the same cap on
    answerable rows refused, the stronger L2 penalty of round 8 refuses more unserved ones."""
    data = json.loads((ROOT / "src/codemode/search/refusal.json").read_text(encoding="utf-8"))
    assert data["cross_validated"]["answerable_refused"] <= 6
    assert data["cross_validated"]["unserved_said_none"] >= 71


def test_after_a_or_an_unknown_words_name_a_kind_not_the_callers_thing(index: SearchIndex) -> None:
    # "the zibble list" is one of the caller's lists; "a zibble message" is a kind of message.
    assert index._unknown_words("open the zibble list")[1] == []
    assert index._unknown_words("send a zibble message to the shopper")[1] == ["zibble"]
    assert index._unknown_words("mail an zibble to the shopper")[1] == ["zibble"]

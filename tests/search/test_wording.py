"""How a request is worded: non-native English, report windows, guessed SDK names, bare routes,
and the structural signals that keep plain listings ahead of job reads and nested reads."""

from __future__ import annotations

import numpy as np
import pytest

from codemode.search import SearchIndex
from codemode.search._index import FEATURES

_ROW = {name: i for i, name in enumerate(FEATURES)}


def _signal(index: SearchIndex, query: str, name: str, action: str) -> float:
    _, features = index._features(query)
    return float(features[_ROW[name], index._position[action]])


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("change the phone number of the client", "update_profile"),
        ("all my clients, show them", "get_profiles"),
        ("record a client event from the browser", "create_client_event"),
        ("client-side subscribe with the public key", "create_client_subscription"),
    ],
)
def test_a_client_is_a_customer_unless_the_words_name_the_client_routes(
    index: SearchIndex, query: str, want: str
) -> None:
    assert index.rank(query)[0] == want


def test_a_report_window_is_not_a_series_interval_nor_a_report(index: SearchIndex) -> None:
    assert index._parse("flow revenue for the last 30 days").cues.get("series", 0.0) <= 0
    assert index._parse("flow revenue per day").cues.get("series", 0.0) > 0
    assert index.rank("who bought something last week")[0] == "get_events"


def test_a_leading_list_verb_names_no_list(index: SearchIndex) -> None:
    assert index.rank("list tags")[0] == "get_tags"
    assert index.rank("list flows")[0] == "get_flows"


def test_opt_in_and_opt_out_are_different_concepts(index: SearchIndex) -> None:
    out = index._parse("opt out these shoppers").terms
    assert "~opt_out" in out and "~opt_in" not in out
    assert index.rank("opt out a shopper from texts")[0] == "bulk_unsubscribe_profiles"


def test_a_leading_block_is_the_verb_not_a_content_block(index: SearchIndex) -> None:
    assert index.rank("block these hard bouncing addresses")[0] == "bulk_suppress_profiles"
    assert index.rank("block of shared footer content")[0] != "bulk_suppress_profiles"


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("CampaignsApi.sendCampaign", "send_campaign"),
        ("lists.addProfilesToList(...)", "add_profiles_to_list"),
        ("GET api/lists/Y7xZ/profiles", "get_profiles_for_list"),
    ],
)
def test_camel_case_names_and_routes_without_the_leading_slash_are_exact(
    index: SearchIndex, query: str, want: str
) -> None:
    assert index.rank(query)[0] == want


def test_job_reads_step_back_unless_the_query_asks_for_a_job(index: SearchIndex) -> None:
    job = "get_bulk_create_coupon_code_jobs"
    assert _signal(index, "codes of the spring coupon", "job_unasked", job) < 0
    assert _signal(index, "codes of the spring coupon", "job_unasked", "get_coupon_codes") == 0
    for asked in ("coupon code create jobs", "progress of the coupon code upload"):
        assert _signal(index, asked, "job_unasked", job) == 0


def test_a_nested_read_needs_one_parent_record_to_earn_the_parent_bonus(
    index: SearchIndex,
) -> None:
    nested = "get_categories_for_catalog_item"
    assert _signal(index, "show the product collections", "parent_named", nested) == 0
    assert _signal(index, "the collections of this product", "parent_named", nested) > 0


def test_every_new_signal_is_a_row_of_the_linear_map(index: SearchIndex) -> None:
    _, features = index._features("codes of the spring coupon")
    assert features.shape[0] == len(FEATURES)
    assert np.isfinite(features).all()


def test_a_question_about_state_asks_for_no_change(index: SearchIndex) -> None:
    # "did ... finish", "is ... done": the verb describes what happened, so the job is polled.
    for query, want in [
        ("did the variant bulk update finish?", "get_bulk_update_variants_job"),
        ("is the coupon code generation done?", "get_bulk_create_coupon_codes_job"),
    ]:
        assert index.rank(query)[0] == want, query
        assert index._parse(query).cues.get("create", 0.0) < 1.0
        assert index._parse(query).cues.get("update", 0.0) < 1.0
    # "is there a way to ...", "is it possible to ...": the caller asks for what follows.
    assert index._parse("is there a way to create a list?").cues.get("create", 0.0) >= 1.0
    assert index._parse("is it possible to delete a tag?").cues.get("delete", 0.0) >= 1.0
    assert index._parse("are we able to delete a tag?").cues.get("delete", 0.0) >= 1.0


@pytest.mark.parametrize(
    "query",
    ["who spent the most money in the last 90 days", "top customers by spend this quarter"],
)
def test_spending_is_read_from_events_and_no_tag_limit_answers_the_most(
    index: SearchIndex, query: str
) -> None:
    # "spent" met no concept, and the tag actions' "at most 100 tags" drew "the most" to them.
    top = index.rank(query)[:5]
    assert "get_events" in top, top
    assert not any(a.startswith("tag_") for a in top), top
    assert index.serves(query)

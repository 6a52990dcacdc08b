"""SearchIndex behaviour: contract, reachability, exact names and routes, typos, empty queries."""

from __future__ import annotations

import time

import pytest

from codemode.catalog import Catalog
from codemode.search import SearchHit, SearchIndex, Weights, render_hits
from codemode.search._documents import own_summary


def test_every_action_is_reachable_by_its_own_summary_in_the_top_3(
    index: SearchIndex, catalog: Catalog
) -> None:
    ids = frozenset(catalog)
    misses = {
        a.id: [h.id for h in index.search(own_summary(a, ids), limit=3)] for a in catalog.core()
    }
    misses = {k: v for k, v in misses.items() if k not in v}
    assert len(catalog.core()) == 162
    assert not misses, misses


def test_search_hit_is_compact_and_serialisable(index: SearchIndex) -> None:
    hit = index.search("list campaigns", limit=1)[0]
    assert isinstance(hit, SearchHit)
    assert hit.to_dict() == {
        "id": hit.id,
        "function": hit.function,
        "summary": hit.summary,
        "kind": hit.kind,
        "score": hit.score,
    }
    assert hit.function == f"klaviyo.campaigns.{hit.id}"
    assert hit.score == round(hit.score, 3)


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_search_returns_at_most_limit_hits_best_first(index: SearchIndex, limit: int) -> None:
    hits = index.search("profiles", limit=limit)
    assert len(hits) == limit
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("query", ["", "   ", "?!", "zxqv wqpl", "hello"])
def test_empty_or_nonsense_query_returns_nothing_and_render_gives_categories(
    index: SearchIndex, query: str
) -> None:
    assert index.search(query) == []
    text = render_hits([], query)
    assert "Categories:" in text and "profiles (" in text and "campaigns (" in text


def test_destructive_actions_are_labelled_in_rendered_hits(index: SearchIndex) -> None:
    hits = index.search("delete a campaign", limit=3)
    assert hits[0].id == "delete_campaign" and hits[0].kind == "destructive"
    assert "klaviyo.campaigns.delete_campaign [DESTRUCTIVE]" in render_hits(
        hits, "delete a campaign"
    )


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("create_campaign", "create_campaign"),
        ("how do I call klaviyo.lists.get_list_ids_for_tag", "get_list_ids_for_tag"),
        ("GET /api/lists/{id}/tags", "get_tags_for_list"),
        ("DELETE /api/coupons/{id}", "delete_coupon"),
        ("PATCH /api/coupons/ABC", "update_coupon"),
        ("POST /client/events", "create_client_event"),
        ("/api/segments?page[size]=5", "get_segments"),
    ],
)
def test_operation_ids_and_http_routes_match_exactly(
    index: SearchIndex, query: str, want: str
) -> None:
    assert index.search(query, limit=1)[0].id == want


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("delte the campain", "delete_campaign"),
        ("list all webhoks", "get_webhooks"),
        ("segmnet membership report over time", "query_segment_series"),
    ],
)
def test_typos_are_repaired_before_ranking(index: SearchIndex, query: str, want: str) -> None:
    assert index.search(query, limit=1)[0].id == want


def test_without_typo_repair_misspelt_words_match_nothing(catalog: Catalog) -> None:
    plain = SearchIndex(catalog, weights=Weights(typos=False))
    assert plain.search("delte campain") == []
    assert plain.search("webhoks") == []


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("which segments is this subscriber in", "get_segments_for_profile"),
        ("who is on the newsletter list", "get_profiles_for_list"),
        ("pause my journey's delay step settings", "update_flow_action"),
        ("label the black friday blast", "tag_campaigns"),
        ("how many people would receive this newsletter", "get_campaign_recipient_estimation"),
        ("erase everything we store about jane@example.com", "request_profile_deletion"),
    ],
)
def test_domain_vocabulary_maps_user_words_to_klaviyo_terms(
    index: SearchIndex, query: str, want: str
) -> None:
    assert index.search(query, limit=1)[0].id == want


def test_index_builds_in_under_300_ms_of_cpu(catalog: Catalog) -> None:
    SearchIndex(catalog)  # warm imports
    start = time.process_time()
    SearchIndex(catalog)
    assert (time.process_time() - start) < 0.3


def test_a_query_takes_well_under_a_millisecond_of_cpu(index: SearchIndex) -> None:
    queries = [
        "add a contact to a list",
        "weekly revenue of the welcome flow",
        "GET /api/profiles",
    ] * 20
    for q in queries:
        index.search(q)
    start = time.process_time()
    for q in queries:
        index.search(q)
    per_query_ms = (time.process_time() - start) * 1000 / len(queries)
    assert per_query_ms < 1.0


def test_a_very_long_query_is_cut_and_still_answered_quickly(index: SearchIndex) -> None:
    query = "weekly revenue report for the welcome flow " * 500
    start = time.process_time()
    hits = index.search(query, limit=1)
    assert (time.process_time() - start) < 0.05
    assert hits[0].id == "query_flow_series"


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("create a 'Back in Stock Fans' list", "create_list"),
        ("new collection called Back To School", "create_catalog_category"),
        ("details of the Opened Email metric", "get_metric"),
        ("list all Custom Metrics", "get_custom_metrics"),
    ],
)
def test_the_callers_own_names_do_not_count_as_api_words(
    index: SearchIndex, query: str, want: str
) -> None:
    assert index.search(query, limit=1)[0].id == want


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("we no longer need the zapier webhook", "delete_webhook"),
        ("remove them from the list only, do not unsubscribe them", "remove_profiles_from_list"),
        ("flow totals for the quarter, no time series", "query_flow_values"),
        ("make exactly one code; a bulk job is overkill", "create_coupon_code"),
    ],
)
def test_negation_denies_what_follows_and_can_itself_ask_for_a_deletion(
    index: SearchIndex, query: str, want: str
) -> None:
    assert index.search(query, limit=1)[0].id == want


def test_a_summary_pointing_to_another_operation_lends_it_none_of_its_words(
    index: SearchIndex, catalog: Catalog
) -> None:
    """delete_campaign's summary ends "to halt a queued or scheduled send use
    cancel_campaign_send": those words are the other operation's, so scheduling a send does
    not find the deletion first."""
    delete = catalog["delete_campaign"]
    assert "scheduled" in delete.summary
    mine = own_summary(delete, frozenset(catalog))
    assert "scheduled" not in mine and mine.startswith(delete.summary.split(";")[0])
    assert index.search("schedule the black friday blast", limit=1)[0].id != "delete_campaign"
    # A first clause keeps its words and loses only the other operation's id.
    poll = catalog["get_campaign_send_job"]
    assert "send_campaign" in poll.summary
    kept = own_summary(poll, frozenset(catalog))
    assert "send_campaign" not in kept and "Poll a campaign send job" in kept

"""Look-alike actions: each pair shares its nouns and differs in one distinction the wording carries.

The queries here are written for these tests (not taken from the dev set) so they check that the
ranker reads the distinction, not that it remembers strings.
"""

from __future__ import annotations

import pytest

from codemode.search import SearchIndex

PAIRS: dict[str, list[tuple[str, str]]] = {
    "single_vs_bulk_job": [
        ("create one product right now, synchronously", "create_catalog_item"),
        ("upload 500 products in a background job", "bulk_create_catalog_items"),
        ("change the price of one variant", "update_catalog_variant"),
        ("update prices on hundreds of variants at once", "bulk_update_catalog_variants"),
        ("delete a single SKU", "delete_catalog_variant"),
        ("delete 300 SKUs in one batch", "bulk_delete_catalog_variants"),
    ],
    "ids_only_vs_full_objects": [
        ("just the ids of segments carrying a tag", "get_segment_ids_for_tag"),
        ("full tag records attached to a segment", "get_tags_for_segment"),
        ("only the flow ids that have tag T", "get_flow_ids_for_tag"),
        ("every tag on this flow with names", "get_tags_for_flow"),
    ],
    "values_vs_series_report": [
        ("overall conversion totals per flow for last quarter", "query_flow_values"),
        ("flow revenue week by week over the last quarter", "query_flow_series"),
        ("segment growth day by day this month", "query_segment_series"),
        ("segment membership change totals for March, one number", "query_segment_values"),
    ],
    "client_vs_server": [
        (
            "track an event from the storefront javascript with the public key",
            "create_client_event",
        ),
        ("record an event from our backend server with the private key", "create_event"),
        ("update a visitor's profile properties from the mobile app SDK", "create_client_profile"),
        ("create a new contact from our server", "create_profile"),
    ],
    "add_to_list_vs_subscribe_vs_import": [
        ("put these existing profiles on the VIP list", "add_profiles_to_list"),
        (
            "sign this customer up to be alerted when the blue mug is back in stock",
            "create_back_in_stock_subscription",
        ),
        ("import 20,000 contacts from a spreadsheet", "bulk_import_profiles"),
    ],
    "coupon_vs_coupon_code": [
        ("set up a new discount definition for the summer promo", "create_coupon"),
        ("add one code SUMMER-ABC under the summer coupon", "create_coupon_code"),
        ("generate thousands of unique discount codes", "bulk_create_coupon_codes"),
    ],
    "get_vs_delete_same_resource": [
        ("show me template 123", "get_template"),
        ("delete template 123", "delete_template"),
        ("look up webhook abc", "get_webhook"),
        ("remove webhook abc", "delete_webhook"),
        ("fetch segment 9x", "get_segment"),
        ("delete segment 9x", "delete_segment"),
    ],
}

CASES = [(group, query, want) for group, rows in PAIRS.items() for query, want in rows]


@pytest.mark.parametrize(("group", "query", "want"), CASES, ids=[f"{g}:{w}" for g, _, w in CASES])
def test_lookalike_query_ranks_the_intended_action_first(
    index: SearchIndex, group: str, query: str, want: str
) -> None:
    hits = index.search(query, limit=5)
    assert hits, f"{group}: no hits for {query!r}"
    assert hits[0].id == want, f"{group}: {query!r} -> {[h.id for h in hits]}"

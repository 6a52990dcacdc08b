"""Signals that come from the OpenAPI document's structure and from general language (issue #17).

The probes here are written for the mechanism they check and appear in no evaluation set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemode.catalog import Catalog
from codemode.search import SearchIndex
from codemode.search._documents import action_nesting, resource_verbs
from codemode.search._text import negation_mask, stem, words

DATA = Path(__file__).resolve().parents[1] / "data" / "search"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("GET /api/lists/Q8rT/profiles", "get_profiles_for_list"),
        ("GET /api/templates/TPL_77", "get_template"),
        ("DELETE /api/segments/Abc9", "delete_segment"),
        ("PATCH /api/catalog-variants/$custom:::$default:::SKU-9", "update_catalog_variant"),
        ("GET /api/flow-actions/882/flow-messages", "get_flow_action_messages"),
    ],
)
def test_a_route_with_real_ids_finds_its_operation(
    index: SearchIndex, query: str, expected: str
) -> None:
    assert index.rank(query)[0] == expected


def test_a_literal_segment_beats_a_parameter(index: SearchIndex) -> None:
    # "profiles" is a literal segment of /api/lists/{id}/profiles: it never stands for an id.
    assert index.rank("GET /api/lists/L1/relationships/profiles")[0] == "get_profile_ids_for_list"


@pytest.mark.parametrize(
    ("typed", "meant"), [("lsit", "list"), ("sgement", "segment"), ("jbo", "job")]
)
def test_swapped_letters_are_repaired_even_in_short_words(
    index: SearchIndex, typed: str, meant: str
) -> None:
    assert index._correct(typed) == meant


def test_un_prefix_reads_as_taking_off(index: SearchIndex) -> None:
    assert index._correct("unlabel") == "remove label"
    assert index.rank("unlabel some segments")[0] == "remove_tag_from_segments"


def test_a_verbs_noun_meets_the_verb() -> None:
    assert stem("deletion") == stem("delete")
    assert stem("creation") == stem("create")
    assert stem("suppression") == stem("suppress")
    assert stem("subscription") == "subscription"  # no "-ption" rule: subscribe is another word


def test_leave_denies_only_what_it_keeps_as_it_is() -> None:
    kept = "leave the other lists alone"
    assert any(negation_mask(kept, words(kept)))
    asked = "leave feedback on a product"
    assert not any(negation_mask(asked, words(asked)))


def test_resource_changes_come_from_the_document(catalog: Catalog) -> None:
    verbs = resource_verbs(list(catalog.values()))
    assert verbs["metric"] == frozenset()  # metrics are read, never written
    assert {"create", "update", "delete"} <= verbs["custom-metric"]
    assert "delete" in verbs["coupon"]  # DELETE /api/coupons/{id} names no type; its path does
    assert "update" not in verbs["account"]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("remove a metric from the account", "deleting a metric"),
        ("edit the company account name", "changing an account"),
        ("make another webhook topic", "creating a webhook topic"),
    ],
)
def test_a_change_no_operation_makes_is_said(index: SearchIndex, query: str, said: str) -> None:
    assert not index.serves(query)
    assert index.unserved(query) == [said]
    assert index.search(query)  # the closest ones are still offered


@pytest.mark.parametrize(
    "query",
    [
        "remove a custom metric",
        "rename a static list",
        "edit a coupon description",
        "create a tag group",
        "delete a catalog variant",
        "remove the combined revenue metric",
    ],
)
def test_a_change_some_operation_makes_is_served(index: SearchIndex, query: str) -> None:
    assert index.missing_change(query) is None
    assert index.serves(query)


def test_nesting_reads_the_route_order(catalog: Catalog, index: SearchIndex) -> None:
    assert action_nesting(catalog["get_tag_ids_for_list"]) == ("list", "tag")
    assert action_nesting(catalog["get_list_ids_for_tag"]) == ("tag", "list")
    assert index._parse("tag ids of list L").nesting == ("list", "tag")
    assert index._parse("segment S tag ids").nesting == ("segment", "tag")


def test_third_held_out_set_covers_the_whole_api(catalog: Catalog) -> None:
    rows = [
        json.loads(line)
        for name in ("heldout2_tuning.jsonl", "heldout2_untouched.jsonl")
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    answered = {a for r in rows for a in r["answers"]}
    assert answered == set(catalog), set(catalog) - answered
    assert len(rows) >= 400
    assert sum(not r["answers"] for r in rows) >= 40
    assert len({r["query"].lower() for r in rows}) == len(rows)


def test_a_count_of_records_turns_away_from_single_record_writes(index: SearchIndex) -> None:
    query = "bring 120 new products into our catalog in one shot"
    assert index._parse(query).cues["single"] < 0
    order = index.rank(query)
    assert order[0] == "bulk_create_catalog_items"
    assert order.index("create_catalog_item") > 2


def test_a_single_record_request_keeps_its_single_write(index: SearchIndex) -> None:
    assert index._parse("create one catalog item").cues.get("single", 0.0) >= 0
    assert index.rank("create one catalog item")[0] == "create_catalog_item"

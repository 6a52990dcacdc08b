"""The shipped catalog: complete, consistent with the spec, and free of copied prose."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from tests._shared import openapi_operations, spec_actions

from codemode.catalog import KINDS, load_catalog, operation_names
from codemode.errors import CatalogError


def test_catalog_holds_every_operation_of_the_vendored_openapi_document_by_its_route() -> None:
    # The count comes from the document itself: a new revision cannot silently drop an operation.
    ops = openapi_operations()
    catalog = load_catalog()
    assert set(catalog) == set(ops)
    assert len(catalog) == len(ops) == 345  # revision 2026-07-15
    for op_id, (method, path, op) in ops.items():
        action = catalog[op_id]
        assert (action.method, action.path) == (method, path), op_id
        assert action.category == op["tags"][0], op_id


def test_the_162_spec_actions_are_marked_core_with_their_kinds_and_numbers() -> None:
    catalog = load_catalog()
    spec = spec_actions()
    core = {a.id: a for a in catalog.core()}
    assert len(core) == 162 == len(spec)
    for row in spec:
        action = core[str(row["id"])]
        assert (action.method, action.path, action.kind, action.n, action.category) == (
            row["method"],
            row["path"],
            row["kind"],
            row["n"],
            row["category"],
        )
    assert all(a.n is None for a in catalog.values() if not a.core)


@pytest.mark.parametrize(
    ("op_id", "kind"),
    [
        ("get_reviews", "read"),
        ("query_form_series", "read"),
        ("update_flow", "write"),
        ("remove_tag_from_flows", "write"),
        ("bulk_unsubscribe_profiles", "write"),
        ("bulk_suppress_profiles", "write"),
        ("bulk_delete_object_records", "destructive"),
        ("delete_web_feed", "destructive"),
        ("create_conversation_message", "destructive"),
        ("create_client_subscription", "client"),
        ("get_client_reviews", "client"),
    ],
)
def test_kinds_outside_the_spec_follow_the_method_and_path_rule(op_id: str, kind: str) -> None:
    assert load_catalog()[op_id].kind == kind


def test_companions_are_job_status_reads_marked_with_the_action_they_complete() -> None:
    catalog = load_catalog()
    companions = [a for a in catalog.values() if a.source == "companion"]
    assert {a.id for a in companions} >= {
        "get_campaign_send_job",
        "get_bulk_import_profiles_job",
        "get_bulk_suppress_profiles_job",
    }
    for action in companions:
        parent = catalog[action.companion_of or ""]
        assert action.method == "GET" and action.kind == "read"
        assert action.path.startswith(parent.path + "/{"), (action.id, parent.id)
        assert action.n is None


def test_every_action_has_an_original_one_line_summary_and_keywords() -> None:
    listing = {str(r["seed_sha1"]) for r in spec_actions()}
    for action in load_catalog().values():
        assert action.kind in KINDS
        assert 20 <= len(action.summary) <= 160 and "\n" not in action.summary, action.id
        assert len(action.keywords) >= 4, action.id
        digest = hashlib.sha1(action.summary.strip().lower().encode("utf-8")).hexdigest()
        assert digest not in listing, f"{action.id} copies a sentence of the product listing"


def test_paginated_listings_carry_their_page_size_limits() -> None:
    catalog = load_catalog()
    assert catalog["get_lists"].page_size is not None and catalog["get_lists"].page_size.max == 10
    assert (
        catalog["get_events"].page_size is not None and catalog["get_events"].page_size.max == 1000
    )
    assert catalog["get_profiles"].paginated
    for action in catalog.values():
        if action.page_size:
            assert action.page_size.min <= action.page_size.default <= action.page_size.max


def test_a_summary_that_states_a_page_size_states_the_largest_one() -> None:
    # get_events said "up to 200 per page" (its default) while a page holds up to 1,000.
    for action in load_catalog().values():
        stated = re.search(r"(?:up to )?([\d,]+) per page(?! by default)", action.summary)
        if stated:
            assert action.page_size is not None, action.id
            assert int(stated.group(1).replace(",", "")) == action.page_size.max, action.id
    assert load_catalog()["get_events"].summary.endswith("200 per page by default, up to 1,000.")


def test_filters_sort_fields_and_include_come_from_the_spec() -> None:
    profiles = load_catalog()["get_profiles"]
    assert profiles.filters["email"].operators == ("any", "equals")
    assert profiles.filters["created"].type == "datetime"
    assert "-created" in profiles.sort
    assert "email" in profiles.fields["profile"]
    assert "push-tokens" in profiles.include
    assert profiles.response.resource_type == "profile" and profiles.response.collection
    assert "email" in profiles.response.fields


def test_write_bodies_are_resolved_schemas_without_prose() -> None:
    create = load_catalog()["create_profile"]
    assert create.body is not None and create.body.resource_type == "profile"
    text = json.dumps(create.body.schema)
    assert "$ref" not in text and '"description"' not in text


def test_resolve_accepts_ids_and_dotted_names_and_suggests_close_matches() -> None:
    catalog = load_catalog()
    assert catalog.resolve("klaviyo.profiles.get_profiles").id == "get_profiles"
    assert catalog.resolve("profiles.get_profiles").function == "klaviyo.profiles.get_profiles"
    with pytest.raises(CatalogError, match="get_profiles"):
        catalog.resolve("get_profils")


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("Profiles.getProfiles", "get_profiles"),
        ("getProfilesForList", "get_profiles_for_list"),
        ("klaviyo.lists.create_list()", "create_list"),
        ("BulkSubscribeProfiles", "bulk_subscribe_profiles"),
    ],
)
def test_resolve_reads_other_sdks_spellings_of_an_operation(name: str, found: str) -> None:
    assert load_catalog().resolve(name).id == found


def test_a_camel_case_name_of_no_operation_is_still_unknown() -> None:
    with pytest.raises(CatalogError, match="unknown action 'unsubscribeProfiles'"):
        load_catalog().resolve("unsubscribeProfiles")


def test_catalog_mentions_no_absolute_path_of_a_machine() -> None:
    from importlib import resources

    text = resources.files("codemode.catalog").joinpath("actions.json").read_text(encoding="utf-8")
    assert not re.search(r"/(home|root|work|Users|tmp)/", text)


def test_every_summary_is_unique_own_prose_and_every_action_has_6_to_14_keywords() -> None:
    catalog = load_catalog()
    assert len({a.summary for a in catalog.values()}) == len(catalog)
    for op_id, (method, path, op) in openapi_operations().items():
        action = catalog[op_id]
        assert 6 <= len(action.keywords) <= 14, op_id
        assert f"{method} {path}" in action.keywords, op_id
        mine = action.summary.lower().rstrip(".")
        for prose in (op.get("summary") or "", op.get("description") or ""):
            assert mine not in prose.lower(), f"{op_id} copies the OpenAPI prose"


def test_the_operation_names_file_lists_the_catalog_ids_by_group_in_order() -> None:
    catalog = load_catalog()
    expected = {group: tuple(a.id for a in acts) for group, acts in catalog.groups.items()}
    assert dict(operation_names()) == expected
    assert list(operation_names()) == list(expected)  # the same order as well

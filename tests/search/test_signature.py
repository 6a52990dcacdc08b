"""get_signatures: the def line, parameter docs, returned shape and example, for every action."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemode.catalog import Catalog
from codemode.search import Signature, get_signatures, render_signatures
from codemode.search._signature import _catalog_function, stub_function


def test_known_names_resolve_by_id_or_dotted_function_once_each(catalog: Catalog) -> None:
    sigs, errors = get_signatures(
        ["get_profiles", "klaviyo.profiles.get_profiles", "lists.get_lists"], catalog
    )
    assert errors == []
    assert [s.id for s in sigs] == ["get_profiles", "get_lists"]
    assert sigs[0].to_dict().keys() == {"id", "function", "signature", "doc", "returns"}


def test_unknown_names_get_the_closest_matches(catalog: Catalog) -> None:
    sigs, errors = get_signatures(["get_profils", "contacts_on_a_list"], catalog)
    assert sigs == []
    assert "get_profile" in errors[0] and "did you mean" in errors[0]
    assert "did you mean" in errors[1]
    assert "unknown action 'get_profils'" in render_signatures(sigs, errors)


@pytest.mark.parametrize(
    ("route", "ids"),
    [
        ("GET /api/lists/{id}/profiles", ["get_profiles_for_list"]),
        ("/api/lists/L1/profiles/", ["get_profiles_for_list"]),
        ("https://a.klaviyo.com/api/lists?page[size]=5", ["create_list", "get_lists"]),
        ("delete /api/lists/XyZ", ["delete_list"]),
        ("lists/L1/relationships/profiles", None),
        # Client routes live outside /api, and a pasted URL keeps its case and query.
        ("POST /client/reviews", ["create_client_review"]),
        ("https://a.klaviyo.com/client/events/?company_id=AbC", ["create_client_event"]),
        ("GET /API/Lists/Y7xZ", ["get_list"]),
    ],
)
def test_a_route_gives_the_operations_it_serves(
    catalog: Catalog, route: str, ids: list[str] | None
) -> None:
    found, errors = get_signatures([route], catalog)
    if ids is None:  # every method of that path
        assert {s.id for s in found} == {
            "add_profiles_to_list",
            "remove_profiles_from_list",
            "get_profile_ids_for_list",
        }
    else:
        assert sorted(s.id for s in found) == ids
    assert errors == []


def test_a_group_name_lists_its_operations_and_a_route_of_none_is_unknown(
    catalog: Catalog,
) -> None:
    found, errors = get_signatures(["klaviyo.profiles", "/api/nope", "FETCH /api/lists"], catalog)
    assert found == []
    assert errors[0].startswith("'klaviyo.profiles' is a group of ")
    assert "operations (create_profile, get_profiles," in errors[0]
    assert "search_api finds the one for a task" in errors[0]
    assert errors[1].startswith("unknown action '/api/nope'")
    assert errors[2].startswith("unknown action 'FETCH /api/lists'")


def test_a_listing_documents_filters_sort_paging_fields_and_returns(catalog: Catalog) -> None:
    (sig,), _ = get_signatures(["get_profiles"], catalog)
    assert sig.signature.startswith("klaviyo.profiles.get_profiles(")
    assert "email" in sig.doc and "(any|equals)" in sig.doc
    assert "sort: created" in sig.doc and "('-key' descends)" in sig.doc
    assert "page_size: 1..100 (default 20)" in sig.doc
    assert "include: conversations, push-tokens" in sig.doc
    assert "record shape: {" in sig.doc and "email?: str" in sig.doc
    assert "list of profile records (record shape above" in sig.returns
    assert "related ids: conversations, lists" in sig.returns
    assert 'Example: klaviyo.profiles.get_profiles(filter=F.equals("email", ' in sig.doc


def test_required_parameters_come_first_and_destructive_actions_say_so(catalog: Catalog) -> None:
    (sig,), _ = get_signatures(["delete_campaign"], catalog)
    assert sig.kind == "destructive"
    assert "DESTRUCTIVE" in sig.doc.splitlines()[0]
    assert sig.signature == "klaviyo.campaigns.delete_campaign(id: str)"
    assert "no data" in sig.returns


def test_a_write_names_its_required_attributes_and_shows_them_in_the_example(
    catalog: Catalog,
) -> None:
    (sig,), _ = get_signatures(["create_campaign"], catalog)
    assert "- attributes (required): {name: str, audiences: {included: [str]" in sig.doc
    assert "campaign-messages: {data: [" in sig.doc
    assert 'attributes={"name": "Spring sale", "audiences": {"included": ["<list id>"]}' in sig.doc


def test_long_enums_are_abbreviated_in_the_def_line(catalog: Catalog) -> None:
    line = stub_function(catalog["get_profiles"])
    assert line is not None, "sdk_stubs/profiles.pyi lacks get_profiles: run `make stubs`"
    assert "sort: str | None" in line and "subscriptions.email" not in line
    args, returns = (
        line[line.index("(") + 1 : line.rindex(") -> ")],
        line[line.rindex(") -> ") + 5 :],
    )
    ast.parse(f"def f({args}) -> {returns}: ...")  # still valid Python after abbreviation


def test_without_stubs_the_signature_is_built_from_the_catalog(catalog: Catalog) -> None:
    line = _catalog_function(catalog["get_list"])
    assert line.startswith("klaviyo.lists.get_list(id: str, *, fields:")
    assert line.endswith("-> Result")
    args = line[line.index("(") + 1 : line.rindex(") -> ")]
    ast.parse(f"def f({args}): ...")


@pytest.mark.parametrize("budget", [2400])
def test_every_action_has_a_signature_within_its_token_budget(
    catalog: Catalog, budget: int
) -> None:
    sigs, errors = get_signatures(list(catalog), catalog)
    assert errors == [] and len(sigs) == len(catalog)
    too_long = {
        s.id: len(render_signatures([s], []))
        for s in sigs
        if len(render_signatures([s], [])) > budget
    }
    assert not too_long, too_long
    assert all(isinstance(s, Signature) and s.signature.startswith(s.function + "(") for s in sigs)


def test_without_any_stub_folder_signatures_fall_back_to_the_catalog(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from codemode.search import _signature

    monkeypatch.setattr(_signature, "_stub_dirs", lambda: [tmp_path])
    _signature._stub_module.cache_clear()
    try:
        (sig,), errors = get_signatures(["create_campaign"], catalog)
    finally:
        _signature._stub_module.cache_clear()
    assert errors == []
    assert sig.signature.startswith("klaviyo.campaigns.create_campaign(*, fields=None")
    assert "body=None" in sig.signature
    # The example uses the SDK's keywords, which work whether or not stubs are installed.
    assert "Example: klaviyo.campaigns.create_campaign(attributes={" in sig.doc


def test_every_def_line_is_valid_python_with_optional_parameters_left_untyped(
    catalog: Catalog,
) -> None:
    sigs, _ = get_signatures(list(catalog), catalog)
    for sig in sigs:
        args = sig.signature[sig.signature.index("(") + 1 : sig.signature.rindex(")")]
        tree = ast.parse(f"def f({args}): ...").body[0]
        assert isinstance(tree, ast.FunctionDef)
        optional = [
            a
            for a, d in zip(tree.args.kwonlyargs, tree.args.kw_defaults, strict=True)
            if isinstance(d, ast.Constant) and d.value is None
        ]
        assert all(a.annotation is None for a in optional), sig.signature
        assert " -> " not in sig.signature  # the Returns line says what comes back


def test_the_inline_form_drops_the_summary_the_search_line_already_shows(
    catalog: Catalog,
) -> None:
    (sig,), _ = get_signatures(["get_campaigns"], catalog)
    inline = sig.inline()
    assert inline.startswith("klaviyo.campaigns.get_campaigns(*, filter: str | Filter")
    assert catalog["get_campaigns"].summary not in inline
    assert "Example: klaviyo.campaigns.get_campaigns(" in inline
    assert inline.endswith(f"Returns: {sig.returns}")


def test_a_record_key_named_datetime_keeps_its_name(catalog: Catalog) -> None:
    # Dates come back as strings, so the record shape says str for the type, not for the key.
    (sig,), _ = get_signatures(["get_campaign_message"], catalog)
    assert "send_times?: [{datetime: str, is_local: bool}]" in sig.doc


def test_a_flat_record_with_fixed_values_shows_them(catalog: Catalog) -> None:
    # A coupon code's status and a job's status take fixed values; the flat Returns line had
    # dropped them ("status: str"), so a script polling a job guessed the word for done.
    (code, job), _ = get_signatures(["get_coupon_code", "get_bulk_import_profiles_job"], catalog)
    assert '"ASSIGNED_TO_PROFILE"|' in code.doc and '"UNASSIGNED"' in code.doc
    assert "record shape above" in code.returns and "related ids: coupon" in code.returns
    assert 'status: "cancelled"|"complete"|"processing"|"queued"' in job.doc


def test_a_filter_example_on_a_field_with_fixed_values_uses_one_of_them(catalog: Catalog) -> None:
    (versions, reviews), _ = get_signatures(["get_versions_for_form", "get_reviews"], catalog)
    assert 'F.equals("form_type", "banner")' in versions.doc
    assert 'F.equals("review_type", "question")' in reviews.doc
    assert '"Example"' not in versions.doc + reviews.doc


def test_the_examples_of_unsubscribing_and_creating_a_template_show_the_values_that_work(
    catalog: Catalog,
) -> None:
    # The generated ones sent an empty subscriptions object and editor_type "Example".
    (unsub, template), _ = get_signatures(["bulk_unsubscribe_profiles", "create_template"], catalog)
    assert '"email": "ada@example.com"' in unsub.doc
    assert '{"marketing": {"consent": "UNSUBSCRIBED"}}' in unsub.doc
    assert '"editor_type": "CODE", "html": ' in template.doc
    assert "Klaviyo's rules: editor_type: CODE (html) or USER_DRAGGABLE" in template.doc


def test_a_filterable_field_whose_values_the_record_shape_cuts_lists_them(
    catalog: Catalog,
) -> None:
    # "status: ...|…+12" hid "Sent" and "Draft", the values a status filter on campaigns takes.
    (campaigns, one), _ = get_signatures(["get_campaigns", "get_campaign"], catalog)
    line = next(x for x in campaigns.doc.splitlines() if x.startswith("- filter values behind"))
    assert '"Sent"' in line and '"Draft"' in line and line.count("status:") == 1
    assert "filter values behind" not in one.doc  # get_campaign takes no filter


def test_deep_filter_fields_are_named_under_their_shared_path(catalog: Catalog) -> None:
    # "subscriptions.* (equals)" left the agent to guess the suppression fields it can filter on.
    (sig,), _ = get_signatures(["get_profiles"], catalog)
    assert "subscriptions.email.marketing.{list_suppressions.list_id, " in sig.doc
    assert "suppression.reason} (equals)" in sig.doc
    assert "suppression.timestamp} (greater-or-equal|" in sig.doc

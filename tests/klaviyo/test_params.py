"""Parameters are validated before anything is sent, and hostile input cannot escape the URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from codemode.klaviyo import F, Klaviyo, ValidationError

from .conftest import KEY


@pytest.fixture
def k() -> Klaviyo:
    return Klaviyo(api_key=KEY)


def reject(k: Klaviyo, op: str, **params: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        k.prepare(op, **params)
    assert caught.value.operation_id == op
    return str(caught.value)


def test_unknown_parameter_lists_close_matches_first(k: Klaviyo) -> None:
    message = reject(k, "get_profiles", page_sise=5)
    assert "unknown parameter 'page_sise'; did you mean 'page_size'?" in message
    assert "filter" in message and "page_cursor" in message


def test_filter_field_passed_as_parameter_points_to_filter(k: Klaviyo) -> None:
    assert "filter=F.equals('email', value)" in reject(k, "get_profiles", email="a@b.co")


def test_missing_required_parameter_is_named(k: Klaviyo) -> None:
    assert "missing required parameter 'id'" in reject(k, "get_profile")
    assert "missing required parameter 'filter'" in reject(k, "get_campaigns")


def test_a_missing_required_filter_says_what_klaviyo_requires_of_it(k: Klaviyo) -> None:
    campaigns = reject(k, "get_campaigns")
    assert (
        "(a channel filter (messages.channel: email, sms or mobile_push) is required)" in campaigns
    )
    assert (
        "filterable: archived (equals);" in campaigns and "messages.channel (equals)" in campaigns
    )
    coupons = reject(k, "get_coupon_codes")
    assert "'filter' (a coupon or profile filter is required); filterable: coupon.id" in coupons
    # Only a missing filter gets the listing: a missing id is named alone.
    assert reject(k, "get_profile").endswith("missing required parameter 'id'")


def test_wrong_types_are_refused(k: Klaviyo) -> None:
    assert "page_size must be an integer" in reject(k, "get_profiles", page_size="50")
    assert "page_size must be an integer" in reject(k, "get_profiles", page_size=True)
    assert "must be a string id" in reject(k, "get_profile", id=["a"])


def test_page_size_over_the_endpoint_limit_names_the_limit(k: Klaviyo) -> None:
    message = reject(k, "get_lists", page_size=50)
    assert "over the maximum 10" in message and "result.all()" in message
    assert "below the minimum 1" in reject(k, "get_profiles", page_size=0)


def test_unknown_fields_include_and_sort_values_list_valid_options(k: Klaviyo) -> None:
    message = reject(k, "get_profiles", fields={"profile": ["emial"]})
    assert "did you mean 'email'?" in message
    assert "no resource type 'profiles'" in reject(
        k, "get_profiles", fields={"profiles": ["email"]}
    )
    assert "did you mean 'push-tokens'?" in reject(k, "get_profiles", include=["push-token"])
    assert "did you mean 'created'?" in reject(k, "get_profiles", sort="creted")


def test_facets_accept_underscored_names_and_strings(k: Klaviyo) -> None:
    prepared = k.prepare(
        "get_profiles",
        fields={"push_token": "token,platform"},
        include="push_tokens",
        additional_fields={"profile": ["subscriptions"]},
    )
    assert dict(prepared.query) == {
        "fields[push-token]": "token,platform",
        "include": "push-tokens",
        "additional-fields[profile]": "subscriptions",
    }


def test_filter_on_a_field_the_endpoint_does_not_allow_lists_the_filterable_fields(
    k: Klaviyo,
) -> None:
    message = reject(k, "get_profiles", filter=F.equals("first_name", "Ada"))
    assert "cannot filter on 'first_name'" in message and "email (any, equals)" in message
    # What to do when the field the task names is not filterable (a city, a first name).
    assert message.endswith("or not at all) and test it in the script")


def test_filter_operator_not_allowed_on_the_field(k: Klaviyo) -> None:
    message = reject(k, "get_profiles", filter='contains(email,"@b.co")')
    assert "operator 'contains' is not allowed on 'email'; use one of: any, equals" in message


def test_quoted_datetimes_or_or_are_refused_with_the_fix(k: Klaviyo) -> None:
    assert "write it unquoted" in reject(
        k, "get_profiles", filter='greater-than(created,"2024-01-01")'
    )
    message = reject(k, "get_profiles", filter='or(equals(email,"a"),equals(email,"b"))')
    assert "no or()" in message and "any(field,[...])" in message
    assert "not valid Klaviyo syntax" in reject(k, "get_profiles", filter="equals(email")


def test_valid_filters_pass_and_go_out_verbatim(k: Klaviyo) -> None:
    when = dt.datetime(2024, 8, 1, tzinfo=dt.UTC)
    expr = F.and_(F.any("email", ["a@b.co", 'q"uote']), F.greater_than("created", when))
    prepared = k.prepare("get_profiles", filter=expr)
    text = 'and(any(email,["a@b.co","q\\"uote"]),greater-than(created,2024-08-01T00:00:00+00:00))'
    assert dict(prepared.query)["filter"] == text
    comma = 'equals(email,"a@b.co"),greater-than(created,2024-08-01T00:00:00Z)'
    assert dict(k.prepare("get_profiles", filter=comma).query)["filter"] == comma


@pytest.mark.parametrize(
    ("hostile", "encoded"),
    [
        ("@evil.com", "%40evil.com"),
        ("a?b=c#d", "a%3Fb%3Dc%23d"),
        ("$custom:::$default:::SKU-1", "%24custom%3A%3A%3A%24default%3A%3A%3ASKU-1"),
    ],
)
def test_path_injection_is_percent_encoded_into_one_segment(
    k: Klaviyo, hostile: str, encoded: str
) -> None:
    prepared = k.prepare("get_profile", id=hostile)
    assert prepared.url == f"https://a.klaviyo.com/api/profiles/{encoded}"
    assert prepared.path == f"/api/profiles/{encoded}"


@pytest.mark.parametrize("dots", [".", "..", "", " ", "\uff0e\uff0e"])
def test_dot_segments_and_empty_ids_are_refused(k: Klaviyo, dots: str) -> None:
    assert "is not an id" in reject(k, "get_profile", id=dots)


@pytest.mark.parametrize(
    ("hostile", "why"),
    [
        ("../../evil", "path separator"),
        ("https://evil.com/x", "path separator"),
        ("x/../../admin", "path separator"),
        ("a\\..\\b", "path separator"),
        ("a\uff0fb", "path separator"),  # fullwidth solidus: "/" after NFKC
        ("..%2Faccounts", "percent escape"),
        ("x%252Fy", "percent escape"),
        ("a%2fb", "percent escape"),
        ("a\x00b", "control characters"),
        ("a\x85b", "control characters"),
        ("x" * 513, "at most 512"),
    ],
)
def test_path_ids_that_could_change_the_route_served_are_refused(
    k: Klaviyo, hostile: str, why: str
) -> None:
    assert why in reject(k, "get_profile", id=hostile)


def test_cursor_as_full_url_is_accepted_only_from_the_same_origin(k: Klaviyo) -> None:
    same = "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=bmV4dA&page%5Bsize%5D=20"
    assert dict(k.prepare("get_profiles", page_cursor=same).query)["page[cursor]"] == "bmV4dA"
    assert dict(k.prepare("get_profiles", page_cursor="bmV4dA").query)["page[cursor]"] == "bmV4dA"
    for evil in (
        "https://evil.com/api/profiles?page%5Bcursor%5D=x",
        "http://a.klaviyo.com/?page%5Bcursor%5D=x",
        "//evil.com/?page%5Bcursor%5D=x",
    ):
        assert "is not on https://a.klaviyo.com" in reject(k, "get_profiles", page_cursor=evil)
    assert "no page[cursor]" in reject(
        k, "get_profiles", page_cursor="https://a.klaviyo.com/api/profiles"
    )


def test_unknown_action_suggests_close_ids(k: Klaviyo) -> None:
    with pytest.raises(ValidationError, match="did you mean get_profiles"):
        k.prepare("get_profile_list")


def test_body_forms_attributes_relationships_and_ids(k: Klaviyo) -> None:
    patch = k.prepare("update_profile", id="P1", attributes={"first_name": "Ada"})
    assert patch.json == {
        "data": {"type": "profile", "id": "P1", "attributes": {"first_name": "Ada"}}
    }
    tag = k.prepare("create_tag", attributes={"name": "vip"}, relationships={"tag_group": "G1"})
    assert tag.json["data"]["relationships"] == {
        "tag-group": {"data": {"type": "tag-group", "id": "G1"}}
    }
    merge = k.prepare("merge_profiles", id="P1", relationships={"profiles": ["P2", "P3"]})
    assert merge.json["data"] == {
        "type": "profile-merge",
        "id": "P1",
        "relationships": {
            "profiles": {"data": [{"type": "profile", "id": "P2"}, {"type": "profile", "id": "P3"}]}
        },
    }
    add = k.prepare("add_profiles_to_list", id="L1", ids=["P1"])
    assert add.json == {"data": [{"type": "profile", "id": "P1"}]}
    assert add.path == "/api/lists/L1/relationships/profiles"
    dated = k.prepare("create_profile", attributes={"properties": {"since": dt.date(2024, 1, 2)}})
    assert dated.json["data"]["attributes"]["properties"]["since"] == "2024-01-02"


def test_body_mistakes_are_explained(k: Klaviyo) -> None:
    assert "needs a body: pass attributes={...}" in reject(k, "create_profile")
    assert "did you mean 'first_name'?" in reject(
        k, "create_profile", attributes={"firstname": "Ada"}
    )
    assert "missing required 'name'" in reject(k, "create_list", attributes={})
    assert "either body=... or attributes" in reject(
        k, "create_list", body={"data": {}}, attributes={"name": "x"}
    )
    assert "full JSON:API document" in reject(k, "create_list", body={"type": "list"})
    assert "needs a body: pass id=..." in reject(k, "send_campaign")
    assert k.prepare("send_campaign", id="C1").json == {
        "data": {"type": "campaign-send-job", "id": "C1"}
    }
    assert "no relationship 'lists'" in reject(
        k, "create_tag", attributes={"name": "x"}, relationships={"lists": ["L"]}
    )
    assert "not JSON" in reject(k, "create_profile", attributes={"properties": {"x": object()}})


def test_prepare_has_no_io_and_no_credential(k: Klaviyo) -> None:
    prepared = k.prepare("create_list", attributes={"name": "VIP"})
    assert prepared.to_dict() == {
        "operation_id": "create_list",
        "method": "POST",
        "url": "https://a.klaviyo.com/api/lists",
        "path": "/api/lists",
        "query": [],
        "json": {"data": {"type": "list", "attributes": {"name": "VIP"}}},
        "headers": {
            "Accept": "application/vnd.api+json",
            "revision": k.revision,
            "Content-Type": "application/vnd.api+json",
        },
    }


@pytest.mark.parametrize(
    "base",
    [
        "ftp://a.klaviyo.com",
        "a.klaviyo.com",
        "https://u:p@a.klaviyo.com",
        "https://a.klaviyo.com/?x=1",
    ],
)
def test_bad_base_urls_are_refused(base: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        Klaviyo(api_key=KEY, base_url=base)


def test_base_url_with_a_path_prefix_keeps_the_prefix() -> None:
    k = Klaviyo(api_key=KEY, base_url="http://testserver/klaviyo/")
    assert k.prepare("get_accounts").url == "http://testserver/klaviyo/api/accounts"


def test_non_finite_numbers_are_refused_before_sending(k: Klaviyo) -> None:
    message = reject(k, "create_profile", attributes={"properties": {"score": float("nan")}})
    assert "attributes.properties.score" in message and "finite" in message


@pytest.mark.parametrize(
    ("op", "params", "expected"),
    [
        (
            "create_tag",
            {"attributes": {"name": "x"}, "relationships": ["G1"]},
            "relationships must be a dict",
        ),
        ("merge_profiles", {"id": "P1", "relationships": {"profiles": 5.5}}, "takes a list of ids"),
        ("create_list", {"attributes": ["name"]}, "attributes must be a dict"),
        ("add_profiles_to_list", {"id": "L1"}, "needs ids=[...]"),
        ("add_profiles_to_list", {"id": "L1", "ids": "P1"}, "ids must be a list of profile ids"),
        (
            "create_catalog_variant",
            {"relationships": {"item": "I1"}},
            "needs attributes={...} (required: external_id",
        ),
        (
            "create_catalog_variant",
            {"attributes": {}},
            "attributes is missing required 'external_id'",
        ),
        (
            "send_campaign",
            {"fields": {"campaign-send-job": ["status"]}},
            "needs a body: pass id=...",
        ),
        ("create_campaign_clone", {"attributes": {"new_name": "copy"}}, "needs id=..."),
        ("merge_profiles", {"id": "P1"}, "needs relationships={...}"),
    ],
)
def test_body_form_mistakes_name_the_fix(
    k: Klaviyo, op: str, params: dict[str, Any], expected: str
) -> None:
    assert expected in reject(k, op, **params)


def test_relationship_objects_and_nulls_pass_through(k: Klaviyo) -> None:
    full = {"data": {"type": "tag-group", "id": "G1"}}
    tag = k.prepare("create_tag", attributes={"name": "x"}, relationships={"tag-group": full})
    assert tag.json["data"]["relationships"]["tag-group"] == full
    cleared = k.prepare("create_tag", attributes={"name": "x"}, relationships={"tag-group": None})
    assert cleared.json["data"]["relationships"]["tag-group"] == {"data": None}
    meta = {"patch_properties": {"unset": ["old"]}}
    patch = k.prepare("update_profile", id="P1", attributes={}, meta=meta)
    assert patch.json["data"]["meta"] == meta


def test_empty_facets_are_left_out(k: Klaviyo) -> None:
    prepared = k.prepare("get_profiles", include=[], fields={"profile": []}, additional_fields={})
    assert prepared.query == ()


def test_a_body_attribute_passed_as_a_keyword_is_pointed_into_attributes(k: Klaviyo) -> None:
    message = reject(k, "create_profile", email="a@b.co")
    assert "unknown parameter 'email'" in message
    assert "It is an attribute of the profile: pass attributes={'email': ...}." in message
    assert "attribute of" not in reject(k, "get_profiles", emial="a@b.co")


def test_page_size_where_klaviyo_sets_the_size_is_not_taken_for_page_cursor(k: Klaviyo) -> None:
    message = reject(k, "get_metrics", page_size=10)
    assert "page_size is not a parameter here" in message and ".all(max_items=...)" in message
    assert "did you mean" not in message


def test_fields_in_the_wrong_shape_get_the_actions_own_resource_as_example(k: Klaviyo) -> None:
    assert "fields must be a dict like {'profile': ['name', ...]}" in reject(
        k, "get_profiles", fields=["email"]
    )
    assert "{'list': [" in reject(k, "get_lists", fields=["name"])


def test_a_quoted_datetime_built_with_f_is_refused_with_the_f_fix(k: Klaviyo) -> None:
    message = reject(k, "get_flows", filter=F.equals("created", "2024-01-01"))
    assert "F.equals('created', datetime(2024, 1, 1, tzinfo=timezone.utc))" in message

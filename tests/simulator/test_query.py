"""Filter, sort, sparse fields, include and cursor pagination, per endpoint family."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from codemode.simulator import SimConfig, create_app
from codemode.simulator.operations import load_operations
from tests.simulator.conftest import NOW


@pytest.fixture(scope="module")
def app() -> Starlette:
    """A smaller account, so paging one record at a time stays quick."""
    return create_app(SimConfig(now=NOW, profiles=150, events=1500))


def _all_pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = params
    for _ in range(3000):
        response = client.get(url or path, params=query)
        assert response.status_code == 200, response.text[:300]
        document = response.json()
        out += document["data"]
        url = document["links"].get("next")
        query = None
        if not url:
            return out
        assert url.startswith("http://sim.test/"), "links.next must be a full URL"
    raise AssertionError("pagination did not end")


def test_profiles_filter_by_email_finds_exactly_that_profile(
    client: httpx.Client, app: Starlette
) -> None:
    account = app.state.sim.account(app.state.sim.default_account)
    target = list(account.records("profile"))[5]
    email = target.attributes["email"]
    data = client.get("/api/profiles", params={"filter": f'equals(email,"{email}")'}).json()["data"]
    assert [p["id"] for p in data] == [target.id]
    both = client.get(
        "/api/profiles", params={"filter": f"any(email,['{email}','nobody@example.org'])"}
    ).json()["data"]
    assert [p["id"] for p in both] == [target.id]


def test_profiles_created_filter_takes_unquoted_datetimes_and_rejects_quoted_ones(
    client: httpx.Client,
) -> None:
    ok = client.get(
        "/api/profiles",
        params={"filter": "greater-than(created,2026-06-01T00:00:00Z)", "page[size]": 100},
    )
    assert ok.status_code == 200
    assert all(p["attributes"]["created"] > "2026-06-01" for p in ok.json()["data"])
    quoted = client.get(
        "/api/profiles", params={"filter": 'greater-than(created,"2026-06-01T00:00:00Z")'}
    )
    assert quoted.status_code == 400 and "unquoted" in quoted.json()["errors"][0]["detail"]


def test_operators_outside_the_allow_list_and_or_not_are_rejected(client: httpx.Client) -> None:
    for text in (
        'contains(email,"a")',
        'or(equals(email,"a"),equals(email,"b"))',
        'not(equals(email,"a"))',
        "equals(email,a)",
        "equals(email",
    ):
        response = client.get("/api/profiles", params={"filter": text})
        assert response.status_code == 400, text
        assert response.json()["errors"][0]["source"] == {"parameter": "filter"}


def test_conjunctions_by_comma_and_by_and_give_the_same_rows(client: httpx.Client) -> None:
    a = client.get(
        "/api/flows", params={"filter": 'equals(status,"live"),equals(archived,false)'}
    ).json()["data"]
    b = client.get(
        "/api/flows", params={"filter": 'and(equals(status,"live"),equals(archived,false))'}
    ).json()["data"]
    assert a == b and a and all(f["attributes"]["status"] == "live" for f in a)


def test_campaigns_require_a_channel_filter_and_filter_by_it(client: httpx.Client) -> None:
    assert client.get("/api/campaigns").status_code == 400
    sms = client.get("/api/campaigns", params={"filter": 'equals(messages.channel,"sms")'}).json()[
        "data"
    ]
    email = client.get(
        "/api/campaigns", params={"filter": 'equals(messages.channel,"email")'}
    ).json()["data"]
    assert sms and email and not {c["id"] for c in sms} & {c["id"] for c in email}


def test_events_filter_by_metric_and_sort_by_datetime_descending(
    client: httpx.Client, app: Starlette
) -> None:
    account = app.state.sim.account(app.state.sim.default_account)
    metric = next(m for m in account.records("metric") if m.attributes["name"] == "Placed Order")
    data = client.get(
        "/api/events",
        params={
            "filter": f'equals(metric_id,"{metric.id}")',
            "sort": "-datetime",
            "page[size]": 50,
        },
    ).json()["data"]
    assert data and all(e["relationships"]["metric"]["data"]["id"] == metric.id for e in data)
    stamps = [e["attributes"]["datetime"] for e in data]
    assert stamps == sorted(stamps, reverse=True)


def test_sort_keys_outside_the_documented_ones_are_rejected(client: httpx.Client) -> None:
    response = client.get("/api/lists", params={"sort": "opt_in_process"})
    assert response.status_code == 400 and response.json()["errors"][0]["source"] == {
        "parameter": "sort"
    }
    names = [
        x["attributes"]["name"]
        for x in client.get("/api/tags", params={"sort": "name"}).json()["data"]
    ]
    assert names == sorted(names)


def test_sparse_fieldsets_keep_only_the_named_attributes_including_nested_ones(
    client: httpx.Client,
) -> None:
    data = client.get(
        "/api/profiles", params={"fields[profile]": "email,location.city", "page[size]": 3}
    ).json()["data"]
    for profile in data:
        assert set(profile["attributes"]) == {"email", "location"}
        assert set(profile["attributes"]["location"]) == {"city"}
    bad = client.get("/api/profiles", params={"fields[profile]": "shoe_size"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["source"] == {
        "parameter": "fields[profile]"
    }


def test_additional_fields_appear_only_when_requested(client: httpx.Client) -> None:
    plain = client.get("/api/profiles", params={"page[size]": 1}).json()["data"][0]["attributes"]
    extra = client.get(
        "/api/profiles", params={"page[size]": 1, "additional-fields[profile]": "subscriptions"}
    ).json()["data"][0]["attributes"]
    assert "subscriptions" not in plain and "subscriptions" in extra
    assert extra["subscriptions"]["email"]["marketing"]["consent"] in ("SUBSCRIBED", "UNSUBSCRIBED")


def test_include_fills_included_with_each_related_record_once(client: httpx.Client) -> None:
    document = client.get(
        "/api/events", params={"include": "metric,profile", "page[size]": 30}
    ).json()
    included = {(r["type"], r["id"]) for r in document["included"]}
    assert len(included) == len(document["included"])
    for event in document["data"]:
        assert ("metric", event["relationships"]["metric"]["data"]["id"]) in included
        assert ("profile", event["relationships"]["profile"]["data"]["id"]) in included
    assert client.get("/api/events", params={"include": "lists"}).status_code == 400


def test_page_size_bounds_follow_each_endpoint(client: httpx.Client) -> None:
    catalog = load_operations()
    assert len(client.get("/api/lists").json()["data"]) <= catalog["get_lists"].page_size.max  # type: ignore[union-attr]
    assert client.get("/api/lists", params={"page[size]": 11}).status_code == 400
    assert client.get("/api/events", params={"page[size]": 1000}).status_code == 200
    assert client.get("/api/events", params={"page[size]": 1001}).status_code == 400
    assert client.get("/api/profiles", params={"page[cursor]": "not-a-cursor"}).status_code == 400


def test_list_members_carry_joined_group_at_and_sort_by_it(
    client: httpx.Client, app: Starlette
) -> None:
    account = app.state.sim.account(app.state.sim.default_account)
    newsletter = next(x for x in account.records("list") if x.attributes["name"] == "Newsletter")
    members = _all_pages(
        client,
        f"/api/lists/{newsletter.id}/profiles",
        {"sort": "joined_group_at", "page[size]": 100},
    )
    assert len(members) == len(newsletter.many("profiles"))
    joined = [m["attributes"]["joined_group_at"] for m in members]
    assert joined == sorted(joined)


def test_catalog_items_filter_by_category_relationship(
    client: httpx.Client, app: Starlette
) -> None:
    account = app.state.sim.account(app.state.sim.default_account)
    jackets = next(
        c for c in account.records("catalog-category") if c.attributes["name"] == "Jackets"
    )
    items = client.get(
        "/api/catalog-items", params={"filter": f'equals(category.id,"{jackets.id}")'}
    ).json()["data"]
    assert items and all(i["attributes"]["custom_metadata"]["category"] == "Jackets" for i in items)


LISTINGS = [
    ("/api/profiles", "get_profiles"),
    ("/api/events", "get_events"),
    ("/api/lists", "get_lists"),
    ("/api/segments", "get_segments"),
    ("/api/templates", "get_templates"),
    ("/api/catalog-items", "get_catalog_items"),
    ("/api/catalog-variants", "get_catalog_variants"),
    ("/api/tags", "get_tags"),
    ("/api/images", "get_images"),
    ("/api/metrics", "get_metrics"),
]


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    listing=st.sampled_from(LISTINGS),
    size=st.integers(min_value=1, max_value=1000),
    sort_desc=st.booleans(),
)
def test_paging_through_a_listing_returns_every_record_exactly_once(
    client: httpx.Client, app: Starlette, listing: tuple[str, str], size: int, sort_desc: bool
) -> None:
    path, action_id = listing
    action = load_operations()[action_id]
    params: dict[str, Any] = {}
    if action.page_size is not None:
        params["page[size]"] = max(action.page_size.min, min(size, action.page_size.max))
    if action.sort:
        params["sort"] = action.sort[1] if sort_desc else action.sort[0]
    kind = action.response.resource_type or ""
    if kind == "event":
        params["filter"] = "greater-than(datetime,2026-06-20T00:00:00Z)"
    rows = _all_pages(client, path, params)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    account = app.state.sim.account(app.state.sim.default_account)
    expected = {r.id for r in account.records(kind)}
    if kind == "event":
        expected = {
            r.id for r in account.records(kind) if r.attributes["datetime"] > "2026-06-20T00:00:00"
        }
    assert set(ids) == expected


def _member_listings(app: Starlette) -> list[tuple[str, dict[str, Any], set[str]]]:
    account = app.state.sim.account(app.state.sim.default_account)
    out: list[tuple[str, dict[str, Any], set[str]]] = []
    for kind, segment in (("list", "lists"), ("segment", "segments")):
        for group in account.records(kind):
            out.append((f"/api/{segment}/{group.id}/profiles", {}, set(group.many("profiles"))))
    for flow in account.records("flow"):
        actions = {a.id for a in account.records("flow-action") if a.rels.get("flow") == flow.id}
        out.append((f"/api/flows/{flow.id}/flow-actions", {}, actions))
    for coupon in account.records("coupon"):
        codes = {c.id for c in account.records("coupon-code") if c.rels.get("coupon") == coupon.id}
        out.append(("/api/coupon-codes", {"filter": f'equals(coupon.id,"{coupon.id}")'}, codes))
    return out


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    pick=st.integers(min_value=0, max_value=10_000), size=st.integers(min_value=1, max_value=100)
)
def test_paging_through_related_listings_returns_every_member_exactly_once(
    client: httpx.Client, app: Starlette, pick: int, size: int
) -> None:
    listings = _member_listings(app)
    path, params, expected = listings[pick % len(listings)]
    limit = 50 if "flow-actions" in path else 100
    rows = _all_pages(client, path, {**params, "page[size]": min(size, limit)})
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == expected

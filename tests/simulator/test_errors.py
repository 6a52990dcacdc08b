"""Every category answers Klaviyo's error statuses (400, 401, 403, 404, 409, 429 where they apply)
in Klaviyo's error-object shape, validated against the spec's ClientError schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from codemode.catalog import Action, load_catalog
from codemode.simulator import DEMO_COMPANY_ID, SimConfig, create_app
from tests.simulator._openapi import error_validator
from tests.simulator._recipes import World, call_for
from tests.simulator._scope import in_scope, simulated
from tests.simulator.conftest import HEADERS, NOW, make_client

CATALOG = load_catalog()
GROUPS = sorted({a.group for a in simulated(CATALOG)})


class Clock:
    """A hand-driven monotonic clock for rate-limit windows."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def err_app(clock: Clock) -> Starlette:
    return create_app(SimConfig(now=NOW, profiles=120, events=1500, rate_limits=True, clock=clock))


@pytest.fixture(scope="module")
def err_client(err_app: Starlette) -> Iterator[httpx.Client]:
    with make_client(err_app) as c:
        yield c


def _assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/vnd.api+json")
    document = response.json()
    error_validator().validate(document)
    error: dict[str, Any] = document["errors"][0]
    assert error["status"] == status and error["detail"] and error["title"]
    return error


def _first(group: str, predicate: Any) -> Action | None:
    return next(
        (a for a in CATALOG.groups[group] if a.core and in_scope(a, CATALOG) and predicate(a)), None
    )


def _request(client: httpx.Client, world: World, action: Action, **headers: str) -> httpx.Response:
    call = call_for(action, world, lambda dep: "unused")
    request = client.build_request(call.method, call.path, params=call.params, json=call.body)
    for key, value in headers.items():
        if value:
            request.headers[key] = value
        elif key in request.headers:
            del request.headers[key]
    return client.send(request)


def _read(group: str) -> Action:
    action = _first(group, lambda a: a.kind == "read" and "{" not in a.path and a.method == "GET")
    return action or next(a for a in CATALOG.groups[group] if a.core and in_scope(a, CATALOG))


@pytest.mark.parametrize("group", GROUPS)
def test_every_category_rejects_a_missing_revision_with_400(
    group: str, err_app: Starlette, err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    error = _assert_error(_request(err_client, World(err_app), _read(group), revision=""), 400)
    assert error["source"] == {"parameter": "revision"}


@pytest.mark.parametrize("group", GROUPS)
def test_every_category_rejects_missing_credentials_with_401(
    group: str, err_app: Starlette, err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    action = _read(group)
    if action.kind == "client":
        # Client endpoints authenticate by company_id; a private key there is refused.
        response = _request(err_client, World(err_app), action)
    else:
        response = _request(err_client, World(err_app), action, Authorization="")
    _assert_error(response, 401)


@pytest.mark.parametrize("group", [g for g in GROUPS if g != "client"])
def test_every_category_answers_403_to_a_key_without_the_scope(
    group: str, err_app: Starlette, err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    sim = err_app.state.sim
    sim.add_key(
        "pk_scoped_nothing",
        sim.default_account,
        frozenset({"accounts:read"}) if group != "accounts" else frozenset({"lists:read"}),
    )
    error = _assert_error(
        _request(
            err_client,
            World(err_app),
            _read(group),
            Authorization="Klaviyo-API-Key pk_scoped_nothing",
        ),
        403,
    )
    assert "scope" in error["detail"]


@pytest.mark.parametrize(
    "group",
    [g for g in GROUPS if _first(g, lambda a: a.method == "GET" and a.path.endswith("{id}"))],
)
def test_every_category_answers_404_for_an_unknown_id(
    group: str, err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    action = _first(group, lambda a: a.method == "GET" and a.path.endswith("{id}"))
    assert action is not None
    error = _assert_error(err_client.get(action.path.replace("{id}", "does-not-exist")), 404)
    assert "does-not-exist" in error["detail"]


def _conflicts(world: World) -> dict[str, tuple[str, str, dict[str, Any]]]:
    profile = world.records("profile")[0]
    draft = world.pick("campaign", where=lambda r: r.attributes.get("status") == "Sent")
    item = world.records("catalog-item")[0]
    default_group = world.pick("tag-group", where=lambda r: bool(r.attributes.get("default")))
    return {
        "profiles": (
            "POST",
            "/api/profiles",
            {"data": {"type": "profile", "attributes": {"email": profile.attributes["email"]}}},
        ),
        "coupons": (
            "POST",
            "/api/coupons",
            {"data": {"type": "coupon", "attributes": {"external_id": "WELCOME10"}}},
        ),
        "catalogs": (
            "POST",
            "/api/catalog-items",
            {
                "data": {
                    "type": "catalog-item",
                    "attributes": {
                        "external_id": item.attributes["external_id"],
                        "title": "t",
                        "description": "d",
                        "url": "https://x.example",
                    },
                }
            },
        ),
        "campaigns": (
            "POST",
            "/api/campaign-send-jobs",
            {"data": {"type": "campaign-send-job", "id": draft}},
        ),
        "tags": ("DELETE", f"/api/tag-groups/{default_group}", {}),
        "flows": (
            "PATCH",
            f"/api/flow-actions/{world.records('flow-action')[0].id}",
            {
                "data": {
                    "type": "flow-action",
                    "id": "other",
                    "attributes": {"definition": {"type": "send-email"}},
                }
            },
        ),
    }


@pytest.mark.parametrize("group", ["profiles", "coupons", "catalogs", "campaigns", "tags", "flows"])
def test_conflicting_writes_answer_409(
    group: str, err_app: Starlette, err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    method, path, body = _conflicts(World(err_app))[group]
    error = _assert_error(err_client.request(method, path, json=body or None), 409)
    if group == "profiles":
        world = World(err_app)
        assert error["code"] == "duplicate_profile"
        assert error["meta"] == {"duplicate_profile_id": world.records("profile")[0].id}


@pytest.mark.parametrize("group", GROUPS)
def test_every_category_throttles_past_its_burst_with_429_and_retry_after(
    group: str, err_app: Starlette, err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    # The tightest tier of the category keeps the test short.
    reads = [
        a
        for a in CATALOG.groups[group]
        if a.core and in_scope(a, CATALOG) and a.kind in ("read", "client") and a.method == "GET"
    ]
    action = min(reads or [_read(group)], key=lambda a: a.rate_limit["burst"])
    world = World(err_app)
    headers = {"Authorization": ""} if action.kind == "client" else {}
    burst = action.rate_limit["burst"]
    for _ in range(burst):
        ok = _request(err_client, world, action, **headers)
        assert ok.status_code < 300, ok.text[:300]
        assert int(ok.headers["RateLimit-Remaining"]) >= 0
    error = _assert_error(_request(err_client, world, action, **headers), 429)
    assert error["code"] == "throttled"
    retry = _request(err_client, world, action, **headers)
    assert int(retry.headers["Retry-After"]) >= 1
    clock.now += 1.0
    if action.rate_limit.get("steady", 999) > burst:
        assert _request(err_client, world, action, **headers).status_code < 300


def test_client_endpoints_never_accept_a_private_key_and_public_keys_never_open_api(
    err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    body = {"data": {"type": "profile", "attributes": {"email": "browser@example.org"}}}
    _assert_error(
        err_client.post("/client/profiles", params={"company_id": DEMO_COMPANY_ID}, json=body), 401
    )
    anonymous = {k: v for k, v in HEADERS.items() if k != "Authorization"}
    ok = httpx.Request(
        "POST",
        "http://sim.test/client/profiles",
        params={"company_id": DEMO_COMPANY_ID},
        json=body,
        headers=anonymous,
    )
    assert err_client.send(ok).status_code == 202
    refused = err_client.send(
        httpx.Request(
            "GET",
            "http://sim.test/api/profiles",
            params={"company_id": DEMO_COMPANY_ID},
            headers=anonymous,
        )
    )
    _assert_error(refused, 401)


def test_malformed_revision_and_unknown_query_parameters_are_400_with_the_parameter(
    err_client: httpx.Client, clock: Clock
) -> None:
    clock.now += 86400
    error = _assert_error(err_client.get("/api/lists", headers={"revision": "July 2026"}), 400)
    assert error["source"] == {"parameter": "revision"}
    error = _assert_error(err_client.get("/api/lists", params={"page[size]": "11"}), 400)
    assert error["source"] == {"parameter": "page[size]"} and "10" in error["detail"]
    error = _assert_error(err_client.get("/api/lists", params={"pagesize": "5"}), 400)
    assert error["source"] == {"parameter": "pagesize"}
    error = _assert_error(
        err_client.post("/api/lists", json={"data": {"type": "list", "attributes": {}}}), 400
    )
    assert error["source"] == {"pointer": "/data/attributes/name"}

"""Unit behaviour of the rate limiter, the filter parser and the body checker."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from codemode.simulator.errors import ApiError
from codemode.simulator.filters import matches, parse_filter
from codemode.simulator.operations import load_operations
from codemode.simulator.ratelimit import RateLimiter
from codemode.simulator.validate import first_error


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limiter_enforces_burst_then_steady_then_daily_windows() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    tier = {"burst": 1, "steady": 2, "daily": 3}
    assert limiter.hit("a", tier)["RateLimit-Remaining"] == "1"
    with pytest.raises(ApiError) as burst:
        limiter.hit("a", tier)
    assert burst.value.status == 429 and burst.value.headers["Retry-After"] == "1"
    clock.now = 1.0
    limiter.hit("a", tier)
    clock.now = 2.0
    with pytest.raises(ApiError) as steady:
        limiter.hit("a", tier)
    assert "steady" in steady.value.detail and int(steady.value.headers["Retry-After"]) == 58
    clock.now = 61.0
    limiter.hit("a", tier)
    clock.now = 125.0
    with pytest.raises(ApiError) as daily:
        limiter.hit("a", tier)
    assert "daily" in daily.value.detail and int(daily.value.headers["Retry-After"]) > 80000
    assert limiter.hit("b", tier)["RateLimit-Limit"] == "2"


def test_rejected_requests_do_not_use_up_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    tier = {"burst": 2, "steady": 100}
    limiter.hit("a", tier)
    limiter.hit("a", tier)
    for _ in range(3):
        with pytest.raises(ApiError):
            limiter.hit("a", tier)
    clock.now = 1.0
    assert limiter.hit("a", tier)["RateLimit-Remaining"] == "97"


def test_filter_values_parse_as_strings_lists_numbers_booleans_and_datetimes() -> None:
    action = load_operations()["get_images"]
    conditions = parse_filter(
        "any(format,['png',\"jpeg\"]),greater-than(size,40000),equals(hidden,false),less-than(updated_at,2026-01-02T03:04:05+00:00)",
        action,
    )
    assert [(c.op, c.field) for c in conditions] == [
        ("any", "format"),
        ("greater-than", "size"),
        ("equals", "hidden"),
        ("less-than", "updated_at"),
    ]
    assert (
        conditions[0].value == ["png", "jpeg"]
        and conditions[1].value == 40000
        and conditions[2].value is False
    )
    assert conditions[3].value == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    row = {
        "format": "png",
        "size": 50000,
        "hidden": False,
        "updated_at": "2025-12-31T00:00:00+00:00",
    }
    assert matches(conditions, row.get)
    assert not matches(conditions, {**row, "size": 100}.get)


@pytest.mark.parametrize(
    "text",
    [
        "equals(format,'png'",
        "equals(format)",
        'equals(format,["a",)',
        "ends(format,'g')",
        "any(format,'png')",
        "equals(hidden,'no')",
    ],
)
def test_malformed_filters_are_400_on_the_filter_parameter(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_filter(text, load_operations()["get_images"])
    assert caught.value.status == 400 and caught.value.parameter == "filter"


def test_body_checker_points_at_the_first_problem() -> None:
    schema = load_operations()["create_list"].body.schema  # type: ignore[union-attr]
    assert first_error(schema, {"data": {"type": "list", "attributes": {"name": "A"}}}) is None
    assert first_error(schema, {"data": {"type": "lists", "attributes": {"name": "A"}}}) == (
        "/data/type",
        "must be one of 'list'",
    )
    assert first_error(schema, {"data": {"type": "list", "attributes": {"name": 3}}}) == (
        "/data/attributes/name",
        "must be of type string",
    )


def test_hostile_bodies_are_400_not_server_errors(client: httpx.Client) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for raw in (
        deep,
        "{not json",
        '{"data": 5}',
        '{"data": {"type": "list", "attributes": {"name": ' + deep + "}}}",
    ):
        response = client.post(
            "/api/lists", content=raw, headers={"content-type": "application/vnd.api+json"}
        )
        assert response.status_code == 400, raw[:40]
        assert response.json()["errors"][0]["source"]["pointer"].startswith("/")


def test_a_handler_bug_answers_500_in_klaviyo_error_shape(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codemode.simulator.handlers import generic

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(generic, "listing", broken)
    response = client.get("/api/lists")
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert (
        error["status"] == 500 and "get_lists" in error["detail"] and "boom" not in error["detail"]
    )


def test_demo_mode_accepts_any_pk_key_and_strict_mode_only_registered_ones() -> None:
    from codemode.simulator import SimConfig, create_app
    from tests.simulator.conftest import NOW, make_client

    strict = create_app(SimConfig(now=NOW, profiles=10, events=50, demo=False))
    with make_client(strict) as c:
        assert (
            c.get(
                "/api/lists", headers={"Authorization": "Klaviyo-API-Key pk_anything"}
            ).status_code
            == 401
        )
        assert c.get("/api/lists").status_code == 200  # the registered DEMO_PRIVATE_KEY
        assert (
            c.get("/api/lists", headers={"Authorization": "Klaviyo-API-Key pk_"}).status_code == 401
        )
    demo = create_app(SimConfig(now=NOW, profiles=10, events=50))
    with make_client(demo) as c:
        assert (
            c.get(
                "/api/lists", headers={"Authorization": "Klaviyo-API-Key pk_anything"}
            ).status_code
            == 200
        )
        assert (
            c.get(
                "/api/lists", headers={"Authorization": "Klaviyo-API-Key sk_anything"}
            ).status_code
            == 401
        )


def test_public_api_is_sorted_and_importable() -> None:
    import codemode.simulator as simulator

    # isort-style order, as ruff keeps it: constants, then classes, then functions.
    def rank(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert simulator.__all__ == sorted(simulator.__all__, key=rank)
    assert all(hasattr(simulator, name) for name in simulator.__all__)
    assert {
        "create_app",
        "SimConfig",
        "FaultConfig",
        "DEMO_PRIVATE_KEY",
        "DEMO_COMPANY_ID",
        "DEMO_OAUTH_CLIENT",
    } <= set(simulator.__all__)


def _segment_body(condition: dict[str, object]) -> dict[str, object]:
    definition = {"condition_groups": [{"conditions": [condition]}]}
    return {"data": {"type": "segment", "attributes": {"name": "A", "definition": definition}}}


def test_body_checker_names_the_union_key_no_option_takes() -> None:
    schema = load_operations()["create_segment"].body.schema  # type: ignore[union-attr]
    at = "/data/attributes/definition/condition_groups/0/conditions/0"
    # An unknown condition type: the types there are, not a key of the first option.
    pointer, detail = first_error(schema, _segment_body({"type": "profile-created"})) or ("", "")
    assert pointer == f"{at}/type"
    assert "'profile-property'" in detail and "'profile-group-membership'" in detail
    # A known type with an operator none of its filters takes: the operators the filters take.
    bad = {"type": "date", "operator": "within", "days": 30}
    condition = {"type": "profile-property", "property": "created", "filter": bad}
    pointer, detail = first_error(schema, _segment_body(condition)) or ("", "")
    assert pointer == f"{at}/filter/operator"
    assert "'in-the-last'" in detail and "'before'" in detail


def test_body_checker_lists_every_missing_key_and_every_allowed_value() -> None:
    schema = load_operations()["create_segment"].body.schema  # type: ignore[union-attr]
    at = "/data/attributes/definition/condition_groups/0/conditions/0"
    condition = {
        "type": "profile-property",
        "property": "created",
        "filter": {"type": "date", "operator": "in-the-last"},
    }
    assert first_error(schema, _segment_body(condition)) == (
        f"{at}/filter/unit",
        "'unit' is a required property (also missing: 'quantity')",
    )
    # 31 statistics: all listed, the ones after the twelfth included.
    report = load_operations()["query_flow_values"].body.schema  # type: ignore[union-attr]
    attrs = {"statistics": ["revenue"], "timeframe": {"key": "last_30_days"}}
    attrs["conversion_metric_id"] = "M"
    body = {"data": {"type": "flow-values-report", "attributes": attrs}}
    pointer, detail = first_error(report, body) or ("", "")
    assert pointer == "/data/attributes/statistics/0"
    assert "'unsubscribe_rate'" in detail and "'conversion_value'" in detail


def test_body_checker_cuts_a_long_enum_with_the_closest_values_first() -> None:
    zones = [f"Zone/{n:03d}" for n in range(100)] + ["Europe/Paris"]
    pointer, detail = first_error({"type": "string", "enum": zones}, "Europe/Pari") or ("", "")
    assert pointer == "/"
    assert detail.startswith("must be one of 'Europe/Paris', 'Zone/000'")
    assert detail.endswith("... (101 values) (did you mean 'Europe/Paris'?)")

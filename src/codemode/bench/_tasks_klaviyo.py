"""How an agent does a task with Klaviyo's own MCP server (``klaviyo-mcp-server``, 28 tools).

One plan per task its tools cover: the calls a competent agent makes, one per turn, each answer
entering the context whole (as that server returns it). Tasks left out need something its tools
lack (metric aggregates, segment or list members, tags, coupons, webhooks, catalog variants...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from codemode.bench._harness import KlaviyoAgent, follow_pages

__all__ = ["KLAVIYO_PLANS"]

Plan = Callable[[KlaviyoAgent, Mapping[str, Any]], Awaitable[Any]]


def _eq(field: str, value: Any, operator: str = "equals") -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


async def _pages(agent: KlaviyoAgent, tool: str, **arguments: Any) -> list[dict[str, Any]]:
    return await follow_pages(agent.call, tool, arguments)


async def _metric(agent: KlaviyoAgent, name: str) -> str:
    doc = await agent.call("klaviyo_get_metrics", fields=["name"])
    return next(str(m["id"]) for m in doc["data"] if m["attributes"]["name"] == name)


async def _account(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    attrs = (await a.call("klaviyo_get_account_details"))["data"][0]["attributes"]
    return {"timezone": attrs["timezone"], "currency": attrs["preferred_currency"]}


async def _scheduled(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    doc = await a.call(
        "klaviyo_get_campaigns",
        channel="email",
        fields=["name", "send_time"],
        filters=[_eq("status", "Scheduled")],
    )
    return [[c["attributes"]["name"], c["attributes"]["send_time"]] for c in doc["data"]]


async def _loyalty(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    found = await a.call(
        "klaviyo_get_profiles", fields=["email"], filters=[_eq("email", ctx["email"])]
    )
    pid = found["data"][0]["id"]
    await a.call(
        "klaviyo_update_profile",
        profile_id=pid,
        profile_update_data={"properties": {"loyalty_tier": "Summit"}},
    )
    check = await a.call("klaviyo_get_profile", profile_id=pid)
    attrs = check["data"]["attributes"]
    return {"email": attrs["email"], "loyalty_tier": attrs["properties"]["loyalty_tier"]}


async def _record_event(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    await a.call(
        "klaviyo_create_event",
        event={"properties": {"OrderId": "T-1001"}, "value": 120},
        profile={"type": "profile", "attributes": {"email": ctx["email"]}},
        metric={"type": "metric", "attributes": {"name": "Placed Order"}},
    )
    return {"recorded": True}


async def _countries(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    profiles = await _pages(a, "klaviyo_get_profiles", fields=["location.country"], page_size=100)
    counts = Counter((p["attributes"].get("location") or {}).get("country") for p in profiles)
    return [[c, n] for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


async def _events_since(a: KlaviyoAgent, metric: str, since: str) -> list[dict[str, Any]]:
    mid = await _metric(a, metric)
    return await _pages(
        a,
        "klaviyo_get_events",
        events_fields=["event_properties"],
        filters=[_eq("metric_id", mid), _eq("datetime", since, "greater-or-equal")],
    )


async def _top_products(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    events = await _events_since(a, "Ordered Product", ctx["days_ago_30"])
    counts = Counter(e["attributes"]["event_properties"]["ProductName"] for e in events)
    return [[name, n] for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


async def _viewers(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    events = await _events_since(a, "Viewed Product", ctx["days_ago_90"])
    people = {e["relationships"]["profile"]["data"]["id"] for e in events}
    return {"views": len(events), "viewers": len(people)}


def _report_args(po: str) -> dict[str, Any]:
    return {"conversion_metric_id": po, "timeframe": {"value": {"key": "last_90_days"}}}


async def _open_rates(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    po = await _metric(a, "Placed Order")
    doc = await a.call(
        "klaviyo_get_campaign_report",
        statistics=["open_rate"],
        filters=[_eq("send_channel", "email")],
        **_report_args(po),
    )
    rows = sorted(doc["data"]["attributes"]["results"], key=lambda r: -r["statistics"]["open_rate"])
    return [
        [r["campaign_details"]["attributes"]["name"], round(r["statistics"]["open_rate"], 4)]
        for r in rows[:3]
    ]


async def _flow_revenue(a: KlaviyoAgent, ctx: Mapping[str, Any]) -> Any:
    po = await _metric(a, "Placed Order")
    doc = await a.call(
        "klaviyo_get_flow_report",
        statistics=["recipients"],
        value_statistics=["conversion_value"],
        **_report_args(po),
    )
    out = {"Welcome Series": 0.0, "Abandoned Checkout": 0.0}
    for r in doc["data"]["attributes"]["results"]:
        name = r["flow_details"]["attributes"]["name"]
        if name in out:
            out[name] += r["statistics"]["conversion_value"]
    revenue = {k: round(v, 2) for k, v in out.items()}
    return {**revenue, "winner": max(revenue, key=lambda k: revenue[k])}


KLAVIYO_PLANS: Mapping[str, Plan] = {
    "best_open_rate_campaigns": _open_rates,
    "compare_flow_revenue": _flow_revenue,
    "account_timezone_currency": _account,
    "scheduled_email_campaigns": _scheduled,
    "set_loyalty_tier": _loyalty,
    "record_order_event": _record_event,
    "customers_per_country_all_profiles": _countries,
    "top_products_30_days": _top_products,
    "distinct_product_viewers_90_days": _viewers,
}

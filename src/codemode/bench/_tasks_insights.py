"""Read-only tasks: reporting, events, profiles, lists and segments, campaigns, flows, catalog."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from codemode.bench._harness import ClassicAgent, World
from codemode.bench._tasks import CodePlan, PeerPlan, Task

__all__ = ["INSIGHT_TASKS", "metric_id", "profile_email"]

EMAIL = "equals(messages.channel,'email')"
SHOPIFY = 'equals(integration.name,"Shopify")'


def metric_id(world: World, name: str) -> str:
    """The id of the metric called ``name`` in the demo store."""
    return str(world.named("metric", name).id)


def _events(world: World, metric: str, since: str, until: str | None = None) -> list[Any]:
    mid = metric_id(world, metric)
    start = datetime.fromisoformat(since)
    end = datetime.fromisoformat(until) if until else world.now
    return [
        e
        for e in world.table("event")
        if e.rels.get("metric") == mid
        and start <= datetime.fromisoformat(e.attributes["datetime"]) < end
    ]


def profile_email(world: World, index: int) -> str:
    """A stable demo customer: the ``index``-th profile of the store."""
    return str(world.table("profile")[index].attributes["email"])


def _by_name(doc: Mapping[str, Any], name: str) -> str:
    return next(str(d["id"]) for d in doc["data"] if d["attributes"]["name"] == name)


# 1 -- campaign open rates -------------------------------------------------------------------


async def _open_rate_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    attrs = {
        "statistics": ["open_rate"],
        "timeframe": {"key": "last_90_days"},
        "conversion_metric_id": metric_id(w, "Placed Order"),
    }
    doc = await w.raw(
        "POST",
        "/api/campaign-values-reports",
        {"data": {"type": "campaign-values-report", "attributes": attrs}},
    )
    names = {c.id: c.attributes["name"] for c in w.table("campaign")}
    rows = [
        r for r in doc["data"]["attributes"]["results"] if r["groupings"]["send_channel"] == "email"
    ]
    rows.sort(key=lambda r: -r["statistics"]["open_rate"])
    return [
        [names[r["groupings"]["campaign_id"]], round(r["statistics"]["open_rate"], 4)]
        for r in rows[:3]
    ]


async def _open_rate_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    metrics, campaigns = await a.parallel(
        [
            ("get_metrics", {"filter": SHOPIFY}),
            ("get_campaigns", {"filter": EMAIL, "fields": {"campaign": ["name"]}}),
        ]
    )
    attrs = {
        "statistics": ["open_rate"],
        "timeframe": {"key": "last_90_days"},
        "conversion_metric_id": _by_name(metrics, "Placed Order"),
    }
    report = await a.call(
        "query_campaign_values",
        body={"data": {"type": "campaign-values-report", "attributes": attrs}},
    )
    names = {c["id"]: c["attributes"]["name"] for c in campaigns["data"]}
    rows = [
        r
        for r in report["data"]["attributes"]["results"]
        if r["groupings"]["send_channel"] == "email"
    ]
    rows.sort(key=lambda r: -r["statistics"]["open_rate"])
    return [
        [names[r["groupings"]["campaign_id"]], round(r["statistics"]["open_rate"], 4)]
        for r in rows[:3]
    ]


OPEN_RATE = Task(
    id="best_open_rate_campaigns",
    category="reporting",
    prompt="Which three email campaigns sent in the last 90 days had the best open rate? Give names and open rates.",
    truth=_open_rate_truth,
    classic=_open_rate_classic,
    queries=("campaign open rate report",),
    code=CodePlan(
        functions=(
            "reporting.query_campaign_values",
            "campaigns.get_campaigns",
            "metrics.get_metrics",
        ),
        script="""\
import json
po = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Shopify")') if m["name"] == "Placed Order")
rep = klaviyo.reporting.query_campaign_values(attributes={"statistics": ["open_rate"], "timeframe": {"key": "last_90_days"}, "conversion_metric_id": po})
names = {c["id"]: c["name"] for c in klaviyo.campaigns.get_campaigns(filter="equals(messages.channel,'email')")}
rows = sorted((r for r in rep.data["results"] if r["groupings"]["send_channel"] == "email"), key=lambda r: -r["statistics"]["open_rate"])
print(json.dumps([[names[r["groupings"]["campaign_id"]], round(r["statistics"]["open_rate"], 4)] for r in rows[:3]]))
""",
    ),
    peer=PeerPlan(
        tools=("query_campaign_values", "get_campaigns", "get_metrics"),
        code="""\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Shopify")'})
po = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Placed Order"][0]
attrs = {"statistics": ["open_rate"], "timeframe": {"key": "last_90_days"}, "conversion_metric_id": po}
rep = await call_tool("query_campaign_values", {"body": {"data": {"type": "campaign-values-report", "attributes": attrs}}})
cs = await call_tool("get_campaigns", {"filter": "equals(messages.channel,'email')"})
names = {c["id"]: c["attributes"]["name"] for c in cs["data"]}
rows = [r for r in rep["data"]["attributes"]["results"] if r["groupings"]["send_channel"] == "email"]
rows = sorted(rows, key=lambda r: -r["statistics"]["open_rate"])
return [[names[r["groupings"]["campaign_id"]], round(r["statistics"]["open_rate"], 4)] for r in rows[:3]]
""",
    ),
)


# 2 -- two flows' revenue ----------------------------------------------------------------------

FLOWS = ("Welcome Series", "Abandoned Checkout")


def _revenue(results: list[dict[str, Any]], ids: Mapping[str, str]) -> dict[str, Any]:
    totals = {name: 0.0 for name in FLOWS}
    for r in results:
        name = ids.get(r["groupings"]["flow_id"])
        if name in totals:
            totals[name] += r["statistics"]["conversion_value"]
    out: dict[str, Any] = {k: round(v, 2) for k, v in totals.items()}
    out["winner"] = max(FLOWS, key=lambda n: totals[n])
    return out


async def _flows_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    attrs = {
        "statistics": ["conversion_value"],
        "timeframe": {"key": "last_90_days"},
        "conversion_metric_id": metric_id(w, "Placed Order"),
    }
    doc = await w.raw(
        "POST",
        "/api/flow-values-reports",
        {"data": {"type": "flow-values-report", "attributes": attrs}},
    )
    return _revenue(
        doc["data"]["attributes"]["results"], {f.id: f.attributes["name"] for f in w.table("flow")}
    )


async def _flows_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    metrics, flows = await a.parallel(
        [("get_metrics", {"filter": SHOPIFY}), ("get_flows", {"fields": {"flow": ["name"]}})]
    )
    attrs = {
        "statistics": ["conversion_value"],
        "timeframe": {"key": "last_90_days"},
        "conversion_metric_id": _by_name(metrics, "Placed Order"),
    }
    report = await a.call(
        "query_flow_values", body={"data": {"type": "flow-values-report", "attributes": attrs}}
    )
    return _revenue(
        report["data"]["attributes"]["results"],
        {f["id"]: f["attributes"]["name"] for f in flows["data"]},
    )


FLOW_REVENUE = Task(
    id="compare_flow_revenue",
    category="reporting",
    prompt="Over the last 90 days, how much revenue did the Welcome Series and Abandoned Checkout flows each bring in, and which earned more?",
    truth=_flows_truth,
    classic=_flows_classic,
    queries=("flow revenue report",),
    code=CodePlan(
        functions=("reporting.query_flow_values", "flows.get_flows", "metrics.get_metrics"),
        script="""\
import json
po = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Shopify")') if m["name"] == "Placed Order")
names = {f["id"]: f["name"] for f in klaviyo.flows.get_flows()}
rep = klaviyo.reporting.query_flow_values(attributes={"statistics": ["conversion_value"], "timeframe": {"key": "last_90_days"}, "conversion_metric_id": po})
out = {"Welcome Series": 0.0, "Abandoned Checkout": 0.0}
for r in rep.data["results"]:
    name = names.get(r["groupings"]["flow_id"])
    if name in out:
        out[name] += r["statistics"]["conversion_value"]
out = {k: round(v, 2) for k, v in out.items()}
out["winner"] = max(["Welcome Series", "Abandoned Checkout"], key=lambda n: out[n])
print(json.dumps(out))
""",
    ),
    peer=PeerPlan(
        tools=("query_flow_values", "get_flows", "get_metrics"),
        code="""\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Shopify")'})
po = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Placed Order"][0]
fl = await call_tool("get_flows", {})
names = {f["id"]: f["attributes"]["name"] for f in fl["data"]}
attrs = {"statistics": ["conversion_value"], "timeframe": {"key": "last_90_days"}, "conversion_metric_id": po}
rep = await call_tool("query_flow_values", {"body": {"data": {"type": "flow-values-report", "attributes": attrs}}})
out = {"Welcome Series": 0.0, "Abandoned Checkout": 0.0}
for r in rep["data"]["attributes"]["results"]:
    name = names.get(r["groupings"]["flow_id"])
    if name in out:
        out[name] = out[name] + r["statistics"]["conversion_value"]
out = {k: round(v, 2) for k, v in out.items()}
out["winner"] = "Welcome Series" if out["Welcome Series"] >= out["Abandoned Checkout"] else "Abandoned Checkout"
return out
""",
    ),
)


# 3 -- orders in the last 7 days ---------------------------------------------------------------


async def _orders_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    events = _events(w, "Placed Order", ctx["days_ago_7"])
    return {
        "orders": len(events),
        "revenue": round(sum(e.attributes["event_properties"]["$value"] for e in events), 2),
    }


def _aggregate_body(metric: str, ctx: Mapping[str, Any]) -> dict[str, Any]:
    attrs = {
        "metric_id": metric,
        "measurements": ["count", "sum_value"],
        "interval": "day",
        "filter": [
            f"greater-or-equal(datetime,{ctx['days_ago_7']})",
            f"less-than(datetime,{ctx['today']})",
        ],
    }
    return {"data": {"type": "metric-aggregate", "attributes": attrs}}


async def _orders_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    metrics = await a.call("get_metrics", filter=SHOPIFY)
    doc = await a.call(
        "query_metric_aggregates", body=_aggregate_body(_by_name(metrics, "Placed Order"), ctx)
    )
    m = doc["data"]["attributes"]["data"][0]["measurements"]
    return {"orders": int(sum(m["count"])), "revenue": round(sum(m["sum_value"]), 2)}


ORDERS_7D = Task(
    id="orders_last_7_days",
    category="events",
    prompt="How many orders were placed in the last 7 days, and for how much revenue in total?",
    truth=_orders_truth,
    classic=_orders_classic,
    queries=("total orders and revenue of a metric over time",),
    code=CodePlan(
        functions=("metrics.query_metric_aggregates", "metrics.get_metrics"),
        script="""\
import json
po = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Shopify")') if m["name"] == "Placed Order")
agg = klaviyo.metrics.query_metric_aggregates(attributes={"metric_id": po, "measurements": ["count", "sum_value"], "interval": "day", "filter": ["greater-or-equal(datetime,$days_ago_7)", "less-than(datetime,$today)"]})
m = agg.data["data"][0]["measurements"]
print(json.dumps({"orders": int(sum(m["count"])), "revenue": round(sum(m["sum_value"]), 2)}))
""",
    ),
    peer=PeerPlan(
        tools=("query_metric_aggregates", "get_metrics"),
        code="""\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Shopify")'})
po = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Placed Order"][0]
attrs = {"metric_id": po, "measurements": ["count", "sum_value"], "interval": "day", "filter": ["greater-or-equal(datetime,$days_ago_7)", "less-than(datetime,$today)"]}
agg = await call_tool("query_metric_aggregates", {"body": {"data": {"type": "metric-aggregate", "attributes": attrs}}})
m = agg["data"]["attributes"]["data"][0]["measurements"]
return {"orders": int(sum(m["count"])), "revenue": round(sum(m["sum_value"]), 2)}
""",
    ),
)


# 4 -- best sellers in the last 30 days --------------------------------------------------------


async def _products_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    counts = Counter(
        e.attributes["event_properties"]["ProductName"]
        for e in _events(w, "Ordered Product", ctx["days_ago_30"])
    )
    return [[name, n] for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


async def _products_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    metrics = await a.call("get_metrics", filter=SHOPIFY)
    mid = _by_name(metrics, "Ordered Product")
    events = await a.pages(
        "get_events",
        filter=f'equals(metric_id,"{mid}"),greater-or-equal(datetime,{ctx["days_ago_30"]})',
        fields={"event": ["event_properties"]},
        page_size=1000,
    )
    counts = Counter(e["attributes"]["event_properties"]["ProductName"] for e in events)
    return [[name, n] for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


TOP_PRODUCTS = Task(
    id="top_products_30_days",
    category="events",
    prompt="Which three products were ordered most often in the last 30 days (Ordered Product events)?",
    truth=_products_truth,
    classic=_products_classic,
    queries=("list events of a metric since a date",),
    code=CodePlan(
        functions=("events.get_events", "metrics.get_metrics"),
        script="""\
import json
mid = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Shopify")') if m["name"] == "Ordered Product")
counts = {}
for e in klaviyo.events.get_events(filter=f'equals(metric_id,"{mid}"),greater-or-equal(datetime,$days_ago_30)', fields={"event": ["event_properties"]}, page_size=1000).all():
    name = e["event_properties"]["ProductName"]
    counts[name] = counts.get(name, 0) + 1
print(json.dumps([[k, v] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]))
""",
    ),
    peer=PeerPlan(
        tools=("get_events", "get_metrics"),
        code="""\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Shopify")'})
mid = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Ordered Product"][0]
args = {"filter": 'equals(metric_id,"' + mid + '"),greater-or-equal(datetime,$days_ago_30)', "fields": {"event": ["event_properties"]}, "page_size": 1000}
counts = {}
while True:
    page = await call_tool("get_events", args)
    for e in page["data"]:
        name = e["attributes"]["event_properties"]["ProductName"]
        counts[name] = counts.get(name, 0) + 1
    nxt = page.get("links", {}).get("next")
    if not nxt:
        break
    args["page_cursor"] = nxt
return [[k, v] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
""",
    ),
)

INSIGHT_TASKS: tuple[Task, ...] = (OPEN_RATE, FLOW_REVENUE, ORDERS_7D, TOP_PRODUCTS)

"""Harder reads across the API: paging through thousands of records, ``include``d data, reports
over several endpoints, and one-call reads of the smaller areas.

The classic agent of these tasks makes exactly the calls of the FastMCP CodeMode code, one per
turn (:func:`classic_from_peer`), so the two cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from codemode.bench._harness import World
from codemode.bench._tasks import CodePlan, PeerPlan, Task, classic_from_peer
from codemode.bench._tasks_insights import metric_id, profile_email

__all__ = ["MORE_TASKS", "none", "task"]


def _since(w: World, metric: str, iso: str) -> list[Any]:
    mid = metric_id(w, metric)
    start = datetime.fromisoformat(iso)
    return [
        e
        for e in w.table("event")
        if e.rels.get("metric") == mid and datetime.fromisoformat(e.attributes["datetime"]) >= start
    ]


def task(
    id: str,
    category: str,
    prompt: str,
    queries: tuple[str, ...],
    truth: Any,
    functions: tuple[str, ...],
    script: str,
    tools: tuple[str, ...],
    code: str,
    **extra: Any,
) -> Task:
    """A task whose classic agent makes the calls of the FastMCP code (``classic_from_peer``)."""
    return Task(
        id=id,
        category=category,
        prompt=prompt,
        queries=queries,
        truth=truth,
        classic=classic_from_peer(code, expect_error=extra.get("expect_error") is not None),
        code=CodePlan(functions=functions, script=script, dry_run=extra.pop("dry_run", False)),
        peer=PeerPlan(tools=tools, code=code),
        **extra,
    )


async def none(w: World, ctx: Mapping[str, Any]) -> Any:
    return None


# -- paging through thousands of records ---------------------------------------------------------


async def _viewers_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    events = _since(w, "Viewed Product", ctx["days_ago_90"])
    return {"views": len(events), "viewers": len({e.rels.get("profile") for e in events})}


VIEWERS = task(
    "distinct_product_viewers_90_days",
    "events",
    "In the last 90 days, how many product views were there, and how many distinct people viewed a product?",
    ("events of a metric since a date",),
    _viewers_truth,
    ("metrics.get_metrics", "events.get_events"),
    """\
import json
vp = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Klaviyo")') if m["name"] == "Viewed Product")
ev = list(klaviyo.events.get_events(filter=f'equals(metric_id,"{vp}"),greater-or-equal(datetime,$days_ago_90)', fields={"event": ["datetime"]}, page_size=1000).all())
print(json.dumps({"views": len(ev), "viewers": len({e["profile"] for e in ev})}))
""",
    ("get_metrics", "get_events"),
    """\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Klaviyo")'})
vp = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Viewed Product"][0]
args = {"filter": 'equals(metric_id,"' + vp + '"),greater-or-equal(datetime,$days_ago_90)', "fields": {"event": ["datetime"]}, "page_size": 1000}
views = 0
people = set()
while True:
    page = await call_tool("get_events", args)
    for e in page["data"]:
        views += 1
        people.add(e["relationships"]["profile"]["data"]["id"])
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
return {"views": views, "viewers": len(people)}
""",
)


async def _countries_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    counts = Counter(
        (p.attributes.get("location") or {}).get("country") for p in w.table("profile")
    )
    return [[c, n] for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


COUNTRIES = task(
    "customers_per_country_all_profiles",
    "profiles",
    "Across every profile in the account, how many customers live in each country? Largest first.",
    ("list all profiles",),
    _countries_truth,
    ("profiles.get_profiles",),
    """\
import json
from collections import Counter
c = Counter((p.get("location") or {}).get("country") for p in klaviyo.profiles.get_profiles(fields={"profile": ["location"]}, page_size=100).all())
print(json.dumps([[k, n] for k, n in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))]))
""",
    ("get_profiles",),
    """\
counts = {}
args = {"fields": {"profile": ["location"]}, "page_size": 100}
while True:
    page = await call_tool("get_profiles", args)
    for p in page["data"]:
        c = (p["attributes"].get("location") or {}).get("country")
        counts[c] = counts.get(c, 0) + 1
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
return [[k, n] for k, n in ranked]
""",
)


# -- included data ---------------------------------------------------------------------------------


async def _recent_orders_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    events = sorted(
        _since(w, "Placed Order", ctx["days_ago_30"]),
        key=lambda e: e.attributes["datetime"],
        reverse=True,
    )[:5]
    emails = {p.id: p.attributes["email"] for p in w.table("profile")}
    return [[emails[e.rels["profile"]], e.attributes["event_properties"]["$value"]] for e in events]


RECENT_ORDERS = task(
    "latest_orders_with_emails",
    "events",
    "Who placed the five most recent orders? Give each customer's email and the order value.",
    ("latest events of a metric with the profile",),
    _recent_orders_truth,
    ("metrics.get_metrics", "events.get_events"),
    """\
import json
po = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Shopify")') if m["name"] == "Placed Order")
r = klaviyo.events.get_events(filter=f'equals(metric_id,"{po}"),greater-or-equal(datetime,$days_ago_30)', sort="-datetime", page_size=5, include=["profile"])
print(json.dumps([[r.related(e, "profile")[0]["email"], e["event_properties"]["$$value"]] for e in r]))
""",
    ("get_metrics", "get_events"),
    """\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Shopify")'})
po = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Placed Order"][0]
doc = await call_tool("get_events", {"filter": 'equals(metric_id,"' + po + '"),greater-or-equal(datetime,$days_ago_30)', "sort": "-datetime", "page_size": 5, "include": ["profile"]})
emails = {p["id"]: p["attributes"]["email"] for p in doc.get("included", [])}
return [[emails[e["relationships"]["profile"]["data"]["id"]], e["attributes"]["event_properties"]["$$value"]] for e in doc["data"]]
""",
)


async def _flow_actions_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    live = {f.id: f.attributes["name"] for f in w.table("flow") if f.attributes["status"] == "live"}
    counts = Counter(a.rels.get("flow") for a in w.table("flow-action"))
    return {name: counts.get(fid, 0) for fid, name in sorted(live.items(), key=lambda kv: kv[1])}


FLOW_ACTIONS = task(
    "live_flows_action_counts",
    "flows",
    "How many actions (steps) does each live flow have?",
    ("flows with their actions",),
    _flow_actions_truth,
    ("flows.get_flows",),
    """\
import json
r = klaviyo.flows.get_flows(filter='equals(status,"live")', include=["flow-actions"])
print(json.dumps({f["name"]: len(f["flow-actions"]) for f in sorted(r, key=lambda f: f["name"])}))
""",
    ("get_flows",),
    """\
doc = await call_tool("get_flows", {"filter": 'equals(status,"live")', "include": ["flow-actions"]})
flows = sorted(doc["data"], key=lambda f: f["attributes"]["name"])
return {f["attributes"]["name"]: len(f["relationships"]["flow-actions"]["data"]) for f in flows}
""",
)


# -- reports over several endpoints ----------------------------------------------------------------


async def _engagement_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    opened = [
        e
        for e in _since(w, "Opened Email", ctx["days_ago_30"])
        if e.attributes["datetime"] < ctx["today"]
    ]
    clicked = [
        e
        for e in _since(w, "Clicked Email", ctx["days_ago_30"])
        if e.attributes["datetime"] < ctx["today"]
    ]
    rate = round(len(clicked) / len(opened), 4) if opened else 0.0
    return {"opened": len(opened), "clicked": len(clicked), "click_to_open": rate}


ENGAGEMENT = task(
    "email_click_to_open_30_days",
    "reporting",
    "Over the last 30 days, how many email opens and clicks were there, and what is the click-to-open rate?",
    ("count events of a metric over time",),
    _engagement_truth,
    ("metrics.get_metrics", "metrics.query_metric_aggregates"),
    """\
import json
ids = {m["name"]: m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Klaviyo")')}
def total(name):
    a = klaviyo.metrics.query_metric_aggregates(attributes={"metric_id": ids[name], "measurements": ["count"], "interval": "month", "filter": ["greater-or-equal(datetime,$days_ago_30)", "less-than(datetime,$today)"]})
    return int(sum(a.data["data"][0]["measurements"]["count"]))
o, c = total("Opened Email"), total("Clicked Email")
print(json.dumps({"opened": o, "clicked": c, "click_to_open": round(c / o, 4) if o else 0.0}))
""",
    ("get_metrics", "query_metric_aggregates"),
    """\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Klaviyo")'})
ids = {m["attributes"]["name"]: m["id"] for m in ms["data"]}
totals = {}
for name in ["Opened Email", "Clicked Email"]:
    attrs = {"metric_id": ids[name], "measurements": ["count"], "interval": "month", "filter": ["greater-or-equal(datetime,$days_ago_30)", "less-than(datetime,$today)"]}
    agg = await call_tool("query_metric_aggregates", {"body": {"data": {"type": "metric-aggregate", "attributes": attrs}}})
    totals[name] = int(sum(agg["data"]["attributes"]["data"][0]["measurements"]["count"]))
o = totals["Opened Email"]
c = totals["Clicked Email"]
return {"opened": o, "clicked": c, "click_to_open": round(c / o, 4) if o else 0.0}
""",
)


# -- one-call reads ----------------------------------------------------------------------------------


async def _account_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    a = w.table("account")[0].attributes
    return {"timezone": a["timezone"], "currency": a["preferred_currency"]}


ACCOUNT = task(
    "account_timezone_currency",
    "accounts",
    "Which timezone and currency is this Klaviyo account set to?",
    ("account details",),
    _account_truth,
    ("accounts.get_accounts",),
    """\
import json
a = klaviyo.accounts.get_accounts().records[0]
print(json.dumps({"timezone": a["timezone"], "currency": a["preferred_currency"]}))
""",
    ("get_accounts",),
    """\
a = (await call_tool("get_accounts", {}))["data"][0]["attributes"]
return {"timezone": a["timezone"], "currency": a["preferred_currency"]}
""",
)


async def _forms_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return sorted(f.attributes["name"] for f in w.table("form") if f.attributes["status"] == "live")


LIVE_FORMS = task(
    "live_signup_forms",
    "forms",
    "Which sign-up forms are live right now?",
    ("sign-up forms",),
    _forms_truth,
    ("forms.get_forms",),
    """\
import json
print(json.dumps(sorted(f["name"] for f in klaviyo.forms.get_forms(filter='equals(status,"live")'))))
""",
    ("get_forms",),
    """\
doc = await call_tool("get_forms", {"filter": 'equals(status,"live")'})
return sorted([f["attributes"]["name"] for f in doc["data"]])
""",
)


async def _images_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    images = sorted(
        w.table("image"), key=lambda i: (-int(i.attributes["size"]), i.attributes["name"])
    )
    return [[i.attributes["name"], int(i.attributes["size"])] for i in images[:3]]


BIG_IMAGES = task(
    "largest_images",
    "images",
    "Which three images in the library are the largest? Name and size in bytes.",
    ("images in the library",),
    _images_truth,
    ("images.get_images",),
    """\
import json
imgs = sorted(klaviyo.images.get_images().all(), key=lambda i: (-i["size"], i["name"]))
print(json.dumps([[i["name"], i["size"]] for i in imgs[:3]]))
""",
    ("get_images",),
    """\
doc = await call_tool("get_images", {})
imgs = sorted(doc["data"], key=lambda i: (-i["attributes"]["size"], i["attributes"]["name"]))
return [[i["attributes"]["name"], i["attributes"]["size"]] for i in imgs[:3]]
""",
)


async def _editors_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return dict(sorted(Counter(t.attributes["editor_type"] for t in w.table("template")).items()))


TEMPLATE_EDITORS = task(
    "templates_by_editor",
    "templates",
    "How many email templates does the account have per editor type?",
    ("list email templates",),
    _editors_truth,
    ("templates.get_templates",),
    """\
import json
from collections import Counter
print(json.dumps(dict(sorted(Counter(t["editor_type"] for t in klaviyo.templates.get_templates(fields={"template": ["editor_type"]}).all()).items()))))
""",
    ("get_templates",),
    """\
counts = {}
args = {"fields": {"template": ["editor_type"]}}
while True:
    page = await call_tool("get_templates", args)
    for t in page["data"]:
        k = t["attributes"]["editor_type"]
        counts[k] = counts.get(k, 0) + 1
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
return dict(sorted(counts.items()))
""",
)


async def _clv_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    p = next(p for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    pa = p.attributes["predictive_analytics"]
    return {"predicted_clv": pa["predicted_clv"], "churn_probability": pa["churn_probability"]}


CLV = task(
    "predicted_lifetime_value",
    "profiles",
    "What is $email's predicted customer lifetime value and churn probability?",
    ("profile predictive analytics",),
    _clv_truth,
    ("profiles.get_profiles",),
    """\
import json
p = klaviyo.profiles.get_profiles(filter='equals(email,"$email")', additional_fields={"profile": ["predictive_analytics"]}).records[0]
pa = p["predictive_analytics"]
print(json.dumps({"predicted_clv": pa["predicted_clv"], "churn_probability": pa["churn_probability"]}))
""",
    ("get_profiles",),
    """\
doc = await call_tool("get_profiles", {"filter": 'equals(email,"$email")', "additional_fields": {"profile": ["predictive_analytics"]}})
pa = doc["data"][0]["attributes"]["predictive_analytics"]
return {"predicted_clv": pa["predicted_clv"], "churn_probability": pa["churn_probability"]}
""",
    setup=lambda w: {"email": profile_email(w, 3)},
)


MORE_TASKS: tuple[Task, ...] = (
    VIEWERS,
    COUNTRIES,
    RECENT_ORDERS,
    FLOW_ACTIONS,
    ENGAGEMENT,
    ACCOUNT,
    LIVE_FORMS,
    BIG_IMAGES,
    TEMPLATE_EDITORS,
    CLV,
)

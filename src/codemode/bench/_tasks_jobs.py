"""Tasks on operations beyond the first 174: subscription and suppression jobs, flow status.

Each names the operation it needs (``needs_api``). Until the catalog has that operation and the
simulator has a handler that really carries it out, the run lists the task as pending (with the
reason) instead of running it; nothing else changes when they land.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from codemode.bench._harness import World
from codemode.bench._tasks import Task
from codemode.bench._tasks_insights import metric_id
from codemode.bench._tasks_more import task

__all__ = ["JOB_TASKS"]


def _email_consent(profile: Any) -> Any:
    subs = profile.attributes.get("subscriptions") or {}
    return ((subs.get("email") or {}).get("marketing") or {}).get("consent")


def _club_unsubscribed(w: World) -> list[Any]:
    members = set(w.named("list", "Trail Running Club").rels.get("profiles") or [])
    return [p for p in w.table("profile") if p.id in members and _email_consent(p) != "SUBSCRIBED"]


async def _subscribe_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"subscribed": len(_club_unsubscribed(w))}


def _subscribe_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    members = set(w.named("list", "Trail Running Club").rels.get("profiles") or [])
    newsletter = set(w.named("list", "Newsletter").rels.get("profiles") or [])
    club = [p for p in w.table("profile") if p.id in members]
    return all(_email_consent(p) == "SUBSCRIBED" and p.id in newsletter for p in club)


SUBSCRIBE = task(
    "subscribe_club_to_newsletter",
    "subscriptions",
    "Subscribe every Trail Running Club member who is not yet subscribed to email marketing to "
    "the Newsletter list, in one bulk job. How many were subscribed?",
    ("profiles on a list", "subscribe profiles to email marketing"),
    _subscribe_truth,
    ("lists.get_lists", "lists.get_profiles_for_list", "profiles.bulk_subscribe_profiles"),
    """\
import json
ids = {l["name"]: l["id"] for l in klaviyo.lists.get_lists().all()}
todo = [p["email"] for p in klaviyo.lists.get_profiles_for_list(id=ids["Trail Running Club"], additional_fields={"profile": ["subscriptions"]}, page_size=100).all() if p["subscriptions"]["email"]["marketing"]["consent"] != "SUBSCRIBED"]
profiles = [{"type": "profile", "attributes": {"email": e, "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}}} for e in todo]
klaviyo.profiles.bulk_subscribe_profiles(attributes={"profiles": {"data": profiles}}, relationships={"list": {"data": {"type": "list", "id": ids["Newsletter"]}}})
print(json.dumps({"subscribed": len(todo)}))
""",
    ("get_lists", "get_profiles_for_list", "bulk_subscribe_profiles"),
    """\
doc = await call_tool("get_lists", {})
ids = {l["attributes"]["name"]: l["id"] for l in doc["data"]}
todo = []
args = {"id": ids["Trail Running Club"], "additional_fields": {"profile": ["subscriptions"]}, "page_size": 100}
while True:
    page = await call_tool("get_profiles_for_list", args)
    for p in page["data"]:
        if p["attributes"]["subscriptions"]["email"]["marketing"]["consent"] != "SUBSCRIBED":
            todo.append(p["attributes"]["email"])
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
profiles = [{"type": "profile", "attributes": {"email": e, "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}}} for e in todo]
body = {"data": {"type": "profile-subscription-bulk-create-job", "attributes": {"profiles": {"data": profiles}}, "relationships": {"list": {"data": {"type": "list", "id": ids["Newsletter"]}}}}}
await call_tool("bulk_subscribe_profiles", {"body": body})
return {"subscribed": len(todo)}
""",
    verify=_subscribe_verify,
    needs_api="bulk_subscribe_profiles",
)


def _bounced(w: World, ctx: Mapping[str, Any]) -> list[str]:
    mid = metric_id(w, "Bounced Email")
    since = (w.now - timedelta(days=30)).isoformat()
    ids = {
        e.rels.get("profile")
        for e in w.table("event")
        if e.rels.get("metric") == mid and e.attributes["datetime"] >= since
    }
    return sorted(str(p.attributes["email"]) for p in w.table("profile") if p.id in ids)


async def _suppress_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"suppressed": len(_bounced(w, ctx))}


def _suppress_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    wanted = set(_bounced(w, ctx))
    for p in w.table("profile"):
        if p.attributes["email"] in wanted:
            subs = (p.attributes.get("subscriptions") or {}).get("email") or {}
            if not (subs.get("marketing") or {}).get("suppression"):
                return False
    return True


SUPPRESS = task(
    "suppress_bounced_emails",
    "subscriptions",
    "Suppress email for every profile that had a Bounced Email event in the last 30 days, in one "
    "bulk job. How many profiles were suppressed?",
    ("events of a metric since a date", "suppress profiles from email"),
    _suppress_truth,
    ("metrics.get_metrics", "events.get_events", "profiles.bulk_suppress_profiles"),
    """\
import json
b = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Klaviyo")') if m["name"] == "Bounced Email")
r = klaviyo.events.get_events(filter=f'equals(metric_id,"{b}"),greater-or-equal(datetime,$days_ago_30)', include=["profile"], page_size=1000)
emails = sorted({p["email"] for p in r.included if p["type"] == "profile"})
klaviyo.profiles.bulk_suppress_profiles(attributes={"profiles": {"data": [{"type": "profile", "attributes": {"email": e}} for e in emails]}})
print(json.dumps({"suppressed": len(emails)}))
""",
    ("get_metrics", "get_events", "bulk_suppress_profiles"),
    """\
ms = await call_tool("get_metrics", {"filter": 'equals(integration.name,"Klaviyo")'})
b = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Bounced Email"][0]
doc = await call_tool("get_events", {"filter": 'equals(metric_id,"' + b + '"),greater-or-equal(datetime,$days_ago_30)', "include": ["profile"], "page_size": 1000})
emails = sorted(set([p["attributes"]["email"] for p in doc.get("included", []) if p["type"] == "profile"]))
body = {"data": {"type": "profile-suppression-bulk-create-job", "attributes": {"profiles": {"data": [{"type": "profile", "attributes": {"email": e}} for e in emails]}}}}
await call_tool("bulk_suppress_profiles", {"body": body})
return {"suppressed": len(emails)}
""",
    verify=_suppress_verify,
    needs_api="bulk_suppress_profiles",
)


async def _flow_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"status": "live"}


def _flow_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    return bool(w.named("flow", "Back in Stock").attributes["status"] == "live")


FLOW_LIVE = task(
    "set_back_in_stock_flow_live",
    "flows",
    "Switch the draft 'Back in Stock' flow to live, then confirm its status.",
    ("change a flow's status",),
    _flow_truth,
    ("flows.get_flows", "flows.update_flow", "flows.get_flow"),
    """\
import json
f = klaviyo.flows.get_flows(filter='equals(name,"Back in Stock")').records[0]
klaviyo.flows.update_flow(id=f["id"], attributes={"status": "live"})
print(json.dumps({"status": klaviyo.flows.get_flow(id=f["id"]).data["status"]}))
""",
    ("get_flows", "update_flow", "get_flow"),
    """\
doc = await call_tool("get_flows", {"filter": 'equals(name,"Back in Stock")'})
fid = doc["data"][0]["id"]
await call_tool("update_flow", {"id": fid, "body": {"data": {"type": "flow", "id": fid, "attributes": {"status": "live"}}}})
one = await call_tool("get_flow", {"id": fid})
return {"status": one["data"]["attributes"]["status"]}
""",
    verify=_flow_verify,
    needs_api="update_flow",
)


JOB_TASKS: tuple[Task, ...] = (SUBSCRIBE, SUPPRESS, FLOW_LIVE)

"""Tasks on operations beyond the first 174: subscription and suppression jobs, flow status.

Each names the operation it needs (``needs_api``). Until the catalog has that operation and the
simulator has a handler that really carries it out, the run lists the task as pending (with the
reason) instead of running it; nothing else changes when they land.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemode.bench._harness import World
from codemode.bench._tasks import Task
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


def _lapsed(w: World) -> list[str]:
    members = set(w.named("segment", LAPSED).rels.get("profiles") or [])
    return sorted(p.id for p in w.table("profile") if p.id in members)


async def _suppress_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"suppressed": len(_lapsed(w))}


def _suppress_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    wanted = set(_lapsed(w))
    for p in w.table("profile"):
        if p.id in wanted:
            subs = (p.attributes.get("subscriptions") or {}).get("email") or {}
            if not (subs.get("marketing") or {}).get("suppression"):
                return False
    return bool(wanted)


# The demo data holds no Bounced Email events, so the suppression task is a sunset: every member
# of a segment suppressed in one job named by the segment (the job's other way of naming profiles).
LAPSED = "Lapsed Customers"

SUPPRESS = task(
    "suppress_lapsed_segment",
    "subscriptions",
    f"Stop all email to the '{LAPSED}' segment: suppress its members in one bulk job. How many "
    "profiles does that cover?",
    ("suppress profiles from email", "get segments"),
    _suppress_truth,
    (
        "segments.get_segments",
        "segments.get_profile_ids_for_segment",
        "profiles.bulk_suppress_profiles",
    ),
    f"""\
import json
seg = klaviyo.segments.get_segments(filter='equals(name,"{LAPSED}")').records[0]["id"]
n = sum(1 for _ in klaviyo.segments.get_profile_ids_for_segment(id=seg).all())
klaviyo.profiles.bulk_suppress_profiles(attributes={{}}, relationships={{"segment": seg}})
print(json.dumps({{"suppressed": n}}))
""",
    ("get_segments", "get_profile_ids_for_segment", "bulk_suppress_profiles"),
    f"""\
doc = await call_tool("get_segments", {{"filter": 'equals(name,"{LAPSED}")'}})
seg = doc["data"][0]["id"]
ids = await call_tool("get_profile_ids_for_segment", {{"id": seg}})
body = {{"data": {{"type": "profile-suppression-bulk-create-job", "attributes": {{}}, "relationships": {{"segment": {{"data": {{"type": "segment", "id": seg}}}}}}}}}}
await call_tool("bulk_suppress_profiles", {{"body": body}})
return {{"suppressed": len(ids["data"])}}
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

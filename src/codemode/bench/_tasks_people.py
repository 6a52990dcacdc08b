"""Tasks about customers: segments, lists, profiles, consent and privacy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from codemode.bench._harness import ClassicAgent, World
from codemode.bench._tasks import CodePlan, PeerPlan, Task
from codemode.bench._tasks_insights import SHOPIFY, metric_id, profile_email

__all__ = ["PEOPLE_TASKS"]

WINBACK = "VIP Win-back"


def _email_filter(email: str) -> str:
    return f'equals(email,"{email}")'


# 1 -- VIPs who have not ordered in 60 days, onto a win-back list ------------------------------


def _lapsed_vips(w: World) -> list[str]:
    vip = w.named("segment", "VIP Customers")
    po = metric_id(w, "Placed Order")
    since = w.now - timedelta(days=60)
    recent = {
        e.rels.get("profile")
        for e in w.table("event")
        if e.rels.get("metric") == po and datetime.fromisoformat(e.attributes["datetime"]) >= since
    }
    return sorted(p for p in vip.rels["profiles"] if p not in recent)


async def _winback_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"added": len(_lapsed_vips(w))}


async def _winback_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    segments, metrics = await a.parallel(
        [
            ("get_segments", {"filter": 'equals(name,"VIP Customers")'}),
            ("get_metrics", {"filter": SHOPIFY}),
        ]
    )
    seg = segments["data"][0]["id"]
    po = next(m["id"] for m in metrics["data"] if m["attributes"]["name"] == "Placed Order")
    members = await a.pages(
        "get_profiles_for_segment", id=seg, page_size=100, fields={"profile": ["email"]}
    )
    events = await a.pages(
        "get_events",
        filter=f'equals(metric_id,"{po}"),greater-or-equal(datetime,{ctx["days_ago_60"]})',
        fields={"event": ["datetime"]},
        page_size=1000,
    )
    buyers = {e["relationships"]["profile"]["data"]["id"] for e in events}
    lapsed = sorted(p["id"] for p in members if p["id"] not in buyers)
    created = await a.call(
        "create_list", body={"data": {"type": "list", "attributes": {"name": WINBACK}}}
    )
    body = {"data": [{"type": "profile", "id": pid} for pid in lapsed]}
    await a.call("add_profiles_to_list", id=created["data"]["id"], body=body)
    return {"added": len(lapsed)}


def _winback_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    return sorted(w.named("list", WINBACK).rels.get("profiles") or []) == _lapsed_vips(w)


VIP_WINBACK = Task(
    id="vip_winback_list",
    category="segments",
    prompt=f"Put every profile in the VIP Customers segment who has not placed an order in the last 60 days on a new list '{WINBACK}'. How many were added?",
    truth=_winback_truth,
    classic=_winback_classic,
    verify=_winback_verify,
    queries=(
        "profiles in a segment",
        "placed order events since a date",
        "create a list and add profiles",
    ),
    code=CodePlan(
        functions=(
            "segments.get_segments",
            "segments.get_profiles_for_segment",
            "metrics.get_metrics",
            "events.get_events",
            "lists.create_list",
            "lists.add_profiles_to_list",
        ),
        script=f"""\
import json
seg = klaviyo.segments.get_segments(filter='equals(name,"VIP Customers")').records[0]["id"]
po = next(m["id"] for m in klaviyo.metrics.get_metrics(filter='equals(integration.name,"Shopify")') if m["name"] == "Placed Order")
members = [p["id"] for p in klaviyo.segments.get_profiles_for_segment(id=seg, page_size=100, fields={{"profile": ["email"]}}).all()]
buyers = {{e["profile"] for e in klaviyo.events.get_events(filter=f'equals(metric_id,"{{po}}"),greater-or-equal(datetime,$days_ago_60)', fields={{"event": ["datetime"]}}, page_size=1000).all()}}
lapsed = sorted(p for p in members if p not in buyers)
new = klaviyo.lists.create_list(attributes={{"name": "{WINBACK}"}}).data
klaviyo.lists.add_profiles_to_list(id=new["id"], ids=lapsed)
print(json.dumps({{"added": len(lapsed)}}))
""",
    ),
    peer=PeerPlan(
        tools=(
            "get_segments",
            "get_profiles_for_segment",
            "get_metrics",
            "get_events",
            "create_list",
            "add_profiles_to_list",
        ),
        code=f"""\
segs = await call_tool("get_segments", {{"filter": 'equals(name,"VIP Customers")'}})
seg = segs["data"][0]["id"]
ms = await call_tool("get_metrics", {{"filter": 'equals(integration.name,"Shopify")'}})
po = [m["id"] for m in ms["data"] if m["attributes"]["name"] == "Placed Order"][0]
members = []
args = {{"id": seg, "page_size": 100, "fields": {{"profile": ["email"]}}}}
while True:
    page = await call_tool("get_profiles_for_segment", args)
    members.extend([p["id"] for p in page["data"]])
    if not page.get("links", {{}}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
buyers = set()
args = {{"filter": 'equals(metric_id,"' + po + '"),greater-or-equal(datetime,$days_ago_60)', "fields": {{"event": ["datetime"]}}, "page_size": 1000}}
while True:
    page = await call_tool("get_events", args)
    for e in page["data"]:
        buyers.add(e["relationships"]["profile"]["data"]["id"])
    if not page.get("links", {{}}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
lapsed = sorted([p for p in members if p not in buyers])
new = await call_tool("create_list", {{"body": {{"data": {{"type": "list", "attributes": {{"name": "{WINBACK}"}}}}}}}})
await call_tool("add_profiles_to_list", {{"id": new["data"]["id"], "body": {{"data": [{{"type": "profile", "id": p}} for p in lapsed]}}}})
return {{"added": len(lapsed)}}
""",
    ),
)


# 2 -- where does a customer live, which lists is she on ---------------------------------------


def _customer(w: World) -> Mapping[str, Any]:
    return {"email": profile_email(w, 7)}


async def _lookup_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    profile = next(p for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    lists = sorted(
        r.attributes["name"]
        for r in w.table("list")
        if profile.id in (r.rels.get("profiles") or [])
    )
    return {"city": profile.attributes["location"]["city"], "lists": lists}


async def _lookup_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    found = await a.call("get_profiles", filter=_email_filter(ctx["email"]))
    profile = found["data"][0]
    lists = await a.call("get_lists_for_profile", id=profile["id"])
    return {
        "city": profile["attributes"]["location"]["city"],
        "lists": sorted(x["attributes"]["name"] for x in lists["data"]),
    }


PROFILE_LOOKUP = Task(
    id="customer_city_and_lists",
    category="profiles",
    prompt="Which city does $email live in, and which lists is this customer on?",
    truth=_lookup_truth,
    classic=_lookup_classic,
    setup=_customer,
    queries=("find a profile by email and the lists it belongs to",),
    code=CodePlan(
        functions=("profiles.get_profiles", "profiles.get_lists_for_profile"),
        script="""\
import json
p = klaviyo.profiles.get_profiles(filter='equals(email,"$email")').records[0]
lists = sorted(x["name"] for x in klaviyo.profiles.get_lists_for_profile(id=p["id"]))
print(json.dumps({"city": p["location"]["city"], "lists": lists}))
""",
    ),
    peer=PeerPlan(
        tools=("get_profiles", "get_lists_for_profile"),
        code="""\
found = await call_tool("get_profiles", {"filter": 'equals(email,"$email")'})
p = found["data"][0]
lists = await call_tool("get_lists_for_profile", {"id": p["id"]})
return {"city": p["attributes"]["location"]["city"], "lists": sorted([x["attributes"]["name"] for x in lists["data"]])}
""",
    ),
)


# 3 -- change a profile property ---------------------------------------------------------------


async def _tier_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"email": ctx["email"], "loyalty_tier": "Summit"}


async def _tier_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    found = await a.call(
        "get_profiles", filter=_email_filter(ctx["email"]), fields={"profile": ["email"]}
    )
    pid = found["data"][0]["id"]
    body = {
        "data": {
            "type": "profile",
            "id": pid,
            "attributes": {"properties": {"loyalty_tier": "Summit"}},
        }
    }
    done = await a.call("update_profile", id=pid, body=body)
    return {
        "email": done["data"]["attributes"]["email"],
        "loyalty_tier": done["data"]["attributes"]["properties"]["loyalty_tier"],
    }


def _tier_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    profile = next(p for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    return bool(profile.attributes["properties"].get("loyalty_tier") == "Summit")


LOYALTY_TIER = Task(
    id="set_loyalty_tier",
    category="profiles",
    prompt="Set the loyalty_tier custom property of $email to 'Summit'.",
    truth=_tier_truth,
    classic=_tier_classic,
    setup=lambda w: {"email": profile_email(w, 11)},
    verify=_tier_verify,
    queries=("update a profile's custom properties",),
    code=CodePlan(
        functions=("profiles.get_profiles", "profiles.update_profile"),
        script="""\
import json
p = klaviyo.profiles.get_profiles(filter='equals(email,"$email")', fields={"profile": ["email"]}).records[0]
done = klaviyo.profiles.update_profile(id=p["id"], attributes={"properties": {"loyalty_tier": "Summit"}}).data
print(json.dumps({"email": done["email"], "loyalty_tier": done["properties"]["loyalty_tier"]}))
""",
    ),
    peer=PeerPlan(
        tools=("get_profiles", "update_profile"),
        code="""\
found = await call_tool("get_profiles", {"filter": 'equals(email,"$email")', "fields": {"profile": ["email"]}})
pid = found["data"][0]["id"]
done = await call_tool("update_profile", {"id": pid, "body": {"data": {"type": "profile", "id": pid, "attributes": {"properties": {"loyalty_tier": "Summit"}}}}})
return {"email": done["data"]["attributes"]["email"], "loyalty_tier": done["data"]["attributes"]["properties"]["loyalty_tier"]}
""",
    ),
)


# 4 -- newsletter subscribers in one state -----------------------------------------------------


async def _colorado_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    members = set(w.named("list", "Newsletter").rels["profiles"])
    return {
        "colorado": sum(
            1
            for p in w.table("profile")
            if p.id in members and p.attributes["location"]["region"] == "CO"
        )
    }


async def _colorado_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    lists = await a.call("get_lists", filter='equals(name,"Newsletter")')
    members = await a.pages(
        "get_profiles_for_list",
        id=lists["data"][0]["id"],
        page_size=100,
        fields={"profile": ["location"]},
    )
    return {"colorado": sum(1 for p in members if p["attributes"]["location"]["region"] == "CO")}


NEWSLETTER_COLORADO = Task(
    id="newsletter_in_colorado",
    category="lists",
    prompt="How many profiles on the Newsletter list live in Colorado?",
    truth=_colorado_truth,
    classic=_colorado_classic,
    queries=("profiles on a list",),
    code=CodePlan(
        functions=("lists.get_lists", "lists.get_profiles_for_list"),
        script="""\
import json
lid = klaviyo.lists.get_lists(filter='equals(name,"Newsletter")').records[0]["id"]
members = klaviyo.lists.get_profiles_for_list(id=lid, page_size=100, fields={"profile": ["location"]}).all()
print(json.dumps({"colorado": sum(1 for p in members if p["location"]["region"] == "CO")}))
""",
    ),
    peer=PeerPlan(
        tools=("get_lists", "get_profiles_for_list"),
        code="""\
lists = await call_tool("get_lists", {"filter": 'equals(name,"Newsletter")'})
args = {"id": lists["data"][0]["id"], "page_size": 100, "fields": {"profile": ["location"]}}
n = 0
while True:
    page = await call_tool("get_profiles_for_list", args)
    n += len([p for p in page["data"] if p["attributes"]["location"]["region"] == "CO"])
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
return {"colorado": n}
""",
    ),
)


# 5 -- VIPs in Canada --------------------------------------------------------------------------


async def _canada_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    members = set(w.named("segment", "VIP Customers").rels["profiles"])
    return {
        "canada": sum(
            1
            for p in w.table("profile")
            if p.id in members and p.attributes["location"]["country"] == "Canada"
        )
    }


async def _canada_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    segments = await a.call("get_segments", filter='equals(name,"VIP Customers")')
    members = await a.pages(
        "get_profiles_for_segment",
        id=segments["data"][0]["id"],
        page_size=100,
        fields={"profile": ["location"]},
    )
    return {"canada": sum(1 for p in members if p["attributes"]["location"]["country"] == "Canada")}


VIP_CANADA = Task(
    id="vips_in_canada",
    category="segments",
    prompt="How many members of the VIP Customers segment live in Canada?",
    truth=_canada_truth,
    classic=_canada_classic,
    queries=("profiles in a segment",),
    code=CodePlan(
        functions=("segments.get_segments", "segments.get_profiles_for_segment"),
        script="""\
import json
sid = klaviyo.segments.get_segments(filter='equals(name,"VIP Customers")').records[0]["id"]
members = klaviyo.segments.get_profiles_for_segment(id=sid, page_size=100, fields={"profile": ["location"]}).all()
print(json.dumps({"canada": sum(1 for p in members if p["location"]["country"] == "Canada")}))
""",
    ),
    peer=PeerPlan(
        tools=("get_segments", "get_profiles_for_segment"),
        code="""\
segs = await call_tool("get_segments", {"filter": 'equals(name,"VIP Customers")'})
args = {"id": segs["data"][0]["id"], "page_size": 100, "fields": {"profile": ["location"]}}
n = 0
while True:
    page = await call_tool("get_profiles_for_segment", args)
    n += len([p for p in page["data"] if p["attributes"]["location"]["country"] == "Canada"])
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
return {"canada": n}
""",
    ),
)


# 6 -- GDPR erasure, as a dry run where the mode has one ---------------------------------------


async def _erase_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {
        "profile_id": next(
            p.id for p in w.table("profile") if p.attributes["email"] == ctx["email"]
        )
    }


async def _erase_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    found = await a.call(
        "get_profiles", filter=_email_filter(ctx["email"]), fields={"profile": ["email"]}
    )
    pid = found["data"][0]["id"]
    body = {
        "data": {
            "type": "data-privacy-deletion-job",
            "attributes": {"profile": {"data": {"type": "profile", "id": pid, "attributes": {}}}},
        }
    }
    await a.call("request_profile_deletion", body=body)
    return {"profile_id": pid}


def _erase_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    present = any(p.attributes["email"] == ctx["email"] for p in w.table("profile"))
    # Only code mode has a dry run: the profile must survive it; the others really erase it.
    return present if mode == "code" else not present


GDPR_ERASE = Task(
    id="gdpr_erase_dry_run",
    category="privacy",
    prompt="$email asked to be forgotten under GDPR. Find the profile and request its deletion (as a dry run where possible).",
    truth=_erase_truth,
    classic=_erase_classic,
    setup=lambda w: {"email": profile_email(w, 23)},
    verify=_erase_verify,
    queries=("delete a profile's personal data (GDPR)",),
    code=CodePlan(
        functions=("profiles.get_profiles", "data_privacy.request_profile_deletion"),
        dry_run=True,
        script="""\
import json
p = klaviyo.profiles.get_profiles(filter='equals(email,"$email")', fields={"profile": ["email"]}).records[0]
klaviyo.data_privacy.request_profile_deletion(attributes={"profile": {"data": {"type": "profile", "id": p["id"], "attributes": {}}}})
print(json.dumps({"profile_id": p["id"]}))
""",
    ),
    peer=PeerPlan(
        tools=("get_profiles", "request_profile_deletion"),
        code="""\
found = await call_tool("get_profiles", {"filter": 'equals(email,"$email")', "fields": {"profile": ["email"]}})
pid = found["data"][0]["id"]
await call_tool("request_profile_deletion", {"body": {"data": {"type": "data-privacy-deletion-job", "attributes": {"profile": {"data": {"type": "profile", "id": pid, "attributes": {}}}}}}})
return {"profile_id": pid}
""",
    ),
)

PEOPLE_TASKS: tuple[Task, ...] = (
    VIP_WINBACK,
    PROFILE_LOOKUP,
    LOYALTY_TIER,
    NEWSLETTER_COLORADO,
    VIP_CANADA,
    GDPR_ERASE,
)

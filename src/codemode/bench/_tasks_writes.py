"""Tasks that write and read back (checked against the store), two-step reads, and errors met on
purpose (a bad id, a refused delete) to count what an error costs.

As in ``_tasks_more``, the classic agent makes exactly the calls of the FastMCP code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemode.bench._harness import World
from codemode.bench._tasks import Task
from codemode.bench._tasks_more import none, task

__all__ = ["WRITE_TASKS"]


# -- two-step reads --------------------------------------------------------------------------------


async def _list_sizes_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {
        lst.attributes["name"]: len(lst.rels.get("profiles") or [])
        for lst in sorted(w.table("list"), key=lambda x: x.attributes["name"])
    }


LIST_SIZES = task(
    "list_member_counts",
    "lists",
    "How many profiles are on each of our lists?",
    ("lists and the profiles on them",),
    _list_sizes_truth,
    ("lists.get_lists", "lists.get_profiles_for_list"),
    """\
import json
sizes = {l["name"]: len(list(klaviyo.lists.get_profiles_for_list(id=l["id"], fields={"profile": ["email"]}, page_size=100).all())) for l in klaviyo.lists.get_lists().all()}
print(json.dumps(dict(sorted(sizes.items()))))
""",
    ("get_lists", "get_profiles_for_list"),
    """\
doc = await call_tool("get_lists", {})
sizes = {}
for l in doc["data"]:
    n = 0
    args = {"id": l["id"], "fields": {"profile": ["email"]}, "page_size": 100}
    while True:
        page = await call_tool("get_profiles_for_list", args)
        n += len(page["data"])
        if not page.get("links", {}).get("next"):
            break
        args["page_cursor"] = page["links"]["next"]
    sizes[l["attributes"]["name"]] = n
return dict(sorted(sizes.items()))
""",
)


async def _tags_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    out: dict[str, list[str]] = {}
    for g in w.table("tag-group"):
        out[g.attributes["name"]] = sorted(
            t.attributes["name"] for t in w.table("tag") if t.rels.get("tag-group") == g.id
        )
    return dict(sorted(out.items()))


TAG_GROUPS = task(
    "tags_per_tag_group",
    "tags",
    "List every tag group with the tags it holds.",
    ("tag groups and their tags",),
    _tags_truth,
    ("tags.get_tag_groups", "tags.get_tags_for_tag_group"),
    """\
import json
out = {g["name"]: sorted(t["name"] for t in klaviyo.tags.get_tags_for_tag_group(id=g["id"])) for g in klaviyo.tags.get_tag_groups().all()}
print(json.dumps(dict(sorted(out.items()))))
""",
    ("get_tag_groups", "get_tags_for_tag_group"),
    """\
doc = await call_tool("get_tag_groups", {})
out = {}
for g in doc["data"]:
    tags = await call_tool("get_tags_for_tag_group", {"id": g["id"]})
    out[g["attributes"]["name"]] = sorted([t["attributes"]["name"] for t in tags["data"]])
return dict(sorted(out.items()))
""",
)


def _vip_email(w: World) -> str:
    first = w.named("segment", "VIP Customers").rels["profiles"][0]
    return str(next(p.attributes["email"] for p in w.table("profile") if p.id == first))


async def _segments_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    p = next(p for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    return sorted(
        s.attributes["name"] for s in w.table("segment") if p.id in (s.rels.get("profiles") or [])
    )


CUSTOMER_SEGMENTS = task(
    "customer_segments",
    "segments",
    "Which segments is $email in?",
    ("segments of a profile",),
    _segments_truth,
    ("profiles.get_profiles", "profiles.get_segments_for_profile"),
    """\
import json
p = klaviyo.profiles.get_profiles(filter='equals(email,"$email")').records[0]
print(json.dumps(sorted(s["name"] for s in klaviyo.profiles.get_segments_for_profile(id=p["id"]))))
""",
    ("get_profiles", "get_segments_for_profile"),
    """\
doc = await call_tool("get_profiles", {"filter": 'equals(email,"$email")'})
segs = await call_tool("get_segments_for_profile", {"id": doc["data"][0]["id"]})
return sorted([s["attributes"]["name"] for s in segs["data"]])
""",
    setup=lambda w: {"email": _vip_email(w)},
)


# -- multi-step writes, read back to verify ---------------------------------------------------------

CLUB_CANADA = "Trail Club Canada"


def _club_canada(w: World) -> list[str]:
    club = w.named("list", "Trail Running Club")
    members = set(club.rels.get("profiles") or [])
    return sorted(
        p.id
        for p in w.table("profile")
        if p.id in members and (p.attributes.get("location") or {}).get("country") == "Canada"
    )


async def _club_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"members": len(_club_canada(w))}


def _club_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    return sorted(w.named("list", CLUB_CANADA).rels.get("profiles") or []) == _club_canada(w)


CLUB_LIST = task(
    "club_members_in_canada_list",
    "lists",
    f"Make a new list '{CLUB_CANADA}' holding the Trail Running Club members who live in Canada, then confirm from the list itself how many members it has.",
    ("profiles on a list", "create a list and add profiles"),
    _club_truth,
    (
        "lists.get_lists",
        "lists.get_profiles_for_list",
        "lists.create_list",
        "lists.add_profiles_to_list",
    ),
    f"""\
import json
club = klaviyo.lists.get_lists(filter='equals(name,"Trail Running Club")').records[0]["id"]
ids = [p["id"] for p in klaviyo.lists.get_profiles_for_list(id=club, fields={{"profile": ["location"]}}, page_size=100).all() if (p.get("location") or {{}}).get("country") == "Canada"]
new = klaviyo.lists.create_list(attributes={{"name": "{CLUB_CANADA}"}}).data["id"]
klaviyo.lists.add_profiles_to_list(id=new, ids=ids)
print(json.dumps({{"members": len(list(klaviyo.lists.get_profiles_for_list(id=new, page_size=100).all()))}}))
""",
    ("get_lists", "get_profiles_for_list", "create_list", "add_profiles_to_list"),
    f"""\
lists = await call_tool("get_lists", {{"filter": 'equals(name,"Trail Running Club")'}})
club = lists["data"][0]["id"]
ids = []
args = {{"id": club, "fields": {{"profile": ["location"]}}, "page_size": 100}}
while True:
    page = await call_tool("get_profiles_for_list", args)
    for p in page["data"]:
        if (p["attributes"].get("location") or {{}}).get("country") == "Canada":
            ids.append(p["id"])
    if not page.get("links", {{}}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
new = await call_tool("create_list", {{"body": {{"data": {{"type": "list", "attributes": {{"name": "{CLUB_CANADA}"}}}}}}}})
lid = new["data"]["id"]
await call_tool("add_profiles_to_list", {{"id": lid, "body": {{"data": [{{"type": "profile", "id": i}} for i in ids]}}}})
check = await call_tool("get_profiles_for_list", {{"id": lid, "page_size": 100}})
return {{"members": len(check["data"])}}
""",
    verify=_club_verify,
)


def _webhook_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    return w.named("webhook", "Order sync to ERP").attributes["enabled"] is False


async def _webhook_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"enabled": False}


DISABLE_WEBHOOK = task(
    "pause_erp_webhook",
    "webhooks",
    "Pause the 'Order sync to ERP' webhook (disable it, keep it), then confirm it is disabled.",
    ("update a webhook",),
    _webhook_truth,
    ("webhooks.get_webhooks", "webhooks.update_webhook", "webhooks.get_webhook"),
    """\
import json
w = next(w for w in klaviyo.webhooks.get_webhooks() if w["name"] == "Order sync to ERP")
klaviyo.webhooks.update_webhook(id=w["id"], attributes={"enabled": False})
print(json.dumps({"enabled": klaviyo.webhooks.get_webhook(id=w["id"]).data["enabled"]}))
""",
    ("get_webhooks", "update_webhook", "get_webhook"),
    """\
doc = await call_tool("get_webhooks", {})
wid = [w["id"] for w in doc["data"] if w["attributes"]["name"] == "Order sync to ERP"][0]
await call_tool("update_webhook", {"id": wid, "body": {"data": {"type": "webhook", "id": wid, "attributes": {"enabled": False}}}})
one = await call_tool("get_webhook", {"id": wid})
return {"enabled": one["data"]["attributes"]["enabled"]}
""",
    verify=_webhook_verify,
)


SPRING = "SPRING25"


async def _coupon_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"codes": 5}


def _coupon_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    codes = [c for c in w.table("coupon-code") if c.rels.get("coupon") == SPRING]
    return any(c.id == SPRING for c in w.table("coupon")) and len(codes) == 5


COUPON = task(
    "new_coupon_with_codes",
    "coupons",
    f"Create a coupon {SPRING} (25% off spring gear) with five codes {SPRING}-A to {SPRING}-E, then confirm how many codes it has.",
    ("create a coupon and its codes",),
    _coupon_truth,
    ("coupons.create_coupon", "coupons.create_coupon_code", "coupons.get_coupon_codes"),
    f"""\
import json
klaviyo.coupons.create_coupon(attributes={{"external_id": "{SPRING}", "description": "25% off spring gear"}})
for s in "ABCDE":
    klaviyo.coupons.create_coupon_code(attributes={{"unique_code": "{SPRING}-" + s}}, relationships={{"coupon": {{"data": {{"type": "coupon", "id": "{SPRING}"}}}}}})
print(json.dumps({{"codes": len(list(klaviyo.coupons.get_coupon_codes(filter='equals(coupon.id,"{SPRING}")').all()))}}))
""",
    ("create_coupon", "create_coupon_code", "get_coupon_codes"),
    f"""\
await call_tool("create_coupon", {{"body": {{"data": {{"type": "coupon", "attributes": {{"external_id": "{SPRING}", "description": "25% off spring gear"}}}}}}}})
for s in ["A", "B", "C", "D", "E"]:
    await call_tool("create_coupon_code", {{"body": {{"data": {{"type": "coupon-code", "attributes": {{"unique_code": "{SPRING}-" + s}}, "relationships": {{"coupon": {{"data": {{"type": "coupon", "id": "{SPRING}"}}}}}}}}}}}})
doc = await call_tool("get_coupon_codes", {{"filter": 'equals(coupon.id,"{SPRING}")'}})
return {{"codes": len(doc["data"])}}
""",
    verify=_coupon_verify,
)


# -- errors met on purpose -------------------------------------------------------------------------

MISSING_CAMPAIGN = "01JZZZZZZZZZZZZZZZZZZZZZZZ"


BAD_ID = task(
    "campaign_with_bad_id",
    "errors",
    f"What is the status of campaign {MISSING_CAMPAIGN}?",
    ("get one campaign by id",),
    none,
    ("campaigns.get_campaign",),
    f"""\
import json
print(json.dumps(klaviyo.campaigns.get_campaign(id="{MISSING_CAMPAIGN}").data["status"]))
""",
    ("get_campaign",),
    f"""\
doc = await call_tool("get_campaign", {{"id": "{MISSING_CAMPAIGN}"}})
return doc["data"]["attributes"]["status"]
""",
    expect_error=r"(?i)404|not.?found|does not exist",
)


def _default_group_kept(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    return any(g.attributes.get("default") is True for g in w.table("tag-group"))


REFUSED_DELETE = task(
    "delete_default_tag_group_refused",
    "errors",
    "Delete the default tag group.",
    ("delete a tag group",),
    none,
    ("tags.get_tag_groups", "tags.delete_tag_group"),
    """\
g = next(g for g in klaviyo.tags.get_tag_groups() if g["default"])
klaviyo.tags.delete_tag_group(id=g["id"])
print('{"deleted": true}')
""",
    ("get_tag_groups", "delete_tag_group"),
    """\
doc = await call_tool("get_tag_groups", {})
gid = [g["id"] for g in doc["data"] if g["attributes"]["default"]][0]
await call_tool("delete_tag_group", {"id": gid})
return {"deleted": True}
""",
    expect_error=r"(?i)409|conflict|cannot be deleted",
    verify=_default_group_kept,
)


WRITE_TASKS: tuple[Task, ...] = (
    LIST_SIZES,
    TAG_GROUPS,
    CUSTOMER_SEGMENTS,
    CLUB_LIST,
    DISABLE_WEBHOOK,
    COUPON,
    BAD_ID,
    REFUSED_DELETE,
)

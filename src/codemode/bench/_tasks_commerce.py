"""Tasks about the shop: catalog and inventory, coupons, events and webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemode.bench._harness import ClassicAgent, World
from codemode.bench._tasks import CodePlan, PeerPlan, Task
from codemode.bench._tasks_insights import metric_id, profile_email

__all__ = ["COMMERCE_TASKS"]

SKU = "RDG-DOWN-JKT-S"
COUPON = "VIPSUMMIT20"
CODES = 300
BATCH = 100  # the simulator, like Klaviyo, caps one bulk job at 100 codes


# 1 -- restock a variant and subscribe a customer to back-in-stock alerts ----------------------


def _variant(w: World) -> Any:
    return next(v for v in w.table("catalog-variant") if v.attributes["sku"] == SKU)


async def _restock_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"variant": _variant(w).id, "inventory_quantity": 25}


async def _restock_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    found = await a.call(
        "get_catalog_variants", filter=f'equals(sku,"{SKU}")', fields={"catalog-variant": ["sku"]}
    )
    vid = found["data"][0]["id"]
    update = {
        "data": {"type": "catalog-variant", "id": vid, "attributes": {"inventory_quantity": 25}}
    }
    alert = {
        "data": {
            "type": "back-in-stock-subscription",
            "attributes": {
                "channels": ["EMAIL"],
                "profile": {"data": {"type": "profile", "attributes": {"email": ctx["email"]}}},
            },
            "relationships": {"variant": {"data": {"type": "catalog-variant", "id": vid}}},
        }
    }
    done, _ = await a.parallel(
        [
            ("update_catalog_variant", {"id": vid, "body": update}),
            ("create_back_in_stock_subscription", {"body": alert}),
        ]
    )
    return {"variant": vid, "inventory_quantity": done["data"]["attributes"]["inventory_quantity"]}


def _restock_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    # The simulator records a subscription as a "Subscribed to Back in Stock" event.
    profile = next(p.id for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    metric = {
        m.id for m in w.table("metric") if m.attributes["name"] == "Subscribed to Back in Stock"
    }
    subscribed = any(
        e.rels.get("profile") == profile and e.rels.get("metric") in metric
        for e in w.table("event")
    )
    return bool(_variant(w).attributes["inventory_quantity"] == 25 and subscribed)


RESTOCK = Task(
    id="restock_and_back_in_stock",
    category="catalog",
    prompt=f"Set variant {SKU} to 25 units in stock and subscribe $email to back-in-stock email alerts for it.",
    truth=_restock_truth,
    classic=_restock_classic,
    setup=lambda w: {"email": profile_email(w, 3)},
    verify=_restock_verify,
    queries=("update a catalog variant's inventory", "back in stock subscription"),
    code=CodePlan(
        functions=(
            "catalogs.get_catalog_variants",
            "catalogs.update_catalog_variant",
            "catalogs.create_back_in_stock_subscription",
        ),
        script=f"""\
import json
v = klaviyo.catalogs.get_catalog_variants(filter='equals(sku,"{SKU}")', fields={{"catalog-variant": ["sku"]}}).records[0]
done = klaviyo.catalogs.update_catalog_variant(id=v["id"], attributes={{"inventory_quantity": 25}}).data
klaviyo.catalogs.create_back_in_stock_subscription(attributes={{"channels": ["EMAIL"], "profile": {{"data": {{"type": "profile", "attributes": {{"email": "$email"}}}}}}}}, relationships={{"variant": {{"data": {{"type": "catalog-variant", "id": v["id"]}}}}}})
print(json.dumps({{"variant": v["id"], "inventory_quantity": done["inventory_quantity"]}}))
""",
    ),
    peer=PeerPlan(
        tools=(
            "get_catalog_variants",
            "update_catalog_variant",
            "create_back_in_stock_subscription",
        ),
        code=f"""\
found = await call_tool("get_catalog_variants", {{"filter": 'equals(sku,"{SKU}")', "fields": {{"catalog-variant": ["sku"]}}}})
vid = found["data"][0]["id"]
done = await call_tool("update_catalog_variant", {{"id": vid, "body": {{"data": {{"type": "catalog-variant", "id": vid, "attributes": {{"inventory_quantity": 25}}}}}}}})
alert = {{"type": "back-in-stock-subscription", "attributes": {{"channels": ["EMAIL"], "profile": {{"data": {{"type": "profile", "attributes": {{"email": "$email"}}}}}}}}, "relationships": {{"variant": {{"data": {{"type": "catalog-variant", "id": vid}}}}}}}}
await call_tool("create_back_in_stock_subscription", {{"body": {{"data": alert}}}})
return {{"variant": vid, "inventory_quantity": done["data"]["attributes"]["inventory_quantity"]}}
""",
    ),
)


# 2 -- low stock -------------------------------------------------------------------------------


async def _low_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    rows = [
        v.attributes
        for v in w.table("catalog-variant")
        if v.attributes["published"] and v.attributes["inventory_quantity"] < 5
    ]
    return sorted([r["sku"], r["inventory_quantity"]] for r in rows)


async def _low_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    rows = await a.pages(
        "get_catalog_variants",
        filter="equals(published,true)",
        page_size=100,
        fields={"catalog-variant": ["sku", "inventory_quantity"]},
    )
    return sorted(
        [r["attributes"]["sku"], r["attributes"]["inventory_quantity"]]
        for r in rows
        if r["attributes"]["inventory_quantity"] < 5
    )


LOW_STOCK = Task(
    id="low_stock_variants",
    category="catalog",
    prompt="Which published catalog variants have fewer than 5 units in stock? Give SKU and quantity.",
    truth=_low_truth,
    classic=_low_classic,
    queries=("catalog variants inventory",),
    code=CodePlan(
        functions=("catalogs.get_catalog_variants",),
        script="""\
import json
rows = klaviyo.catalogs.get_catalog_variants(filter="equals(published,true)", page_size=100, fields={"catalog-variant": ["sku", "inventory_quantity"]}).all()
print(json.dumps(sorted([r["sku"], r["inventory_quantity"]] for r in rows if r["inventory_quantity"] < 5)))
""",
    ),
    peer=PeerPlan(
        tools=("get_catalog_variants",),
        code="""\
args = {"filter": "equals(published,true)", "page_size": 100, "fields": {"catalog-variant": ["sku", "inventory_quantity"]}}
out = []
while True:
    page = await call_tool("get_catalog_variants", args)
    out.extend([[r["attributes"]["sku"], r["attributes"]["inventory_quantity"]] for r in page["data"] if r["attributes"]["inventory_quantity"] < 5])
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
return sorted(out)
""",
    ),
)


# 3 -- 300 coupon codes in one bulk job --------------------------------------------------------


async def _codes_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"jobs": CODES // BATCH, "completed_count": CODES}


def _code_rows() -> list[dict[str, Any]]:
    return [
        {
            "type": "coupon-code",
            "attributes": {"unique_code": f"VIP-{n:04d}"},
            "relationships": {"coupon": {"data": {"type": "coupon", "id": COUPON}}},
        }
        for n in range(1, CODES + 1)
    ]


async def _codes_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    rows = _code_rows()
    jobs = await a.parallel(
        [
            (
                "bulk_create_coupon_codes",
                {
                    "body": {
                        "data": {
                            "type": "coupon-code-bulk-create-job",
                            "attributes": {"coupon-codes": {"data": rows[i : i + BATCH]}},
                        }
                    }
                },
            )
            for i in range(0, CODES, BATCH)
        ]
    )
    pending = {j["data"]["id"]: j["data"]["attributes"] for j in jobs}
    for _ in range(10):  # poll until every job settles
        open_ids = [
            jid for jid, st in pending.items() if st["status"] not in ("complete", "cancelled")
        ]
        if not open_ids:
            break
        docs = await a.parallel(
            [
                (
                    "get_bulk_create_coupon_codes_job",
                    {
                        "job_id": jid,
                        "fields": {"coupon-code-bulk-create-job": ["status", "completed_count"]},
                    },
                )
                for jid in open_ids
            ]
        )
        for doc in docs:
            pending[doc["data"]["id"]] = doc["data"]["attributes"]
    done = [st for st in pending.values() if st["status"] == "complete"]
    return {"jobs": len(done), "completed_count": sum(st["completed_count"] for st in done)}


def _codes_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    made = {
        c.attributes["unique_code"]
        for c in w.table("coupon-code")
        if c.rels.get("coupon") == COUPON
    }
    return {f"VIP-{n:04d}" for n in range(1, CODES + 1)} <= made


BULK_CODES = Task(
    id="bulk_create_coupon_codes",
    category="coupons",
    prompt=f"Create {CODES} unique codes (VIP-0001 to VIP-{CODES:04d}) for the {COUPON} coupon with bulk jobs of {BATCH} codes, then confirm every job completed.",
    truth=_codes_truth,
    classic=_codes_classic,
    verify=_codes_verify,
    queries=("bulk create coupon codes and check the job",),
    code=CodePlan(
        functions=("coupons.bulk_create_coupon_codes", "coupons.get_bulk_create_coupon_codes_job"),
        script=f"""\
import json
rows = [{{"type": "coupon-code", "attributes": {{"unique_code": "VIP-%04d" % n}}, "relationships": {{"coupon": {{"data": {{"type": "coupon", "id": "{COUPON}"}}}}}}}} for n in range(1, {CODES + 1})]
jobs = [klaviyo.coupons.bulk_create_coupon_codes(attributes={{"coupon-codes": {{"data": rows[i:i + {BATCH}]}}}}).data for i in range(0, {CODES}, {BATCH})]
for _ in range(10):
    if all(j["status"] in ("complete", "cancelled") for j in jobs):
        break
    jobs = [j if j["status"] in ("complete", "cancelled") else klaviyo.coupons.get_bulk_create_coupon_codes_job(job_id=j["id"]).data for j in jobs]
done = [j for j in jobs if j["status"] == "complete"]
print(json.dumps({{"jobs": len(done), "completed_count": sum(j["completed_count"] for j in done)}}))
""",
    ),
    peer=PeerPlan(
        tools=("bulk_create_coupon_codes", "get_bulk_create_coupon_codes_job"),
        code=f"""\
rows = [{{"type": "coupon-code", "attributes": {{"unique_code": "VIP-" + str(n).zfill(4)}}, "relationships": {{"coupon": {{"data": {{"type": "coupon", "id": "{COUPON}"}}}}}}}} for n in range(1, {CODES + 1})]
jobs = []
for i in range(0, {CODES}, {BATCH}):
    job = await call_tool("bulk_create_coupon_codes", {{"body": {{"data": {{"type": "coupon-code-bulk-create-job", "attributes": {{"coupon-codes": {{"data": rows[i:i + {BATCH}]}}}}}}}}}})
    jobs.append(job["data"])
done = []
for job in jobs:
    status = job["attributes"]
    for _ in range(10):
        if status["status"] in ("complete", "cancelled"):
            break
        doc = await call_tool("get_bulk_create_coupon_codes_job", {{"job_id": job["id"]}})
        status = doc["data"]["attributes"]
    if status["status"] == "complete":
        done.append(status["completed_count"])
return {{"jobs": len(done), "completed_count": sum(done)}}
""",
    ),
)


# 4 -- unassigned codes of a coupon ------------------------------------------------------------


async def _unassigned_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {
        "unassigned": sum(
            1
            for c in w.table("coupon-code")
            if c.rels.get("coupon") == "WELCOME10" and c.attributes["status"] == "UNASSIGNED"
        )
    }


async def _unassigned_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    rows = await a.pages(
        "get_coupon_codes",
        filter='and(equals(coupon.id,"WELCOME10"),equals(status,"UNASSIGNED"))',
        page_size=100,
        fields={"coupon-code": ["unique_code"]},
    )
    return {"unassigned": len(rows)}


UNASSIGNED = Task(
    id="unassigned_coupon_codes",
    category="coupons",
    prompt="How many codes of the WELCOME10 coupon are still unassigned?",
    truth=_unassigned_truth,
    classic=_unassigned_classic,
    queries=("coupon codes of a coupon by status",),
    code=CodePlan(
        functions=("coupons.get_coupon_codes",),
        script="""\
import json
rows = klaviyo.coupons.get_coupon_codes(filter='and(equals(coupon.id,"WELCOME10"),equals(status,"UNASSIGNED"))', page_size=100, fields={"coupon-code": ["unique_code"]}).all()
print(json.dumps({"unassigned": len(list(rows))}))
""",
    ),
    peer=PeerPlan(
        tools=("get_coupon_codes",),
        code="""\
args = {"filter": 'and(equals(coupon.id,"WELCOME10"),equals(status,"UNASSIGNED"))', "page_size": 100, "fields": {"coupon-code": ["unique_code"]}}
n = 0
while True:
    page = await call_tool("get_coupon_codes", args)
    n += len(page["data"])
    if not page.get("links", {}).get("next"):
        break
    args["page_cursor"] = page["links"]["next"]
return {"unassigned": n}
""",
    ),
)


# 5 -- record an order event -------------------------------------------------------------------


async def _event_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"recorded": True}


def _event_body(email: str) -> dict[str, Any]:
    return {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"OrderId": "T-1001"},
                "value": 120,
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
            },
        }
    }


async def _event_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    await a.call("create_event", body=_event_body(ctx["email"]))
    return {"recorded": True}


def _event_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    profile = next(p.id for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    names = {m.id: m.attributes["name"] for m in w.table("metric")}
    return any(
        e.rels.get("profile") == profile
        and names.get(str(e.rels.get("metric"))) == "Placed Order"
        and (e.attributes.get("event_properties") or {}).get("OrderId") == "T-1001"
        for e in w.table("event")
    )


RECORD_EVENT = Task(
    id="record_order_event",
    category="events",
    prompt="Record a 'Placed Order' event worth $120 (order T-1001) for $email.",
    truth=_event_truth,
    classic=_event_classic,
    setup=lambda w: {"email": profile_email(w, 5), "placed_order": metric_id(w, "Placed Order")},
    verify=_event_verify,
    queries=("create an event for a profile",),
    code=CodePlan(
        functions=("events.create_event",),
        script="""\
import json
klaviyo.events.create_event(attributes={"properties": {"OrderId": "T-1001"}, "value": 120, "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "$email"}}}})
print(json.dumps({"recorded": True}))
""",
    ),
    peer=PeerPlan(
        tools=("create_event",),
        code="""\
attrs = {"properties": {"OrderId": "T-1001"}, "value": 120, "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "$email"}}}}
await call_tool("create_event", {"body": {"data": {"type": "event", "attributes": attrs}}})
return {"recorded": True}
""",
    ),
)


# 6 -- disabled webhooks and their topics ------------------------------------------------------


async def _hooks_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return [
        [h.attributes["name"], sorted(h.rels.get("webhook-topics") or [])]
        for h in w.table("webhook")
        if not h.attributes["enabled"]
    ]


async def _hooks_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    doc = await a.call("get_webhooks", include=["webhook-topics"])
    return [
        [
            h["attributes"]["name"],
            sorted(t["id"] for t in h["relationships"]["webhook-topics"]["data"]),
        ]
        for h in doc["data"]
        if not h["attributes"]["enabled"]
    ]


WEBHOOKS = Task(
    id="disabled_webhooks",
    category="webhooks",
    prompt="Which webhooks are disabled, and which topics does each subscribe to?",
    truth=_hooks_truth,
    classic=_hooks_classic,
    queries=("list webhooks and their topics",),
    code=CodePlan(
        functions=("webhooks.get_webhooks",),
        script="""\
import json
print(json.dumps([[h["name"], sorted(h["webhook-topics"])] for h in klaviyo.webhooks.get_webhooks(include=["webhook-topics"]) if not h["enabled"]]))
""",
    ),
    peer=PeerPlan(
        tools=("get_webhooks",),
        code="""\
doc = await call_tool("get_webhooks", {"include": ["webhook-topics"]})
return [[h["attributes"]["name"], sorted([t["id"] for t in h["relationships"]["webhook-topics"]["data"]])] for h in doc["data"] if not h["attributes"]["enabled"]]
""",
    ),
)

COMMERCE_TASKS: tuple[Task, ...] = (
    RESTOCK,
    LOW_STOCK,
    BULK_CODES,
    UNASSIGNED,
    RECORD_EVENT,
    WEBHOOKS,
)

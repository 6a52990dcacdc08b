"""Twenty more agent-style tasks, each with its answer held to the simulator's store.

Written the way the first ones were: the query an agent sends, the functions whose signatures it
reads, and the script it wrote from what ``search_api``, ``get_signature`` and the tool
descriptions returned (no SDK source, no simulator source). Workflows (find, then change),
paging, date-bounded reports, catalog, coupons, tags, webhooks, templates, images, forms,
reviews, consent, bulk jobs polled to the end, dry runs, and two tasks whose first script fails
on purpose: the error it reads must say what to do, and the retry follows it.

The tasks run after the first ones, on the same demo account and in this order; those that
write touch records no later task reads. ``check`` reads the account's store after the run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from codemode.bench._agent_model import AgentTask, task

__all__ = ["MORE_TASKS"]


def _answer(output: str) -> Any:
    """The JSON the script printed last."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return json.loads(lines[-1])


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rows(account: Any, kind: str) -> list[Any]:
    return list(account.records(kind))


def _named(account: Any, kind: str, name: str) -> list[Any]:
    return [r for r in _rows(account, kind) if r.attributes.get("name") == name]


def _profile(account: Any, email: str) -> Any:
    (found,) = [p for p in _rows(account, "profile") if p.attributes.get("email") == email]
    return found


def _email_marketing(account: Any, email: str) -> dict[str, Any]:
    marketing: dict[str, Any] = _profile(account, email).attributes["subscriptions"]["email"][
        "marketing"
    ]
    return marketing


def _orders(account: Any, since: str, until: str | None = None) -> list[Any]:
    (metric,) = _named(account, "metric", "Placed Order")
    low, high = _when(since), _when(until) if until else None
    return [
        e
        for e in _rows(account, "event")
        if e.rels.get("metric") == metric.id
        and low <= _when(e.attributes["datetime"])
        and (high is None or _when(e.attributes["datetime"]) < high)
    ]


def _value(event: Any) -> float:
    return float((event.attributes.get("event_properties") or {}).get("$value") or 0)


def _category_items(account: Any, name: str) -> list[Any]:
    (category,) = _named(account, "catalog-category", name)
    return [i for i in _rows(account, "catalog-item") if category.id in i.many("categories")]


# -- checks -------------------------------------------------------------------------------------


def _unsubscribed(account: Any, output: str) -> bool:
    got = _answer(output)
    consent = _email_marketing(account, got["email"])["consent"]
    return bool(got["consent"] == consent == "UNSUBSCRIBED")


def _suppressed(account: Any, output: str) -> bool:
    got = _answer(output)
    return bool(
        got["status"] == "complete" and _email_marketing(account, got["email"])["suppression"]
    )


def _weekly_revenue(account: Any, output: str) -> bool:
    got = _answer(output)
    truth = sum(_value(e) for e in _orders(account, got["start"], got["end"]))
    return len(got["weeks"]) == 4 and abs(sum(got["weeks"]) - truth) < 0.01


def _biggest_spender(account: Any, output: str) -> bool:
    got = _answer(output)
    spent: dict[str, float] = {}
    for event in _orders(account, got["since"]):
        pid = str(event.rels.get("profile"))
        spent[pid] = spent.get(pid, 0.0) + _value(event)
    top = max(spent.values())
    winners = {
        account.get("profile", pid).attributes["email"] for pid, v in spent.items() if v == top
    }
    return bool(got["email"] in winners and abs(got["spent"] - top) < 0.01)


def _new_product(account: Any, output: str) -> bool:
    items = [
        i for i in _rows(account, "catalog-item") if i.attributes["external_id"] == "SOCK-TRAIL-1"
    ]
    return (
        len(items) == 1
        and items[0].attributes["title"] == "Trail Socks"
        and float(items[0].attributes["price"]) == 12.0
        and _answer(output)["id"] == items[0].id
    )


def _footwear(account: Any, output: str) -> bool:
    truth = sorted(
        [i.attributes["title"], float(i.attributes["price"])]
        for i in _category_items(account, "Footwear")
    )
    return bool(truth and _answer(output) == truth)


def _price_rise(account: Any, output: str) -> bool:
    got = _answer(output)
    if got["status"] != "complete" or not got["changed"]:
        return False
    for row in got["changed"]:
        stored = float(account.get("catalog-item", row["id"]).attributes["price"])
        if not (row["old"] < 40 and stored == row["new"] == round(row["old"] * 1.1, 2)):
            return False
    accessories = {i.id for i in _category_items(account, "Accessories")}
    return {row["id"] for row in got["changed"]} <= accessories


def _code_status(account: Any, output: str) -> bool:
    got = _answer(output)
    (code,) = [
        c for c in _rows(account, "coupon-code") if c.attributes["unique_code"] == got["code"]
    ]
    return bool(got["status"] == code.attributes["status"] and got["id"] == code.id)


def _expiring_kept(account: Any, output: str) -> bool:
    got = _answer(output)
    cut = _when("2027-02-10T00:00:00+00:00")
    truth = {
        c.id
        for c in _rows(account, "coupon-code")
        if c.attributes["status"] == "UNASSIGNED" and _when(c.attributes["expires_at"]) < cut
    }
    return bool(truth and set(got["planned"]) == truth)  # still in the store: nothing deleted


def _webhook_planned(account: Any, output: str) -> bool:
    got = _answer(output)
    sent = [w for w in _rows(account, "webhook") if w.attributes.get("endpoint_url") == got["url"]]
    return got["topics"] == ["event:klaviyo.placed_order"] and got["planned"] and not sent


def _template_planned(account: Any, output: str) -> bool:
    return bool(_answer(output)["planned"]) and not _named(account, "template", "Holiday 2026")


def _template_renamed(account: Any, output: str) -> bool:
    got = _answer(output)
    (renamed,) = _named(account, "template", "Holiday Gift Guide 2026")
    return renamed.id == got["id"] and not _named(account, "template", got["was"])


def _image_planned(account: Any, output: str) -> bool:
    got = _answer(output)
    kept = [i for i in _rows(account, "image") if i.attributes.get("image_url") == got["url"]]
    return bool(got["planned"]) and not kept


def _live_popups(account: Any, output: str) -> bool:
    truth: dict[str, list[str]] = {}
    for version in _rows(account, "form-version"):
        a = version.attributes
        if a["form_type"] == "popup" and a["status"] == "live":
            form = account.get("form", version.rels["form"]).attributes["name"]
            truth.setdefault(form, []).append(a["variation_name"])
    return bool(truth) and _answer(output) == {k: sorted(v) for k, v in truth.items()}


def _low_reviews(account: Any, output: str) -> bool:
    truth = sorted(
        [r.attributes["rating"], r.attributes["title"]]
        for r in _rows(account, "review")
        if r.attributes.get("rating") is not None and r.attributes["rating"] <= 2
    )
    return bool(truth) and _answer(output) == truth


_NEW_PEOPLE = ("mia.lopez@example.org", "sam.okafor@example.org", "lena.fischer@example.org")


def _imported(account: Any, output: str) -> bool:
    (club,) = _named(account, "list", "Trail Running Club")
    members = set(club.many("profiles"))
    ids = {_profile(account, email).id for email in _NEW_PEOPLE}
    return _answer(output)["status"] == "complete" and ids <= members


def _moved(account: Any, output: str) -> bool:
    got = _answer(output)
    (waitlist,) = _named(account, "list", "Back in Stock Waitlist")
    (notified,) = _named(account, "list", "Restock Notified")
    return bool(
        got["moved"] > 0
        and not waitlist.many("profiles")
        and len(set(notified.many("profiles"))) == got["moved"]
    )


def _tag_renamed(account: Any, output: str) -> bool:
    (tag,) = _named(account, "tag", "Promotion")
    return tag.id == _answer(output)["id"] and not _named(account, "tag", "Promo")


def _denver(account: Any, output: str) -> bool:
    truth = sorted(
        p.attributes["email"]
        for p in _rows(account, "profile")
        if ((p.attributes.get("location") or {}).get("city") or "").lower() == "denver"
    )
    return bool(truth) and _answer(output) == {"count": len(truth), "first": truth[:3]}


def _sent_lately(account: Any, output: str) -> bool:
    got = _answer(output)
    since = _when(got["since"])
    truth = sorted(
        c.attributes["name"]
        for c in _rows(account, "campaign")
        if c.attributes["status"] == "Sent"
        and c.attributes.get("send_time")
        and _when(c.attributes["send_time"]) >= since
    )
    return bool(truth) and sorted(name for _, _, name in got["sent"]) == truth


MORE_TASKS: tuple[AgentTask, ...] = (
    task(
        "unsubscribe-email",
        "chloe.carter@mail.example asked to stop getting our marketing emails: unsubscribe her",
        "unsubscribe a profile from email marketing",
        "get_profiles bulk_unsubscribe_profiles",
        """
import json
email = "chloe.carter@mail.example"
klaviyo.profiles.bulk_unsubscribe_profiles(attributes={"profiles": {"data": [{"type": "profile", "attributes": {"email": email, "subscriptions": {"email": {"marketing": {"consent": "UNSUBSCRIBED"}}}}}]}})
p = klaviyo.profiles.get_profiles(filter=F.equals("email", email), additional_fields={"profile": ["subscriptions"]}).data[0]
print(json.dumps({"email": email, "consent": p["subscriptions"]["email"]["marketing"]["consent"]}))
""",
        check=_unsubscribed,
    ),
    task(
        "suppress-and-poll",
        "lucas.martin@example.com complained: make sure we never email him again, and tell me "
        "when it has gone through",
        "suppress an email address",
        "get_profiles get_bulk_suppress_profiles_job bulk_suppress_profiles",
        """
import json, time
email = "lucas.martin@example.com"
job = klaviyo.profiles.bulk_suppress_profiles(attributes={"profiles": {"data": [{"type": "profile", "attributes": {"email": email}}]}}).data
while job["status"] in ("queued", "processing"):
    time.sleep(1)
    job = klaviyo.profiles.get_bulk_suppress_profiles_job(job_id=job["id"]).data
p = klaviyo.profiles.get_profiles(filter=F.equals("email", email), additional_fields={"profile": ["subscriptions"]}).data[0]
print(json.dumps({"email": email, "status": job["status"], "suppression": p["subscriptions"]["email"]["marketing"]["suppression"]}))
""",
        check=_suppressed,
    ),
    task(
        "weekly-revenue",
        "How much Placed Order revenue did we make each week over the last four weeks?",
        "revenue per week for placed order metric",
        "get_metrics query_metric_aggregates",
        """
import json
from datetime import datetime, timedelta, timezone
m = [x for x in klaviyo.metrics.get_metrics().all() if x["name"] == "Placed Order"][0]
end = datetime.now(timezone.utc).replace(microsecond=0)
start = end - timedelta(days=28)
r = klaviyo.metrics.query_metric_aggregates(attributes={"metric_id": m["id"], "measurements": ["sum_value", "count"], "interval": "week", "filter": [f"greater-or-equal(datetime,{start.isoformat()})", f"less-than(datetime,{end.isoformat()})"]}).data
print(json.dumps({"start": start.isoformat(), "end": end.isoformat(), "dates": r["dates"], "weeks": r["data"][0]["measurements"]["sum_value"]}))
""",
        check=_weekly_revenue,
    ),
    task(
        "biggest-spender",
        "Who's our biggest spender over the last 90 days?",
        "who spent the most money in the last 90 days",
        "get_metrics get_profile get_events",
        """
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
m = [x for x in klaviyo.metrics.get_metrics().all() if x["name"] == "Placed Order"][0]
since = (datetime.now(timezone.utc) - timedelta(days=90)).replace(microsecond=0).isoformat()
spent = defaultdict(float)
for e in klaviyo.events.get_events(filter=F.and_(F.equals("metric_id", m["id"]), F.greater_or_equal("datetime", since)), page_size=1000).all():
    spent[e["profile"]] += float(e["event_properties"].get("$value") or 0)
top = max(spent, key=spent.get)
print(json.dumps({"since": since, "email": klaviyo.profiles.get_profile(id=top).data["email"], "spent": round(spent[top], 2), "buyers": len(spent)}))
""",
        check=_biggest_spender,
    ),
    task(
        "new-product",
        "Add Trail Socks to the catalog: SKU SOCK-TRAIL-1, $12, merino trail running socks",
        "add a new product to the catalog",
        "create_catalog_item",
        """
import json
item = klaviyo.catalogs.create_catalog_item(attributes={"external_id": "SOCK-TRAIL-1", "title": "Trail Socks", "description": "Merino trail running socks", "url": "https://shop.example.com/products/trail-socks", "price": 12.0, "published": True}).data
print(json.dumps({"id": item["id"], "title": item["title"], "price": item["price"]}))
""",
        check=_new_product,
    ),
    task(
        "category-products",
        "What's in our Footwear category, and at what prices?",
        "which products are in a category",
        "get_catalog_categories get_items_for_catalog_category",
        """
import json
cat = klaviyo.catalogs.get_catalog_categories(filter=F.contains("name", "Footwear")).data[0]
items = klaviyo.catalogs.get_items_for_catalog_category(id=cat["id"]).all()
print(json.dumps(sorted([i["title"], i["price"]] for i in items)))
""",
        check=_footwear,
    ),
    task(
        "bulk-price-rise",
        "Raise the price of every Accessories product under $40 by 10%",
        "update prices of many catalog items at once",
        "get_catalog_categories get_catalog_items get_bulk_update_catalog_items_job "
        "bulk_update_catalog_items",
        """
import json, time
cat = klaviyo.catalogs.get_catalog_categories(filter=F.contains("name", "Accessories")).data[0]
items = [i for i in klaviyo.catalogs.get_catalog_items(filter=F.equals("category.id", cat["id"])).all() if i["price"] is not None and i["price"] < 40]
changed = [{"id": i["id"], "old": i["price"], "new": round(i["price"] * 1.1, 2)} for i in items]
job = klaviyo.catalogs.bulk_update_catalog_items(attributes={"items": {"data": [{"type": "catalog-item", "id": c["id"], "attributes": {"price": c["new"]}} for c in changed]}}).data
while job["status"] in ("queued", "processing"):
    time.sleep(1)
    job = klaviyo.catalogs.get_bulk_update_catalog_items_job(job_id=job["id"]).data
print(json.dumps({"status": job["status"], "changed": changed}))
""",
        check=_price_rise,
    ),
    task(
        "coupon-code-lookup",
        "A customer says code WELC-EC0EF761 doesn't work at checkout. Is it still valid?",
        "check if a coupon code is valid",
        "get_coupons get_coupon_codes get_coupon_code",
        """
c = klaviyo.coupons.get_coupon_code(id="WELC-EC0EF761").data
print(c["status"], c["expires_at"])
""",
        check=_code_status,
        expect_error=r"404.*coupon's id, a dash, then the code.*klaviyo\.coupons\.get_coupon_codes",
        retry="""
import json
ids = [c["id"] for c in klaviyo.coupons.get_coupons().all()]
hit = [c for c in klaviyo.coupons.get_coupon_codes(filter=F.any("coupon.id", ids)).all() if c["unique_code"] == "WELC-EC0EF761"][0]
print(json.dumps({"code": hit["unique_code"], "id": hit["id"], "status": hit["status"], "expires_at": hit["expires_at"]}))
""",
    ),
    task(
        "expiring-codes-dry",
        "Plan deleting the unassigned coupon codes that expire before 10 Feb 2027, but don't "
        "delete anything yet",
        "delete coupon codes that expire soon",
        "get_coupons get_coupon_codes delete_coupon_code",
        """
import json
ids = [c["id"] for c in klaviyo.coupons.get_coupons().all()]
old = list(klaviyo.coupons.get_coupon_codes(filter=F.and_(F.any("coupon.id", ids), F.less_than("expires_at", "2027-02-10T00:00:00+00:00"), F.equals("status", "UNASSIGNED"))).all())
for c in old:
    klaviyo.coupons.delete_coupon_code(id=c["id"])
print(json.dumps({"planned": [c["id"] for c in old]}))
""",
        dry=True,
        check=_expiring_kept,
    ),
    task(
        "order-webhook-dry",
        "Send our Placed Order events to https://hooks.example.com/orders; show me the setup "
        "before anything is created",
        "send placed order events to our endpoint with a webhook",
        "get_webhook_topics create_webhook",
        """
import json
topics = [t["id"] for t in klaviyo.webhooks.get_webhook_topics() if "placed_order" in t["id"]]
url = "https://hooks.example.com/orders"
r = klaviyo.webhooks.create_webhook(attributes={"name": "Orders to warehouse", "endpoint_url": url, "secret_key": "change-me-0001"}, relationships={"webhook-topics": topics})
print(json.dumps({"url": url, "topics": topics, "planned": bool(r.meta.get("dry_run"))}))
""",
        dry=True,
        check=_webhook_planned,
    ),
    task(
        "holiday-template-dry",
        "Draft an email template 'Holiday 2026' from this HTML, but only show me what would be "
        "created",
        "create a new email template from html",
        "create_template",
        """
import json
html = "<html><body><h1>Happy Holidays, {{ first_name|default:'friend' }}!</h1><p>20% off everything this week.</p></body></html>"
r = klaviyo.templates.create_template(attributes={"name": "Holiday 2026", "editor_type": "CODE", "html": html, "text": "Happy Holidays! 20% off everything this week."})
print(json.dumps({"planned": bool(r.meta.get("dry_run"))}))
""",
        dry=True,
        check=_template_planned,
    ),
    task(
        "rename-template",
        "The Holiday Gift Guide draft template should be called 'Holiday Gift Guide 2026'",
        "rename a template",
        "get_templates update_template",
        """
import json
t = klaviyo.templates.get_templates(filter=F.contains("name", "Holiday Gift Guide")).data[0]
u = klaviyo.templates.update_template(id=t["id"], attributes={"name": "Holiday Gift Guide 2026"}).data
print(json.dumps({"id": u["id"], "was": t["name"], "now": u["name"]}))
""",
        check=_template_renamed,
    ),
    task(
        "logo-upload-dry",
        "Put our new logo (https://cdn.example.com/brand/logo-2026.png) in the image library as "
        "'Logo 2026'; just plan it for now",
        "upload an image from a url",
        "upload_image_from_url",
        """
import json
url = "https://cdn.example.com/brand/logo-2026.png"
r = klaviyo.images.upload_image_from_url(attributes={"name": "Logo 2026", "import_from_url": url})
print(json.dumps({"url": url, "planned": bool(r.meta.get("dry_run"))}))
""",
        dry=True,
        check=_image_planned,
    ),
    task(
        "live-popups",
        "Which popups are live on the site right now, and which variations?",
        "show the versions of a signup form",
        "get_forms get_versions_for_form",
        """
import json
out = {}
for f in klaviyo.forms.get_forms().all():
    live = sorted(v["variation_name"] for v in klaviyo.forms.get_versions_for_form(id=f["id"], filter=F.equals("form_type", "popup")).all() if v["status"] == "live")
    if live:
        out[f["name"]] = live
print(json.dumps(out))
""",
        check=_live_popups,
    ),
    task(
        "low-reviews",
        "Show me the one- and two-star reviews",
        "reviews with 1 or 2 stars",
        "get_reviews",
        """
import json
bad = klaviyo.reviews.get_reviews(filter=F.less_or_equal("rating", 2), page_size=100).all()
print(json.dumps(sorted([r["rating"], r["title"]] for r in bad)))
""",
        check=_low_reviews,
    ),
    task(
        "import-contacts",
        "Import Mia Lopez, Sam Okafor and Lena Fischer (emails below) into the Trail Running "
        "Club list and tell me when it's done",
        "import a batch of contacts in bulk and wait for the job",
        "get_lists get_bulk_import_profiles_job bulk_import_profiles",
        """
import json, time
club = klaviyo.lists.get_lists(filter=F.equals("name", "Trail Running Club")).data[0]
people = [("mia.lopez@example.org", "Mia", "Lopez"), ("sam.okafor@example.org", "Sam", "Okafor"), ("lena.fischer@example.org", "Lena", "Fischer")]
job = klaviyo.profiles.bulk_import_profiles(attributes={"profiles": {"data": [{"type": "profile", "attributes": {"email": e, "first_name": f, "last_name": l}} for e, f, l in people]}}, relationships={"lists": [club["id"]]}).data
while job["status"] in ("queued", "processing"):
    time.sleep(1)
    job = klaviyo.profiles.get_bulk_import_profiles_job(job_id=job["id"]).data
print(json.dumps({"status": job["status"], "total": job["total_count"], "failed": job["failed_count"]}))
""",
        check=_imported,
    ),
    task(
        "move-waitlist",
        "Move everyone on the Back in Stock Waitlist to a new list 'Restock Notified' and empty "
        "the waitlist",
        "take people off a list",
        "get_lists get_profiles_for_list create_list add_profiles_to_list "
        "remove_profiles_from_list",
        """
import json
src = klaviyo.lists.get_lists(filter=F.equals("name", "Back in Stock Waitlist")).data[0]
ids = [p["id"] for p in klaviyo.lists.get_profiles_for_list(id=src["id"], page_size=100).all()]
new = klaviyo.lists.create_list(attributes={"name": "Restock Notified"}).data
for i in range(0, len(ids), 1000):
    klaviyo.lists.add_profiles_to_list(id=new["id"], ids=ids[i:i + 1000])
    klaviyo.lists.remove_profiles_from_list(id=src["id"], ids=ids[i:i + 1000])
left = len(list(klaviyo.lists.get_profiles_for_list(id=src["id"]).all()))
print(json.dumps({"moved": len(ids), "left": left}))
""",
        check=_moved,
    ),
    task(
        "rename-tag",
        "Rename the Promo tag to Promotion",
        "rename a tag",
        "get_tags get_tag update_tag",
        """
import json
t = klaviyo.tags.get_tags(filter=F.equals("name", "Promo")).data[0]
klaviyo.tags.update_tag(id=t["id"], attributes={"name": "Promotion"})
print(json.dumps({"id": t["id"], "name": klaviyo.tags.get_tag(id=t["id"]).data["name"]}))
""",
        check=_tag_renamed,
    ),
    task(
        "denver-customers",
        "How many of our customers live in Denver?",
        "customers who live in Denver",
        "get_profiles",
        """
hits = list(klaviyo.profiles.get_profiles(filter=F.equals("location.city", "Denver"), page_size=100).all())
print(len(hits))
""",
        check=_denver,
        expect_error=r"cannot filter on 'location\.city'.*test it in the script",
        retry="""
import json
hits = sorted(p["email"] for p in klaviyo.profiles.get_profiles(page_size=100, fields={"profile": ["email", "location"]}).all() if ((p.get("location") or {}).get("city") or "").lower() == "denver")
print(json.dumps({"count": len(hits), "first": hits[:3]}))
""",
    ),
    task(
        "sent-last-30-days",
        "What did we send out over the last month?",
        "what campaigns did we send last month",
        "get_campaigns",
        """
import json
from datetime import datetime, timedelta, timezone
since = (datetime.now(timezone.utc) - timedelta(days=30)).replace(microsecond=0)
sent = []
for ch in ("email", "sms"):
    for c in klaviyo.campaigns.get_campaigns(filter=F.and_(F.equals("messages.channel", ch), F.equals("status", "Sent"))).all():
        t = c.get("send_time")
        if t and datetime.fromisoformat(t.replace("Z", "+00:00")) >= since:
            sent.append([t[:10], ch, c["name"]])
print(json.dumps({"since": since.isoformat(), "sent": sorted(sent)}))
""",
        check=_sent_lately,
    ),
)

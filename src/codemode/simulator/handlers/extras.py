"""Flows, reviews, images from files, push tokens, form reports, client writes and the rest of
the operations whose meaning needs more than the generic shapes."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import listing, single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.catalogs import create_back_in_stock_subscription
from codemode.simulator.handlers.events import track
from codemode.simulator.handlers.generic import update_record
from codemode.simulator.handlers.profiles import check_identifiers, upsert_profile
from codemode.simulator.handlers.reporting import _timeframe, interval_steps
from codemode.simulator.store import Record, iso

__all__: list[str] = []

FLOW_STATUSES = ("draft", "manual", "live")
IMAGE_BYTES = 5 * 1024 * 1024
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


@handler
def update_flow(ctx: Ctx) -> Reply:
    """Set a flow's status to draft, manual or live (200 with the flow); other values are a 400.

    Differs: switching to live does not check that the flow's messages are complete.
    """
    status = ctx.attributes().get("status")
    if status not in FLOW_STATUSES:
        raise bad_body(
            "/data/attributes/status",
            f"Invalid flow status {status!r}: use one of {', '.join(FLOW_STATUSES)}.",
        )
    return update_record(ctx, attributes={"status": status})


def _review_status(given: Any) -> dict[str, Any]:
    value = (given or {}).get("value") if isinstance(given, dict) else None
    if value not in ("published", "featured", "rejected"):
        raise bad_body(
            "/data/attributes/status/value",
            "Set status.value to published, featured or rejected.",
        )
    if value == "rejected":
        reason = (given.get("rejection_reason") or {}).get("reason")
        if not reason:
            raise bad_body(
                "/data/attributes/status/rejection_reason",
                "A rejected review needs rejection_reason.reason (fake, false_or_misleading, other, ...).",
            )
        return {"value": "rejected", "rejection_reason": given["rejection_reason"]}
    return {"value": value}


@handler
def update_review(ctx: Ctx) -> Reply:
    """Publish, feature or reject a review (200 with the review); without a status it is unchanged."""
    given = ctx.attributes().get("status")
    if given is None:
        return update_record(ctx, attributes={})
    return update_record(ctx, attributes={"status": _review_status(given)})


@handler
def create_client_review(ctx: Ctx) -> Reply:
    """Submit a review from a storefront (public key); it waits for moderation as ``pending``; 202.

    Differs: product and order references are stored as given, not checked against the store.
    """
    attrs = dict(ctx.attributes())
    check_identifiers({"email": attrs.get("email")}, "/data/attributes")
    if attrs.get("review_type") in ("review", "store") and attrs.get("rating") is None:
        raise bad_body("/data/attributes/rating", "A review needs a rating from 1 to 5.")
    product = attrs.get("product") or None
    record = ctx.account.add(
        "review",
        {
            "email": attrs.get("email"),
            "author": attrs.get("author"),
            "content": attrs.get("content"),
            "title": attrs.get("title"),
            "rating": attrs.get("rating"),
            "review_type": attrs.get("review_type"),
            "images": list(attrs.get("images") or []),
            "verified": False,
            "status": {"value": "pending"},
            "product": (
                {
                    "url": "",
                    "name": "",
                    "image_url": None,
                    "external_id": product.get("external_id"),
                }
                if isinstance(product, dict)
                else None
            ),
            "public_reply": None,
            "smart_quote": None,
        },
        {"events": [], "item": None},
    )
    record.attributes["created"] = record.attributes["updated"] = record.created
    return Reply(202)


def _image_format(content: bytes) -> str | None:
    for magic, fmt in SIGNATURES.items():
        if content.startswith(magic):
            return fmt
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


@handler
def upload_image_from_file(ctx: Ctx) -> Reply:
    """Upload an image as multipart form data (``file``, optional ``name`` and ``hidden``); 201.

    The format comes from the file's bytes (PNG, JPEG, GIF, WebP); anything else, an empty file
    or one over 5 MB is a 400.

    Differs: the image is kept as a size and a hash; its ``image_url`` points nowhere real.
    """
    form = ctx.body if isinstance(ctx.body, dict) else {}
    upload = form.get("file")
    if not isinstance(upload, dict):
        raise bad_body("/file", "Send the image as the multipart form field 'file'.")
    content: bytes = upload["content"]
    if not content:
        raise bad_body("/file", "The uploaded file is empty.")
    if len(content) > IMAGE_BYTES:
        raise bad_body("/file", "Images may be at most 5 MB; resize the file.")
    fmt = _image_format(content)
    if fmt is None:
        raise bad_body("/file", "The file is not a PNG, JPEG, GIF or WebP image.")
    name = str(form.get("name") or upload.get("filename") or f"image.{fmt}")
    hidden = str(form.get("hidden") or "false").lower() in ("true", "1")
    digest = hashlib.sha256(content).hexdigest()[:16]
    record = ctx.account.add(
        "image",
        {
            "name": name,
            "format": fmt,
            "hidden": hidden,
            "size": len(content),
            "image_url": f"https://images.simulator.invalid/{ctx.account.company_id}/{digest}.{fmt}",
        },
    )
    record.attributes["updated_at"] = record.created
    return Reply(201, single(ctx, record))


def _token_profile(ctx: Ctx) -> Record:
    data = (ctx.attributes().get("profile") or {}).get("data") or {}
    if data.get("id"):
        return ctx.account.get("profile", str(data["id"]))
    attrs = dict(data.get("attributes") or {})
    attrs.pop("meta", None)
    check_identifiers(attrs, "/data/attributes/profile/data/attributes")
    if not any(attrs.get(k) for k in ("email", "phone_number", "external_id", "_kx")):
        raise bad_body(
            "/data/attributes/profile/data/attributes",
            "Identify the token's profile by id, email, phone_number or external_id.",
        )
    return upsert_profile(ctx.account, attrs)


def _register_token(ctx: Ctx) -> Reply:
    attrs = ctx.attributes()
    profile = _token_profile(ctx)
    fields = {
        "token": attrs["token"],
        "platform": attrs["platform"],
        "vendor": attrs["vendor"],
        "enablement_status": attrs.get("enablement_status") or "AUTHORIZED",
        "background": attrs.get("background") or "AVAILABLE",
        "metadata": attrs.get("device_metadata"),
    }
    for record in ctx.account.records("push-token"):
        if record.attributes.get("token") == attrs["token"]:
            record.attributes.update(fields)
            record.rels["profile"] = profile.id
            ctx.account.touch("push-token", record.id)
            return Reply(202)
    record = ctx.account.add("push-token", fields, {"profile": profile.id})
    record.attributes["created"] = record.attributes["recorded_date"] = record.created
    return Reply(202)


@handler
def create_push_token(ctx: Ctx) -> Reply:
    """Register (or re-register) a mobile push token for a profile; 202 with no body."""
    return _register_token(ctx)


@handler
def create_client_push_token(ctx: Ctx) -> Reply:
    """Register a push token from a mobile app (public key); 202 with no body."""
    return _register_token(ctx)


@handler
def unregister_client_push_token(ctx: Ctx) -> Reply:
    """Unregister a push token from a mobile app (public key): it reads ``UNAUTHORIZED``; 202.

    Differs: unknown tokens are accepted silently.
    """
    token = ctx.attributes().get("token")
    for record in ctx.account.records("push-token"):
        if record.attributes.get("token") == token:
            record.attributes["enablement_status"] = "UNAUTHORIZED"
            ctx.account.touch("push-token", record.id)
    return Reply(202)


@handler
def bulk_create_client_events(ctx: Ctx) -> Reply:
    """Track up to 1,000 events for one profile from a browser or app (public key); 202.

    Differs: events are stored at once; Klaviyo queues them.
    """
    attrs = ctx.attributes()
    events = ((attrs.get("events") or {}).get("data")) or []
    if not events or len(events) > 1000:
        raise bad_body("/data/attributes/events/data", "Send from 1 to 1,000 events.")
    profile = (attrs.get("profile") or {}).get("data") or {}
    for n, event in enumerate(events):
        body = dict((event or {}).get("attributes") or {})
        body["profile"] = {"data": profile}
        track(ctx.account, body, f"/data/attributes/events/data/{n}/attributes")
    return Reply(202)


@handler
def create_client_back_in_stock_subscription(ctx: Ctx) -> Reply:
    """Subscribe a shopper to a variant's back-in-stock alert from a storefront (public key); 202."""
    return create_back_in_stock_subscription(ctx)


@handler
def refresh_campaign_recipient_estimation(ctx: Ctx) -> Reply:
    """Start a recipient estimation for a campaign (the job's id is the campaign's); 202.

    Differs: the estimate is ready at once, so the job reads ``complete``.
    """
    campaign = ctx.account.get("campaign", str(ctx.data().get("id")))
    job = ctx.account.find("campaign-recipient-estimation-job", campaign.id)
    if job is None:
        job = ctx.account.add(
            "campaign-recipient-estimation-job", {"status": "complete"}, ident=campaign.id
        )
    job.attributes["status"] = "complete"
    ctx.account.touch(job.type, job.id)
    return Reply(202, single(ctx, job))


@handler
def create_conversation_message(ctx: Ctx) -> Reply:
    """Send a message into a profile's conversation; 202 with no body.

    Differs: the message is not stored or delivered; the conversation must exist.
    """
    ids = ctx.rel_ids("conversation")
    if not ids:
        raise bad_body(
            "/data/relationships/conversation", "Name the conversation to send the message to."
        )
    ctx.account.get("conversation", ids[0])
    if not str(ctx.attributes().get("body") or "").strip():
        raise bad_body("/data/attributes/body", "The message body is empty.")
    return Reply(202)


def _form_counts(form: Record, stats: list[str], seed: str) -> dict[str, float]:
    """One coherent funnel per form and timeframe (views >= qualified views >= submits; uniques
    under totals), deterministic so reports agree between calls; rates are fractions, as
    Klaviyo's are ("All rate statistics will be returned in fractional form [0.0, 1.0]")."""
    digest = hashlib.sha256(f"{form.id}:{seed}".encode()).digest()
    views = 200 + digest[0] * 8
    counts = {
        "viewed_form": views,
        "qualified_form": views * (85 + digest[1] % 15) // 100,
        "closed_form": views * (20 + digest[2] % 40) // 100,
        "submits": views * (2 + digest[3] % 12) // 100,
        "viewed_form_step": views + views * (digest[4] % 30) // 100,
    }
    counts["submitted_form_step"] = counts["submits"] + counts["submits"] * (digest[5] % 20) // 100
    for name in list(counts):
        counts[f"{name}_uniques"] = counts[name] * (70 + digest[6] % 25) // 100
    out: dict[str, float] = {}
    for stat in stats:
        if stat == "submit_rate":
            out[stat] = round(counts["submits"] / counts["viewed_form"], 4)
        else:
            out[stat] = float(counts.get(stat, 0))
    return out


def _form_report(ctx: Ctx, *, series: bool) -> Reply:
    attrs = ctx.attributes()
    stats = list(attrs.get("statistics") or [])
    if not stats:
        raise bad_body("/data/attributes/statistics", "Name at least one statistic.")
    group_by = list(attrs.get("group_by") or ["form_id"])
    frame = str(attrs.get("timeframe"))
    forms = list(ctx.account.records("form"))
    wanted = str(attrs.get("filter") or "")
    if wanted:
        forms = [f for f in forms if f.id in wanted]
    steps: list[datetime] = []
    if series:
        start, end = _timeframe(ctx.account, dict(attrs["timeframe"]))
        steps = interval_steps(start, end, str(attrs.get("interval") or "daily"))
    results: list[dict[str, Any]] = []
    for form in forms:
        versions = [
            v.id for v in ctx.account.records("form-version") if v.rels.get("form") == form.id
        ] or [form.id]
        for version in versions if "form_version_id" in group_by else [None]:
            counts = _form_counts(form, stats, f"{frame}:{version}")
            groupings: dict[str, Any] = {"form_id": form.id}
            if version is not None:
                groupings["form_version_id"] = version
            statistics: dict[str, Any] = dict(counts)
            if series:
                # Totals spread over the intervals (the first ones take the remainder); a rate
                # is the same in each.
                n = max(len(steps), 1)
                statistics = {
                    k: [v] * n
                    if k.endswith("_rate")
                    else [float(int(v) // n + (i < int(v) % n)) for i in range(n)]
                    for k, v in counts.items()
                }
            results.append({"groupings": groupings, "statistics": statistics})
    attributes: dict[str, Any] = {"results": results}
    if series:
        attributes["date_times"] = [iso(moment) for moment in steps]
    kind = ctx.action.response.resource_type or ""
    return Reply(
        200,
        {
            "data": {"type": kind, "id": None, "attributes": attributes},
            "links": {"self": ctx.url()},
        },
    )


@handler
def query_form_values(ctx: Ctx) -> Reply:
    """Form statistics (qualified views, closes) over a timeframe, by form or form version.

    Differs: the numbers are synthetic, stable per form and timeframe; ``filter`` only narrows
    to the form ids it names.
    """
    return _form_report(ctx, series=False)


@handler
def query_form_series(ctx: Ctx) -> Reply:
    """Form statistics per interval over a timeframe, by form or form version.

    Differs: the numbers are synthetic, the timeframe's totals spread evenly over its intervals.
    """
    return _form_report(ctx, series=True)


REVIEW_STATISTICS = (
    "average_rating",
    "total_reviews",
    "total_questions",
    "total_ratings",
    "total_store_reviews",
    "average_store_rating",
)


def _review_statistics(reviews: list[Record], wanted: list[str]) -> dict[str, Any]:
    kinds = Counter(str(r.attributes.get("review_type")) for r in reviews)
    ratings = [int(r.attributes["rating"]) for r in reviews if r.attributes.get("rating")]
    store = [
        int(r.attributes["rating"])
        for r in reviews
        if r.attributes.get("review_type") == "store" and r.attributes.get("rating")
    ]
    every: dict[str, Any] = {
        "average_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "total_reviews": kinds["review"],
        "total_questions": kinds["question"],
        "total_ratings": len(ratings),
        "total_store_reviews": kinds["store"],
        "average_store_rating": round(sum(store) / len(store), 2) if store else None,
    }
    return {k: every[k] for k in wanted}


@handler
def get_client_review_values_reports(ctx: Ctx) -> Reply:
    """Review statistics per product or for the whole store (public key), from published and
    featured reviews.

    Differs: ``timeframe`` is accepted but every review counts, whatever its date.
    """
    wanted = [s.strip() for s in str(ctx.param("statistics") or "").split(",") if s.strip()]
    wrong = [s for s in wanted if s not in REVIEW_STATISTICS]
    if not wanted or wrong:
        raise ApiError(
            400,
            "invalid",
            f"statistics takes a comma-separated list of: {', '.join(REVIEW_STATISTICS)}.",
            parameter="statistics",
        )
    shown = [
        r
        for r in ctx.account.records("review")
        if (r.attributes.get("status") or {}).get("value") in ("published", "featured")
    ]
    groups: dict[str, list[Record]] = {}
    by_product = ctx.param("group_by") == "product_id"
    for review in shown:
        key = (
            str((review.attributes.get("product") or {}).get("external_id") or "")
            if by_product
            else ctx.account.company_id
        )
        if key:
            groups.setdefault(key, []).append(review)
    label = "product_id" if by_product else "company_id"
    results = [
        {"groupings": {label: key}, "statistics": _review_statistics(rows, wanted)}
        for key, rows in sorted(groups.items())
    ]
    row = Record("review-values-report", "review-values", {"results": results}, {}, "")
    return Reply(200, listing(ctx, [row]))


@handler
def get_conversation_for_profile(ctx: Ctx) -> Reply:
    """The profile's most recent conversation (``data: null`` when it has none)."""
    profile = ctx.account.get("profile", ctx.path["id"])
    ids = profile.many("conversations")
    if not ids:
        return Reply(200, {"data": None, "links": {"self": ctx.url()}})
    return Reply(200, single(ctx, ctx.account.get("conversation", ids[-1])))

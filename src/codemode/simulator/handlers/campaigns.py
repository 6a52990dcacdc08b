"""Campaigns: messages created with the campaign, clones, send jobs, cancellation, estimations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import stamp_dates
from codemode.simulator.handlers.jobs import WORK, start_job
from codemode.simulator.store import Account, Record


def _audience(account: Account, campaign: Record) -> list[str]:
    audiences = campaign.attributes.get("audiences") or {}
    excluded: set[str] = set()
    for group_id in audiences.get("excluded") or []:
        group = account.find("list", group_id) or account.find("segment", group_id)
        if group is not None:
            excluded.update(group.many("profiles"))
    out: dict[str, None] = {}
    for group_id in audiences.get("included") or []:
        group = account.find("list", group_id) or account.find("segment", group_id)
        if group is not None:
            out.update((p, None) for p in group.many("profiles") if p not in excluded)
    return list(out)


def _check_audiences(account: Account, audiences: dict[str, Any]) -> None:
    for key in ("included", "excluded"):
        for n, group_id in enumerate(audiences.get(key) or []):
            if account.find("list", group_id) is None and account.find("segment", group_id) is None:
                raise ApiError(
                    404,
                    "not_found",
                    f"Audience {group_id!r} is neither a list nor a segment.",
                    pointer=f"/data/attributes/audiences/{key}/{n}",
                )


def _add_message(account: Account, campaign: Record, definition: dict[str, Any]) -> Record:
    message = account.add(
        "campaign-message",
        {"definition": definition, "send_times": []},
        {"campaign": campaign.id, "template": None, "image": None},
    )
    stamp_dates(message)
    return message


@handler
def create_campaign(ctx: Ctx) -> Reply:
    """Create a draft campaign with its messages (from ``attributes.campaign-messages``).

    Differs: send_strategy defaults to a static send at the creation time.
    """
    attrs = ctx.attributes()
    audiences = attrs.get("audiences") or {}
    _check_audiences(ctx.account, audiences)
    messages = ((attrs.get("campaign-messages") or {}).get("data")) or []
    if not messages:
        raise bad_body(
            "/data/attributes/campaign-messages/data", "A campaign needs at least one message."
        )
    stamp = ctx.account.timestamp()
    campaign = ctx.account.add(
        "campaign",
        {
            "name": attrs["name"],
            "status": "Draft",
            "archived": False,
            "audiences": {
                "included": audiences.get("included") or [],
                "excluded": audiences.get("excluded") or [],
            },
            "send_options": attrs.get("send_options") or {"use_smart_sending": True},
            "tracking_options": attrs.get("tracking_options"),
            "send_strategy": attrs.get("send_strategy")
            or {"method": "static", "datetime": stamp, "options": None},
            "scheduled_at": None,
            "send_time": None,
        },
    )
    stamp_dates(campaign)
    for message in messages:
        _add_message(
            ctx.account, campaign, dict((message.get("attributes") or {}).get("definition") or {})
        )
    return Reply(201, single(ctx, campaign))


@handler
def create_campaign_clone(ctx: Ctx) -> Reply:
    """Clone a campaign and its messages as a new draft (``new_name`` optional)."""
    data = ctx.data()
    source = ctx.account.get("campaign", str(data.get("id")))
    attrs = dict(source.attributes)
    attrs.update(
        {
            "name": ctx.attributes().get("new_name") or f"{attrs.get('name')} (Clone)",
            "status": "Draft",
            "send_time": None,
            "scheduled_at": None,
        }
    )
    attrs.pop("created_at", None)
    attrs.pop("updated_at", None)
    clone = ctx.account.add("campaign", attrs)
    stamp_dates(clone)
    for message in list(ctx.account.records("campaign-message")):
        if message.rels.get("campaign") == source.id:
            copy = _add_message(
                ctx.account, clone, dict(message.attributes.get("definition") or {})
            )
            copy.rels["template"] = message.rels.get("template")
    return Reply(201, single(ctx, clone))


@handler
def delete_campaign(ctx: Ctx) -> Reply:
    """Delete a campaign and its messages (204)."""
    campaign = ctx.account.get("campaign", ctx.path["id"])
    for message in list(ctx.account.records("campaign-message")):
        if message.rels.get("campaign") == campaign.id:
            ctx.account.remove("campaign-message", message.id)
    ctx.account.remove("campaign", campaign.id)
    return Reply(204)


def _send(account: Account, job: Record, payload: list[Any]) -> None:
    campaign = account.find("campaign", job.id)
    if campaign is None:
        return
    stamp = account.timestamp()
    campaign.attributes.update({"status": "Sent", "send_time": stamp, "updated_at": stamp})
    received = {"email": "Received Email", "sms": "Received SMS"}
    metrics = {m.attributes.get("name"): m.id for m in account.records("metric")}
    moment = int(datetime.fromisoformat(stamp).timestamp())
    for message in account.records("campaign-message"):
        if message.rels.get("campaign") != campaign.id:
            continue
        channel = (message.attributes.get("definition") or {}).get("channel", "email")
        metric_id = metrics.get(received.get(channel, "Received Email"))
        if metric_id is None:
            continue
        for pid in _audience(account, campaign):
            account.add(
                "event",
                {
                    "timestamp": moment,
                    "datetime": stamp,
                    "event_properties": {
                        "$message": message.id,
                        "Campaign Name": campaign.attributes.get("name"),
                    },
                    "uuid": account.ids.uuid(),
                },
                {"metric": metric_id, "profile": pid, "attributions": []},
                created=stamp,
            )
            job.attributes["completed_count"] = int(job.attributes.get("completed_count") or 0) + 1
    account.touch("campaign", campaign.id)


WORK["send_campaign"] = _send


@handler
def send_campaign(ctx: Ctx) -> Reply:
    """Queue a send job for a draft or scheduled campaign (the job id is the campaign id).

    Differs: a campaign that was already sent gives 409 instead of Klaviyo's 400.
    """
    campaign = ctx.account.get("campaign", str(ctx.data().get("id")))
    if campaign.attributes.get("status") in ("Sent", "Sending") or ctx.account.find(
        "campaign-send-job", campaign.id
    ):
        raise ApiError(
            409,
            "conflict",
            f"Campaign {campaign.id!r} was already sent or is sending.",
            pointer="/data/id",
        )
    job = start_job(ctx, "campaign-send-job", [], ident=campaign.id)
    job.attributes = {"status": "queued"}
    campaign.attributes["status"] = (
        "Queued without Recipients" if not _audience(ctx.account, campaign) else "Sending"
    )
    ctx.account.touch("campaign", campaign.id)
    return Reply(202, single(ctx, job))


@handler
def cancel_campaign_send(ctx: Ctx) -> Reply:
    """Cancel a queued send (``action: cancel``) or revert it to a draft (``revert``); 204.

    Differs: a job that already completed gives 409.
    """
    job = ctx.account.get("campaign-send-job", ctx.path["id"])
    state = ctx.account.jobs.get(job.id) or {}
    if state.get("done"):
        raise ApiError(
            409,
            "conflict",
            "The campaign was already sent; a completed send cannot be cancelled.",
            pointer="/data/id",
        )
    action = ctx.attributes().get("action")
    job.attributes["status"] = "cancelled"
    campaign = ctx.account.find("campaign", job.id)
    if campaign is not None:
        campaign.attributes["status"] = "Cancelled" if action == "cancel" else "Draft"
    if action == "revert":
        ctx.account.remove("campaign-send-job", job.id)
        ctx.account.jobs.pop(job.id, None)
    else:
        ctx.account.touch("campaign-send-job", job.id)
    if campaign is not None:
        ctx.account.touch("campaign", campaign.id)
    return Reply(204)


@handler
def get_campaign_recipient_estimation(ctx: Ctx) -> Reply:
    """Estimate a campaign's recipients: included audiences minus excluded ones, de-duplicated.

    Differs: the estimate is exact and immediate; no estimation job is needed.
    """
    campaign = ctx.account.get("campaign", ctx.path["id"])
    count = len(_audience(ctx.account, campaign))
    estimation = Record(
        "campaign-recipient-estimation",
        campaign.id,
        {"estimated_recipient_count": count},
        {},
        campaign.created,
    )
    return Reply(200, single(ctx, estimation))


@handler
def assign_template_to_campaign_message(ctx: Ctx) -> Reply:
    """Assign a template to a campaign message (the message keeps a copy; 200 with the message)."""
    message = ctx.account.get("campaign-message", str(ctx.data().get("id")))
    templates = ctx.rel_ids("template")
    if not templates:
        raise bad_body("/data/relationships/template/data/id", "Name the template to assign.")
    ctx.account.get("template", templates[0])
    message.rels["template"] = templates[0]
    message.attributes["updated_at"] = ctx.account.timestamp()
    ctx.account.touch("campaign-message", message.id)
    # This response flattens the message definition (label, channel, content) into attributes.
    doc = single(ctx, message)
    definition = message.attributes.get("definition") or {}
    doc["data"]["attributes"] = {
        "label": definition.get("label") or "",
        "channel": definition.get("channel") or "email",
        "content": definition.get("content") or {},
        "send_times": message.attributes.get("send_times"),
        "render_options": definition.get("render_options"),
        "created_at": message.attributes.get("created_at"),
        "updated_at": message.attributes.get("updated_at"),
    }
    return Reply(200, doc)

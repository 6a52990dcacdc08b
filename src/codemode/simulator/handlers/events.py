"""Events: tracking from servers and browsers, bulk event jobs; metrics appear on first use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.errors import bad_body
from codemode.simulator.filters import parse_datetime
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.profiles import upsert_profile
from codemode.simulator.store import Account, Record, iso

__all__ = ["track"]


def _metric(account: Account, name: str, service: str | None) -> Record:
    for metric in account.records("metric"):
        if metric.attributes.get("name") == name:
            return metric
    stamp = account.timestamp()
    integration = {
        "object": "integration",
        "id": "API",
        "key": "api",
        "name": service or "API",
        "category": "api",
    }
    return account.add(
        "metric", {"name": name, "integration": integration, "created": stamp, "updated": stamp}
    )


def track(account: Account, attrs: dict[str, Any], pointer: str) -> Record:
    """Record one event from a create-event body's attributes (metric and profile by value)."""
    metric_data = ((attrs.get("metric") or {}).get("data") or {}).get("attributes") or {}
    if not metric_data.get("name"):
        raise bad_body(
            f"{pointer}/metric/data/attributes/name",
            "The event's metric needs a name, e.g. 'Placed Order'.",
        )
    profile_data = (attrs.get("profile") or {}).get("data") or {}
    profile_attrs = dict(profile_data.get("attributes") or {})
    if profile_data.get("id"):
        profile = account.get("profile", str(profile_data["id"]))
    else:
        if not any(
            profile_attrs.get(k)
            for k in ("email", "phone_number", "external_id", "anonymous_id", "_kx")
        ):
            raise bad_body(
                f"{pointer}/profile/data/attributes",
                "Identify the event's profile by id, email, phone_number or external_id.",
            )
        profile_attrs.pop("anonymous_id", None)
        profile = upsert_profile(account, profile_attrs)
    metric = _metric(account, str(metric_data["name"]), metric_data.get("service"))
    if attrs.get("time"):
        try:
            moment = parse_datetime(str(attrs["time"]))
        except ValueError:
            raise bad_body(f"{pointer}/time", "time must be an ISO 8601 datetime.") from None
    else:
        moment = datetime.fromisoformat(account.timestamp())
    unique_id = attrs.get("unique_id")
    if unique_id:
        # Klaviyo de-duplicates events by (metric, profile, unique_id).
        for event in account.records("event"):
            if (
                event.attributes.get("uuid") == unique_id
                and event.rels.get("metric") == metric.id
                and event.rels.get("profile") == profile.id
            ):
                return event
    props = dict(attrs.get("properties") or {})
    if attrs.get("value") is not None:
        props["$value"] = attrs["value"]
    stamp = iso(moment)
    event = account.add(
        "event",
        {
            "timestamp": int(moment.timestamp()),
            "datetime": stamp,
            "event_properties": props,
            "uuid": unique_id or account.ids.uuid(),
        },
        {"metric": metric.id, "profile": profile.id, "attributions": []},
        created=stamp,
    )
    profile.attributes["last_event_date"] = stamp
    account.touch("profile", profile.id)
    return event


@handler
def create_event(ctx: Ctx) -> Reply:
    """Track an event for a profile (created when new); 202 with no body.

    Differs: the event is readable at once; Klaviyo ingests it within seconds.
    """
    track(ctx.account, ctx.attributes(), "/data/attributes")
    return Reply(202)


@handler
def create_client_event(ctx: Ctx) -> Reply:
    """Track an event from a browser with the public key; 202 with no body."""
    track(ctx.account, ctx.attributes(), "/data/attributes")
    return Reply(202)


@handler
def bulk_create_events(ctx: Ctx) -> Reply:
    """Track many events for many profiles; 202 with no body.

    Differs: applied at once and all-or-nothing per call (Klaviyo reports per-event errors later).
    """
    groups = ((ctx.attributes().get("events-bulk-create") or {}).get("data")) or []
    if not groups:
        raise bad_body(
            "/data/attributes/events-bulk-create/data", "Send at least one profile with its events."
        )
    for n, group in enumerate(groups):
        group_attrs = group.get("attributes") or {}
        profile = group_attrs.get("profile") or {}
        for m, event in enumerate(((group_attrs.get("events") or {}).get("data")) or []):
            attrs = dict(event.get("attributes") or {})
            attrs["profile"] = profile
            track(
                ctx.account,
                attrs,
                f"/data/attributes/events-bulk-create/data/{n}/attributes/events/data/{m}/attributes",
            )
    return Reply(202)

"""Reporting: campaign, flow and segment values and series, and metric aggregates, from stored events.

Message statistics come from the message events (``Received``/``Opened``/``Clicked`` with
``$message``); conversions are events of ``conversion_metric_id`` whose ``$attributed_message``
names the message. Rates divide unique counts by deliveries, as Klaviyo's do.
"""

from __future__ import annotations

import bisect
import calendar
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from codemode.catalog import FilterField
from codemode.simulator.context import Ctx, Reply
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.filters import Condition, matches, parse_datetime, parse_filter
from codemode.simulator.handlers._registry import handler
from codemode.simulator.store import Account, Record, iso

# key -> (days back from the anchor day's start, days ahead of it to stop at); rolling windows
# run to the end of the anchor day so today's writes count, calendar-style ones stop before it.
KEYS = {
    "today": (0, -1),
    "yesterday": (1, 0),
    "last_7_days": (7, -1),
    "last_week": (7, 0),
    "this_week": (7, -1),
    "last_30_days": (30, -1),
    "last_month": (30, 0),
    "this_month": (30, -1),
    "last_90_days": (90, -1),
    "last_3_months": (90, -1),
    "last_365_days": (365, -1),
    "last_12_months": (365, -1),
    "last_year": (365, 0),
    "this_year": (365, -1),
}
STEP = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
}


def interval_steps(start: datetime, end: datetime, interval: str, cap: int = 800) -> list[datetime]:
    """The starts of the intervals from ``start`` to ``end``: hourly, daily, weekly, or monthly
    by the calendar (a month after the 31st of January is the last day of February)."""
    steps: list[datetime] = []
    moment = start
    while moment < end and len(steps) < cap:
        steps.append(moment)
        if interval == "monthly":
            month = start.month - 1 + len(steps)
            year, month = start.year + month // 12, month % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            moment = start.replace(year=year, month=month, day=day)
        else:
            moment += STEP[interval]
    return steps


SOURCES = {
    "email": ("Received Email", "Opened Email", "Clicked Email", "Bounced Email"),
    "sms": ("Received SMS", None, "Clicked SMS", None),
}


def _timeframe(account: Account, frame: dict[str, Any]) -> tuple[datetime, datetime]:
    if "key" in frame:
        back, ahead = KEYS[str(frame["key"])]
        return account.now - timedelta(days=back), account.now - timedelta(days=ahead)
    try:
        start, end = parse_datetime(str(frame["start"])), parse_datetime(str(frame["end"]))
    except (KeyError, ValueError):
        raise bad_body(
            "/data/attributes/timeframe",
            "timeframe needs a key (e.g. last_30_days) or ISO start and end.",
        ) from None
    if end <= start or end - start > timedelta(days=366):
        raise bad_body(
            "/data/attributes/timeframe", "timeframe end must follow start, within one year."
        )
    return start, end


def _events(
    account: Account, metric_names: Iterable[str | None], start: datetime, end: datetime
) -> dict[str, list[Record]]:
    ids = {
        m.id: m.attributes.get("name")
        for m in account.records("metric")
        if m.attributes.get("name") in set(metric_names)
    }
    lo, hi = iso(start), iso(end)
    out: dict[str, list[Record]] = defaultdict(list)
    for event in account.records("event"):
        name = ids.get(str(event.rels.get("metric")))
        if name is not None and lo <= event.attributes.get("datetime", "") < hi:
            out[str(name)].append(event)
    return out


def _stats(
    wanted: list[str], rows: dict[str, list[Record]], conversions: list[Record], channel: str
) -> dict[str, float]:
    received, opened, clicked, bounced = SOURCES.get(channel, SOURCES["email"])
    got = rows.get(received or "", [])
    opens = rows.get(opened or "", [])
    clicks = rows.get(clicked or "", [])
    bounces = rows.get(bounced or "", [])
    delivered = max(0, len(got) - len(bounces))
    uniq_opens = len({e.rels.get("profile") for e in opens})
    uniq_clicks = len({e.rels.get("profile") for e in clicks})
    uniq_conv = len({e.rels.get("profile") for e in conversions})
    value = round(
        sum(
            float((e.attributes.get("event_properties") or {}).get("$value") or 0)
            for e in conversions
        ),
        2,
    )

    def rate(n: float, d: float) -> float:
        return round(n / d, 4) if d else 0.0

    table: dict[str, float] = {
        "recipients": len(got),
        "delivered": delivered,
        "delivery_rate": rate(delivered, len(got)),
        "bounced": len(bounces),
        "bounce_rate": rate(len(bounces), len(got)),
        "bounced_or_failed": len(bounces),
        "bounced_or_failed_rate": rate(len(bounces), len(got)),
        "failed": 0,
        "failed_rate": 0.0,
        "opens": len(opens),
        "opens_unique": uniq_opens,
        "open_rate": rate(uniq_opens, delivered),
        "clicks": len(clicks),
        "clicks_unique": uniq_clicks,
        "click_rate": rate(uniq_clicks, delivered),
        "click_to_open_rate": rate(uniq_clicks, uniq_opens),
        "conversions": len(conversions),
        "conversion_uniques": uniq_conv,
        "conversion_value": value,
        "conversion_rate": rate(uniq_conv, delivered),
        "revenue_per_recipient": rate(value, delivered),
        "average_order_value": rate(value, len(conversions)),
    }
    return {name: table.get(name, 0) for name in wanted}


def _by_message(rows: dict[str, list[Record]]) -> dict[str, dict[str, list[Record]]]:
    out: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for name, events in rows.items():
        for event in events:
            message = (event.attributes.get("event_properties") or {}).get("$message")
            if message:
                out[str(message)][name].append(event)
    return out


def _conversions(
    account: Account, metric_id: str, start: datetime, end: datetime
) -> dict[str, list[Record]]:
    metric = account.find("metric", metric_id)
    if metric is None:
        raise ApiError(
            404,
            "not_found",
            f"conversion_metric_id {metric_id!r} is not a metric of this account.",
            pointer="/data/attributes/conversion_metric_id",
        )
    out: dict[str, list[Record]] = defaultdict(list)
    for event in _events(account, [metric.attributes.get("name")], start, end).get(
        str(metric.attributes.get("name")), []
    ):
        message = (event.attributes.get("event_properties") or {}).get("$attributed_message")
        if message:
            out[str(message)].append(event)
    return out


def _report_filter(ctx: Ctx, fields: Iterable[str]) -> list[Condition]:
    text = ctx.attributes().get("filter")
    if not text:
        return []
    allowed = {
        name: FilterField(("equals", "any", "contains-any"), ("any", "contains-any"), "string")
        for name in fields
    }
    return parse_filter(str(text), ctx.action, allowed)


def _values(ctx: Ctx, *, owner: str, message_kind: str, series: bool) -> Reply:
    attrs = ctx.attributes()
    start, end = _timeframe(ctx.account, attrs["timeframe"])
    wanted = list(attrs["statistics"])
    conversions = _conversions(ctx.account, str(attrs["conversion_metric_id"]), start, end)
    names = [n for pair in SOURCES.values() for n in pair if n]
    grouped = _by_message(_events(ctx.account, names, start, end))
    default_groups = [f"{owner}_id", f"{owner}_message_id", "send_channel"]
    group_by = list(attrs.get("group_by") or default_groups)
    lacking = [g for g in default_groups[:2] if g not in group_by]
    if lacking:
        raise bad_body(
            "/data/attributes/group_by",
            f"group_by must include {owner}_id and {owner}_message_id (lacks "
            f"{' and '.join(lacking)}); add e.g. {owner}_name or send_channel to them.",
        )
    conditions = _report_filter(ctx, [f"{owner}_id", f"{owner}_message_id", "send_channel"])
    results: list[dict[str, Any]] = []
    owners: list[str] = []
    steps: list[datetime] = []
    if series:
        steps = interval_steps(start, end, str(attrs["interval"]))
    for message in ctx.account.records(message_kind):
        if owner == "campaign":
            owner_id = str(message.rels.get("campaign") or "")
            channel = str((message.attributes.get("definition") or {}).get("channel") or "email")
        else:
            action = ctx.account.find("flow-action", str(message.rels.get("flow-action")))
            owner_id = str(action.rels.get("flow") or "") if action else ""
            channel = str(message.attributes.get("channel") or "email")
        groupings_all: dict[str, Any] = {
            f"{owner}_id": owner_id,
            f"{owner}_message_id": message.id,
            "send_channel": channel,
        }
        if message.id not in grouped or not matches(conditions, groupings_all.get):
            continue
        # Names by what they name: the flow's own for flow_name, the message's otherwise.
        owner_record = ctx.account.find(owner, owner_id) if owner_id else None
        groupings_all[f"{owner}_name"] = (
            owner_record.attributes.get("name") if owner_record else None
        )
        groupings = {k: groupings_all.get(k, message.attributes.get("name")) for k in group_by}
        rows = grouped[message.id]
        if series:
            statistics: dict[str, Any] = {name: [] for name in wanted}
            for n, moment in enumerate(steps):
                upper = steps[n + 1] if n + 1 < len(steps) else end
                lo, hi = iso(moment), iso(upper)
                window = {
                    k: [e for e in v if lo <= e.attributes["datetime"] < hi]
                    for k, v in rows.items()
                }
                conv = [
                    e
                    for e in conversions.get(message.id, [])
                    if lo <= e.attributes["datetime"] < hi
                ]
                for name, value in _stats(wanted, window, conv, channel).items():
                    statistics[name].append(value)
        else:
            statistics = _stats(wanted, rows, conversions.get(message.id, []), channel)
        results.append({"groupings": groupings, "statistics": statistics})
        if owner_id and owner_id not in owners:
            owners.append(owner_id)
    attributes: dict[str, Any] = {"results": results}
    if series:
        attributes["date_times"] = [iso(s) for s in steps]
    rel = "campaigns" if owner == "campaign" else "flows"
    relationships: dict[str, Any] = {rel: {"data": [{"type": owner, "id": i} for i in owners]}}
    if owner == "flow":
        relationships["flow-messages"] = {
            "data": [
                {"type": "flow-message", "id": r["groupings"].get("flow_message_id")}
                for r in results
                if r["groupings"].get("flow_message_id")
            ]
        }
    kind = ctx.action.response.resource_type or ""
    return Reply(
        200,
        {
            "data": {
                "type": kind,
                "id": str(uuid.uuid4()),
                "attributes": attributes,
                "relationships": relationships,
            },
            "links": {"self": ctx.url()},
        },
    )


@handler
def query_campaign_values(ctx: Ctx) -> Reply:
    """Campaign statistics (recipients, open/click rates, conversions, revenue) over a timeframe.

    Differs: grouping by tag, variation or text format falls back to the message name.
    """
    return _values(ctx, owner="campaign", message_kind="campaign-message", series=False)


@handler
def query_flow_values(ctx: Ctx) -> Reply:
    """Flow message statistics over a timeframe, grouped by flow, message and channel.

    Differs: grouping by tag, variation or text format falls back to the message name.
    """
    return _values(ctx, owner="flow", message_kind="flow-message", series=False)


@handler
def query_flow_series(ctx: Ctx) -> Reply:
    """Flow message statistics per interval (hourly, daily, weekly, monthly) over a timeframe."""
    return _values(ctx, owner="flow", message_kind="flow-message", series=True)


def _segments(ctx: Ctx, series: bool) -> Reply:
    attrs = ctx.attributes()
    start, end = _timeframe(ctx.account, attrs["timeframe"])
    wanted = list(attrs["statistics"])
    conditions = _report_filter(ctx, ["segment_id"])
    steps: list[datetime] = []
    if series:
        steps = interval_steps(start, end, str(attrs["interval"]))
    results = []
    for segment in ctx.account.records("segment"):
        if not matches(conditions, {"segment_id": segment.id}.get):
            continue
        joined = sorted(ctx.account.joined.get(segment.id, {}).values())
        total = len(segment.many("profiles"))

        def stats(
            lo: str, hi: str, total: int = total, joined: list[str] = joined
        ) -> dict[str, int]:
            added = sum(1 for j in joined if lo <= j < hi)
            before_end = sum(1 for j in joined if j < hi)
            table = {
                "members_added": added,
                "members_removed": 0,
                "net_members_changed": added,
                "total_members": min(total, before_end),
            }
            return {name: table[name] for name in wanted}

        if series:
            bounds = [iso(s) for s in steps] + [iso(end)]
            per = [stats(bounds[n], bounds[n + 1]) for n in range(len(steps))]
            statistics: dict[str, Any] = {name: [p[name] for p in per] for name in wanted}
        else:
            statistics = stats(iso(start), iso(end))
        results.append({"groupings": {"segment_id": segment.id}, "statistics": statistics})
    attributes: dict[str, Any] = {"results": results}
    if series:
        attributes["date_times"] = [iso(s) for s in steps]
    kind = ctx.action.response.resource_type or ""
    return Reply(
        200,
        {
            "data": {"type": kind, "id": str(uuid.uuid4()), "attributes": attributes},
            "links": {"self": ctx.url()},
        },
    )


@handler
def query_segment_values(ctx: Ctx) -> Reply:
    """Segment membership statistics over a timeframe (members added, total members).

    Differs: members are never removed from seeded segments, so members_removed is 0.
    """
    return _segments(ctx, series=False)


@handler
def query_segment_series(ctx: Ctx) -> Reply:
    """Segment membership statistics per interval.

    Differs: members_removed is always 0.
    """
    return _segments(ctx, series=True)


AGG_FIELDS = {
    "datetime": FilterField(
        ("greater-or-equal", "greater-than", "less-than", "less-or-equal"), (), "datetime"
    )
}


@handler
def query_metric_aggregates(ctx: Ctx) -> Reply:
    """Count, sum or count unique profiles of one metric's events per interval, optionally by dimension.

    Differs: ``filter`` supports datetime bounds and equals() on event properties only.
    """
    attrs = ctx.attributes()
    metric = ctx.account.find("metric", str(attrs["metric_id"]))
    if metric is None:
        raise ApiError(
            404,
            "not_found",
            f"metric {attrs['metric_id']!r} does not exist.",
            pointer="/data/attributes/metric_id",
        )
    conditions: list[Condition] = []
    fields = dict(AGG_FIELDS)
    for text in attrs["filter"]:
        for name in _property_names(str(text)):
            fields.setdefault(name, FilterField(("equals", "any"), ("any",), "string"))
        conditions += parse_filter(str(text), ctx.action, fields)
    bounds = [c for c in conditions if c.field == "datetime"]
    starts = [c.value for c in bounds if c.op.startswith("greater")]
    ends = [c.value for c in bounds if c.op.startswith("less")]
    if not starts or not ends:
        raise bad_body(
            "/data/attributes/filter",
            'filter needs datetime bounds, e.g. ["greater-or-equal(datetime,2024-01-01T00:00:00)", "less-than(datetime,2024-02-01T00:00:00)"].',
        )
    start, end = max(starts), min(ends)
    interval = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}[
        str(attrs.get("interval") or "day")
    ]
    steps = interval_steps(start, end, interval, cap=1000)
    by = list(attrs.get("by") or [])
    buckets: dict[tuple[str, ...], list[list[Record]]] = defaultdict(lambda: [[] for _ in steps])
    other = [c for c in conditions if c.field != "datetime"]
    for event in ctx.account.records("event"):
        if event.rels.get("metric") != metric.id:
            continue
        when = parse_datetime(str(event.attributes["datetime"]))
        if not start <= when < end:
            continue
        props = event.attributes.get("event_properties") or {}
        if other and not matches(other, props.get):
            continue
        slot = max(bisect.bisect_right(steps, when) - 1, 0)
        key = tuple(_dimension(ctx.account, props, name) for name in by)
        buckets[key][slot].append(event)
    rows = []
    for key, slots in sorted(buckets.items()):
        measurements: dict[str, list[float]] = {}
        for name in attrs["measurements"]:
            if name == "count":
                measurements[name] = [float(len(s)) for s in slots]
            elif name == "sum_value":
                measurements[name] = [
                    round(
                        sum(
                            float((e.attributes.get("event_properties") or {}).get("$value") or 0)
                            for e in s
                        ),
                        2,
                    )
                    for s in slots
                ]
            else:
                measurements[name] = [float(len({e.rels.get("profile") for e in s})) for s in slots]
        rows.append({"dimensions": list(key), "measurements": measurements})
    return Reply(
        200,
        {
            "data": {
                "type": "metric-aggregate",
                "id": str(uuid.uuid4()),
                "attributes": {"dates": [iso(s) for s in steps], "data": rows},
                "links": {"self": ctx.url()},
            },
            "links": {"self": ctx.url()},
        },
    )


def _property_names(text: str) -> list[str]:
    # Field names of equals()/any() terms, so event-property filters pass the allow-list check.
    out = []
    for op in ("equals(", "any("):
        index = text.find(op)
        while index >= 0:
            start = index + len(op)
            comma = text.find(",", start)
            if comma > start:
                out.append(text[start:comma].strip())
            index = text.find(op, start)
    return out


def _message_owner(account: Account, message_id: str) -> tuple[str, str] | None:
    """``(flow id or "", channel)`` of a flow or campaign message, or None when unknown."""
    flow_message = account.find("flow-message", message_id)
    if flow_message is not None:
        action = account.find("flow-action", str(flow_message.rels.get("flow-action")))
        flow = str(action.rels.get("flow") or "") if action else ""
        return flow, str(flow_message.attributes.get("channel") or "email")
    campaign_message = account.find("campaign-message", message_id)
    if campaign_message is not None:
        definition = campaign_message.attributes.get("definition") or {}
        return "", str(definition.get("channel") or "email")
    return None


def _dimension(account: Account, props: dict[str, Any], name: str) -> str:
    """An event's value for a ``by`` dimension: its property, or what Klaviyo derives from the
    message it is attributed to ($attributed_flow, $attributed_channel)."""
    if name in props:
        return str(props[name])
    if name in ("$attributed_flow", "$attributed_channel") and props.get("$attributed_message"):
        owner = _message_owner(account, str(props["$attributed_message"]))
        if owner is not None:
            return owner[0] if name == "$attributed_flow" else owner[1]
    return ""

"""Seeded events over the last 90 days: message sends and engagement, orders and browsing.

Campaign and flow engagement events carry ``$message`` (the campaign- or flow-message id) and
``$flow`` where relevant; orders carry ``$value`` and, when a message drove them,
``$attributed_message``. The reporting handlers aggregate these.
"""

from __future__ import annotations

import random
import time
from typing import Any

from codemode.simulator.seed_data import PRODUCTS
from codemode.simulator.store import Account, Record

__all__ = ["seed_events"]


def iso_seconds(seconds: int) -> str:
    """ISO 8601 UTC for epoch seconds (a fast path of :func:`iso` for thousands of events)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


DAYS = 90


def seed_events(
    account: Account,
    rng: random.Random,
    *,
    metrics: dict[str, Record],
    profiles: list[Record],
    groups: dict[str, Record],
    campaigns: list[tuple[Record, Record, float]],
    flows: list[tuple[Record, list[Record]]],
    items: list[Record],
    count: int,
) -> None:
    """Add exactly ``count`` events (engagement first, browsing fills the rest), in time order."""
    now = account.now
    rows: list[
        tuple[float, str, str, dict[str, Any]]
    ] = []  # (seconds ago, metric, profile id, props)
    budget = count
    per_campaign = max(1, int(count * 0.028))

    def emit(ago: float, metric: str, profile: str, props: dict[str, Any]) -> bool:
        nonlocal budget
        if budget <= 0 or ago <= 0 or ago >= DAYS * 86400:
            return False
        rows.append((ago, metric, profile, props))
        budget -= 1
        return True

    attributed: list[tuple[float, str, str]] = []  # (seconds ago, profile, message id)
    for campaign, message, days in campaigns:
        if campaign.attributes["status"] != "Sent":
            continue
        channel = message.attributes["definition"]["channel"]
        audience = groups["SMS Subscribers" if channel == "sms" else "Newsletter"].many("profiles")
        recipients = rng.sample(audience, min(per_campaign, len(audience)))
        sent = days * 86400
        base = {"$message": message.id, "Campaign Name": campaign.attributes["name"]}
        if channel == "email":
            base["Subject"] = message.attributes["definition"]["content"]["subject"]
        for pid in recipients:
            emit(
                sent - rng.uniform(0, 600),
                f"Received {'SMS' if channel == 'sms' else 'Email'}",
                pid,
                dict(base),
            )
            if channel == "email" and rng.random() < 0.42:
                opened = sent - rng.uniform(600, 86400 * 2)
                emit(opened, "Opened Email", pid, dict(base))
                if rng.random() < 0.2:
                    emit(
                        opened - rng.uniform(5, 600),
                        "Clicked Email",
                        pid,
                        {**base, "URL": "https://shop/link"},
                    )
                    if rng.random() < 0.3:
                        attributed.append((opened - rng.uniform(600, 7200), pid, message.id))
            elif channel == "sms" and rng.random() < 0.12:
                emit(sent - rng.uniform(60, 7200), "Clicked SMS", pid, dict(base))
                if rng.random() < 0.25:
                    attributed.append((sent - rng.uniform(7200, 14400), pid, message.id))
    for flow, messages in flows:
        if flow.attributes["status"] != "live":
            continue
        for message in messages:
            for _ in range(max(1, per_campaign // 3)):
                pid = profiles[rng.randrange(len(profiles))].id
                sent = rng.uniform(3600, DAYS * 86400)
                flow_props: dict[str, Any] = {
                    "$message": message.id,
                    "$flow": flow.id,
                    "Subject": message.attributes["content"]["subject"],
                }
                emit(sent, "Received Email", pid, dict(flow_props))
                if rng.random() < 0.5:
                    emit(sent - rng.uniform(60, 86400), "Opened Email", pid, dict(flow_props))
                    if rng.random() < 0.25:
                        emit(
                            sent - rng.uniform(86400, 90000), "Clicked Email", pid, dict(flow_props)
                        )
                        if rng.random() < 0.35:
                            attributed.append((sent - rng.uniform(90000, 100000), pid, message.id))
    orders = max(1, count // 20)
    for n in range(orders):
        if n < len(attributed):
            ago, pid, message_id = attributed[n]
        else:
            ago, pid, message_id = (
                rng.uniform(60, DAYS * 86400),
                profiles[rng.randrange(len(profiles))].id,
                "",
            )
        picks = rng.sample(PRODUCTS, rng.choice((1, 1, 2, 3)))
        value = round(sum(p[3] for p in picks), 2)
        props: dict[str, Any] = {
            "$value": value,
            "OrderId": f"#{1000 + n}",
            "ItemNames": [p[1] for p in picks],
            "Items": [
                {
                    "ProductID": p[0],
                    "ProductName": p[1],
                    "Quantity": 1,
                    "ItemPrice": p[3],
                    "Categories": [p[2]],
                }
                for p in picks
            ],
            "DiscountCode": rng.choice([None, None, "WELCOME10", "VIPSUMMIT20"]),
        }
        if message_id:
            props["$attributed_message"] = message_id
        if emit(ago, "Placed Order", pid, props):
            for p in picks:
                emit(
                    ago - 1,
                    "Ordered Product",
                    pid,
                    {
                        "$value": p[3],
                        "ProductID": p[0],
                        "ProductName": p[1],
                        "Categories": [p[2]],
                        "OrderId": props["OrderId"],
                    },
                )
    browse = (
        "Viewed Product",
        "Viewed Product",
        "Viewed Product",
        "Active on Site",
        "Added to Cart",
        "Started Checkout",
    )
    while budget > 0:
        metric = rng.choice(browse)
        product = rng.choice(PRODUCTS)
        props = {
            "ProductID": product[0],
            "ProductName": product[1],
            "Price": product[3],
            "Categories": [product[2]],
        }
        if metric == "Active on Site":
            props = {"page": f"https://shop/{product[2].lower().replace(' ', '-')}"}
        elif metric == "Started Checkout":
            props = {"$value": product[3], "ItemNames": [product[1]]}
        emit(
            rng.uniform(60, DAYS * 86400), metric, profiles[rng.randrange(len(profiles))].id, props
        )
    rows.sort(key=lambda row: -row[0])
    epoch = int(now.timestamp())
    by_id = {p.id: p for p in profiles}
    metric_ids = {name: m.id for name, m in metrics.items()}
    for ago, metric, pid, row_props in rows:
        seconds = epoch - int(ago)
        stamp = iso_seconds(seconds)
        account.add(
            "event",
            {
                "timestamp": seconds,
                "datetime": stamp,
                "event_properties": row_props,
                "uuid": account.ids.uuid(),
            },
            {"metric": metric_ids[metric], "profile": pid, "attributions": []},
            created=stamp,
            millis=seconds * 1000,
        )
        profile = by_id[pid]
        profile.attributes["last_event_date"] = stamp
        if metric == "Placed Order":
            analytics = profile.attributes["predictive_analytics"]
            analytics["historic_number_of_orders"] += 1
            analytics["historic_clv"] = round(analytics["historic_clv"] + row_props["$value"], 2)
            analytics["total_clv"] = round(
                analytics["historic_clv"] + analytics["predicted_clv"], 2
            )
            analytics["average_order_value"] = round(
                analytics["historic_clv"] / analytics["historic_number_of_orders"], 2
            )

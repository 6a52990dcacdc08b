"""The deterministic demo account: a believable outdoor-gear shop, the same for the same seed.

Everything is anchored to the account's ``now`` (by default today, UTC midnight), so "the last 30
days" always holds data. Building the default account (1,000 profiles, 20,000 events) takes well
under a second. The records that carry prompt-injection text on purpose are listed in
:mod:`codemode.simulator.seed_data`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from codemode.simulator.seed_data import (
    BRANDS,
    CITIES,
    FIRST_NAMES,
    INJECTIONS,
    LAST_NAMES,
    METRICS,
)
from codemode.simulator.seed_events import seed_events
from codemode.simulator.seed_messaging import MessagingSeeder
from codemode.simulator.seed_more import MoreSeeder
from codemode.simulator.seed_shop import ShopSeeder
from codemode.simulator.store import Account, Record

__all__ = ["seed_account"]


class _Seeder(MessagingSeeder, ShopSeeder, MoreSeeder):
    """People and groups here; messaging and shop records in their own modules."""

    def account(self) -> None:
        b = self.brand
        self.a.add(
            "account",
            {
                "contact_information": {
                    "default_sender_email": b["email"],
                    "default_sender_name": b["name"],
                    "organization_name": b["name"],
                    "website_url": f"https://{b['domain']}",
                    "street_address": {
                        "address1": "1200 Pearl St",
                        "address2": None,
                        "city": b["city"],
                        "region": b["region"],
                        "country": "US",
                        "zip": "80302",
                    },
                },
                "industry": "Apparel & Accessories",
                "locale": "en-US",
                "preferred_currency": "USD",
                "public_api_key": self.a.company_id,
                "test_account": False,
                "timezone": "America/Denver",
            },
            ident=self.a.company_id,
            created=self.ago(900),
        )

    def metrics(self) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for name, integration, category in METRICS:
            rec = self.add(
                "metric",
                {
                    "name": name,
                    "integration": {
                        "object": "integration",
                        "id": integration[:6].upper(),
                        "key": integration.lower(),
                        "name": integration,
                        "category": category,
                    },
                },
                days=700,
            )
            out[name] = rec
        for metric_name, props in (
            ("Placed Order", ("$value", "Items", "ItemNames", "DiscountCode")),
            ("Viewed Product", ("ProductName", "Price", "Categories")),
        ):
            for prop in props:
                self.add(
                    "metric-property",
                    {
                        "label": prop.lstrip("$"),
                        "property": prop,
                        "inferred_type": "number" if prop in ("$value", "Price") else "string",
                        "sample_values": [],
                    },
                    {"metric": out[metric_name].id},
                    days=600,
                )
        return out

    def tags(self) -> dict[str, Record]:
        groups = {
            "Season": (False, ["Spring", "Summer", "Fall", "Winter"]),
            "Goal": (True, ["Acquisition", "Retention", "Win-back"]),
            "Uncategorized": (False, ["Promo", "Newsletter"]),
        }
        tags: dict[str, Record] = {}
        for name, (exclusive, children) in groups.items():
            group = self.add(
                "tag-group",
                {"name": name, "exclusive": exclusive, "default": name == "Uncategorized"},
                days=400,
            )
            for child in children:
                tags[child] = self.add(
                    "tag",
                    {"name": child},
                    {
                        "tag-group": group.id,
                        "campaigns": [],
                        "flows": [],
                        "lists": [],
                        "segments": [],
                    },
                    days=400,
                )
        return tags

    def profiles(self, count: int) -> list[Record]:
        rng, out = self.rng, []
        used: set[str] = set()
        for n in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if n == 7:
                first, last = "Morgan", "Reyes"
            city = rng.choice(CITIES)
            days = rng.uniform(1, 720) if n else 400.0
            email_ok = rng.random() < 0.82
            sms_ok = rng.random() < 0.35
            stamp = self.ago(days)
            email = f"{first.lower()}.{last.lower()}@{'example.com' if n % 3 else 'mail.example'}"
            if email in used:
                email = email.replace("@", f"{n}@")
            used.add(email)
            properties: dict[str, Any] = {
                "favorite_activity": rng.choice(
                    ["hiking", "trail running", "climbing", "camping", "skiing", "paddling"]
                ),
                "shoe_size": rng.choice([7, 8, 9, 10, 11, 12]),
                "loyalty_tier": rng.choice(["Basecamp", "Basecamp", "Ridge", "Summit"]),
                "source": rng.choice(["popup", "checkout", "instagram", "in-store", "referral"]),
            }
            if n == 7:
                properties["notes"] = INJECTIONS["profile_note"]
            phone = f"+1303555{1000 + n:04d}" if sms_ok or rng.random() < 0.3 else None
            attrs = {
                "email": email,
                "phone_number": phone,
                "external_id": f"shop-{100000 + n}" if rng.random() < 0.6 else None,
                "first_name": first,
                "last_name": last,
                "organization": None,
                "locale": "en-US" if city[2] == "US" else "en-CA",
                "title": None,
                "image": None,
                "location": {
                    "address1": f"{rng.randint(10, 9999)} {rng.choice(['Pine', 'Aspen', 'Cedar', 'Summit', 'River', 'Canyon'])} {rng.choice(['St', 'Ave', 'Rd', 'Way'])}",
                    "address2": None,
                    "city": city[0],
                    "region": city[1],
                    "country": "United States" if city[2] == "US" else "Canada",
                    "zip": city[3],
                    "timezone": city[4],
                    "latitude": round(city[5] + rng.uniform(-0.05, 0.05), 4),
                    "longitude": round(city[6] + rng.uniform(-0.05, 0.05), 4),
                    "ip": f"73.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}",
                },
                "properties": properties,
                "created": stamp,
                "updated": stamp,
                "last_event_date": None,
                "subscriptions": _subscriptions(email_ok, sms_ok, stamp, phone),
                "predictive_analytics": {
                    "historic_clv": 0.0,
                    "predicted_clv": round(rng.uniform(20, 600), 2),
                    "total_clv": 0.0,
                    "historic_number_of_orders": 0,
                    "predicted_number_of_orders": round(rng.uniform(0, 4), 2),
                    "average_days_between_orders": round(rng.uniform(20, 200), 1),
                    "average_order_value": 0.0,
                    "churn_probability": round(rng.uniform(0, 1), 2),
                    "expected_date_of_next_order": None,
                    "ranked_channel_affinity": ["email", "sms"] if sms_ok else ["email"],
                },
            }
            out.append(
                self.a.add(
                    "profile", attrs, {"push-tokens": [], "conversations": []}, created=stamp
                )
            )
        return out

    def groups(self, profiles: list[Record], tags: dict[str, Record]) -> dict[str, Record]:
        rng = self.rng
        specs: dict[str, tuple[str, Callable[[Record], bool]]] = {
            "Newsletter": (
                "list",
                lambda p: (
                    p.attributes["subscriptions"]["email"]["marketing"]["consent"] == "SUBSCRIBED"
                ),
            ),
            "SMS Subscribers": (
                "list",
                lambda p: (
                    p.attributes["subscriptions"]["sms"]["marketing"]["consent"] == "SUBSCRIBED"
                ),
            ),
            "Trail Running Club": (
                "list",
                lambda p: p.attributes["properties"]["favorite_activity"] == "trail running",
            ),
            "Back in Stock Waitlist": ("list", lambda p: rng.random() < 0.05),
            "VIP Customers": (
                "segment",
                lambda p: p.attributes["properties"]["loyalty_tier"] == "Summit",
            ),
            "Engaged Last 30 Days": ("segment", lambda p: rng.random() < 0.4),
            "Lapsed Customers": ("segment", lambda p: rng.random() < 0.15),
            "Canada Shoppers": (
                "segment",
                lambda p: p.attributes["location"]["country"] == "Canada",
            ),
        }
        metric = {m.attributes.get("name"): m.id for m in self.a.records("metric")}

        def counted(name: str, operator: str, value: int, days: int) -> dict[str, Any]:
            return {
                "type": "profile-metric",
                "metric_id": metric.get(name),
                "measurement": "count",
                "measurement_filter": {"type": "numeric", "operator": operator, "value": value},
                "timeframe_filter": {
                    "type": "date",
                    "operator": "in-the-last",
                    "quantity": days,
                    "unit": "day",
                },
            }

        # The conditions the segments stand for, as Klaviyo's segment API encodes them.
        conditions: dict[str, dict[str, Any]] = {
            "VIP Customers": {
                "type": "profile-property",
                "property": "properties['loyalty_tier']",
                "filter": {"type": "string", "operator": "equals", "value": "Summit"},
            },
            "Engaged Last 30 Days": counted("Opened Email", "greater-than-or-equal", 1, 30),
            "Lapsed Customers": counted("Placed Order", "equals", 0, 180),
        }
        out: dict[str, Record] = {}
        for name, (kind, rule) in specs.items():
            members = [p.id for p in profiles if rule(p)]
            attrs: dict[str, Any] = {"name": name}
            if kind == "list":
                attrs["opt_in_process"] = (
                    "double_opt_in" if name == "Newsletter" else "single_opt_in"
                )
            else:
                attrs.update(
                    {
                        "definition": {
                            "condition_groups": (
                                [{"conditions": [conditions[name]]}] if name in conditions else []
                            )
                        },
                        "is_active": True,
                        "is_processing": False,
                        "is_starred": name == "VIP Customers",
                    }
                )
            group = self.add(kind, attrs, {"profiles": members}, days=500)
            self.a.joined[group.id] = {pid: self.ago(rng.uniform(0, 400)) for pid in members}
            out[name] = group
        tags["Newsletter"].many("lists").append(out["Newsletter"].id)
        tags["Retention"].many("segments").append(out["VIP Customers"].id)
        return out


def _subscriptions(email_ok: bool, sms_ok: bool, stamp: str, phone: str | None) -> dict[str, Any]:
    email_consent = "SUBSCRIBED" if email_ok else "UNSUBSCRIBED"
    sms_consent = "SUBSCRIBED" if sms_ok and phone else "NEVER_SUBSCRIBED"
    return {
        "email": {
            "marketing": {
                "can_receive_email_marketing": email_ok,
                "consent": email_consent,
                "consent_timestamp": stamp,
                "last_updated": stamp,
                "method": "FORM",
                "method_detail": "Spring Newsletter Popup",
                "custom_method_detail": None,
                "double_optin": True,
                "suppression": [],
                "list_suppressions": [],
            }
        },
        "sms": {
            "marketing": {
                "can_receive_sms_marketing": sms_consent == "SUBSCRIBED",
                "consent": sms_consent,
                "consent_timestamp": stamp if sms_consent == "SUBSCRIBED" else None,
                "method": "TEXT",
                "method_detail": "JOIN",
                "last_updated": stamp,
            },
            "transactional": None,
        },
        "mobile_push": None,
    }


def seed_account(
    account: Account, *, seed: int, profiles: int, events: int, brand: int = 0
) -> None:
    """Fill an empty account with the demo brand's data (deterministic for ``seed`` and ``now``)."""
    rng = random.Random(seed)
    seeder = _Seeder(account, rng, BRANDS[brand % len(BRANDS)])
    seeder.account()
    metrics = seeder.metrics()
    tags = seeder.tags()
    people = seeder.profiles(max(1, profiles))
    groups = seeder.groups(people, tags)
    campaigns = seeder.campaigns(groups, tags)
    flows = seeder.flows(groups, metrics, tags)
    items = seeder.catalog()
    seeder.coupons(people)
    seeder.misc(metrics)
    seeder.newer(metrics, people, items)
    seed_events(
        account,
        rng,
        metrics=metrics,
        profiles=people,
        groups=groups,
        campaigns=campaigns,
        flows=flows,
        items=items,
        count=events,
    )
    account.clean()

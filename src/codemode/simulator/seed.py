"""The deterministic demo account: a believable outdoor-gear shop, the same for the same seed.

Everything is anchored to the account's ``now`` (by default today, UTC midnight), so "the last 30
days" always holds data. Building the default account (1,000 profiles, 20,000 events) takes well
under a second. The records that carry prompt-injection text on purpose are listed in
:mod:`codemode.simulator.seed_data`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from codemode.simulator.documents import shape
from codemode.simulator.seed_data import (
    BRANDS,
    CATEGORIES,
    CITIES,
    FIRST_NAMES,
    INJECTIONS,
    LAST_NAMES,
    METRICS,
    PRODUCTS,
    WEBHOOK_TOPICS,
)
from codemode.simulator.seed_events import seed_events
from codemode.simulator.store import Account, Record, iso

__all__ = ["seed_account"]


class _Seeder:
    def __init__(self, account: Account, rng: random.Random, brand: dict[str, str]) -> None:
        self.a = account
        self.rng = rng
        self.brand = brand
        self.now = account.now

    def ago(self, days: float) -> str:
        return iso(self.now - timedelta(days=days))

    def add(
        self,
        kind: str,
        attrs: dict[str, Any],
        rels: dict[str, Any] | None = None,
        *,
        days: float = 120.0,
        ident: str | None = None,
    ) -> Record:
        stamp = self.ago(days)
        known = shape(kind)["attributes"]
        for name in ("created", "created_at", "updated", "updated_at"):
            if name in known:
                attrs.setdefault(name, stamp)
        return self.a.add(kind, attrs, rels, created=stamp, ident=ident)

    # -- account, metrics, tags ---------------------------------------------------------------
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

    # -- profiles, lists, segments ------------------------------------------------------------
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
                        "definition": {"condition_groups": []},
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

    # -- templates, campaigns, flows ----------------------------------------------------------
    def template(
        self, name: str, heading: str, *, injected: bool = False, days: float = 200
    ) -> Record:
        comment = INJECTIONS["template_comment"] if injected else ""
        html = (
            f"<html><body>{comment}<h1>{heading}</h1><p>Hi {{{{ first_name|default:'there' }}}},</p>"
            f'<p>New gear from {self.brand["name"]} is waiting.</p><a href="https://{self.brand["domain"]}/shop">Shop now</a>'
            "{% unsubscribe %}</body></html>"
        )
        return self.add(
            "template",
            {
                "name": name,
                "editor_type": "CODE",
                "html": html,
                "text": f"{heading} - shop now",
                "amp": None,
            },
            days=days,
        )

    def campaigns(
        self, groups: dict[str, Record], tags: dict[str, Record]
    ) -> list[tuple[Record, Record, float]]:
        specs = [
            ("Spring Trail Sale", "email", 80.0, "Sent", "Spring"),
            ("New Arrivals: Ultralight Packs", "email", 62.0, "Sent", "Spring"),
            ("Summer Camping Checklist", "email", 45.0, "Sent", "Summer"),
            ("Flash Sale: 24 Hours Only", "sms", 33.0, "Sent", "Promo"),
            ("Trail Running Club Meetup", "email", 21.0, "Sent", "Retention"),
            ("VIP Early Access: Fall Layers", "email", 12.0, "Sent", "Fall"),
            ("Weekend Restock Alert", "sms", 5.0, "Sent", "Promo"),
            ("Winter Preview", "email", -7.0, "Scheduled", "Winter"),
            ("Holiday Gift Guide (draft)", "email", -30.0, "Draft", "Winter"),
            ("Gear Care Tips (draft)", "email", -40.0, "Draft", "Fall"),
        ]
        out = []
        for n, (name, channel, days, status, tag) in enumerate(specs):
            audience = (
                groups["SMS Subscribers"]
                if channel == "sms"
                else groups["VIP Customers" if "VIP" in name else "Newsletter"]
            )
            send_time = self.ago(days) if status != "Draft" else None
            campaign = self.add(
                "campaign",
                {
                    "name": name,
                    "status": status,
                    "archived": False,
                    "audiences": {"included": [audience.id], "excluded": []},
                    "send_options": {"use_smart_sending": True},
                    "tracking_options": {
                        "add_tracking_params": True,
                        "is_tracking_clicks": True,
                        "is_tracking_opens": channel == "email",
                        "custom_tracking_params": None,
                    },
                    "send_strategy": {
                        "method": "static",
                        "datetime": send_time or self.ago(-60),
                        "options": None,
                    },
                    "scheduled_at": self.ago(days + 2) if status != "Draft" else None,
                    "send_time": send_time,
                },
                days=max(days + 5, 1),
            )
            tags[tag].many("campaigns").append(campaign.id)
            template = self.template(
                f"{name} - template", name, injected=n == 0, days=max(days + 6, 1)
            )
            if channel == "email":
                definition: dict[str, Any] = {
                    "channel": "email",
                    "label": name,
                    "content": {
                        "subject": f"{name} | {self.brand['name']}",
                        "preview_text": "Gear up for the trail",
                        "from_email": self.brand["email"],
                        "from_label": self.brand["name"],
                        "reply_to_email": None,
                        "cc_email": None,
                        "bcc_email": None,
                    },
                }
            else:
                definition = {
                    "channel": "sms",
                    "content": {"body": f"{self.brand['name']}: {name}! Reply STOP to opt out."},
                    "render_options": {
                        "shorten_links": True,
                        "add_org_prefix": True,
                        "add_info_link": True,
                        "add_opt_out_language": True,
                    },
                }
            message = self.add(
                "campaign-message",
                {
                    "definition": definition,
                    "send_times": [{"datetime": send_time, "is_local": False}] if send_time else [],
                },
                {"campaign": campaign.id, "template": template.id, "image": None},
                days=max(days + 5, 1),
            )
            out.append((campaign, message, days))
        return out

    def flows(
        self, groups: dict[str, Record], metrics: dict[str, Record], tags: dict[str, Record]
    ) -> list[tuple[Record, list[Record]]]:
        specs = [
            ("Welcome Series", "Added to List", groups["Newsletter"].id, "live", 3),
            ("Abandoned Checkout", "Metric", metrics["Started Checkout"].id, "live", 2),
            ("Browse Abandonment", "Metric", metrics["Viewed Product"].id, "live", 1),
            ("Post-Purchase Thank You", "Metric", metrics["Placed Order"].id, "live", 2),
            ("VIP Win-back", "Added to List", groups["Lapsed Customers"].id, "manual", 1),
            ("Back in Stock", "Metric", metrics["Viewed Product"].id, "draft", 1),
        ]
        out = []
        for name, trigger_type, trigger, status, steps in specs:
            flow = self.add(
                "flow",
                {
                    "name": name,
                    "status": status,
                    "archived": False,
                    "trigger_type": trigger_type,
                    "definition": None,
                },
                {"triggers": [trigger]},
                days=300,
            )
            if name in ("Welcome Series", "VIP Win-back"):
                tags["Acquisition" if name.startswith("Welcome") else "Win-back"].many(
                    "flows"
                ).append(flow.id)
            messages = []
            for step in range(steps):
                if step:
                    delay = self.add(
                        "flow-action",
                        {"action_type": "TIME_DELAY", "status": status},
                        {"flow": flow.id},
                        days=300,
                    )
                    delay.attributes["definition"] = {
                        "id": delay.id,
                        "type": "time-delay",
                        "links": {"next": None},
                        "data": {"unit": "days", "value": step, "timezone": "profile"},
                    }
                action = self.add(
                    "flow-action",
                    {"action_type": "SEND_EMAIL", "status": status},
                    {"flow": flow.id},
                    days=300,
                )
                action.attributes["definition"] = {
                    "id": action.id,
                    "type": "send-email",
                    "links": {"next": None},
                    "data": None,
                }
                template = self.template(
                    f"{name} #{step + 1}", f"{name} - step {step + 1}", days=300
                )
                messages.append(
                    self.add(
                        "flow-message",
                        {
                            "name": f"{name} Email {step + 1}",
                            "channel": "email",
                            "definition": None,
                            "content": {
                                "subject": f"{name}: step {step + 1}",
                                "from_email": self.brand["email"],
                            },
                        },
                        {"flow-action": action.id, "template": template.id},
                        days=300,
                    )
                )
            out.append((flow, messages))
        return out

    # -- catalog, coupons, misc ---------------------------------------------------------------
    def catalog(self) -> list[Record]:
        categories = {
            name: self.add(
                "catalog-category",
                {"external_id": name.lower().replace(" ", "-"), "name": name},
                ident=f"$custom:::$default:::{name.lower().replace(' ', '-')}",
                days=500,
            )
            for name in CATEGORIES
        }
        items = []
        for sku, title, category, price in PRODUCTS:
            description = (
                INJECTIONS["product_description"]
                if sku == "RDG-DOWN-JKT"
                else f"{title}: built for long days outside."
            )
            url = f"https://{self.brand['domain']}/products/{sku.lower()}"
            item = self.add(
                "catalog-item",
                {
                    "external_id": sku,
                    "title": title,
                    "description": description,
                    "price": price,
                    "url": url,
                    "image_full_url": f"{url}.jpg",
                    "image_thumbnail_url": f"{url}-thumb.jpg",
                    "images": [f"{url}.jpg"],
                    "custom_metadata": {"category": category},
                    "published": True,
                },
                {"categories": [categories[category].id]},
                ident=f"$custom:::$default:::{sku}",
                days=400,
            )
            items.append(item)
            for size in ("S", "M", "L") if category in ("Jackets", "Base Layers") else ("ONE",):
                vsku = f"{sku}-{size}"
                self.add(
                    "catalog-variant",
                    {
                        "external_id": vsku,
                        "sku": vsku,
                        "title": f"{title} / {size}",
                        "description": f"{title} in size {size}",
                        "price": price,
                        "url": url,
                        "image_full_url": f"{url}.jpg",
                        "image_thumbnail_url": f"{url}-thumb.jpg",
                        "images": [f"{url}.jpg"],
                        "custom_metadata": {},
                        "inventory_policy": 1,
                        "inventory_quantity": self.rng.randint(0, 60),
                        "published": True,
                    },
                    {"item": item.id},
                    ident=f"$custom:::$default:::{vsku}",
                    days=400,
                )
        return items

    def coupons(self, profiles: list[Record]) -> None:
        for code, description, count in (
            ("WELCOME10", "10% off a first order", 30),
            ("VIPSUMMIT20", "20% off for VIP members", 15),
            ("TRAILFRIEND", INJECTIONS["coupon_description"], 5),
        ):
            coupon = self.add(
                "coupon",
                {
                    "external_id": code,
                    "description": description,
                    "monitor_configuration": {"low_balance_threshold": 10},
                },
                ident=code,
                days=200,
            )
            for n in range(count):
                unique = f"{code[:4]}-{self.rng.getrandbits(32):08X}"
                owner = profiles[self.rng.randrange(len(profiles))].id if n % 2 == 0 else None
                self.add(
                    "coupon-code",
                    {
                        "unique_code": unique,
                        "expires_at": self.ago(-60 - n),
                        "status": "ASSIGNED_TO_PROFILE" if owner else "UNASSIGNED",
                    },
                    {"coupon": coupon.id, "profile": owner},
                    ident=f"{code}-{unique}",
                    days=150 - n,
                )

    def misc(self, metrics: dict[str, Record]) -> None:
        topics = [
            self.a.add("webhook-topic", {}, ident=t, created=self.ago(900)) for t in WEBHOOK_TOPICS
        ]
        self.add(
            "webhook",
            {
                "name": "Order sync to ERP",
                "description": "Posts placed orders to the warehouse system",
                "endpoint_url": f"https://hooks.{self.brand['domain']}/klaviyo/orders",
                "enabled": True,
            },
            {"webhook-topics": [topics[0].id]},
            days=100,
        )
        self.add(
            "webhook",
            {
                "name": "Engagement to data lake",
                "description": None,
                "endpoint_url": "https://ingest.analytics.example/klaviyo",
                "enabled": False,
            },
            {"webhook-topics": [topics[1].id, topics[2].id]},
            days=60,
        )
        for n, name in enumerate(
            (
                "hero-spring-trail.jpg",
                "logo-dark.png",
                "pack-lineup.jpg",
                "tent-sunset.jpg",
                "socks-flatlay.png",
                "holiday-banner.gif",
            )
        ):
            fmt = name.rsplit(".", 1)[-1]
            self.add(
                "image",
                {
                    "name": name,
                    "format": fmt,
                    "hidden": False,
                    "image_url": f"https://cdn.{self.brand['domain']}/img/{name}",
                    "size": 40_000 + 7_919 * n,
                },
                days=180 - 20 * n,
            )
        for name, status in (
            ("Spring Newsletter Popup", "live"),
            ("Exit Intent 10% Off", "live"),
            ("SMS Opt-in Flyout", "draft"),
            ("Back in Stock Embed", "live"),
        ):
            self.add(
                "form",
                {"name": name, "status": status, "ab_test": False, "definition": {"versions": []}},
                {"form-versions": []},
                days=150,
            )
        for name, text in (
            ("Footer - Returns Policy", INJECTIONS["universal_content"]),
            ("Header - Free Shipping Banner", "Free shipping on orders over $75."),
            ("Signature - Trail Team", "See you on the trail, the Trail Team"),
        ):
            self.add(
                "template-universal-content",
                {
                    "name": name,
                    "definition": {
                        "content_type": "block",
                        "type": "text",
                        "data": {"content": text, "display_options": {}, "styles": {}},
                    },
                    "screenshot_status": "completed",
                    "screenshot_url": "",
                },
                days=120,
            )
        self.add(
            "custom-metric",
            {
                "name": "Total Revenue (all sources)",
                "definition": {
                    "aggregation_method": "value",
                    "metric_groups": [
                        {"metric_id": metrics["Placed Order"].id, "metric_filters": None}
                    ],
                },
            },
            {"metrics": [metrics["Placed Order"].id]},
            days=90,
        )


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
    account.dirty.clear()

"""Demo seeding of the shop: catalog categories, items and variants, coupons, webhooks, images,
forms, universal content and a custom metric."""

from __future__ import annotations

from codemode.simulator.seed_base import Seeder
from codemode.simulator.seed_data import CATEGORIES, INJECTIONS, PRODUCTS, WEBHOOK_TOPICS
from codemode.simulator.store import Record

__all__ = ["ShopSeeder"]


class ShopSeeder(Seeder):
    """Catalog, coupons and codes, webhooks and topics, images, forms, universal content."""

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

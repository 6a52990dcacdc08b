"""Demo data for the newer areas: reviews, push tokens, conversations, form versions, custom
objects (a loyalty data source feeding an object type), mapped metrics, metric properties,
tracking settings, web feeds, geofences and the IP allowlist. Small and fixed, so it costs
milliseconds of the account build."""

from __future__ import annotations

from typing import Any

from codemode.simulator.handlers.objects import ingest
from codemode.simulator.seed_base import Seeder
from codemode.simulator.store import Record

__all__ = ["MoreSeeder"]

REVIEWS = (
    (5, "published", "Warm and light", "Kept me warm at 10,000 ft without the bulk."),
    (4, "featured", "Great fit", "True to size; the hood fits over a helmet."),
    (2, "rejected", "Too small", "Ran small in the shoulders."),
    (5, "pending", "Best pack yet", "Carried 35 lb for three days in comfort."),
    (3, "published", "Solid but heavy", "Durable, a little heavier than listed."),
    (1, "pending", "Broke on day one", "The zipper split on the first morning."),
)
PROPERTIES = {
    "Placed Order": (("$value", "number"), ("ItemNames", "list"), ("Categories", "list")),
    "Viewed Product": (("ProductName", "string"), ("Price", "number"), ("URL", "string")),
    "Added to Cart": (("ProductName", "string"), ("$value", "number")),
}

# Every metric records at least these (Klaviyo adds $event_id and $value to each event).
COMMON = (("$event_id", "string"), ("$value", "number"))


class MoreSeeder(Seeder):
    """Seeds the areas beyond the core actions; each method adds one area."""

    def newer(self, metrics: dict[str, Record], people: list[Record], items: list[Record]) -> None:
        self.reviews(people, items)
        self.devices(people)
        self.form_versions()
        self.custom_objects()
        self.metric_extras(metrics)
        self.settings()
        self.message_images()

    def message_images(self) -> None:
        images = list(self.a.records("image"))
        for n, message in enumerate(self.a.records("campaign-message")):
            if images and (message.attributes.get("definition") or {}).get("channel") == "email":
                message.rels["image"] = images[n % len(images)].id

    def reviews(self, people: list[Record], items: list[Record]) -> None:
        for n, (rating, status, title, content) in enumerate(REVIEWS):
            item = items[n % len(items)] if items else None
            person = people[(n * 7) % len(people)]
            value: dict[str, Any] = {"value": status}
            if status == "rejected":
                value["rejection_reason"] = {"reason": "other", "status_explanation": "off-topic"}
            self.add(
                "review",
                {
                    "email": person.attributes.get("email"),
                    "status": value,
                    "verified": n % 2 == 0,
                    "review_type": "review",
                    "images": [],
                    "product": {
                        "url": f"https://{self.brand['domain']}/products/{item.id if item else n}",
                        "name": str(item.attributes.get("title") if item else "Gear"),
                        "image_url": None,
                        "external_id": str(item.attributes.get("external_id")) if item else None,
                    },
                    "rating": rating,
                    "author": f"{person.attributes.get('first_name')} {str(person.attributes.get('last_name') or '')[:1]}.",
                    "content": content,
                    "title": title,
                    "smart_quote": None,
                    "public_reply": None,
                },
                {"events": [], "item": item.id if item else None},
                days=40 - 5 * n,
            )

    def devices(self, people: list[Record]) -> None:
        for n, person in enumerate(people[:6]):
            platform = "ios" if n % 2 else "android"
            self.add(
                "push-token",
                {
                    "token": f"{'apns' if platform == 'ios' else 'fcm'}-demo-token-{n:04d}",
                    "enablement_status": "AUTHORIZED" if n != 3 else "DENIED",
                    "platform": platform,
                    "vendor": "apns" if platform == "ios" else "fcm",
                    "background": "AVAILABLE",
                    "recorded_date": self.ago(20 - n),
                    "metadata": {"os_name": platform, "app_name": "Trail Companion"},
                },
                {"profile": person.id},
                days=20 - n,
            )
        for n, person in enumerate(people[:3]):
            talk = self.add(
                "conversation",
                {"channel": ("sms", "whatsapp", "instagram")[n]},
                {"profile": person.id},
                days=10 - n,
            )
            person.many("conversations").append(talk.id)
            person.rels["conversation"] = talk.id

    def form_versions(self) -> None:
        kinds = ("popup", "flyout", "embed", "banner")
        for n, form in enumerate(list(self.a.records("form"))):
            for variant in ("A", "B") if n == 0 else ("A",):
                self.add(
                    "form-version",
                    {
                        "form_type": kinds[n % len(kinds)],
                        "variation_name": f"Variation {variant}",
                        "ab_test": {"variation_name": f"Variation {variant}"} if n == 0 else None,
                        "status": "live" if form.attributes.get("status") == "live" else "draft",
                    },
                    {"form": form.id},
                    days=140,
                )

    def custom_objects(self) -> None:
        source = self.add(
            "data-source",
            {
                "title": "Loyalty platform",
                "description": "Member accounts synced nightly",
                "visibility": "private",
                "namespace": "loyalty",
            },
            days=60,
        )
        object_type = self.add(
            "object-type",
            {
                "title": "Loyalty Account",
                "description": "A member's points and tier",
                "namespace": "loyalty",
                "status": "active",
                "meta": None,
            },
            {"schema-versions": []},
            days=60,
        )
        mapping = self.add(
            "source-mapping",
            {
                "property_mappings": [
                    {
                        "id": n,
                        "type": "simple",
                        "source": {
                            "data_path": name,
                            "id_path": "member_id",
                            "source_id": source.id,
                        },
                    }
                    for n, name in enumerate(("member_id", "tier", "points"), start=1)
                ],
                "relationship_mappings": [],
            },
            days=60,
        )
        schema = self.add(
            "object-schema",
            {
                "title": "Loyalty Account",
                "description": "",
                "properties": [
                    {"id": 1, "name": "member_id", "type": "string"},
                    {"id": 2, "name": "tier", "type": "string"},
                    {"id": 3, "name": "points", "type": "int"},
                ],
                "required": ["member_id"],
                "status": "active",
                "visibility": "private",
                "published_at": self.ago(60),
                "meta": None,
            },
            {"source-mapping": mapping.id, "object-type": object_type.id},
            days=60,
        )
        draft = self.add(
            "object-schema",
            {
                **schema.attributes,
                "properties": [
                    *schema.attributes["properties"],
                    {"id": 4, "name": "joined", "type": "string"},
                ],
                "status": "draft",
                "published_at": None,
            },
            {"object-type": object_type.id},
            days=5,
        )
        object_type.rels["current-schema"] = schema.id
        object_type.rels["draft-schema"] = draft.id
        object_type.many("schema-versions").extend([schema.id, draft.id])
        for n, tier in enumerate(("gold", "silver", "bronze", "silver")):
            ingest(
                self.a,
                source.id,
                {"member_id": f"M-{1000 + n}", "tier": tier, "points": 250 * (4 - n)},
            )

    def metric_extras(self, metrics: dict[str, Record]) -> None:
        for name, metric in metrics.items():
            for prop, kind in PROPERTIES.get(name, COMMON):
                self.add(
                    "metric-property",
                    {
                        "label": prop.lstrip("$").replace("_", " ").title(),
                        "property": prop,
                        "inferred_type": kind,
                        "sample_values": [],
                    },
                    {"metric": metric.id},
                    days=90,
                )
        mapped = {
            "ordered_product": "Ordered Product",
            "added_to_cart": "Added to Cart",
            "viewed_product": "Viewed Product",
            "started_checkout": "Started Checkout",
            "revenue": "Placed Order",
        }
        custom = next(iter(self.a.records("custom-metric")), None)
        for ident, metric_name in mapped.items():
            mapped_to = metrics.get(metric_name)
            rels: dict[str, Any] = {
                "metric": mapped_to.id if mapped_to else None,
                "custom-metric": None,
            }
            if ident == "revenue" and custom is not None:
                rels = {"metric": None, "custom-metric": custom.id}
            self.add("mapped-metric", {}, rels, days=30, ident=ident)

    def settings(self) -> None:
        def param(value: str) -> dict[str, Any]:
            return {"type": "static", "value": value}

        self.add(
            "tracking-setting",
            {
                "auto_add_parameters": True,
                "utm_source": {"campaign": param("klaviyo"), "flow": param("klaviyo")},
                "utm_medium": {"campaign": param("email"), "flow": param("email")},
                "utm_campaign": {
                    "campaign": {"type": "dynamic", "value": "campaign_name"},
                    "flow": {"type": "dynamic", "value": "flow_name"},
                },
                "utm_id": None,
                "utm_term": None,
                "custom_parameters": None,
            },
            ident=self.a.company_id,
            days=200,
        )
        for name, url, fmt in (
            ("New arrivals", f"https://{self.brand['domain']}/feeds/new.json", "json"),
            ("Trail conditions", f"https://{self.brand['domain']}/feeds/trails.xml", "xml"),
        ):
            self.add(
                "web-feed",
                {
                    "name": name,
                    "url": url,
                    "request_method": "get",
                    "content_type": fmt,
                    "status": "ok",
                },
                days=45,
            )
        for lat, lon, radius in ((40.0150, -105.2705, 500.0), (39.7392, -104.9903, 800.0)):
            self.add("geofence", {"latitude": lat, "longitude": lon, "radius": radius}, days=30)
        self.add(
            "ip-allowlist",
            {"prefixes": ["192.0.2.0/24", "198.51.100.0/24"], "sync_token": "v1"},
            ident="integration-egress",
            days=30,
        )

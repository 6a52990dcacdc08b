"""Demo seeding of messaging: templates, email and SMS campaigns with messages, flows."""

from __future__ import annotations

from typing import Any

from codemode.simulator.seed_base import Seeder
from codemode.simulator.seed_data import INJECTIONS
from codemode.simulator.store import Record

__all__ = ["MessagingSeeder"]


class MessagingSeeder(Seeder):
    """Templates, campaigns (with send times and audiences) and flows (actions and messages)."""

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
                template = self.template(
                    f"{name} #{step + 1}", f"{name} - step {step + 1}", days=300
                )
                # The email as Klaviyo's flow API encodes it (FlowEmail), in the action's data
                # and as the message's definition.
                email = {
                    "name": f"{name} Email {step + 1}",
                    "from_email": self.brand["email"],
                    "from_label": self.brand["name"],
                    "subject_line": f"{name}: step {step + 1}",
                    "preview_text": None,
                    "template_id": template.id,
                    "smart_sending_enabled": True,
                    "transactional": False,
                    "add_tracking_params": False,
                }
                action.attributes["definition"] = {
                    "id": action.id,
                    "type": "send-email",
                    "links": {"next": None},
                    "data": {"message": dict(email), "status": status},
                }
                messages.append(
                    self.add(
                        "flow-message",
                        {
                            "name": f"{name} Email {step + 1}",
                            "channel": "email",
                            "definition": dict(email),
                            "content": {
                                "subject": f"{name}: step {step + 1}",
                                "from_email": self.brand["email"],
                            },
                        },
                        {"flow-action": action.id, "template": template.id},
                        days=300,
                    )
                )
            steps_of_flow = [
                a for a in self.a.records("flow-action") if a.rels.get("flow") == flow.id
            ]
            for action, following in zip(steps_of_flow, [*steps_of_flow[1:], None], strict=True):
                action.attributes["definition"]["links"] = {
                    "next": following.id if following else None
                }
            out.append((flow, messages))
        return out

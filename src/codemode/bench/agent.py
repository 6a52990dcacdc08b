"""Agent-style tasks through the official MCP client: search, signature, then one script.

Each task states the user's words, the query an agent sends, the functions it reads and the
script it writes. The scripts were written from what the tools return (the search lines, the
signatures with their examples and the tool descriptions), as an agent would, and are run
as written: the figure is the share of first scripts that run without an error and print.
Round trips and the tokens of every tool result are recorded per task. The later tasks
(``_agent_more``) also hold their answers, or the state their writes leave, to the simulator's
store, and two of them fail on purpose to show that the error says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codemode.bench._agent_model import AgentTask
from codemode.bench._agent_model import task as _t
from codemode.bench._agent_more import MORE_TASKS

__all__ = ["TASKS", "AgentTask", "answer_holds", "demo_account", "run_tasks"]


TASKS: tuple[AgentTask, ...] = (
    _t(
        "count-profiles",
        "How many contacts do we have?",
        "list all profiles",
        "get_profiles",
        """
n = sum(1 for _ in klaviyo.profiles.get_profiles(page_size=100).all())
print(n)
""",
    ),
    _t(
        "find-by-email",
        "Find the contact with the first email on file",
        "find a profile by email",
        "get_profiles",
        """
first = klaviyo.profiles.get_profiles(page_size=1).data[0]
hit = klaviyo.profiles.get_profiles(filter=F.equals("email", first["email"])).data
print(hit[0]["id"] == first["id"], first["email"])
""",
    ),
    _t(
        "list-names",
        "What lists do we have?",
        "what lists exist",
        "get_lists",
        """
for rec in klaviyo.lists.get_lists().all():
    print(rec["id"], rec["name"])
""",
    ),
    _t(
        "list-members",
        "Who is on our first list?",
        "profiles on a list",
        "get_lists get_profiles_for_list",
        """
lst = klaviyo.lists.get_lists().data[0]
people = list(klaviyo.lists.get_profiles_for_list(id=lst["id"]).all(max_items=50))
print(lst["name"], len(people), [p.get("email") for p in people[:3]])
""",
    ),
    _t(
        "segments",
        "Name every segment",
        "list segments",
        "get_segments",
        """
print(sorted(s["name"] for s in klaviyo.segments.get_segments().all()))
""",
    ),
    _t(
        "email-campaigns",
        "Which email campaigns exist and what status are they in?",
        "email campaigns and their status",
        "get_campaigns",
        """
from collections import Counter
rows = list(klaviyo.campaigns.get_campaigns(filter=F.equals("messages.channel", "email")).all())
print(len(rows), Counter(c["status"] for c in rows))
""",
    ),
    _t(
        "sms-campaigns",
        "How many SMS campaigns have we made?",
        "sms campaigns",
        "get_campaigns",
        """
rows = list(klaviyo.campaigns.get_campaigns(filter=F.equals("messages.channel", "sms")).all())
print(len(rows))
""",
    ),
    _t(
        "flows-live",
        "Which flows are live?",
        "list flows with status",
        "get_flows",
        """
live = [f["name"] for f in klaviyo.flows.get_flows().all() if f.get("status") == "live"]
print(len(live), live[:5])
""",
    ),
    _t(
        "flow-steps",
        "How many steps does our first flow have?",
        "steps of a flow",
        "get_flows get_actions_for_flow",
        """
flow = klaviyo.flows.get_flows().data[0]
steps = list(klaviyo.flows.get_actions_for_flow(id=flow["id"]).all())
print(flow["name"], len(steps))
""",
    ),
    _t(
        "metrics",
        "What metrics do we track?",
        "list metrics",
        "get_metrics",
        """
print(sorted({m["name"] for m in klaviyo.metrics.get_metrics().all()})[:20])
""",
    ),
    _t(
        "orders-weekly",
        "Placed Order count per week last quarter",
        "count of a metric per week",
        "get_metrics query_metric_aggregates",
        """
mid = next(m["id"] for m in klaviyo.metrics.get_metrics().all() if m["name"] == "Placed Order")
r = klaviyo.metrics.query_metric_aggregates(attributes={"metric_id": mid, "measurements": ["count"], "interval": "week", "filter": ["greater-or-equal(datetime,2026-04-01T00:00:00)", "less-than(datetime,2026-07-01T00:00:00)"]})
print(r.data["data"][0]["measurements"]["count"][:4] if r.data["data"] else "no data")
""",
    ),
    _t(
        "recent-events",
        "Show the five latest events",
        "latest events",
        "get_events",
        """
for e in klaviyo.events.get_events(sort="-datetime", page_size=5).data:
    print(e["id"], e.get("datetime"))
""",
    ),
    _t(
        "products",
        "How many products are in the catalog?",
        "catalog products",
        "get_catalog_items",
        """
print(sum(1 for _ in klaviyo.catalogs.get_catalog_items().all()))
""",
    ),
    _t(
        "low-stock",
        "Which variants have fewer than 5 in stock?",
        "variants inventory",
        "get_catalog_variants",
        """
low = [v["sku"] for v in klaviyo.catalogs.get_catalog_variants().all() if (v.get("inventory_quantity") or 0) < 5]
print(len(low), low[:5])
""",
    ),
    _t(
        "categories",
        "Name our product categories",
        "product categories",
        "get_catalog_categories",
        """
print([c["name"] for c in klaviyo.catalogs.get_catalog_categories().all()])
""",
    ),
    _t(
        "coupons",
        "What coupons exist?",
        "coupons",
        "get_coupons",
        """
print([c["id"] for c in klaviyo.coupons.get_coupons().all()])
""",
    ),
    _t(
        "coupon-codes",
        "How many codes does our first coupon have?",
        "codes of a coupon",
        "get_coupons get_coupon_codes",
        """
cid = klaviyo.coupons.get_coupons().data[0]["id"]
print(cid, sum(1 for _ in klaviyo.coupons.get_coupon_codes(filter=F.equals("coupon.id", cid)).all()))
""",
    ),
    _t(
        "templates",
        "List our email templates",
        "email templates",
        "get_templates",
        """
print([t["name"] for t in klaviyo.templates.get_templates().all()][:10])
""",
    ),
    _t(
        "tags",
        "Which tags exist?",
        "tags",
        "get_tags",
        """
print([t["name"] for t in klaviyo.tags.get_tags().all()])
""",
    ),
    _t(
        "webhooks",
        "Do we have webhooks?",
        "webhooks",
        "get_webhooks",
        """
print(len(klaviyo.webhooks.get_webhooks().records))
""",
    ),
    _t(
        "forms",
        "Which signup forms do we run?",
        "signup forms",
        "get_forms",
        """
print([f["name"] for f in klaviyo.forms.get_forms().all()])
""",
    ),
    _t(
        "account",
        "Which account is this and what timezone?",
        "account for this api key",
        "get_accounts",
        """
a = klaviyo.accounts.get_accounts().data[0]
print(a["id"], a.get("contact_information", {}).get("organization_name"), a.get("timezone"))
""",
    ),
    _t(
        "profile-lists",
        "Which lists is the first contact on?",
        "lists a profile belongs to",
        "get_profiles get_lists_for_profile",
        """
p = klaviyo.profiles.get_profiles(page_size=1).data[0]
print(p["email"], [l["name"] for l in klaviyo.profiles.get_lists_for_profile(id=p["id"]).all()])
""",
    ),
    _t(
        "profile-segments",
        "Which segments is the first contact in?",
        "segments of a profile",
        "get_profiles get_segments_for_profile",
        """
p = klaviyo.profiles.get_profiles(page_size=1).data[0]
print([s["name"] for s in klaviyo.profiles.get_segments_for_profile(id=p["id"]).all()])
""",
    ),
    _t(
        "new-list",
        "Create a list called Spring VIPs",
        "create a list",
        "create_list",
        """
r = klaviyo.lists.create_list(attributes={"name": "Spring VIPs"})
print(r.data["id"], r.data["name"])
""",
    ),
    _t(
        "add-to-list",
        "Put the first three contacts on the newest list",
        "add profiles to a list",
        "get_profiles get_lists add_profiles_to_list",
        """
ids = [p["id"] for p in klaviyo.profiles.get_profiles(page_size=3).data]
lst = klaviyo.lists.get_lists().data[-1]
klaviyo.lists.add_profiles_to_list(id=lst["id"], ids=ids)
print("added", len(ids), "to", lst["name"])
""",
    ),
    _t(
        "tag-campaign",
        "Tag our first email campaign with a new tag Spring",
        "tag a campaign",
        "create_tag get_campaigns tag_campaigns",
        """
tag = klaviyo.tags.create_tag(attributes={"name": "Spring"}).data
c = klaviyo.campaigns.get_campaigns(filter=F.equals("messages.channel", "email")).data[0]
klaviyo.tags.tag_campaigns(id=tag["id"], ids=[c["id"]])
print("tagged", c["name"])
""",
    ),
    _t(
        "segment-create",
        "Make a segment of everyone on the first list",
        "create a segment",
        "get_lists create_segment",
        """
lid = klaviyo.lists.get_lists().data[0]["id"]
r = klaviyo.segments.create_segment(attributes={"name": "On first list", "definition": {"condition_groups": [{"conditions": [{"type": "profile-group-membership", "is_member": True, "group_ids": [lid]}]}]}})
print(r.data["id"])
""",
    ),
    _t(
        "track-event",
        "Record that ada@example.com viewed the Trail Shoe",
        "track an event for a profile",
        "create_event",
        """
klaviyo.events.create_event(attributes={"metric": {"data": {"type": "metric", "attributes": {"name": "Viewed Product"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}}, "properties": {"ProductName": "Trail Shoe"}})
print("tracked")
""",
    ),
    _t(
        "rename-list-dry",
        "Rename the first list to Newsletter (plan only)",
        "rename a list",
        "get_lists update_list",
        """
lst = klaviyo.lists.get_lists().data[0]
klaviyo.lists.update_list(id=lst["id"], attributes={"name": "Newsletter"})
print("planned rename of", lst["name"])
""",
        dry=True,
    ),
    _t(
        "campaign-report",
        "Open and click rates of campaigns over the last 90 days",
        "campaign open rate report",
        "get_metrics query_campaign_values",
        """
mid = next(m["id"] for m in klaviyo.metrics.get_metrics().all() if m["name"] == "Placed Order")
r = klaviyo.reporting.query_campaign_values(attributes={"statistics": ["open_rate", "click_rate"], "timeframe": {"key": "last_90_days"}, "conversion_metric_id": mid})
print(r.data["results"][:3] if r.data.get("results") else "no results")
""",
    ),
    _t(
        "tag-groups",
        "What tag groups exist?",
        "tag groups",
        "get_tag_groups",
        """
print([g["name"] for g in klaviyo.tags.get_tag_groups().all()])
""",
    ),
    _t(
        "flow-revenue",
        "Revenue per flow over the last 30 days, with flow names",
        "revenue per flow report",
        "get_metrics query_flow_values",
        """
mid = next(m["id"] for m in klaviyo.metrics.get_metrics().all() if m["name"] == "Placed Order")
r = klaviyo.reporting.query_flow_values(attributes={"statistics": ["conversion_value"], "timeframe": {"key": "last_30_days"}, "conversion_metric_id": mid, "group_by": ["flow_id", "flow_message_id", "flow_name"]})
totals = {}
for row in r.data["results"]:
    name = row["groupings"]["flow_name"]
    totals[name] = totals.get(name, 0) + row["statistics"]["conversion_value"]
print(sorted(totals.items(), key=lambda kv: -kv[1])[:3])
""",
    ),
    _t(
        "form-submit-rate",
        "Submit rate of each signup form this month",
        "signup form submit rate",
        "get_forms query_form_values",
        """
names = {f["id"]: f["name"] for f in klaviyo.forms.get_forms().all()}
r = klaviyo.reporting.query_form_values(attributes={"statistics": ["viewed_form", "submit_rate"], "timeframe": {"key": "this_month"}})
for row in r.data["results"]:
    print(names.get(row["groupings"]["form_id"]), f'{row["statistics"]["submit_rate"]:.1%}')
""",
    ),
    _t(
        "new-profiles-segment",
        "Make a segment of people who joined in the last 30 days",
        "create a segment with a condition definition",
        "create_segment",
        """
cond = {"type": "profile-property", "property": "created", "filter": {"type": "date", "operator": "in-the-last", "quantity": 30, "unit": "day"}}
r = klaviyo.segments.create_segment(attributes={"name": "Joined in 30 days", "definition": {"condition_groups": [{"conditions": [cond]}]}})
print(r.data["id"], r.data["name"])
""",
    ),
    _t(
        "flow-email-live-dry",
        "Set the emails of the draft flow live (plan only)",
        "update a flow action",
        "get_flows get_actions_for_flow update_flow_action",
        """
flow = klaviyo.flows.get_flows(filter=F.equals("status", "draft")).data[0]
for a in klaviyo.flows.get_actions_for_flow(id=flow["id"]).all():
    d = a["definition"]
    if d["type"] == "send-email":
        d["data"]["status"] = "live"
        klaviyo.flows.update_flow_action(id=a["id"], attributes={"definition": d})
        print("planned", d["data"]["message"]["name"])
""",
        dry=True,
    ),
    _t(
        "events-since",
        "Orders placed since June 1st",
        "list events since a date",
        "get_metrics get_events",
        """
mid = next(m["id"] for m in klaviyo.metrics.get_metrics().all() if m["name"] == "Placed Order")
evs = klaviyo.events.get_events(filter=F.and_(F.equals("metric_id", mid), F.greater_or_equal("datetime", "2026-06-01T00:00:00Z")))
print(sum(1 for _ in evs.all()))
""",
    ),
    _t(
        "images",
        "How many images are in the library?",
        "image library",
        "get_images",
        """
print(sum(1 for _ in klaviyo.images.get_images().all()))
""",
    ),
    *MORE_TASKS,
)


def _text(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def run_tasks(
    client: Any, tasks: Sequence[AgentTask] = TASKS, account: Callable[[], Any] | None = None
) -> list[dict[str, Any]]:
    """Run every task through ``client`` (an MCP client on the demo server); one record per task.

    With ``account`` (the demo simulator's store), each task's ``check`` holds its answer, or the
    state its writes left, to the store: ``checked`` is True or False (None with no check). A task
    that fails on purpose counts its first script as right when the error says what the task
    expects; its retry is the fourth round trip.
    """
    from codemode.bench._tokens import count_tokens

    rows: list[dict[str, Any]] = []
    for task in tasks:
        found = await client.call_tool("search_api", {"query": task.query})
        listed = [r["id"] for r in (found.structured_content or {}).get("results", [])]
        sig = await client.call_tool("get_signature", {"names": list(task.uses)})
        ran = await client.call_tool("execute_code", {"code": task.script, "dry_run": task.dry_run})
        out = ran.structured_content or {}
        texts = [_text(found), _text(sig), _text(ran)]
        error = out.get("error")
        if task.expect_error:
            message = (error or {}).get("message", "")
            first_ok = bool(re.search(task.expect_error, message))
            again = await client.call_tool(
                "execute_code", {"code": task.retry or "", "dry_run": task.dry_run}
            )
            texts.append(_text(again))
            out = again.structured_content or {}
            error = out.get("error")
        else:
            first_ok = error is None and bool(out.get("output", "").strip())
        checked = None
        if task.check is not None and account is not None:
            checked = error is None and answer_holds(task, account(), str(out.get("output", "")))
        rows.append(
            {
                "task": task.name,
                "found_in_search": task.uses[-1] in listed,
                "first_script_ok": first_ok,
                "error": error,
                "checked": checked,
                "round_trips": len(texts),
                "result_tokens": sum(count_tokens(t) for t in texts),
                "argument_tokens": count_tokens(
                    task.query + " ".join(task.uses) + task.script + (task.retry or "")
                ),
            }
        )
    return rows


def answer_holds(task: AgentTask, account: Any, output: str) -> bool:
    """Whether ``task``'s check holds ``output`` right; a missing or malformed answer is not."""
    assert task.check is not None
    try:
        return bool(task.check(account, output))
    except (LookupError, ValueError, TypeError):  # an answer missing or malformed: not right
        return False


def source() -> Path:
    """This module's file (the tasks are reviewed as code)."""
    return Path(__file__)


def run_on_demo(audit_dir: Path) -> list[dict[str, Any]]:
    """Run the tasks on a fresh demo server through the official in-memory MCP client."""
    import anyio
    import httpx
    from mcp import Client

    from codemode.config import Settings
    from codemode.server import DEMO_BASE_URL, build_server
    from codemode.simulator import SimConfig, create_app

    async def main() -> list[dict[str, Any]]:
        app = create_app(SimConfig())
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=DEMO_BASE_URL)
        settings = Settings(demo=True, audit_db=audit_dir / "agent-audit.sqlite3")
        built = build_server(settings, transport="memory", http_client=http, log_level="ERROR")
        async with http, built.running(), Client(built.mcp) as client:
            return await run_tasks(client, account=lambda: demo_account(app))

    return anyio.run(main)


def demo_account(app: Any) -> Any:
    """The default account's store of a simulator app (what the checks read)."""
    sim = app.state.sim
    return sim.accounts[sim.default_account]

"""Tasks about marketing objects: campaigns, flows, tags and templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from codemode.bench._harness import ClassicAgent, World
from codemode.bench._tasks import CodePlan, PeerPlan, Task
from codemode.bench._tasks_insights import EMAIL, profile_email

__all__ = ["MARKETING_TASKS"]

RESEND = "Spring Trail Sale - Resend"
NEWSLETTER_TAG = "Newsletter Flows"


def _email_campaigns(w: World) -> list[Any]:
    email_ids = {
        m.rels.get("campaign")
        for m in w.table("campaign-message")
        if m.attributes["definition"]["channel"] == "email"
    }
    return [c for c in w.table("campaign") if c.id in email_ids]


# 1 -- scheduled campaigns ---------------------------------------------------------------------


async def _scheduled_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return [
        [c.attributes["name"], c.attributes["send_time"]]
        for c in _email_campaigns(w)
        if c.attributes["status"] == "Scheduled"
    ]


async def _scheduled_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    doc = await a.call(
        "get_campaigns",
        filter=f"and({EMAIL},equals(status,'Scheduled'))",
        fields={"campaign": ["name", "send_time"]},
    )
    return [[c["attributes"]["name"], c["attributes"]["send_time"]] for c in doc["data"]]


SCHEDULED = Task(
    id="scheduled_email_campaigns",
    category="campaigns",
    prompt="Which email campaigns are scheduled, and when will each one send?",
    truth=_scheduled_truth,
    classic=_scheduled_classic,
    queries=("list scheduled email campaigns",),
    code=CodePlan(
        functions=("campaigns.get_campaigns",),
        script="""\
import json
rows = klaviyo.campaigns.get_campaigns(filter="and(equals(messages.channel,'email'),equals(status,'Scheduled'))", fields={"campaign": ["name", "send_time"]})
print(json.dumps([[c["name"], c["send_time"]] for c in rows]))
""",
    ),
    peer=PeerPlan(
        tools=("get_campaigns",),
        code="""\
doc = await call_tool("get_campaigns", {"filter": "and(equals(messages.channel,'email'),equals(status,'Scheduled'))", "fields": {"campaign": ["name", "send_time"]}})
return [[c["attributes"]["name"], c["attributes"]["send_time"]] for c in doc["data"]]
""",
    ),
)


# 2 -- clone a campaign ------------------------------------------------------------------------


async def _clone_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return {"name": RESEND, "status": "Draft"}


async def _clone_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    found = await a.call(
        "get_campaigns",
        filter=f"and({EMAIL},contains(name,'Spring Trail Sale'))",
        fields={"campaign": ["name"]},
    )
    cid = found["data"][0]["id"]
    done = await a.call(
        "create_campaign_clone",
        body={"data": {"type": "campaign", "id": cid, "attributes": {"new_name": RESEND}}},
    )
    return {
        "name": done["data"]["attributes"]["name"],
        "status": done["data"]["attributes"]["status"],
    }


def _clone_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    return bool(w.named("campaign", RESEND).attributes["status"] == "Draft")


CLONE = Task(
    id="clone_campaign",
    category="campaigns",
    prompt=f"Duplicate the 'Spring Trail Sale' email campaign as a new draft called '{RESEND}'.",
    truth=_clone_truth,
    classic=_clone_classic,
    verify=_clone_verify,
    queries=("clone a campaign",),
    code=CodePlan(
        functions=("campaigns.get_campaigns", "campaigns.create_campaign_clone"),
        script=f"""\
import json
c = klaviyo.campaigns.get_campaigns(filter="and(equals(messages.channel,'email'),contains(name,'Spring Trail Sale'))", fields={{"campaign": ["name"]}}).records[0]
new = klaviyo.campaigns.create_campaign_clone(id=c["id"], attributes={{"new_name": "{RESEND}"}}).data
print(json.dumps({{"name": new["name"], "status": new["status"]}}))
""",
    ),
    peer=PeerPlan(
        tools=("get_campaigns", "create_campaign_clone"),
        code=f"""\
found = await call_tool("get_campaigns", {{"filter": "and(equals(messages.channel,'email'),contains(name,'Spring Trail Sale'))", "fields": {{"campaign": ["name"]}}}})
cid = found["data"][0]["id"]
done = await call_tool("create_campaign_clone", {{"body": {{"data": {{"type": "campaign", "id": cid, "attributes": {{"new_name": "{RESEND}"}}}}}}}})
return {{"name": done["data"]["attributes"]["name"], "status": done["data"]["attributes"]["status"]}}
""",
    ),
)


# 3 -- subject lines of the campaigns tagged Spring --------------------------------------------


async def _spring_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    ids = set(w.named("tag", "Spring").rels.get("campaigns") or [])
    return sorted(
        m.attributes["definition"]["content"]["subject"]
        for m in w.table("campaign-message")
        if m.rels.get("campaign") in ids
    )


async def _spring_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    tags = await a.call("get_tags", filter='equals(name,"Spring")')
    ids = await a.call("get_campaign_ids_for_tag", id=tags["data"][0]["id"])
    docs = await a.parallel([("get_messages_for_campaign", {"id": r["id"]}) for r in ids["data"]])
    return sorted(
        m["attributes"]["definition"]["content"]["subject"] for d in docs for m in d["data"]
    )


SPRING_SUBJECTS = Task(
    id="spring_tag_subject_lines",
    category="tags",
    prompt="What are the subject lines of the campaigns tagged 'Spring'?",
    truth=_spring_truth,
    classic=_spring_classic,
    queries=("campaigns with a tag", "messages of a campaign"),
    code=CodePlan(
        functions=(
            "tags.get_tags",
            "tags.get_campaign_ids_for_tag",
            "campaigns.get_messages_for_campaign",
        ),
        script="""\
import json
tag = klaviyo.tags.get_tags(filter='equals(name,"Spring")').records[0]["id"]
ids = [r["id"] for r in klaviyo.tags.get_campaign_ids_for_tag(id=tag)]
print(json.dumps(sorted(m["definition"]["content"]["subject"] for cid in ids for m in klaviyo.campaigns.get_messages_for_campaign(id=cid))))
""",
    ),
    peer=PeerPlan(
        tools=("get_tags", "get_campaign_ids_for_tag", "get_messages_for_campaign"),
        code="""\
tags = await call_tool("get_tags", {"filter": 'equals(name,"Spring")'})
ids = await call_tool("get_campaign_ids_for_tag", {"id": tags["data"][0]["id"]})
subjects = []
for r in ids["data"]:
    msgs = await call_tool("get_messages_for_campaign", {"id": r["id"]})
    subjects.extend([m["attributes"]["definition"]["content"]["subject"] for m in msgs["data"]])
return sorted(subjects)
""",
    ),
)


# 4 -- tag the flows a list triggers -----------------------------------------------------------


def _newsletter_flows(w: World) -> list[str]:
    newsletter = w.named("list", "Newsletter").id
    return sorted(
        f.attributes["name"]
        for f in w.table("flow")
        if newsletter in (f.rels.get("triggers") or [])
    )


async def _tagflows_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    return _newsletter_flows(w)


async def _tagflows_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    lists = await a.call("get_lists", filter='equals(name,"Newsletter")')
    flows = await a.call("get_flows_triggered_by_list", id=lists["data"][0]["id"])
    tag = await a.call(
        "create_tag", body={"data": {"type": "tag", "attributes": {"name": NEWSLETTER_TAG}}}
    )
    await a.call(
        "tag_flows",
        id=tag["data"]["id"],
        body={"data": [{"type": "flow", "id": f["id"]} for f in flows["data"]]},
    )
    return sorted(f["attributes"]["name"] for f in flows["data"])


def _tagflows_verify(w: World, ctx: Mapping[str, Any], mode: str) -> bool:
    tagged = set(w.named("tag", NEWSLETTER_TAG).rels.get("flows") or [])
    return sorted(
        f.attributes["name"] for f in w.table("flow") if f.id in tagged
    ) == _newsletter_flows(w)


TAG_FLOWS = Task(
    id="tag_newsletter_flows",
    category="flows",
    prompt=f"Tag every flow triggered by the Newsletter list with a new tag '{NEWSLETTER_TAG}'. Which flows got it?",
    truth=_tagflows_truth,
    classic=_tagflows_classic,
    verify=_tagflows_verify,
    queries=("flows triggered by a list", "create a tag and tag flows"),
    code=CodePlan(
        functions=(
            "lists.get_lists",
            "lists.get_flows_triggered_by_list",
            "tags.create_tag",
            "tags.tag_flows",
        ),
        script=f"""\
import json
lid = klaviyo.lists.get_lists(filter='equals(name,"Newsletter")').records[0]["id"]
flows = klaviyo.lists.get_flows_triggered_by_list(id=lid).records
tag = klaviyo.tags.create_tag(attributes={{"name": "{NEWSLETTER_TAG}"}}).data
klaviyo.tags.tag_flows(id=tag["id"], ids=[f["id"] for f in flows])
print(json.dumps(sorted(f["name"] for f in flows)))
""",
    ),
    peer=PeerPlan(
        tools=("get_lists", "get_flows_triggered_by_list", "create_tag", "tag_flows"),
        code=f"""\
lists = await call_tool("get_lists", {{"filter": 'equals(name,"Newsletter")'}})
flows = await call_tool("get_flows_triggered_by_list", {{"id": lists["data"][0]["id"]}})
tag = await call_tool("create_tag", {{"body": {{"data": {{"type": "tag", "attributes": {{"name": "{NEWSLETTER_TAG}"}}}}}}}})
await call_tool("tag_flows", {{"id": tag["data"]["id"], "body": {{"data": [{{"type": "flow", "id": f["id"]}} for f in flows["data"]]}}}})
return sorted([f["attributes"]["name"] for f in flows["data"]])
""",
    ),
)


# 5 -- the subject lines of a flow, in order ---------------------------------------------------


async def _welcome_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    flow = w.named("flow", "Welcome Series").id
    actions = [a.id for a in w.table("flow-action") if a.rels.get("flow") == flow]
    by_action = {
        m.rels.get("flow-action"): m.attributes["content"]["subject"]
        for m in w.table("flow-message")
    }
    return [by_action[a] for a in actions if a in by_action]


async def _welcome_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    flows = await a.call(
        "get_flows", filter='equals(name,"Welcome Series")', fields={"flow": ["name"]}
    )
    actions = await a.call("get_actions_for_flow", id=flows["data"][0]["id"])
    sends = [x["id"] for x in actions["data"] if x["attributes"]["action_type"] == "SEND_EMAIL"]
    docs = await a.parallel([("get_flow_action_messages", {"id": s}) for s in sends])
    return [m["attributes"]["content"]["subject"] for d in docs for m in d["data"]]


WELCOME_SUBJECTS = Task(
    id="welcome_series_subjects",
    category="flows",
    prompt="List the subject line of every email in the Welcome Series flow, in order.",
    truth=_welcome_truth,
    classic=_welcome_classic,
    queries=("actions of a flow", "messages of a flow action"),
    code=CodePlan(
        functions=(
            "flows.get_flows",
            "flows.get_actions_for_flow",
            "flows.get_flow_action_messages",
        ),
        script="""\
import json
fid = klaviyo.flows.get_flows(filter='equals(name,"Welcome Series")', fields={"flow": ["name"]}).records[0]["id"]
sends = [x["id"] for x in klaviyo.flows.get_actions_for_flow(id=fid) if x["action_type"] == "SEND_EMAIL"]
print(json.dumps([m["content"]["subject"] for s in sends for m in klaviyo.flows.get_flow_action_messages(id=s)]))
""",
    ),
    peer=PeerPlan(
        tools=("get_flows", "get_actions_for_flow", "get_flow_action_messages"),
        code="""\
flows = await call_tool("get_flows", {"filter": 'equals(name,"Welcome Series")', "fields": {"flow": ["name"]}})
actions = await call_tool("get_actions_for_flow", {"id": flows["data"][0]["id"]})
out = []
for x in actions["data"]:
    if x["attributes"]["action_type"] == "SEND_EMAIL":
        msgs = await call_tool("get_flow_action_messages", {"id": x["id"]})
        out.extend([m["attributes"]["content"]["subject"] for m in msgs["data"]])
return out
""",
    ),
)


# 6 -- render a template for a customer --------------------------------------------------------

_GREETING = re.compile(r"<p>(Hi [^<]*)</p>")


async def _render_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    profile = next(p for p in w.table("profile") if p.attributes["email"] == ctx["email"])
    html = w.named("template", "Welcome Series #1").attributes["html"]
    filled = re.sub(r"\{\{\s*first_name[^}]*\}\}", profile.attributes["first_name"], html)
    match = _GREETING.search(filled)
    assert match is not None
    return {"greeting": match.group(1)}


async def _render_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    templates, profiles = await a.parallel(
        [
            (
                "get_templates",
                {"filter": 'equals(name,"Welcome Series #1")', "fields": {"template": ["name"]}},
            ),
            (
                "get_profiles",
                {
                    "filter": f'equals(email,"{ctx["email"]}")',
                    "fields": {"profile": ["first_name"]},
                },
            ),
        ]
    )
    first = profiles["data"][0]["attributes"]["first_name"]
    body = {
        "data": {
            "type": "template",
            "id": templates["data"][0]["id"],
            "attributes": {"context": {"first_name": first}},
        }
    }
    done = await a.call("render_template", body=body)
    match = _GREETING.search(done["data"]["attributes"]["html"])
    return {"greeting": match.group(1) if match else None}


RENDER = Task(
    id="render_template_for_profile",
    category="templates",
    prompt="Render the 'Welcome Series #1' template for $email. What greeting line will they see?",
    truth=_render_truth,
    classic=_render_classic,
    setup=lambda w: {"email": profile_email(w, 42)},
    queries=("render a template with a profile's data",),
    code=CodePlan(
        functions=("templates.get_templates", "templates.render_template", "profiles.get_profiles"),
        script="""\
import json
import re
t = klaviyo.templates.get_templates(filter='equals(name,"Welcome Series #1")', fields={"template": ["name"]}).records[0]
p = klaviyo.profiles.get_profiles(filter='equals(email,"$email")', fields={"profile": ["first_name"]}).records[0]
html = klaviyo.templates.render_template(id=t["id"], attributes={"context": {"first_name": p["first_name"]}}).data["html"]
print(json.dumps({"greeting": re.search(r"<p>(Hi [^<]*)</p>", html).group(1)}))
""",
    ),
    peer=PeerPlan(
        tools=("get_templates", "render_template", "get_profiles"),
        code="""\
ts = await call_tool("get_templates", {"filter": 'equals(name,"Welcome Series #1")', "fields": {"template": ["name"]}})
ps = await call_tool("get_profiles", {"filter": 'equals(email,"$email")', "fields": {"profile": ["first_name"]}})
first = ps["data"][0]["attributes"]["first_name"]
done = await call_tool("render_template", {"body": {"data": {"type": "template", "id": ts["data"][0]["id"], "attributes": {"context": {"first_name": first}}}}})
html = done["data"]["attributes"]["html"]
start = html.index("<p>Hi ") + 3
return {"greeting": html[start:html.index("</p>", start)]}
""",
    ),
)


# 7 -- campaigns carrying a tag ----------------------------------------------------------------


async def _promo_truth(w: World, ctx: Mapping[str, Any]) -> Any:
    ids = set(w.named("tag", "Promo").rels.get("campaigns") or [])
    return sorted(c.attributes["name"] for c in w.table("campaign") if c.id in ids)


async def _promo_classic(a: ClassicAgent, ctx: Mapping[str, Any]) -> Any:
    tags = await a.call("get_tags", filter='equals(name,"Promo")')
    ids = await a.call("get_campaign_ids_for_tag", id=tags["data"][0]["id"])
    docs = await a.parallel(
        [("get_campaign", {"id": r["id"], "fields": {"campaign": ["name"]}}) for r in ids["data"]]
    )
    return sorted(d["data"]["attributes"]["name"] for d in docs)


PROMO = Task(
    id="promo_tagged_campaigns",
    category="tags",
    prompt="Which campaigns carry the 'Promo' tag?",
    truth=_promo_truth,
    classic=_promo_classic,
    queries=("campaigns with a tag",),
    code=CodePlan(
        functions=("tags.get_tags", "tags.get_campaign_ids_for_tag", "campaigns.get_campaign"),
        script="""\
import json
tag = klaviyo.tags.get_tags(filter='equals(name,"Promo")').records[0]["id"]
names = [klaviyo.campaigns.get_campaign(id=r["id"], fields={"campaign": ["name"]}).data["name"] for r in klaviyo.tags.get_campaign_ids_for_tag(id=tag)]
print(json.dumps(sorted(names)))
""",
    ),
    peer=PeerPlan(
        tools=("get_tags", "get_campaign_ids_for_tag", "get_campaign"),
        code="""\
tags = await call_tool("get_tags", {"filter": 'equals(name,"Promo")'})
ids = await call_tool("get_campaign_ids_for_tag", {"id": tags["data"][0]["id"]})
names = []
for r in ids["data"]:
    c = await call_tool("get_campaign", {"id": r["id"], "fields": {"campaign": ["name"]}})
    names.append(c["data"]["attributes"]["name"])
return sorted(names)
""",
    ),
)

MARKETING_TASKS: tuple[Task, ...] = (
    SCHEDULED,
    CLONE,
    SPRING_SUBJECTS,
    TAG_FLOWS,
    WELCOME_SUBJECTS,
    RENDER,
    PROMO,
)

"""Flows: creation from a definition (actions and their messages), cascading deletes."""

from __future__ import annotations

from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.store import Account

SENDS = {
    "send-email": "email",
    "send-sms": "sms",
    "send-mobile-push": "push",
    "send-whatsapp": "whatsapp",
}
# The API's trigger_type enum has no segment entry: segment-triggered flows report "Added to List".
TRIGGER_TYPES = {"list": "Added to List", "segment": "Added to List", "metric": "Metric"}


def _trigger(account: Account, trigger: dict[str, Any], n: int) -> str | None:
    kind = trigger.get("type")
    ident = trigger.get("id")
    if kind in TRIGGER_TYPES and ident:
        if account.find(str(kind), str(ident)) is None:
            raise ApiError(
                404,
                "not_found",
                f"The trigger {kind} {ident!r} does not exist.",
                pointer=f"/data/attributes/definition/triggers/{n}/id",
            )
        return str(ident)
    return None


@handler
def create_flow(ctx: Ctx) -> Reply:
    """Create a draft flow from a definition: one flow-action per action, a message per send.

    Differs: the definition is stored as given (temporary ids replaced by real ones); action
    settings are not validated beyond the schema.
    """
    attrs = ctx.attributes()
    definition = dict(attrs["definition"])
    triggers = definition.get("triggers") or []
    if not definition.get("actions"):
        raise bad_body("/data/attributes/definition/actions", "A flow needs at least one action.")
    trigger_ids = [t for t in (_trigger(ctx.account, t, n) for n, t in enumerate(triggers)) if t]
    trigger_type = TRIGGER_TYPES.get(
        str((triggers[0] if triggers else {}).get("type")), "Unconfigured"
    )
    stamp = ctx.account.timestamp()
    flow = ctx.account.add(
        "flow",
        {
            "name": attrs["name"],
            "status": "draft",
            "archived": False,
            "trigger_type": trigger_type,
            "created": stamp,
            "updated": stamp,
        },
        {"triggers": trigger_ids},
    )
    renames: dict[str, str] = {}
    actions = []
    for action in definition["actions"]:
        record = ctx.account.add(
            "flow-action",
            {
                "action_type": str(action.get("type", "")).upper().replace("-", "_"),
                "status": "draft",
                "created": stamp,
                "updated": stamp,
            },
            {"flow": flow.id},
        )
        if action.get("temporary_id"):
            renames[str(action["temporary_id"])] = record.id
        channel = SENDS.get(str(action.get("type")))
        if channel:
            message = (action.get("data") or {}).get("message") or {}
            ctx.account.add(
                "flow-message",
                {
                    "name": message.get("name") or f"{attrs['name']} {channel}",
                    "channel": channel,
                    "definition": dict(message),
                    "content": message,
                    "created": stamp,
                    "updated": stamp,
                },
                {"flow-action": record.id, "template": message.get("template_id")},
            )
        actions.append((record, action))
    stored_actions = []
    for record, action in actions:
        copy = dict(action)
        copy["id"] = record.id
        copy.pop("temporary_id", None)
        links = dict(copy.get("links") or {})
        for key, value in links.items():
            links[key] = renames.get(str(value), value) if value else value
        if links:
            copy["links"] = links
        record.attributes["definition"] = copy
        stored_actions.append(copy)
    definition["actions"] = stored_actions
    entry = definition.get("entry_action_id")
    definition["entry_action_id"] = renames.get(str(entry), entry)
    flow.attributes["definition"] = definition
    return Reply(201, single(ctx, flow))


@handler
def delete_flow(ctx: Ctx) -> Reply:
    """Delete a flow with its actions and messages (204)."""
    flow = ctx.account.get("flow", ctx.path["id"])
    for action in list(ctx.account.records("flow-action")):
        if action.rels.get("flow") == flow.id:
            for message in list(ctx.account.records("flow-message")):
                if message.rels.get("flow-action") == action.id:
                    ctx.account.remove("flow-message", message.id)
            ctx.account.remove("flow-action", action.id)
    ctx.account.remove("flow", flow.id)
    return Reply(204)


@handler
def update_flow_action(ctx: Ctx) -> Reply:
    """Update a flow action's definition (its id is kept; 409 when the action type changes).

    Differs: settings inside ``data`` are stored as given, without Klaviyo's per-type checks.
    """
    action = ctx.account.get("flow-action", ctx.path["id"])
    data = ctx.data()
    if data.get("id") not in (None, action.id):
        raise ApiError(
            409,
            "conflict",
            f"data.id {data.get('id')!r} does not match the path id {action.id!r}.",
            pointer="/data/id",
        )
    definition = dict(ctx.attributes().get("definition") or {})
    current = action.attributes.get("definition") or {}
    if current.get("type") and definition.get("type") not in (None, current.get("type")):
        raise ApiError(
            409,
            "conflict",
            f"This action is a {current.get('type')}; its type cannot change.",
            pointer="/data/attributes/definition/type",
        )
    definition.pop("temporary_id", None)
    definition["id"] = action.id
    action.attributes["definition"] = {**current, **definition}
    action.attributes["updated"] = ctx.account.timestamp()
    ctx.account.touch("flow-action", action.id)
    return Reply(200, single(ctx, action))

"""Valid calls for every catalog action against a seeded simulator: path ids, query and body.

Bodies are generated from the catalog's request schema (required members only, resource
identifiers filled with ids that exist), then adjusted per action where the meaning needs it
(a draft campaign to send, two distinct profiles to merge, a URL to import).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from codemode.catalog import Action, Catalog
from codemode.simulator.operations import load_operations
from codemode.simulator.store import Account, Record

_counter = itertools.count(1)


@dataclass
class Call:
    """One HTTP request for an action (``path_values``: the path parameters by name)."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path_values: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None

    def sdk_params(self, action: Action) -> dict[str, Any]:
        """The same call as keyword arguments of ``Klaviyo.call`` (Python names, ``body=``)."""
        names = {p.wire: p.name for p in action.params}
        out: dict[str, Any] = {names.get(k, k): v for k, v in self.path_values.items()}
        out.update({names[k]: v for k, v in self.params.items() if k in names})
        if "include" in self.params:
            out["include"] = self.params["include"].split(",")
        extra = {
            k[len("additional-fields[") : -1]: v.split(",")
            for k, v in self.params.items()
            if k.startswith("additional-fields[")
        }
        if extra:
            out["additional_fields"] = extra
        if self.files is not None:
            # A multipart operation takes its form fields as keywords, the file as its bytes.
            out.update(self.body or {})
            out.update({name: content for name, (_, content, _) in self.files.items()})
        elif self.body is not None:
            out["body"] = self.body
        return out


class World:
    """Reads ids from the app's default account so calls name records that exist."""

    def __init__(self, app: Starlette) -> None:
        self.sim = app.state.sim
        self.account: Account = self.sim.account(self.sim.default_account)
        self.catalog: Catalog = load_operations()
        self.types: dict[str, str] = {}
        for action in self.catalog.values():
            parts = action.path.strip("/").split("/")
            if (
                action.method == "GET"
                and len(parts) == 3
                and parts[2].startswith("{")
                and action.response.resource_type
            ):
                self.types[parts[1]] = action.response.resource_type
        self.kinds = {a.response.resource_type for a in self.catalog.values()} - {None}

    def records(self, kind: str) -> list[Record]:
        """Records of a type, in creation order."""
        return list(self.account.records(kind))

    def pick(
        self, kind: str, *, last: bool = False, where: Callable[[Record], bool] | None = None
    ) -> str:
        """An existing id of ``kind`` (the first, or the last for destructive calls)."""
        rows = [r for r in self.records(kind) if where is None or where(r)]
        if not rows:
            raise LookupError(f"no {kind} record to use")
        return (rows[-1] if last else rows[0]).id


def example(schema: dict[str, Any], world: World, name: str = "", *, last: bool = False) -> Any:
    """A small instance of a catalog body schema with real ids in resource identifiers."""
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return example(schema[key][0], world, name, last=last)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part, world, name, last=last)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    props = schema.get("properties", {})
    if kind == "object" or props:
        out: dict[str, Any] = {}
        # Relationships are optional in many schemas but carry the ids the handlers need.
        for key in [
            *schema.get("required", []),
            *(["relationships"] if "relationships" in props else []),
        ]:
            if key in props and key not in out:
                out[key] = example(props[key], world, key, last=last)
        type_enum = props.get("type", {}).get("enum")
        if name == "relationships" or (
            name and schema is not None and "data" in props and not out.get("data")
        ):
            for key, sub in props.items():
                if key not in out:
                    out[key] = example(sub, world, key, last=last)
        if "id" in props and type_enum and type_enum[0] in world.kinds:
            try:
                out["id"] = world.pick(type_enum[0], last=last)
                out["type"] = type_enum[0]
            except LookupError:
                pass
        return out
    if kind == "array":
        item = example(schema.get("items", {}), world, name, last=last)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    n = next(_counter)
    if schema.get("format") == "date-time":
        return "2026-06-01T00:00:00+00:00"
    if "email" in name:
        return f"conformance{n}@example.org"
    if "phone" in name:
        return f"+1720555{n:04d}"
    if "url" in name:
        return f"https://example.org/conformance/{n}.png"
    return f"conformance-{n}"


def _draft(world: World) -> str:
    return world.pick("campaign", where=lambda r: r.attributes.get("status") == "Draft")


def _patch_body(action: Action, body: Any, world: World, ident: str) -> Any:
    """Per-action adjustments on top of the generated body."""
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and action.method == "PATCH" and "/relationships/" not in action.path:
        data["id"] = ident
    fix = FIXES.get(action.id)
    return fix(body, world) if fix else body


def _set(path: str, value: Any) -> Callable[[Any, World], Any]:
    def apply(body: Any, world: World) -> Any:
        node = body
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value(world) if callable(value) else value
        return body

    return apply


def _merge(body: Any, world: World) -> Any:
    people = world.records("profile")
    body["data"]["id"] = people[1].id
    body["data"]["relationships"]["profiles"]["data"] = [{"type": "profile", "id": people[-1].id}]
    return body


def _deletion(body: Any, world: World) -> Any:
    victim = world.records("profile")[-2]
    body["data"]["attributes"]["profile"]["data"] = {
        "type": "profile",
        "id": victim.id,
        "attributes": {},
    }
    return body


def _profile_event(body: Any, world: World) -> Any:
    attrs = body["data"]["attributes"]
    attrs["metric"] = {"data": {"type": "metric", "attributes": {"name": "Viewed Product"}}}
    attrs["profile"] = {
        "data": {"type": "profile", "attributes": {"email": "olivia.smith@example.com"}}
    }
    attrs["properties"] = {"ProductName": "Ridgeline Down Jacket"}
    return body


def _bulk_events(body: Any, world: World) -> Any:
    group = body["data"]["attributes"]["events-bulk-create"]["data"][0]
    group["attributes"]["profile"] = {
        "data": {"type": "profile", "attributes": {"email": "bulk.events@example.org"}}
    }
    group["attributes"]["events"]["data"] = [
        {
            "type": "event",
            "attributes": {
                "properties": {"n": 1},
                "metric": {"data": {"type": "metric", "attributes": {"name": "Active on Site"}}},
            },
        }
    ]
    return body


def _timeframe(body: Any, world: World) -> Any:
    body["data"]["attributes"]["timeframe"] = {"key": "last_90_days"}
    if "conversion_metric_id" in body["data"]["attributes"]:
        body["data"]["attributes"]["conversion_metric_id"] = world.pick("metric")
    return body


def _aggregate(body: Any, world: World) -> Any:
    attrs = body["data"]["attributes"]
    attrs.update(
        {
            "metric_id": world.pick("metric"),
            "measurements": ["count", "sum_value"],
            "interval": "week",
            "filter": [
                "greater-or-equal(datetime,2026-04-01T00:00:00)",
                "less-than(datetime,2026-07-01T00:00:00)",
            ],
        }
    )
    return body


def _create_flow(body: Any, world: World) -> Any:
    body["data"]["attributes"]["definition"] = {
        "triggers": [{"type": "list", "id": world.pick("list")}],
        "entry_action_id": "a1",
        "actions": [
            {
                "temporary_id": "a1",
                "type": "time-delay",
                "links": {"next": None},
                "data": {"unit": "days", "value": 1, "timezone": "profile"},
            }
        ],
    }
    return body


def _campaign(body: Any, world: World) -> Any:
    body["data"]["attributes"]["audiences"] = {"included": [world.pick("list")]}
    return body


def _import_profiles(body: Any, world: World) -> Any:
    body["data"]["attributes"]["profiles"]["data"] = [
        {"type": "profile", "attributes": {"email": f"import{next(_counter)}@example.org"}}
    ]
    return body


def _unique_code(body: Any, world: World) -> Any:
    body["data"]["attributes"]["unique_code"] = f"CONF-{next(_counter)}"
    return body


def _bulk_unique_codes(body: Any, world: World) -> Any:
    for item in body["data"]["attributes"]["coupon-codes"]["data"]:
        item["attributes"]["unique_code"] = f"BULK-{next(_counter)}"
    return body


def _back_in_stock(body: Any, world: World) -> Any:
    body["data"]["attributes"]["profile"] = {
        "data": {"type": "profile", "attributes": {"email": "waitlist@example.org"}}
    }
    return body


def _flow_action(body: Any, world: World) -> Any:
    body["data"]["attributes"]["definition"] = {
        "type": "send-email",
        "links": {"next": None},
        "data": {"message": {"name": "Step 1", "subject_line": "Welcome to the trail"}},
    }
    return body


def _data_source_records(body: Any, world: World) -> Any:
    record = {
        "type": "data-source-record",
        "attributes": {"record": {"member_id": "M-42", "tier": "gold", "points": 5}},
    }
    body["data"]["attributes"]["data-source-records"] = {"data": [record]}
    return body


def _client_subscription(body: Any, world: World) -> Any:
    profile = body["data"]["attributes"]["profile"]["data"]
    profile["attributes"]["email"] = f"subscriber{next(_counter)}@example.org"
    return body


# The smallest valid PNG (1x1 transparent pixel), for the multipart image upload.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _subscribe(body: Any, world: World) -> Any:
    for item in body["data"]["attributes"]["profiles"]["data"]:
        item["attributes"]["email"] = f"optin{next(_counter)}@example.org"
    return body


FIXES: dict[str, Callable[[Any, World], Any]] = {
    "bulk_subscribe_profiles": _subscribe,
    "update_flow": _set("data/attributes/status", "manual"),
    "refresh_campaign_recipient_estimation": _set("data/id", lambda w: w.pick("campaign")),
    "bulk_create_data_source_records": _data_source_records,
    "create_client_subscription": _client_subscription,
    "create_back_in_stock_subscription": _back_in_stock,
    "update_flow_action": _flow_action,
    "send_campaign": _set("data/id", _draft),
    "merge_profiles": _merge,
    "request_profile_deletion": _deletion,
    "create_event": _profile_event,
    "create_client_event": _profile_event,
    "bulk_create_events": _bulk_events,
    "query_campaign_values": _timeframe,
    "query_flow_values": _timeframe,
    "query_flow_series": _timeframe,
    "query_segment_values": _timeframe,
    "query_segment_series": _timeframe,
    "query_metric_aggregates": _aggregate,
    "create_flow": _create_flow,
    "create_campaign": _campaign,
    "bulk_import_profiles": _import_profiles,
    "create_coupon_code": _unique_code,
    "bulk_create_coupon_codes": _bulk_unique_codes,
    "upload_image_from_url": _set(
        "data/attributes/import_from_url", "https://example.org/gear/hero.jpg"
    ),
    "create_client_profile": _set("data/attributes/email", "client.profile@example.org"),
    "create_profile": _set("data/attributes/email", "new.profile@example.org"),
    # Klaviyo takes only its editors' names (the spec says so in prose, not as an enum).
    "create_template": _set("data/attributes/editor_type", "CODE"),
}
REQUIRED_QUERY = {
    "get_client_review_values_reports": {"statistics": "average_rating,total_reviews"},
    "get_campaigns": {"filter": 'equals(messages.channel,"email")'},
    "get_coupon_codes": {"filter": 'equals(coupon.id,"WELCOME10")'},
}


def call_for(action: Action, world: World, setup: Callable[[str], str]) -> Call:
    """The request that exercises ``action``; ``setup(action_id)`` runs a prerequisite and returns an id."""
    parts = action.path.strip("/").split("/")
    destructive = action.method == "DELETE" and len(parts) == 3
    ident = ""
    if len(parts) >= 3 and parts[2].startswith("{"):
        if action.companion_of:
            ident = setup(action.companion_of)
        elif parts[1] == "profile-bulk-import-jobs":
            ident = setup("bulk_import_profiles")
        elif parts[1] == "campaign-recipient-estimations":
            ident = world.pick("campaign")
        elif parts[1] == "campaign-send-jobs":
            ident = setup("send_campaign")
        elif parts[1] == "campaign-recipient-estimation-jobs":
            ident = setup("refresh_campaign_recipient_estimation")
        else:
            ident = world.pick(world.types[parts[1]], last=destructive)
    path = action.path.replace("{id}", ident).replace("{job_id}", ident)
    params = dict(REQUIRED_QUERY.get(action.id, {}))
    for param in action.query_params:
        if param.required and param.wire not in params and param.enum:
            params[param.wire] = str(param.enum[0])
    # Ask for every optional attribute and related record too, so the schema check covers them.
    if action.include and action.method == "GET":
        params["include"] = ",".join(action.include)
    for kind, names in action.additional_fields.items():
        params[f"additional-fields[{kind}]"] = ",".join(names)
    if action.kind == "client":
        params["company_id"] = world.account.company_id
    body = None
    if action.body is not None:
        body = example(
            dict(action.body.schema), world, last=destructive or action.kind == "destructive"
        )
        body = _patch_body(action, body, world, ident)
    values = {p.wire: ident for p in action.path_params}
    if action.id == "upload_image_from_file":
        return Call(
            action.method,
            path,
            params,
            {"name": "trail.png"},
            values,
            files={"file": ("trail.png", PNG, "image/png")},
        )
    return Call(action.method, path, params, body, values)

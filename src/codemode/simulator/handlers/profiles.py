"""Profiles: uniqueness (409 duplicate_profile), merges, deletion requests, list and segment members."""

from __future__ import annotations

import re
from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import listing, single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import store_attributes, update_record
from codemode.simulator.store import Account, Record

__all__ = [
    "check_email",
    "check_identifiers",
    "find_profile",
    "update_profile_fields",
    "upsert_profile",
]

IDENTIFIERS = ("email", "phone_number", "external_id")
# Klaviyo rejects addresses without one "@" and a dotted domain; it does not verify mailboxes.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


def check_email(value: Any, pointer: str) -> None:
    """400 when ``value`` is not an email address Klaviyo would accept."""
    if not isinstance(value, str) or not EMAIL.match(value):
        raise bad_body(pointer, f"Invalid email address {value!r}: use the form name@example.com.")


def check_identifiers(attrs: dict[str, Any], pointer: str) -> None:
    """400 for a malformed email or a phone number not in E.164 form."""
    if attrs.get("email") is not None:
        check_email(attrs["email"], f"{pointer}/email")
    phone = attrs.get("phone_number")
    if phone is not None and (not isinstance(phone, str) or not PHONE.match(phone)):
        raise bad_body(
            f"{pointer}/phone_number",
            f"Invalid phone number {phone!r}: use E.164 form, e.g. +13035551234.",
        )


def find_profile(
    account: Account, attrs: dict[str, Any], *, skip: str | None = None
) -> Record | None:
    """The profile sharing an identifier (email, phone number, external id) with ``attrs``."""
    wanted = {k: attrs.get(k) for k in IDENTIFIERS if attrs.get(k)}
    if not wanted:
        return None
    for record in account.records("profile"):
        if record.id != skip and any(record.attributes.get(k) == v for k, v in wanted.items()):
            return record
    return None


def _new_profile(account: Account, attrs: dict[str, Any]) -> Record:
    stored = store_attributes("profile", attrs)
    record = account.add("profile", stored, {"push-tokens": [], "conversations": []})
    record.attributes.setdefault("properties", {})
    record.attributes["created"] = record.attributes["updated"] = record.created
    # New profiles have consent records like Klaviyo's: never subscribed until a subscribe call.
    never = {
        "consent": "NEVER_SUBSCRIBED",
        "consent_timestamp": None,
        "last_updated": None,
        "method": None,
        "method_detail": None,
    }
    record.attributes["subscriptions"] = {
        "email": {
            "marketing": {
                **never,
                "can_receive_email_marketing": False,
                "custom_method_detail": None,
                "double_optin": None,
                "suppression": [],
                "list_suppressions": [],
            }
        },
        "sms": {"marketing": {**never, "can_receive_sms_marketing": False}, "transactional": None},
        "mobile_push": None,
    }
    return record


def upsert_profile(account: Account, attrs: dict[str, Any]) -> Record:
    """Find the profile by identifier and update it, or create it (client and event endpoints)."""
    existing = find_profile(account, attrs)
    if existing is None:
        return _new_profile(account, attrs)
    for key, value in store_attributes("profile", attrs).items():
        if key == "properties" and isinstance(value, dict):
            existing.attributes.setdefault("properties", {}).update(value)
        elif value is not None:
            existing.attributes[key] = value
    existing.attributes["updated"] = account.timestamp()
    account.touch("profile", existing.id)
    return existing


def _require_identifier(attrs: dict[str, Any]) -> None:
    if not any(attrs.get(k) for k in (*IDENTIFIERS, "anonymous_id", "_kx")):
        raise bad_body(
            "/data/attributes",
            "A profile needs at least one identifier: email, phone_number or external_id.",
        )


def _duplicate(existing: Record) -> ApiError:
    return ApiError(
        409,
        "duplicate_profile",
        "A profile already exists with one of these identifiers.",
        pointer="/data/attributes",
        meta={"duplicate_profile_id": existing.id},
    )


@handler
def create_profile(ctx: Ctx) -> Reply:
    """Create a profile; 409 ``duplicate_profile`` with the existing id when an identifier is taken.

    Differs: phone numbers are compared as given, without E.164 normalisation.
    """
    attrs = ctx.attributes()
    _require_identifier(attrs)
    check_identifiers(attrs, "/data/attributes")
    existing = find_profile(ctx.account, attrs)
    if existing is not None:
        raise _duplicate(existing)
    return Reply(201, single(ctx, _new_profile(ctx.account, attrs)))


def _patched_properties(
    current: dict[str, Any], given: dict[str, Any] | None, meta: dict[str, Any]
) -> dict[str, Any]:
    properties = dict(current)
    properties.update(given or {})
    patch = meta.get("patch_properties") or {}
    for key, value in (patch.get("append") or {}).items():
        now = properties.get(key)
        items = now if isinstance(now, list) else ([] if now is None else [now])
        properties[key] = [*items, *(value if isinstance(value, list) else [value])]
    for key, value in (patch.get("unappend") or {}).items():
        drop = value if isinstance(value, list) else [value]
        if isinstance(properties.get(key), list):
            properties[key] = [v for v in properties[key] if v not in drop]
    unset = patch.get("unset") or []
    for key in [unset] if isinstance(unset, str) else unset:
        properties.pop(key, None)
    return properties


def update_profile_fields(
    account: Account, record: Record, attrs: dict[str, Any], meta: dict[str, Any]
) -> None:
    """Apply an update body to a profile: properties merge key by key, ``meta.patch_properties``
    appends, unappends and unsets, other attributes replace."""
    attrs = dict(attrs)
    properties = _patched_properties(
        record.attributes.get("properties") or {}, attrs.pop("properties", None), meta
    )
    record.attributes.update(store_attributes("profile", attrs))
    record.attributes["properties"] = properties
    record.attributes["updated"] = account.timestamp()
    account.touch("profile", record.id)


@handler
def update_profile(ctx: Ctx) -> Reply:
    """Update a profile: custom ``properties`` merge key by key, ``meta.patch_properties`` appends,
    unappends and unsets; 409 ``duplicate_profile`` when a new identifier belongs to another profile.

    Differs: nested objects other than properties (e.g. location) are replaced, not merged.
    """
    attrs = dict(ctx.attributes())
    check_identifiers(attrs, "/data/attributes")
    clash = find_profile(ctx.account, attrs, skip=ctx.path["id"])
    if clash is not None:
        raise _duplicate(clash)
    record = ctx.account.get("profile", ctx.path["id"])
    properties = _patched_properties(
        record.attributes.get("properties") or {},
        attrs.pop("properties", None),
        ctx.data().get("meta") or {},
    )
    reply = update_record(ctx, attributes=attrs)
    record.attributes["properties"] = properties
    return Reply(reply.status, single(ctx, record))


@handler
def create_client_profile(ctx: Ctx) -> Reply:
    """Create or update a profile from a browser (public key); 202 with no body."""
    attrs = ctx.attributes()
    _require_identifier(attrs)
    upsert_profile(ctx.account, attrs)
    return Reply(202)


@handler
def merge_profiles(ctx: Ctx) -> Reply:
    """Merge source profiles into ``data.id``: events, memberships and coupon codes move; sources go.

    Differs: the merge completes synchronously instead of shortly after the call.
    """
    data = ctx.data()
    target = ctx.account.get("profile", str(data["id"]))
    sources = ctx.rel_ids("profiles")
    if not sources:
        raise bad_body(
            "/data/relationships/profiles/data", "Name at least one source profile to merge."
        )
    for n, source_id in enumerate(sources):
        if source_id == target.id:
            raise bad_body(
                f"/data/relationships/profiles/data/{n}/id",
                "A profile cannot be merged into itself.",
            )
        source = ctx.account.get("profile", source_id)
        for kind in ("event", "coupon-code"):
            for record in ctx.account.records(kind):
                if record.rels.get("profile") == source.id:
                    record.rels["profile"] = target.id
                    ctx.account.touch(kind, record.id)
        for kind in ("list", "segment"):
            for group in ctx.account.records(kind):
                members = group.many("profiles")
                if source.id in members:
                    if target.id not in members:
                        members.append(target.id)
                        ctx.account.joined.setdefault(group.id, {})[target.id] = (
                            ctx.account.timestamp()
                        )
                    ctx.account.touch(kind, group.id)
        for key, value in source.attributes.items():
            if key == "properties" and isinstance(value, dict):
                merged = dict(value)
                merged.update(target.attributes.get("properties") or {})
                target.attributes["properties"] = merged
            elif target.attributes.get(key) in (None, "", {}) and value not in (None, ""):
                target.attributes[key] = value
        ctx.account.touch("profile", target.id)
        ctx.account.remove("profile", source.id)
    target.attributes["updated"] = ctx.account.timestamp()
    return Reply(
        201,
        {
            "data": {
                "type": "profile",
                "id": target.id,
                "links": {"self": f"{ctx.base_url}/api/profiles/{target.id}/"},
            },
            "links": {"self": ctx.url()},
        },
    )


@handler
def request_profile_deletion(ctx: Ctx) -> Reply:
    """Delete a profile (by id, email or phone) with its events and memberships; 202 with no body.

    Differs: the deletion is applied at once; Klaviyo completes it asynchronously.
    """
    profile = (ctx.attributes().get("profile") or {}).get("data") or {}
    attrs = profile.get("attributes") or {}
    record = (
        ctx.account.find("profile", profile.get("id"))
        if profile.get("id")
        else find_profile(ctx.account, attrs)
    )
    if record is None:
        raise ApiError(
            404,
            "not_found",
            "No profile matches the id, email or phone number given.",
            pointer="/data/attributes/profile",
        )
    events = ctx.account.table("event")
    for event_id in [e.id for e in events.values() if e.rels.get("profile") == record.id]:
        del events[event_id]
        ctx.account.removed.setdefault("event", set()).add(event_id)
    ctx.account.remove("profile", record.id)
    return Reply(202)


def _members(ctx: Ctx, kind: str) -> Reply:
    group = ctx.account.get(kind, ctx.path["id"])
    joined = ctx.account.joined.get(group.id, {})
    rows: list[Record] = []
    for pid in group.many("profiles"):
        profile = ctx.account.find("profile", pid)
        if profile is not None:
            view = Record(
                "profile", profile.id, dict(profile.attributes), profile.rels, profile.created
            )
            view.attributes["joined_group_at"] = joined.get(pid, group.created)
            rows.append(view)
    return Reply(200, listing(ctx, rows))


@handler
def get_profiles_for_list(ctx: Ctx) -> Reply:
    """List a list's members with ``joined_group_at`` (filter and sort on it)."""
    return _members(ctx, "list")


@handler
def get_profiles_for_segment(ctx: Ctx) -> Reply:
    """List a segment's members with ``joined_group_at``.

    Differs: segment membership is stored, not re-evaluated from the segment definition.
    """
    return _members(ctx, "segment")

"""Consent: bulk subscribe, unsubscribe, suppress and unsuppress; profile import; client subscriptions.

Each change lands in the profile's ``subscriptions`` (read with
``additional-fields[profile]=subscriptions``), so a later read shows the new consent.
"""

from __future__ import annotations

from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.jobs import WORK, start_job
from codemode.simulator.handlers.profiles import (
    check_email,
    check_identifiers,
    find_profile,
    update_profile_fields,
    upsert_profile,
)
from codemode.simulator.store import Account, Record

__all__: list[str] = []

MAX_PROFILES = 1000


def _marketing(profile: Record, channel: str) -> dict[str, Any]:
    subs = profile.attributes.setdefault("subscriptions", {}) or {}
    profile.attributes["subscriptions"] = subs
    node = subs.setdefault(channel, {}) or {}
    subs[channel] = node
    marketing = node.get("marketing")
    if not isinstance(marketing, dict):
        marketing = {"consent": "NEVER_SUBSCRIBED", "consent_timestamp": None}
        node["marketing"] = marketing
    if channel == "email":
        marketing.setdefault("suppression", [])
        marketing.setdefault("list_suppressions", [])
        marketing.setdefault("double_optin", None)
        marketing.setdefault("custom_method_detail", None)
    if channel == "sms":
        node.setdefault("transactional", None)
    for key in ("last_updated", "method", "method_detail"):
        marketing.setdefault(key, None)
    return marketing


def _set_consent(
    account: Account, profile: Record, channel: str, consent: str, method: str
) -> None:
    marketing = _marketing(profile, channel)
    stamp = account.timestamp()
    marketing.update(
        {"consent": consent, "consent_timestamp": stamp, "last_updated": stamp, "method": method}
    )
    can = consent == "SUBSCRIBED" and not (channel == "email" and marketing.get("suppression"))
    marketing[f"can_receive_{channel}_marketing"] = can
    profile.attributes["updated"] = stamp
    account.touch("profile", profile.id)


def _channels(attrs: dict[str, Any]) -> list[str]:
    subs = attrs.get("subscriptions") or {}
    named = [
        c for c in ("email", "sms") if isinstance(subs.get(c), dict) and subs[c].get("marketing")
    ]
    if named:
        return named
    # No channel named: the channels the profile's identifiers reach.
    return [c for c, key in (("email", "email"), ("sms", "phone_number")) if attrs.get(key)]


def _join(account: Account, list_id: str | None, profile: Record, *, add: bool) -> None:
    if not list_id:
        return
    group = account.find("list", list_id)
    if group is None:
        return
    members = group.many("profiles")
    if add and profile.id not in members:
        members.append(profile.id)
        account.joined.setdefault(group.id, {})[profile.id] = account.timestamp()
    elif not add and profile.id in members:
        members.remove(profile.id)
    account.touch("list", group.id)


def _profiles(ctx: Ctx) -> list[dict[str, Any]]:
    items = (ctx.attributes().get("profiles") or {}).get("data") or []
    pointer = "/data/attributes/profiles/data"
    if not isinstance(items, list) or not items:
        raise bad_body(pointer, "Send at least one profile in data.attributes.profiles.data.")
    if len(items) > MAX_PROFILES:
        raise bad_body(pointer, f"A job takes at most {MAX_PROFILES} profiles; split the request.")
    for n, item in enumerate(items):
        check_identifiers(item.get("attributes") or {}, f"{pointer}/{n}/attributes")
    return items


def _list_id(ctx: Ctx) -> str | None:
    ids = ctx.rel_ids("list")
    if ids:
        ctx.account.get("list", ids[0])
    return ids[0] if ids else None


@handler
def bulk_subscribe_profiles(ctx: Ctx) -> Reply:
    """Subscribe profiles (found by id, email or phone; created when absent) to email and/or SMS
    marketing, and add them to the list named in ``relationships.list``; 202 with no body.

    Differs: consent changes at once (Klaviyo applies the job within seconds); no double opt-in
    pending state: a list with double opt-in still subscribes immediately; with no channel named
    under ``subscriptions``, the profile is subscribed on the channels its identifiers reach.
    """
    list_id = _list_id(ctx)
    for n, item in enumerate(_profiles(ctx)):
        attrs = dict(item.get("attributes") or {})
        channels = _channels(attrs)
        if not channels:
            raise bad_body(
                f"/data/attributes/profiles/data/{n}/attributes/subscriptions",
                "Give an email or phone_number, or name the channel, e.g. {'email': {'marketing': {'consent': 'SUBSCRIBED'}}}.",
            )
        identity = {k: attrs[k] for k in ("email", "phone_number") if attrs.get(k)}
        profile = ctx.account.find("profile", item.get("id")) if item.get("id") else None
        if profile is None:
            if not identity:
                raise bad_body(
                    f"/data/attributes/profiles/data/{n}/attributes",
                    "Each profile needs an email or a phone_number to subscribe.",
                )
            profile = upsert_profile(ctx.account, identity)
        for channel in channels:
            _set_consent(ctx.account, profile, channel, "SUBSCRIBED", "API")
        _join(ctx.account, list_id, profile, add=True)
    return Reply(202)


@handler
def bulk_unsubscribe_profiles(ctx: Ctx) -> Reply:
    """Unsubscribe profiles (by email or phone) from email and/or SMS marketing; 202 with no body.

    With ``relationships.list`` the profiles also leave that list. Unknown addresses are skipped.

    Differs: consent changes at once (Klaviyo applies the job within seconds).
    """
    list_id = _list_id(ctx)
    for item in _profiles(ctx):
        attrs = dict(item.get("attributes") or {})
        profile = find_profile(
            ctx.account, {k: attrs[k] for k in ("email", "phone_number") if attrs.get(k)}
        )
        if profile is None:
            continue
        for channel in _channels(attrs) or ["email"]:
            _set_consent(ctx.account, profile, channel, "UNSUBSCRIBED", "API")
        _join(ctx.account, list_id, profile, add=False)
    return Reply(202)


def _suppression_targets(ctx: Ctx, account: Account, items: list[dict[str, Any]]) -> list[Record]:
    out: list[Record] = []
    for item in items:
        email = (item.get("attributes") or {}).get("email")
        profile = find_profile(account, {"email": email}) if email else None
        if profile is not None:
            out.append(profile)
    for kind in ("list", "segment"):
        for ident in ctx.rel_ids(kind):
            group = account.get(kind, ident)
            out += [
                p for p in map(lambda i: account.find("profile", i), group.many("profiles")) if p
            ]
    return out


def _apply_suppression(account: Account, job: Record, payload: list[Any], *, add: bool) -> None:
    for profile_id in payload:
        profile = account.find("profile", str(profile_id))
        if profile is None:
            continue
        marketing = _marketing(profile, "email")
        kept = [s for s in marketing["suppression"] if s.get("reason") != "USER_SUPPRESSED"]
        if add:
            kept.append({"reason": "USER_SUPPRESSED", "timestamp": account.timestamp()})
        marketing["suppression"] = kept
        marketing["can_receive_email_marketing"] = (
            marketing.get("consent") == "SUBSCRIBED" and not kept
        )
        account.touch("profile", profile.id)
        job.attributes["completed_count"] = int(job.attributes.get("completed_count") or 0) + 1


def _suppress(account: Account, job: Record, payload: list[Any]) -> None:
    _apply_suppression(account, job, payload, add=True)


def _unsuppress(account: Account, job: Record, payload: list[Any]) -> None:
    _apply_suppression(account, job, payload, add=False)


WORK["bulk_suppress_profiles"] = _suppress
WORK["bulk_unsuppress_profiles"] = _unsuppress


def _suppression_job(ctx: Ctx, kind: str) -> Reply:
    items = (ctx.attributes().get("profiles") or {}).get("data") or []
    for n, item in enumerate(items):
        check_email(
            (item.get("attributes") or {}).get("email"),
            f"/data/attributes/profiles/data/{n}/attributes/email",
        )
    if not items and not (ctx.rel_ids("list") or ctx.rel_ids("segment")):
        raise bad_body(
            "/data/attributes/profiles",
            "Name the profiles by email, or a list or segment in relationships.",
        )
    if len(items) > 100:
        raise bad_body("/data/attributes/profiles/data", "A job takes at most 100 profiles.")
    targets = _suppression_targets(ctx, ctx.account, items)
    job = start_job(ctx, kind, [p.id for p in targets])
    job.attributes.pop("errors", None)
    job.attributes["total_count"] = len(items) or len(targets)
    job.rels["lists"] = ctx.rel_ids("list")
    job.rels["segments"] = ctx.rel_ids("segment")
    # The consent change is visible at once, as in Klaviyo a moment after the request.
    WORK[ctx.action.id](ctx.account, job, ctx.account.jobs[job.id]["payload"])
    ctx.account.jobs[job.id]["payload"] = []
    return Reply(202, single(ctx, job))


@handler
def bulk_suppress_profiles(ctx: Ctx) -> Reply:
    """Suppress profiles from email marketing (by email, or every member of a list or segment);
    202 with the job. Suppressed profiles read ``can_receive_email_marketing: false``.

    Differs: the suppression is visible at once; the job still reports queued, processing,
    complete on later polls.
    """
    return _suppression_job(ctx, "profile-suppression-bulk-create-job")


@handler
def bulk_unsuppress_profiles(ctx: Ctx) -> Reply:
    """Remove user suppressions (by email, or every member of a list or segment); 202 with the job.

    Differs: the change is visible at once; the job still progresses on later polls.
    """
    return _suppression_job(ctx, "profile-suppression-bulk-delete-job")


@handler
def create_or_update_profile(ctx: Ctx) -> Reply:
    """Create a profile, or update the one matching ``data.id`` or an identifier: 201 when created,
    200 when updated; custom properties merge key by key.

    Differs: identifiers are matched in the order id, email, phone_number, external_id without
    Klaviyo's merge rules for conflicting identifiers.
    """
    data = ctx.data()
    attrs = dict(ctx.attributes())
    check_identifiers(attrs, "/data/attributes")
    existing = (
        ctx.account.find("profile", str(data["id"]))
        if data.get("id")
        else find_profile(ctx.account, attrs)
    )
    if data.get("id") and existing is None:
        raise ApiError(404, "not_found", f"No profile with id {data['id']!r}.", pointer="/data/id")
    if existing is None:
        if not any(attrs.get(k) for k in ("email", "phone_number", "external_id", "_kx")):
            raise bad_body(
                "/data/attributes",
                "A profile needs at least one identifier: email, phone_number or external_id.",
            )
        return Reply(201, single(ctx, upsert_profile(ctx.account, attrs)))
    update_profile_fields(ctx.account, existing, attrs, (data.get("meta") or {}))
    return Reply(200, single(ctx, existing))


@handler
def create_client_subscription(ctx: Ctx) -> Reply:
    """Subscribe one profile from a browser (public key) to the list in ``relationships.list``,
    with the consent given per channel; 202 with no body.

    Differs: consent changes at once; double opt-in lists do not wait for confirmation.
    """
    list_id = _list_id(ctx)
    if list_id is None:
        raise bad_body("/data/relationships/list", "Name the list to subscribe the profile to.")
    profile_data = (ctx.attributes().get("profile") or {}).get("data") or {}
    attrs = dict(profile_data.get("attributes") or {})
    check_identifiers(attrs, "/data/attributes/profile/data/attributes")
    subs = attrs.pop("subscriptions", None) or {}
    attrs.pop("meta", None)
    if not any(attrs.get(k) for k in ("email", "phone_number")):
        raise bad_body(
            "/data/attributes/profile/data/attributes",
            "A subscription needs the profile's email or phone_number.",
        )
    profile = upsert_profile(ctx.account, attrs)
    channels = [c for c in ("email", "sms") if isinstance(subs.get(c), dict)] or [
        c for c, key in (("email", "email"), ("sms", "phone_number")) if attrs.get(key)
    ]
    for channel in channels:
        _set_consent(ctx.account, profile, channel, "SUBSCRIBED", "API")
    _join(ctx.account, list_id, profile, add=True)
    return Reply(202)

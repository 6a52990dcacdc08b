"""Catalog items, variants and categories (compound ids) and back-in-stock subscriptions."""

from __future__ import annotations

from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import stamp_dates, store_attributes
from codemode.simulator.handlers.profiles import upsert_profile


def _compound(attrs: dict[str, Any]) -> str:
    return f"{attrs.get('integration_type') or '$custom'}:::{attrs.get('catalog_type') or '$default'}:::{attrs['external_id']}"


def _create(ctx: Ctx, kind: str, rels: dict[str, Any]) -> Reply:
    attrs = ctx.attributes()
    ident = _compound(attrs)
    if ctx.account.find(kind, ident) is not None:
        raise ApiError(
            409,
            "duplicate",
            f"A {kind} with id {ident!r} already exists; update it instead.",
            pointer="/data/attributes/external_id",
        )
    record = ctx.account.add(kind, store_attributes(kind, attrs), rels, ident=ident)
    stamp_dates(record)
    return Reply(201, single(ctx, record))


def _existing(ctx: Ctx, kind: str, name: str) -> list[str]:
    ids = ctx.rel_ids(name)
    for n, ident in enumerate(ids):
        if ctx.account.find(kind, ident) is None:
            raise ApiError(
                404,
                "not_found",
                f"{kind} {ident!r} does not exist.",
                pointer=f"/data/relationships/{name}/data/{n}/id",
            )
    return ids


@handler
def create_catalog_item(ctx: Ctx) -> Reply:
    """Create a catalog item with id ``$custom:::$default:::<external_id>``; 409 when it exists."""
    return _create(
        ctx, "catalog-item", {"categories": _existing(ctx, "catalog-category", "categories")}
    )


@handler
def create_catalog_variant(ctx: Ctx) -> Reply:
    """Create a variant of an existing item (404 when the item is absent; 409 when the id exists)."""
    items = _existing(ctx, "catalog-item", "item")
    if not items:
        raise bad_body("/data/relationships/item/data/id", "A variant needs its catalog item.")
    return _create(ctx, "catalog-variant", {"item": items[0]})


@handler
def create_catalog_category(ctx: Ctx) -> Reply:
    """Create a category (optionally with items); 409 when the id exists."""
    reply = _create(ctx, "catalog-category", {})
    category_id = reply.body["data"]["id"] if reply.body else ""
    for item_id in _existing(ctx, "catalog-item", "items"):
        ctx.account.get("catalog-item", item_id).many("categories").append(category_id)
        ctx.account.touch("catalog-item", item_id)
    if ctx.rel_ids("items"):
        reply = Reply(201, single(ctx, ctx.account.get("catalog-category", category_id)))
    return reply


@handler
def delete_catalog_item(ctx: Ctx) -> Reply:
    """Delete an item and its variants (204)."""
    item = ctx.account.get("catalog-item", ctx.path["id"])
    for variant in list(ctx.account.records("catalog-variant")):
        if variant.rels.get("item") == item.id:
            ctx.account.remove("catalog-variant", variant.id)
    ctx.account.remove("catalog-item", item.id)
    return Reply(204)


@handler
def create_back_in_stock_subscription(ctx: Ctx) -> Reply:
    """Subscribe a profile to a variant's restock (202; 404 when the variant is absent).

    Differs: recorded as a "Subscribed to Back in Stock" event; no restock notification is sent.
    """
    attrs = ctx.attributes()
    variants = ctx.rel_ids("variant")
    if not variants:
        raise bad_body("/data/relationships/variant/data/id", "Name the catalog variant to watch.")
    variant = ctx.account.get("catalog-variant", variants[0])
    profile_data = (attrs.get("profile") or {}).get("data") or {}
    profile_attrs = dict(profile_data.get("attributes") or {})
    if profile_data.get("id"):
        profile = ctx.account.get("profile", str(profile_data["id"]))
    elif any(profile_attrs.get(k) for k in ("email", "phone_number", "external_id")):
        profile = upsert_profile(ctx.account, profile_attrs)
    else:
        raise bad_body(
            "/data/attributes/profile/data", "Identify the profile by id, email or phone_number."
        )
    from codemode.simulator.handlers.events import track

    track(
        ctx.account,
        {
            "metric": {"data": {"attributes": {"name": "Subscribed to Back in Stock"}}},
            "profile": {"data": {"id": profile.id}},
            "properties": {"VariantID": variant.id, "Channels": attrs.get("channels") or []},
        },
        "/data/attributes",
    )
    return Reply(202)

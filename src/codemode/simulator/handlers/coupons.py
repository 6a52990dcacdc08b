"""Coupons and their codes: ids from external ids, unique codes, cascading deletes."""

from __future__ import annotations

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import store_attributes


@handler
def create_coupon(ctx: Ctx) -> Reply:
    """Create a coupon whose id is its ``external_id``; 409 when one exists."""
    attrs = ctx.attributes()
    ident = str(attrs.get("external_id") or "")
    if not ident:
        raise bad_body(
            "/data/attributes/external_id",
            "A coupon needs an external_id (its code name, e.g. WELCOME10).",
        )
    if ctx.account.find("coupon", ident) is not None:
        raise ApiError(
            409,
            "duplicate",
            f"A coupon {ident!r} already exists.",
            pointer="/data/attributes/external_id",
        )
    record = ctx.account.add("coupon", store_attributes("coupon", attrs), ident=ident)
    return Reply(201, single(ctx, record))


@handler
def delete_coupon(ctx: Ctx) -> Reply:
    """Delete a coupon and all its codes (204)."""
    coupon = ctx.account.get("coupon", ctx.path["id"])
    for code in list(ctx.account.records("coupon-code")):
        if code.rels.get("coupon") == coupon.id:
            ctx.account.remove("coupon-code", code.id)
    ctx.account.remove("coupon", coupon.id)
    return Reply(204)


@handler
def create_coupon_code(ctx: Ctx) -> Reply:
    """Create a unique code for a coupon (200, as documented); 409 when the code exists."""
    attrs = ctx.attributes()
    coupons = ctx.rel_ids("coupon")
    if not coupons:
        raise bad_body(
            "/data/relationships/coupon/data/id", "Name the coupon this code belongs to."
        )
    coupon = ctx.account.get("coupon", coupons[0])
    code = str(attrs["unique_code"])
    if any(c.attributes.get("unique_code") == code for c in ctx.account.records("coupon-code")):
        raise ApiError(
            409,
            "duplicate",
            f"The coupon code {code!r} already exists.",
            pointer="/data/attributes/unique_code",
        )
    record = ctx.account.add(
        "coupon-code",
        {"unique_code": code, "expires_at": attrs.get("expires_at"), "status": "UNASSIGNED"},
        {"coupon": coupon.id, "profile": None},
        ident=f"{coupon.id}-{code}",
    )
    return Reply(200, single(ctx, record))

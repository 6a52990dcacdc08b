"""Asynchronous bulk jobs on a deterministic clock: queued, then processing, then complete.

A job's work is applied when a poll finds it due (``SimConfig.job_polls`` polls after creation),
so results appear only once the job reports ``complete``, and per-item failures show up in the
job's ``errors`` and ``failed_count`` as Klaviyo reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import stamp_dates, store_attributes
from codemode.simulator.store import Account, Record

__all__ = ["advance", "start_job"]

Work = Callable[[Account, Record, list[Any]], None]
WORK: dict[str, Work] = {}


def start_job(
    ctx: Ctx,
    kind: str,
    payload: list[Any],
    *,
    ident: str | None = None,
    relation: str | None = None,
) -> Record:
    """Create a queued job of ``kind`` whose work runs on a later poll."""
    stamp = ctx.account.timestamp()
    job = ctx.account.add(
        kind,
        {
            "status": "queued",
            "total_count": len(payload),
            "completed_count": 0,
            "failed_count": 0,
            "created_at": stamp,
            "completed_at": None,
            "expires_at": None,
            "errors": [],
        },
        {relation: []} if relation else {},
        ident=ident,
    )
    ctx.account.jobs[job.id] = {
        "op": ctx.action.id,
        "kind": kind,
        "payload": payload,
        "polls": 0,
        "done": False,
    }
    return job


def advance(account: Account, job: Record, polls_needed: int) -> None:
    """One poll of a job: move it along and apply its work when it comes due."""
    state = account.jobs.get(job.id)
    if state is None or state["done"] or job.attributes.get("status") == "cancelled":
        return
    if state.get("kind", job.type) != job.type:
        return  # another job type sharing the id (a campaign's send and estimation jobs)
    state["polls"] += 1
    if state["polls"] < polls_needed:
        job.attributes["status"] = "processing"
    else:
        WORK[state["op"]](account, job, state["payload"])
        state["done"] = True
        job.attributes["status"] = "complete"
        job.attributes["completed_at"] = account.timestamp()
    account.touch(job.type, job.id)


def _fail(job: Record, n: int, detail: str) -> None:
    job.attributes["failed_count"] = int(job.attributes.get("failed_count") or 0) + 1
    job.attributes.setdefault("errors", []).append(
        {
            "id": f"{job.id}-{n}",
            "code": "invalid",
            "title": "Invalid input.",
            "detail": detail,
            "source": {"pointer": f"/data/{n}"},
        }
    )


def _ok(job: Record, relation: str, ident: str) -> None:
    job.attributes["completed_count"] = int(job.attributes.get("completed_count") or 0) + 1
    job.many(relation).append(ident)


def _catalog_id(attrs: dict[str, Any]) -> str:
    return f"{attrs.get('integration_type') or '$custom'}:::{attrs.get('catalog_type') or '$default'}:::{attrs['external_id']}"


def _creator(kind: str, relation: str, owned: tuple[str, ...]) -> Work:
    def work(account: Account, job: Record, payload: list[Any]) -> None:
        for n, item in enumerate(payload):
            attrs = item.get("attributes") or {}
            ident = _catalog_id(attrs) if kind.startswith("catalog-") else None
            if ident and account.find(kind, ident):
                _fail(job, n, f"A {kind} with id {ident!r} already exists.")
                continue
            rels: dict[str, Any] = {}
            for name in owned:
                data = ((item.get("relationships") or {}).get(name) or {}).get("data")
                ids = [
                    d["id"] for d in (data if isinstance(data, list) else [data] if data else [])
                ]
                rels[name] = ids if name in ("categories", "items") else (ids[0] if ids else None)
            record = account.add(kind, store_attributes(kind, attrs), rels, ident=ident)
            stamp_dates(record)
            _ok(job, relation, record.id)

    return work


def _updater(kind: str, relation: str) -> Work:
    def work(account: Account, job: Record, payload: list[Any]) -> None:
        for n, item in enumerate(payload):
            record = account.find(kind, str(item.get("id")))
            if record is None:
                _fail(job, n, f"{kind} {item.get('id')!r} does not exist.")
                continue
            record.attributes.update(store_attributes(kind, item.get("attributes") or {}))
            record.attributes["updated"] = account.timestamp()
            account.touch(kind, record.id)
            _ok(job, relation, record.id)

    return work


def _deleter(kind: str, relation: str) -> Work:
    def work(account: Account, job: Record, payload: list[Any]) -> None:
        for n, item in enumerate(payload):
            if account.find(kind, str(item.get("id"))) is None:
                _fail(job, n, f"{kind} {item.get('id')!r} does not exist.")
                continue
            account.remove(kind, str(item["id"]))
            _ok(job, relation, str(item["id"]))

    return work


def _coupon_codes(account: Account, job: Record, payload: list[Any]) -> None:
    taken = {c.attributes.get("unique_code") for c in account.records("coupon-code")}
    for n, item in enumerate(payload):
        attrs = item.get("attributes") or {}
        coupon_id = (((item.get("relationships") or {}).get("coupon") or {}).get("data") or {}).get(
            "id"
        )
        if account.find("coupon", str(coupon_id)) is None:
            _fail(job, n, f"coupon {coupon_id!r} does not exist.")
        elif attrs.get("unique_code") in taken:
            _fail(job, n, f"The code {attrs.get('unique_code')!r} already exists.")
        else:
            code = account.add(
                "coupon-code",
                {
                    "unique_code": attrs["unique_code"],
                    "expires_at": attrs.get("expires_at"),
                    "status": "UNASSIGNED",
                },
                {"coupon": coupon_id, "profile": None},
                ident=f"{coupon_id}-{attrs['unique_code']}",
            )
            taken.add(attrs["unique_code"])
            _ok(job, "coupon-codes", code.id)


# (action, job type, payload key in attributes, relation on the job, work)
JOBS: dict[str, tuple[str, str, str, Work]] = {
    "bulk_create_catalog_items": (
        "catalog-item-bulk-create-job",
        "items",
        "items",
        _creator("catalog-item", "items", ("categories",)),
    ),
    "bulk_update_catalog_items": (
        "catalog-item-bulk-update-job",
        "items",
        "items",
        _updater("catalog-item", "items"),
    ),
    "bulk_delete_catalog_items": (
        "catalog-item-bulk-delete-job",
        "items",
        "items",
        _deleter("catalog-item", "items"),
    ),
    "bulk_create_catalog_categories": (
        "catalog-category-bulk-create-job",
        "categories",
        "categories",
        _creator("catalog-category", "categories", ("items",)),
    ),
    "bulk_update_catalog_categories": (
        "catalog-category-bulk-update-job",
        "categories",
        "categories",
        _updater("catalog-category", "categories"),
    ),
    "bulk_delete_catalog_categories": (
        "catalog-category-bulk-delete-job",
        "categories",
        "categories",
        _deleter("catalog-category", "categories"),
    ),
    "bulk_create_catalog_variants": (
        "catalog-variant-bulk-create-job",
        "variants",
        "variants",
        _creator("catalog-variant", "variants", ("item",)),
    ),
    "bulk_update_catalog_variants": (
        "catalog-variant-bulk-update-job",
        "variants",
        "variants",
        _updater("catalog-variant", "variants"),
    ),
    "bulk_delete_catalog_variants": (
        "catalog-variant-bulk-delete-job",
        "variants",
        "variants",
        _deleter("catalog-variant", "variants"),
    ),
    "bulk_create_coupon_codes": (
        "coupon-code-bulk-create-job",
        "coupon-codes",
        "coupon-codes",
        _coupon_codes,
    ),
}
for _op, (_kind, _key, _rel, _work) in JOBS.items():
    WORK[_op] = _work


def _start(ctx: Ctx) -> Reply:
    kind, key, relation, _ = JOBS[ctx.action.id]
    payload = ((ctx.attributes().get(key) or {}).get("data")) or []
    if not payload:
        raise ApiError(
            400,
            "invalid",
            f"Send at least one item in data.attributes.{key}.data.",
            pointer=f"/data/attributes/{key}/data",
        )
    if len(payload) > 100:
        raise ApiError(
            400,
            "invalid",
            "A bulk job takes at most 100 items; split the request.",
            pointer=f"/data/attributes/{key}/data",
        )
    job = start_job(ctx, kind, payload, relation=relation)
    return Reply(202, single(ctx, job))


def _poll(ctx: Ctx) -> Reply:
    kind = ctx.action.response.resource_type or ""
    job = ctx.account.get(kind, ctx.path.get("job_id") or ctx.path.get("id") or "")
    advance(ctx.account, job, ctx.sim.config.job_polls)
    return Reply(200, single(ctx, job))


@handler
def bulk_create_catalog_items(ctx: Ctx) -> Reply:
    """Queue a job creating up to 100 catalog items (ids ``$custom:::$default:::<external_id>``)."""
    return _start(ctx)


@handler
def bulk_update_catalog_items(ctx: Ctx) -> Reply:
    """Queue a job updating up to 100 catalog items."""
    return _start(ctx)


@handler
def bulk_delete_catalog_items(ctx: Ctx) -> Reply:
    """Queue a job deleting up to 100 catalog items."""
    return _start(ctx)


@handler
def bulk_create_catalog_categories(ctx: Ctx) -> Reply:
    """Queue a job creating up to 100 catalog categories."""
    return _start(ctx)


@handler
def bulk_update_catalog_categories(ctx: Ctx) -> Reply:
    """Queue a job updating up to 100 catalog categories."""
    return _start(ctx)


@handler
def bulk_delete_catalog_categories(ctx: Ctx) -> Reply:
    """Queue a job deleting up to 100 catalog categories."""
    return _start(ctx)


@handler
def bulk_create_catalog_variants(ctx: Ctx) -> Reply:
    """Queue a job creating up to 100 catalog variants."""
    return _start(ctx)


@handler
def bulk_update_catalog_variants(ctx: Ctx) -> Reply:
    """Queue a job updating up to 100 catalog variants."""
    return _start(ctx)


@handler
def bulk_delete_catalog_variants(ctx: Ctx) -> Reply:
    """Queue a job deleting up to 100 catalog variants."""
    return _start(ctx)


@handler
def bulk_create_coupon_codes(ctx: Ctx) -> Reply:
    """Queue a job creating up to 100 coupon codes; duplicates fail per item."""
    return _start(ctx)


@handler
def get_bulk_create_catalog_items_job(ctx: Ctx) -> Reply:
    """Poll a catalog item create job (each poll advances the job clock).

    Differs: jobs advance per poll (``SimConfig.job_polls``), not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_update_catalog_items_job(ctx: Ctx) -> Reply:
    """Poll a catalog item update job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_delete_catalog_items_job(ctx: Ctx) -> Reply:
    """Poll a catalog item delete job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_create_categories_job(ctx: Ctx) -> Reply:
    """Poll a catalog category create job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_update_categories_job(ctx: Ctx) -> Reply:
    """Poll a catalog category update job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_delete_categories_job(ctx: Ctx) -> Reply:
    """Poll a catalog category delete job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_create_variants_job(ctx: Ctx) -> Reply:
    """Poll a catalog variant create job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_update_variants_job(ctx: Ctx) -> Reply:
    """Poll a catalog variant update job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_delete_variants_job(ctx: Ctx) -> Reply:
    """Poll a catalog variant delete job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_create_coupon_codes_job(ctx: Ctx) -> Reply:
    """Poll a coupon code create job.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_bulk_import_profiles_job(ctx: Ctx) -> Reply:
    """Poll a profile import job; on completion its profiles and lists relationships are filled.

    Differs: jobs advance per poll, not with wall time.
    """
    return _poll(ctx)


@handler
def get_campaign_send_job(ctx: Ctx) -> Reply:
    """Poll a campaign send job (its id is the campaign's id); completion marks the campaign Sent.

    Differs: jobs advance per poll; sending writes one Received message event per audience member.
    """
    return _poll(ctx)


def _import_profiles(account: Account, job: Record, payload: list[Any]) -> None:
    from codemode.simulator.handlers.profiles import upsert_profile

    state = account.jobs[job.id]
    for n, item in enumerate(payload):
        attrs = item.get("attributes") or {}
        if not any(attrs.get(k) for k in ("email", "phone_number", "external_id")):
            _fail(job, n, "A profile needs an email, phone_number or external_id.")
            continue
        profile = upsert_profile(account, dict(attrs))
        _ok(job, "profiles", profile.id)
        for list_id in state.get("lists", []):
            group = account.find("list", list_id)
            if group is not None and profile.id not in group.many("profiles"):
                group.many("profiles").append(profile.id)
                account.joined.setdefault(list_id, {})[profile.id] = account.timestamp()
                account.touch("list", group.id)


WORK["bulk_import_profiles"] = _import_profiles


@handler
def bulk_import_profiles(ctx: Ctx) -> Reply:
    """Queue a job creating or updating up to 10,000 profiles, optionally adding them to lists.

    Differs: invalid profiles fail per item in the job's errors; no import-errors resources.
    """
    payload = ((ctx.attributes().get("profiles") or {}).get("data")) or []
    if not payload:
        raise ApiError(
            400,
            "invalid",
            "Send at least one profile in data.attributes.profiles.data.",
            pointer="/data/attributes/profiles/data",
        )
    if len(payload) > 10000:
        raise ApiError(
            400,
            "invalid",
            "An import job takes at most 10,000 profiles.",
            pointer="/data/attributes/profiles/data",
        )
    lists = ctx.rel_ids("lists")
    for list_id in lists:
        ctx.account.get("list", list_id)
    job = start_job(ctx, "profile-bulk-import-job", payload, relation="profiles")
    job.rels["lists"] = lists
    ctx.account.jobs[job.id]["lists"] = lists
    return Reply(202, single(ctx, job))

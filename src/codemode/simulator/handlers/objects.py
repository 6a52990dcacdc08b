"""Custom objects: object types with their schemas and source mappings, data sources, and the
ingestion that turns data-source records into object records."""

from __future__ import annotations

from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError, bad_body
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import stamp_dates, store_attributes
from codemode.simulator.store import Account, Record

__all__ = ["ingest"]

MAX_RECORDS = 100


def _mapping(account: Account, schema: Record, body: dict[str, Any] | None) -> None:
    attrs = ((body or {}).get("data") or {}).get("attributes")
    if not isinstance(attrs, dict):
        return
    mapping = account.add("source-mapping", store_attributes("source-mapping", attrs))
    schema.rels["source-mapping"] = mapping.id


def _schema(account: Account, attrs: dict[str, Any], object_type: Record | None) -> Record:
    properties = attrs.get("properties") or []
    ids = [p.get("id") for p in properties if isinstance(p, dict)]
    if len(ids) != len(set(ids)):
        raise bad_body("/data/attributes/properties", "Each schema property needs a unique id.")
    names = {p.get("name") for p in properties if isinstance(p, dict)}
    for name in attrs.get("required") or []:
        if name not in names:
            raise bad_body(
                "/data/attributes/required",
                f"Required property {name!r} is not among the schema's properties.",
            )
    stored = store_attributes("object-schema", attrs)
    stored.setdefault("status", "active")
    stored.setdefault("title", (object_type.attributes.get("title") if object_type else "") or "")
    schema = account.add("object-schema", stored)
    stamp_dates(schema)
    if stored["status"] == "active":
        schema.attributes["published_at"] = schema.created
    _mapping(account, schema, attrs.get("source-mapping"))
    if object_type is not None:
        schema.rels["object-type"] = object_type.id
        slot = "current-schema" if stored["status"] == "active" else "draft-schema"
        object_type.rels[slot] = schema.id
        object_type.many("schema-versions").append(schema.id)
        account.touch("object-type", object_type.id)
    return schema


@handler
def create_object_type(ctx: Ctx) -> Reply:
    """Create an object type; a nested ``object-schema`` (with its ``source-mapping``) becomes the
    type's current schema (or its draft when ``status`` is draft); 201."""
    attrs = ctx.attributes()
    for other in ctx.account.records("object-type"):
        if other.attributes.get("title") == attrs.get("title") and other.attributes.get(
            "namespace"
        ) == attrs.get("namespace"):
            raise ApiError(
                409,
                "conflict",
                f"An object type titled {attrs.get('title')!r} already exists.",
                pointer="/data/attributes/title",
            )
    record = ctx.account.add(
        "object-type", store_attributes("object-type", attrs), {"schema-versions": []}
    )
    stamp_dates(record)
    nested = ((attrs.get("object-schema") or {}).get("data") or {}).get("attributes")
    if isinstance(nested, dict):
        _schema(ctx.account, nested, record)
    return Reply(201, single(ctx, record))


@handler
def create_object_schema(ctx: Ctx) -> Reply:
    """Create a schema version for the object type in ``relationships.object-type``; 201."""
    ids = ctx.rel_ids("object-type")
    owner = ctx.account.get("object-type", ids[0]) if ids else None
    return Reply(201, single(ctx, _schema(ctx.account, ctx.attributes(), owner)))


@handler
def delete_object_type(ctx: Ctx) -> Reply:
    """Delete an object type with its schemas and records (204).

    Differs: deletion is immediate.
    """
    object_type = ctx.account.get("object-type", ctx.path["id"])
    for kind in ("object-record", "object-schema", "object-ingestion-log"):
        for record in list(ctx.account.records(kind)):
            if record.rels.get("object-type") == object_type.id:
                ctx.account.remove(kind, record.id)
    ctx.account.remove("object-type", object_type.id)
    return Reply(204)


def _path_value(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.removeprefix("$").replace("/", ".").strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _mapped(account: Account, source_id: str) -> list[tuple[Record, Record, list[dict[str, Any]]]]:
    # Object types whose current schema maps properties from this data source.
    out = []
    for object_type in account.records("object-type"):
        schema = account.find("object-schema", _one(object_type.rels.get("current-schema")))
        mapping = account.find(
            "source-mapping", _one(schema.rels.get("source-mapping")) if schema else None
        )
        if schema is None or mapping is None:
            continue
        rules = [
            m
            for m in mapping.attributes.get("property_mappings") or []
            if m.get("type") == "constant"
            or str((m.get("source") or {}).get("source_id")) == source_id
        ]
        if any(m.get("type") != "constant" for m in rules):
            out.append((object_type, schema, rules))
    return out


def _one(value: Any) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value if isinstance(value, str) else None


def ingest(account: Account, source_id: str, record: dict[str, Any]) -> list[Record]:
    """Turn one data-source record into object records of every type mapped to the source."""
    made: list[Record] = []
    for object_type, schema, rules in _mapped(account, source_id):
        names = {p.get("id"): p.get("name") for p in schema.attributes.get("properties") or []}
        values: dict[str, Any] = {}
        key = None
        for rule in rules:
            name = names.get(rule.get("id"))
            if name is None:
                continue
            if rule.get("type") == "constant":
                values[name] = rule.get("value")
                continue
            source = rule.get("source") or {}
            values[name] = _path_value(record, str(source.get("data_path") or ""))
            key = key or _path_value(record, str(source.get("id_path") or ""))
        missing = [n for n in schema.attributes.get("required") or [] if values.get(n) is None]
        if not missing:
            made.append(_upsert(account, object_type, key, values))
            continue
        # Klaviyo logs only what went wrong; a clean ingestion leaves no log.
        log = account.add(
            "object-ingestion-log",
            {
                "status": "error",
                "event_type": "validation_error",
                "summary": f"missing required {', '.join(missing)}",
                "errors": [
                    {
                        "code": "missing",
                        "message": f"{n} is required",
                        "property": n,
                        "invalid_value": None,
                    }
                    for n in missing
                ],
            },
            {"object-type": object_type.id, "object-record": None},
        )
        log.attributes["timestamp"] = log.created
    return made


def _upsert(account: Account, object_type: Record, key: Any, values: dict[str, Any]) -> Record:
    if key is not None:
        for existing in account.records("object-record"):
            if existing.rels.get("object-type") == object_type.id and existing.rels.get(
                "source-key"
            ) == str(key):
                existing.attributes["record_properties"].update(values)
                account.touch("object-record", existing.id)
                return existing
    rels: dict[str, Any] = {"object-type": object_type.id, "source-key": None}
    if key is not None:
        rels["source-key"] = str(key)
    return account.add("object-record", {"record_properties": values}, rels)


def _source(ctx: Ctx) -> Record:
    ids = ctx.rel_ids("data-source")
    if not ids:
        raise bad_body(
            "/data/relationships/data-source", "Name the data source the records come from."
        )
    return ctx.account.get("data-source", ids[0])


def _record_body(item: Any, pointer: str) -> dict[str, Any]:
    record = ((item or {}).get("attributes") or {}).get("record")
    if not isinstance(record, dict):
        raise bad_body(pointer, "Each data-source record needs an object in attributes.record.")
    return record


@handler
def create_data_source_record(ctx: Ctx) -> Reply:
    """Ingest one record into a data source; object types whose current schema maps the source
    get an object record (204). Each ingestion writes an ingestion log on the object type.

    Differs: ingestion runs at once; Klaviyo queues it.
    """
    source = _source(ctx)
    item = ((ctx.attributes().get("data-source-record") or {}).get("data")) or {}
    ingest(ctx.account, source.id, _record_body(item, "/data/attributes/data-source-record/data"))
    return Reply(204)


@handler
def bulk_create_data_source_records(ctx: Ctx) -> Reply:
    """Ingest up to 100 records into a data source (204), as ``create_data_source_record`` does.

    Differs: ingestion runs at once; Klaviyo queues it. No records (the member is optional in
    the schema) is accepted as nothing to ingest.
    """
    source = _source(ctx)
    items = ((ctx.attributes().get("data-source-records") or {}).get("data")) or []
    pointer = "/data/attributes/data-source-records/data"
    if len(items) > MAX_RECORDS:
        raise bad_body(pointer, f"Send at most {MAX_RECORDS} records per request.")
    records = [_record_body(item, f"{pointer}/{n}") for n, item in enumerate(items)]
    for record in records:
        ingest(ctx.account, source.id, record)
    return Reply(204)


@handler
def bulk_delete_object_records(ctx: Ctx) -> Reply:
    """Delete up to 100 object records named in ``relationships.object-records``; 202.

    Differs: the deletion is immediate; unknown ids are skipped silently.
    """
    ids = ctx.rel_ids("object-records")
    if not ids or len(ids) > MAX_RECORDS:
        raise bad_body(
            "/data/relationships/object-records/data", f"Name from 1 to {MAX_RECORDS} records."
        )
    for ident in ids:
        if ctx.account.find("object-record", ident) is not None:
            ctx.account.remove("object-record", ident)
    return Reply(202)

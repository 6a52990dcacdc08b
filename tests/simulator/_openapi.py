"""Validate simulator responses against Klaviyo's OpenAPI response schemas (the oracle).

OpenAPI 3.0 is not JSON Schema: ``nullable`` becomes a ``null`` alternative, and ``oneOf`` becomes
``anyOf`` because Klaviyo's alternatives overlap (e.g. the email, SMS and push ``send_options``
accept the same object), so a correct document would match several and fail ``oneOf``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests._shared import openapi

URI = "urn:klaviyo:openapi"


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _convert(v)
        for k, v in node.items()
        if k not in ("nullable", "example", "description", "discriminator")
    }
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if "$ref" in out:
        out["$ref"] = URI + out["$ref"]
    if node.get("nullable"):
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if (
            isinstance(out.get("type"), str)
            and "$ref" not in out
            and "anyOf" not in out
            and "allOf" not in out
        ):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _registry() -> Registry:
    doc = openapi()
    converted = {"components": _convert(doc["components"])}
    return Registry().with_resource(
        URI, Resource.from_contents(converted, default_specification=DRAFT202012)
    )


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<schema_name>``."""
    return Draft202012Validator(
        {"$ref": f"{URI}#/components/schemas/{schema_name}"}, registry=_registry()
    )


def error_validator() -> Draft202012Validator:
    """A validator for Klaviyo's 4XX error document."""
    return _error_validator()


@cache
def _error_validator() -> Draft202012Validator:
    return Draft202012Validator(
        {
            "$ref": f"{URI}#/components/responses/ClientError/content/application~1vnd.api+json/schema"
        },
        registry=_registry(),
    )


def problems(schema_name: str, document: Any, limit: int = 3) -> list[str]:
    """Up to ``limit`` validation errors, each as ``path: message``."""
    errors = sorted(
        validator(schema_name).iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}" for e in errors[:limit]
    ]

"""``codemode actions``: every operation of the OpenAPI document, the core ones marked."""

from __future__ import annotations

import json

from tests._shared import openapi_operations, spec_actions
from typer.testing import CliRunner

from codemode.cli import app


def _listed(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["actions", "--json", *args], env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)["actions"]
    return rows


def test_actions_json_lists_every_operation_of_the_vendored_document_and_its_companions() -> None:
    rows = _listed()
    builtin = [r for r in rows if r["source"] in ("builtin", "companion")]
    assert {r["id"] for r in builtin} == set(openapi_operations())
    assert len(builtin) == len(openapi_operations())
    companions = {r["id"]: r["companion_of"] for r in rows if r["source"] == "companion"}
    assert companions["get_bulk_suppress_profiles_job"] == "bulk_suppress_profiles"
    assert companions["get_campaign_send_job"] == "send_campaign"


def test_actions_core_lists_exactly_the_spec_actions_in_spec_order() -> None:
    rows = _listed("--core")
    assert [r["id"] for r in rows] == [a["id"] for a in spec_actions()]
    assert all(r["core"] is True for r in rows)

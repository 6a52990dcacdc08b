"""The one-tool-per-action baseline server, listed and called through the real mcp client."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from codemode.bench._classic import (
    build_classic_server,
    classic_actions,
    input_schema,
    tool_definitions,
)
from codemode.catalog import load_catalog


def test_every_core_action_and_its_job_reads_become_one_tool_with_its_summary() -> None:
    catalog = load_catalog()
    tools = tool_definitions(catalog)
    assert [t.name for t in tools] == [a.id for a in classic_actions(catalog)]
    assert {a.id for a in catalog.core()} <= {t.name for t in tools}
    assert len(tools) == 162 + 12  # the core actions and the job reads they start
    assert all(t.description == catalog[t.name].summary for t in tools)


def test_input_schema_carries_params_facets_and_the_body_schema() -> None:
    catalog = load_catalog()
    campaigns = input_schema(catalog["get_campaigns"])
    assert campaigns["required"] == ["filter"]
    assert "messages.channel: equals" in campaigns["properties"]["filter"]["description"]
    assert campaigns["properties"]["page_size"]["maximum"] == 100
    assert "campaign" in campaigns["properties"]["fields"]["properties"]
    create = input_schema(catalog["create_campaign"])
    assert create["properties"]["body"] == catalog["create_campaign"].body.schema  # type: ignore[union-attr]
    assert "body" in create["required"]
    profile = input_schema(catalog["get_profile"])
    assert profile["required"] == ["id"]


async def test_calls_return_the_raw_document_as_text_and_errors_as_results() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def call(op: str, args: dict[str, Any]) -> dict[str, Any] | None:
        seen.append((op, args))
        if op == "delete_list":
            return None
        if op == "get_list":
            raise ValueError("list 'nope' not found")
        return {"data": {"type": "profile", "id": args["id"]}}

    async with Client(build_classic_server(call)) as client:
        listed = await client.list_tools()
        assert len(listed.tools) == len(classic_actions(load_catalog()))
        ok = await client.call_tool("get_profile", {"id": "P1"})
        assert ok.content[0].text == '{"data":{"type":"profile","id":"P1"}}'  # type: ignore[union-attr]
        assert ok.structured_content == {"data": {"type": "profile", "id": "P1"}}
        empty = await client.call_tool("delete_list", {"id": "L1"})
        assert empty.content[0].text == "(no content)"  # type: ignore[union-attr]
        failed = await client.call_tool("get_list", {"id": "nope"})
        assert failed.is_error
        assert "not found" in failed.content[0].text  # type: ignore[union-attr]
    assert seen[0] == ("get_profile", {"id": "P1"})


@pytest.mark.parametrize("name", ["no_such_tool"])
async def test_unknown_tools_are_error_results(name: str) -> None:
    async def call(op: str, args: dict[str, Any]) -> dict[str, Any] | None:
        raise AssertionError("must not be called")

    async with Client(build_classic_server(call)) as client:
        result = await client.call_tool(name, {})
        assert result.is_error


def test_model_view_keeps_only_what_a_client_forwards_to_the_model() -> None:
    from codemode.bench._peers import model_view

    tool = {
        "name": "t",
        "title": "T",
        "description": "d",
        "inputSchema": {"type": "object"},
        "_meta": {"x": 1},
        "outputSchema": {},
    }
    assert model_view(tool) == {"name": "t", "description": "d", "input_schema": {"type": "object"}}
    assert model_view({"name": "u", "inputSchema": {}}) == {"name": "u", "input_schema": {}}

"""Operations beyond the core through the real MCP tools: found, signed, run (issue #14)."""

from __future__ import annotations

from mcp import Client

from tests.server.conftest import BuildServer

SET_TO_DRAFT = """
flow = klaviyo.flows.get_flows().data[0]
klaviyo.flows.update_flow(flow["id"], attributes={"status": "draft"})
print(klaviyo.flows.get_flow(flow["id"]).data["status"])
"""


async def test_an_agent_finds_signs_and_runs_update_flow_to_set_a_flow_to_draft(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool("search_api", {"query": "set this flow to draft"})
        assert found.structured_content is not None
        assert found.structured_content["results"][0]["id"] == "update_flow"
        sig = await client.call_tool("get_signature", {"names": ["update_flow"]})
        assert sig.structured_content is not None
        [entry] = sig.structured_content["signatures"]
        assert entry["signature"].startswith("klaviyo.flows.update_flow(id: str")
        ran = await client.call_tool("execute_code", {"code": SET_TO_DRAFT})
    result = ran.structured_content
    assert result is not None and result["error"] is None, result
    assert result["output"].strip() == "draft"
    assert [c["id"] for c in result["calls"]] == ["get_flows", "update_flow", "get_flow"]


async def test_a_signature_for_the_file_upload_says_the_file_is_content_not_a_path(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        sig = await client.call_tool("get_signature", {"names": ["upload_image_from_file"]})
    assert sig.structured_content is not None
    [entry] = sig.structured_content["signatures"]
    assert (
        "file" in entry["signature"] and "base64" in entry["doc"] and "never a path" in entry["doc"]
    )

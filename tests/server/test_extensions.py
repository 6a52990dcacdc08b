"""Operator extensions through the tools: extra operations from a file, composites from plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client

from codemode.extensions import composite
from tests.server.conftest import BuildServer, text_of

FIXTURES = Path(__file__).resolve().parent.parent / "extensions" / "fixtures"


@composite(
    name="list_census", summary="Count the account's lists and name the largest.", kind="read"
)
async def list_census(klaviyo: Any, prefix: str = "") -> dict[str, Any]:
    lists = await klaviyo.call("get_lists")
    names = [r["name"] for r in lists.data if r["name"].startswith(prefix)]
    return {"lists": len(names), "names": names}


@composite(name="tidy_lists", summary="Delete the account's first list.", kind="write")
async def tidy_lists(klaviyo: Any) -> dict[str, Any]:
    first = (await klaviyo.call("get_lists")).data[0]["id"]
    await klaviyo.call("delete_list", id=first)
    return {"deleted": first}


async def test_a_composite_is_searchable_and_runs_in_the_host_as_klaviyo_custom(
    make_server: BuildServer,
) -> None:
    built = make_server(composites=[list_census, tidy_lists])
    code = (
        "census = klaviyo.custom.list_census()\n"
        "direct = klaviyo.lists.get_lists().data\n"
        "print(census.data['lists'] == len(direct), census.data['lists'] > 0)\n"
    )
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool(
            "search_api", {"query": "count the lists and find the largest"}
        )
        sig = await client.call_tool("get_signature", {"names": ["list_census"]})
        ran = await client.call_tool("execute_code", {"code": code})
        wrong = await client.call_tool(
            "execute_code", {"code": "klaviyo.custom.list_census(size=3)"}
        )
    assert found.structured_content is not None
    assert "list_census" in [r["id"] for r in found.structured_content["results"]]
    assert "klaviyo.custom.list_census" in text_of(sig) and "prefix" in text_of(sig)
    assert ran.structured_content is not None and ran.structured_content["error"] is None, text_of(
        ran
    )
    assert ran.structured_content["output"].strip() == "True True"
    first = ran.structured_content["calls"][0]
    assert (first["id"], first["status"]) == ("list_census", 200)
    assert wrong.structured_content is not None and wrong.structured_content["error"] is not None
    assert "size" in wrong.structured_content["error"]["message"]


async def test_a_write_composite_is_gated_by_its_kind(make_server: BuildServer) -> None:
    built = make_server(read_only=True, composites=[tidy_lists])
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": "klaviyo.custom.tidy_lists()"})
        planned = await make_dry_run(make_server)
    assert (
        ran.structured_content is not None
        and "read-only" in ran.structured_content["error"]["message"]
    )
    # Under dry run the composite runs: its read is made, its destructive write only planned.
    assert [w["id"] for w in planned] == ["delete_list"]
    assert "a real run would be refused" in planned[0]["note"]


async def make_dry_run(make_server: BuildServer) -> Any:
    built = make_server(composites=[tidy_lists])
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool(
            "execute_code", {"code": "klaviyo.custom.tidy_lists()", "dry_run": True}
        )
    assert ran.structured_content is not None and ran.structured_content["error"] is None, text_of(
        ran
    )
    return ran.structured_content["planned_writes"]


async def test_extra_operations_from_the_extension_file_are_searchable_with_signatures(
    make_server: BuildServer,
) -> None:
    built = make_server(extensions=FIXTURES / "loyalty.toml")
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool("search_api", {"query": "loyalty tiers and points"})
        sig = await client.call_tool("get_signature", {"names": ["get_loyalty_tiers"]})
    assert found.structured_content is not None
    assert "get_loyalty_tiers" in [r["id"] for r in found.structured_content["results"]]
    assert not sig.is_error and "get_loyalty_tiers" in text_of(sig)

"""The server serves what it advertises: resources (conventions, catalog by group) and prompts."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from codemode.config import Settings
from codemode.server import DEMO_BASE_URL, build_server
from codemode.simulator import SimConfig, create_app

pytestmark = pytest.mark.asyncio


async def test_resources_and_prompts_are_listed_and_read(tmp_path: Path) -> None:
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(SimConfig(profiles=5, events=5))),
        base_url=DEMO_BASE_URL,
    )
    settings = Settings(demo=True, audit_db=tmp_path / "audit.sqlite3")
    built = build_server(settings, transport="memory", http_client=http, log_level="ERROR")
    async with built.running(), Client(built.mcp) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        conventions = await client.read_resource("klaviyo://sdk/conventions")
        lists = await client.read_resource("klaviyo://catalog/lists")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("klaviyo://catalog/nope")
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        prompt = await client.get_prompt("find_profile", {"email": "ada@example.com"})
    assert {"klaviyo://sdk/conventions", "klaviyo://catalog"} <= listed
    assert "klaviyo://catalog/{group}" in templates
    text = conventions.contents[0].text  # type: ignore[union-attr]
    assert "F.equals" in text and ".next_cursor" in text and ".included" in text
    assert "`get_lists` [read] GET /api/lists" in lists.contents[0].text  # type: ignore[union-attr]
    assert "No group 'nope'. Groups:" in str(missing.value)
    assert {"audience_overview", "campaign_performance", "find_profile"} <= prompts
    assert "ada@example.com" in prompt.messages[0].content.text  # type: ignore[union-attr]


async def test_a_wrong_prompt_or_resource_is_told_what_there_is(tmp_path: Path) -> None:
    from mcp.shared.exceptions import MCPError

    settings = Settings(demo=True, audit_db=tmp_path / "audit.sqlite3")
    built = build_server(settings, transport="memory", log_level="ERROR")
    async with built.running(), Client(built.mcp) as client:
        with pytest.raises(MCPError) as unknown_prompt:
            await client.get_prompt("find_profiles", {"email": "ada@example.com"})
        with pytest.raises(MCPError) as extra_argument:
            await client.get_prompt("audience_overview", {"limit": "5"})
        with pytest.raises(MCPError) as missing_argument:
            await client.get_prompt("find_profile", {})
        with pytest.raises(MCPError) as unknown_resource:
            await client.read_resource("klaviyo://sdk/convention")
    assert str(unknown_prompt.value) == (
        "unknown prompt 'find_profiles'; the prompts are audience_overview, "
        "campaign_performance, find_profile"
    )
    assert str(extra_argument.value) == (
        "prompt 'audience_overview' has no argument 'limit'; it takes no arguments"
    )
    assert str(missing_argument.value) == "prompt 'find_profile' needs 'email'; it takes email"
    assert str(unknown_resource.value).endswith(
        "the resources are klaviyo://sdk/conventions, klaviyo://catalog, klaviyo://catalog/{group}"
    )

"""Klaviyo's own MCP server, listed offline with the official client (when its venv exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemode.bench import _peers

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
VENV_EXE = ROOT / ".bench-venvs" / _peers.KLAVIYO_MCP_PACKAGE / "bin" / _peers.KLAVIYO_MCP_PACKAGE


async def test_missing_offline_files_are_reported_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(_peers.PeerUnavailable, match="offline OpenAPI copy"):
        await _peers.list_klaviyo_mcp_tools(tmp_path, tmp_path / "no-shared")


@pytest.mark.peer_benchmark
@pytest.mark.skipif(
    not VENV_EXE.exists(), reason="run `codemode bench tokens` once to create .bench-venvs/"
)
async def test_klaviyo_server_lists_its_28_curated_tools() -> None:
    if not (SHARED / "klaviyo" / "openapi-stable.json").is_file():
        pytest.skip("peer benchmark input: ../shared (the offline shim) is not beside the checkout")
    listing = await _peers.list_klaviyo_mcp_tools(ROOT, SHARED)
    names = {t["name"] for t in listing.tools}
    assert len(names) == 28
    assert {"klaviyo_get_profiles", "klaviyo_get_campaign_report"} <= names
    assert all(t.get("inputSchema") for t in listing.tools)

"""Klaviyo's own MCP server, started offline from what the repository holds (no ../shared)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from codemode.bench import _klaviyo_server, _peers

VENV_EXE = (
    _klaviyo_server.REPO
    / ".bench-venvs"
    / _peers.KLAVIYO_MCP_PACKAGE
    / "bin"
    / _peers.KLAVIYO_MCP_PACKAGE
)


def test_the_offline_inputs_live_in_the_repository() -> None:
    assert _klaviyo_server.OPENAPI.is_file()
    assert (_klaviyo_server.OFFLINE_SHIM / "sitecustomize.py").is_file()


async def test_missing_offline_files_are_reported_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_klaviyo_server, "OPENAPI", tmp_path / "absent.json")
    async with contextlib.AsyncExitStack() as stack:
        with pytest.raises(_peers.PeerUnavailable, match="vendored OpenAPI document"):
            await _klaviyo_server.connect_klaviyo(stack, "http://127.0.0.1:9", "pk_x")


@pytest.mark.peer_benchmark
@pytest.mark.skipif(
    not VENV_EXE.exists(),
    reason="peer not installed: `codemode bench tokens` creates .bench-venvs/",
)
async def test_klaviyo_server_lists_its_28_curated_tools_offline() -> None:
    async with contextlib.AsyncExitStack() as stack:
        client, version = await _klaviyo_server.connect_klaviyo(stack, "http://127.0.0.1:9", "pk_x")
        listed = await client.list_tools()
    names = {t.name for t in listed.tools}
    assert len(names) == 28 and version
    assert {"klaviyo_get_profiles", "klaviyo_get_campaign_report"} <= names

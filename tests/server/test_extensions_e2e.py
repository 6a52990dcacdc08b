"""Issue 10 end to end: the example plugin's composite and an extra operation, through the real tools."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest
from mcp import Client

from codemode.extensions import load_composites
from tests.server.conftest import BuildServer, text_of

FIXTURES = Path(__file__).resolve().parent.parent / "extensions" / "fixtures"

needs_plugin = pytest.mark.skipif(
    importlib.util.find_spec("winback_plugin") is None,
    reason="examples/winback_plugin is not installed (make install does it)",
)

WINBACK = """
vip = [s for s in klaviyo.segments.get_segments().data if s['name']][0]
target = klaviyo.lists.get_lists().data[0]
members = list(klaviyo.segments.get_profiles_for_segment(id=vip['id'], page_size=100).all())
result = klaviyo.custom.winback(segment_id=vip['id'], list_id=target['id'], days=0)
print(result.data['scanned'] == len(members), result.data['added'] == result.data['lapsed'])
"""


def _audit_calls(path: Path) -> list[list[dict[str, object]]]:
    with sqlite3.connect(path) as db:
        return [
            json.loads(row[0]) for row in db.execute("SELECT calls FROM executions ORDER BY id")
        ]


@needs_plugin
async def test_the_example_plugins_winback_runs_end_to_end_scanned_and_audited(
    make_server: BuildServer, audit_path: Path
) -> None:
    built = make_server(composites=load_composites())
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool(
            "search_api", {"query": "win back lapsed VIP customers into a list"}
        )
        sig = await client.call_tool("get_signature", {"names": ["klaviyo.custom.winback"]})
        ran = await client.call_tool("execute_code", {"code": WINBACK})
    assert found.structured_content is not None
    assert "winback" in [r["id"] for r in found.structured_content["results"]][:3]
    assert "segment_id" in text_of(sig) and "list_id" in text_of(sig)
    out = ran.structured_content
    assert out is not None and out["error"] is None, text_of(ran)
    assert out["output"].strip() == "True True"
    winback_call = next(c for c in out["calls"] if c["id"] == "winback")
    assert winback_call["status"] == 200 and winback_call["scan"] in {"clean", "flagged"}
    audited = [call["id"] for row in _audit_calls(audit_path) for call in row]  # type: ignore[index]
    assert "winback" in audited


@needs_plugin
async def test_a_read_only_session_refuses_the_writing_composite(make_server: BuildServer) -> None:
    built = make_server(read_only=True, composites=load_composites())
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool(
            "execute_code", {"code": "klaviyo.custom.winback(segment_id='x', list_id='y')"}
        )
    out = ran.structured_content
    assert out is not None and out["error"] is not None
    assert "read-only" in out["error"]["message"]
    assert out["calls"] == [] or all(c["status"] != 200 for c in out["calls"])


async def test_an_extra_operation_is_callable_in_a_script_with_its_own_revision(
    make_server: BuildServer,
) -> None:
    built = make_server(extensions=FIXTURES / "loyalty.toml")
    code = (
        "try:\n"
        "    tiers = klaviyo.loyalty.get_loyalty_tiers(filter=F.equals('name', 'Gold'))\n"
        "    print('answered', len(tiers.records))\n"
        "except KlaviyoError as exc:\n"
        "    print('refused', exc.status)\n"
    )
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": code})
        bad = await client.call_tool(
            "execute_code",
            {"code": "klaviyo.loyalty.get_loyalty_tiers(filter=F.equals('points', 3))"},
        )
    out = ran.structured_content
    assert out is not None and out["error"] is None, text_of(ran)
    # The demo simulator either serves the operation or answers Klaviyo's 404: never a crash.
    assert out["output"].split()[0] in {"answered", "refused"}
    assert out["calls"][0]["id"] == "get_loyalty_tiers"
    # The filter is validated from the operator's spec before anything is sent.
    assert bad.structured_content is not None and bad.structured_content["error"] is not None
    assert "name" in bad.structured_content["error"]["message"]

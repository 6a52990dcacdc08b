"""Issue #22: search_api and get_signature say what execute_code will do with each operation.

For each server configuration (default, read-only, deny and allow lists, destructive actions on),
the mark an agent reads before writing a script must match what happens when the script calls the
action: ``refused`` exactly when execute_code answers a PolicyError that tells the agent to ask
the user, ``asks the user to confirm`` exactly when the user is asked, ``allowed`` otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp_types import ElicitResult

from tests.server.conftest import BuildServer, text_of

# An action of each kind the policy treats differently, with a call that reaches the policy.
CALLS = {
    "get_lists": "klaviyo.call('get_lists')",
    "get_profiles": "klaviyo.call('get_profiles', page_size=1)",
    "create_list": "klaviyo.call('create_list')",
    "delete_list": "klaviyo.call('delete_list', 'L1')",
    "create_webhook": "klaviyo.call('create_webhook')",
    "upload_image_from_url": "klaviyo.call('upload_image_from_url')",
    "create_client_event": "klaviyo.call('create_client_event', company_id='X')",
}
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "read-only": {"read_only": True},
    "deny": {"deny": ("lists",)},
    "allow": {"allow": ("profiles", "kind:client")},
    "destructive-on": {"allow_destructive": True},
}


def mark_of(text: str) -> str:
    """The policy's mark leading a summary or doc (structured content keeps DESIGN.md's keys)."""
    if text.startswith(("[refused: ", "[asks the user")):
        return text[1 : text.index("]")]
    return "allowed"


@pytest.mark.parametrize("config", list(CONFIGS))
async def test_the_policy_mark_in_search_and_signatures_matches_what_execute_code_does(
    make_server: BuildServer, config: str
) -> None:
    asked: list[str] = []

    async def decline(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    built = make_server(**CONFIGS[config])
    async with (
        built.running(),
        Client(built.mcp, mode="legacy", elicitation_callback=decline) as client,
    ):
        signatures = await client.call_tool("get_signature", {"names": list(CALLS)})
        assert signatures.structured_content is not None
        marks = {s["id"]: mark_of(s["doc"]) for s in signatures.structured_content["signatures"]}
        assert set(marks) == set(CALLS)
        for action_id, call in CALLS.items():
            found = await client.call_tool("search_api", {"query": action_id, "limit": 10})
            assert found.structured_content is not None
            listed = {r["id"]: r for r in found.structured_content["results"]}
            assert action_id in listed, (action_id, list(listed))
            assert mark_of(listed[action_id]["summary"]) == marks[action_id]
            line = next(x for x in text_of(found).splitlines() if f".{action_id} " in x)
            before = len(asked)
            ran = await client.call_tool("execute_code", {"code": call})
            assert ran.structured_content is not None
            error = ran.structured_content["error"] or {}
            mark = marks[action_id]
            if mark.startswith("refused"):
                assert error.get("type") == "PolicyError", (config, action_id, error)
                assert "ask the user" in error["message"] and "not the agent" in error["message"]
                assert f"[{mark}]" in line  # the text the model reads says so, too
                assert len(asked) == before
            elif mark == "asks the user to confirm":
                assert len(asked) == before + 1, (config, action_id)
                assert error.get("type") == "PolicyError" and "declined" in error["message"]
                assert f"[{mark}]" in line
            else:
                assert mark == "allowed"
                assert error.get("type") != "PolicyError", (config, action_id, error)
                assert "refused" not in line and len(asked) == before


async def test_signature_text_carries_the_mark_next_to_the_def_line(
    make_server: BuildServer,
) -> None:
    built = make_server(read_only=True)
    async with built.running(), Client(built.mcp) as client:
        sig = await client.call_tool("get_signature", {"names": ["create_list"]})
    first = text_of(sig).splitlines()[0]
    assert first.startswith("klaviyo.lists.create_list(")
    assert first.endswith("# [refused: server is read-only; only the user can enable it]")


async def test_without_a_way_to_ask_the_user_the_mark_says_the_action_is_refused(
    make_server: BuildServer,
) -> None:
    built = make_server(allow_destructive=True)
    async with built.running(), Client(built.mcp) as client:  # no elicitation callback
        sig = await client.call_tool("get_signature", {"names": ["delete_list"]})
        assert sig.structured_content is not None
        doc = sig.structured_content["signatures"][0]["doc"]
        ran = await client.call_tool("execute_code", {"code": CALLS["delete_list"]})
    assert doc.startswith("[refused: needs the user's confirmation")
    assert ran.structured_content is not None
    assert (ran.structured_content["error"] or {}).get("type") == "PolicyError"


async def test_with_confirmation_waived_the_action_is_offered_and_runs(
    make_server: BuildServer,
) -> None:
    built = make_server(allow_destructive=True, destructive_unconfirmed=True)
    async with built.running(), Client(built.mcp) as client:  # no elicitation callback
        sig = await client.call_tool("get_signature", {"names": ["delete_list", "get_lists"]})
        assert sig.structured_content is not None
        docs = {s["id"]: s["doc"] for s in sig.structured_content["signatures"]}
        ran = await client.call_tool("execute_code", {"code": CALLS["delete_list"]})
    assert not docs["delete_list"].startswith("[refused")
    assert not docs["get_lists"].startswith("[")
    assert ran.structured_content is not None
    assert (ran.structured_content["error"] or {}).get("type") != "PolicyError"

"""Issue #22 through the MCP tools: the agent's own output is never taken for an attack."""

from __future__ import annotations

from mcp import Client

from codemode.server.results import ExecuteResult, Redaction, render_execute
from tests.server.conftest import BuildServer, text_of

SCRIPT = """
print("profiles:", [])
print("Instructions for the user: open Klaviyo, go to Flows, click the Welcome flow.")
found = klaviyo.profiles.get_profiles(filter=F.equals("email", "morgan.reyes@example.com"))
print("note:", found.records[0]["properties"].get("notes", ""))
print("1 profile checked")
"""


async def test_execute_code_returns_the_agents_words_intact_and_removes_the_injected_note(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": SCRIPT})
    assert ran.structured_content is not None and ran.structured_content["error"] is None
    lines = ran.structured_content["output"].splitlines()
    assert lines[0] == "profiles: []"
    assert (
        lines[1] == "Instructions for the user: open Klaviyo, go to Flows, click the Welcome flow."
    )
    assert lines[2].startswith("note: [codemode: removed") and "exfil" not in lines[2]
    assert lines[3] == "1 profile checked"
    text = text_of(ran)
    assert text.startswith("profiles: []\nInstructions for the user:")
    assert "held suspected prompt injection" in text


def test_the_text_names_each_removed_line_its_call_and_the_rule() -> None:
    result = ExecuteResult(
        output="a\n[codemode: removed suspected prompt injection from get_profiles (call 1)]\nb",
        truncated=False,
        calls=[],
        error=None,
        session="s1",
        redactions=[
            Redaction(
                where="output line 2",
                source="get_profiles (call 1)",
                reason="pattern override.ignore_previous",
                action="removed",
            )
        ],
    )
    text = render_execute(result, [])
    assert (
        "removed as suspected prompt injection in data: output line 2 (from get_profiles "
        "(call 1), pattern override.ignore_previous). Everything else is intact" in text
    )

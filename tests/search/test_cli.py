"""``codemode search`` and ``codemode signature`` from the command line (in-process)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codemode.cli import app

runner = CliRunner()


def test_search_json_prints_the_mcp_result_shape() -> None:
    result = runner.invoke(app, ["search", "add a contact to a list", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["results"]) == 2
    assert payload["results"][0]["id"] == "add_profiles_to_list"
    assert set(payload["results"][0]) == {"id", "function", "summary", "kind", "score"}


def test_search_table_for_people_names_the_next_command() -> None:
    result = runner.invoke(app, ["search", "delete a webhook", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "klaviyo.webhooks.delete_webhook" in result.stdout
    assert "codemode signature delete_webhook" in result.stdout


def test_search_without_a_match_prints_help_and_fails() -> None:
    result = runner.invoke(app, ["search", "zxqv wqpl"])
    assert result.exit_code == 1
    assert "Categories:" in result.stdout


def test_search_jsonl_answers_every_line_in_order_from_one_process() -> None:
    lines = [
        json.dumps({"query": "list campaigns"}),
        json.dumps({"query": ""}),
        "not json",
        json.dumps({"query": "GET /api/lists/{id}/tags", "k": 1}),
    ]
    result = runner.invoke(app, ["search", "--jsonl", "-k", "3"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert out[0]["results"][0]["id"] == "get_campaigns" and len(out[0]["results"]) == 3
    assert out[1] == {"results": []}
    assert out[2]["results"] == [] and "bad input line" in out[2]["error"]
    assert [r["id"] for r in out[3]["results"]] == ["get_tags_for_list"]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ({"q": "lists"}, 'each line must be an object with a string "query"'),
        ({"query": "lists", "k": 0}, '"k" must be a whole number from 1 to 50'),
        ({"query": "lists", "k": 500}, '"k" must be a whole number from 1 to 50'),
        ({"query": "lists", "k": True}, '"k" must be a whole number from 1 to 50'),
    ],
)
def test_search_jsonl_names_what_a_bad_line_must_be(line: dict[str, object], error: str) -> None:
    result = runner.invoke(app, ["search", "--jsonl"], input=json.dumps(line) + "\n")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["results"] == [] and out["error"].startswith(f"bad input line: {error}")


def test_signature_prints_text_and_json() -> None:
    text = runner.invoke(app, ["signature", "get_list"])
    assert text.exit_code == 0 and "klaviyo.lists.get_list(" in text.stdout
    result = runner.invoke(app, ["signature", "get_list", "nope_nope", "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [s["id"] for s in payload["signatures"]] == ["get_list"]
    assert "nope_nope" in payload["errors"][0]


@pytest.mark.parametrize(
    ("env", "args", "action", "mark"),
    [
        ({}, [], "get_lists", "allowed"),
        ({"CODEMODE_READ_ONLY": "1"}, [], "create_list", "refused: server is read-only"),
        ({}, ["--read-only"], "create_list", "refused: server is read-only"),
        ({"CODEMODE_ALLOW": "get_list"}, [], "get_lists", "refused: not in CODEMODE_ALLOW"),
        ({"CODEMODE_ALLOW_DESTRUCTIVE": "1"}, [], "delete_list", "--dry-run plans it"),
    ],
)
def test_signature_marks_what_exec_will_do_under_the_configured_policy(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str], action: str, mark: str
) -> None:
    for name in ("CODEMODE_READ_ONLY", "CODEMODE_ALLOW", "CODEMODE_DENY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["signature", action, "--json", *args])
    assert result.exit_code == 0, result.output
    (sig,) = json.loads(result.stdout)["signatures"]
    assert sig["policy"].startswith(mark) if mark != "--dry-run plans it" else mark in sig["policy"]
    text = runner.invoke(app, ["signature", action, *args]).stdout
    first = text.splitlines()[0]
    assert ("# [" in first) == (mark != "allowed")


def test_signature_refuses_a_misspelt_policy_entry_as_exec_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODEMODE_ALLOW", "get_nope")
    result = runner.invoke(app, ["signature", "get_lists"])
    assert result.exit_code == 2
    assert "'get_nope' names no action" in result.output

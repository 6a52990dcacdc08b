"""The three tools through the official MCP client, in-process, against the demo simulator."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

import anyio
import pytest
from mcp import Client
from mcp_types import ElicitResult
from pydantic import Field, TypeAdapter, ValidationError

from codemode.audit import AuditLog
from codemode.server.tools import argument_error
from tests.server.conftest import BuildServer, text_of

COUNT_PROFILES = "n = sum(1 for _ in klaviyo.profiles.get_profiles(page_size=100).all())\nprint(f'profiles: {n}')\n"


async def test_it_lists_exactly_three_tools_with_annotations_and_output_schemas(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(tools) == ["execute_code", "get_signature", "search_api"]
    for name in ("search_api", "get_signature"):
        assert tools[name].annotations is not None
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.idempotent_hint is True
    run = tools["execute_code"].annotations
    assert run is not None and run.read_only_hint is False and run.destructive_hint is True
    assert run.open_world_hint is True
    assert set(tools["search_api"].input_schema["properties"]) == {"query", "limit"}
    assert set(tools["get_signature"].input_schema["properties"]) == {"names"}
    assert set(tools["execute_code"].input_schema["properties"]) == {"code", "dry_run", "session"}
    assert tools["execute_code"].input_schema["required"] == ["code"]
    assert set(tools["search_api"].output_schema["properties"]) == {"results", "closest_only"}
    assert set(tools["get_signature"].output_schema["properties"]) == {"signatures"}
    assert {"output", "truncated", "calls", "error", "session"} <= set(
        tools["execute_code"].output_schema["properties"]
    )
    # Together the descriptions teach the workflow.
    assert "get_signature" in (tools["search_api"].description or "")
    assert "print" in (tools["execute_code"].description or "")


async def test_a_read_only_server_marks_execute_code_read_only(make_server: BuildServer) -> None:
    built = make_server(read_only=True)
    async with built.running(), Client(built.mcp) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    run = tools["execute_code"].annotations
    assert run is not None and run.read_only_hint is True and run.destructive_hint is False
    assert "read-only" in (tools["execute_code"].description or "")


async def test_search_for_a_route_the_api_lacks_says_no_operation_and_marks_the_closest(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool("search_api", {"query": "DELETE /api/users/{id}"})
    assert found.structured_content is not None
    assert found.structured_content["closest_only"] is True
    assert found.structured_content["results"]  # the closest ones are still offered
    assert text_of(found).startswith("No operation does this (nothing in the API is about 'users')")


async def test_search_then_signature_then_script_answers_a_question(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool("search_api", {"query": "list all profiles", "limit": 5})
        assert found.structured_content is not None
        ids = [r["id"] for r in found.structured_content["results"]]
        assert "get_profiles" in ids
        first = found.structured_content["results"][0]
        # A confident top hit carries its signature too; the others never do.
        assert {"id", "function", "summary", "kind", "score"} <= set(first)
        assert set(first) <= {"id", "function", "summary", "kind", "score", "signature"}
        assert all("signature" not in r for r in found.structured_content["results"][1:])
        assert "klaviyo.profiles.get_profiles" in text_of(found)

        sig = await client.call_tool("get_signature", {"names": ["get_profiles"]})
        assert not sig.is_error and sig.structured_content is not None
        [entry] = sig.structured_content["signatures"]
        assert entry["id"] == "get_profiles" and "page_size" in entry["signature"]

        ran = await client.call_tool("execute_code", {"code": COUNT_PROFILES})
    assert not ran.is_error, text_of(ran)
    result = ran.structured_content
    assert result is not None
    assert result["output"].strip() == "profiles: 60"
    assert result["error"] is None and result["truncated"] is False
    assert result["calls"] and all(
        c["id"] == "get_profiles" and c["status"] == 200 for c in result["calls"]
    )
    assert result["session"]
    # The store follows this connection: no session id to pass back in the text.
    assert text_of(ran).startswith("profiles: 60\n") and "session:" not in text_of(ran)


async def test_unknown_signature_names_are_an_error_that_says_what_to_do(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        sig = await client.call_tool("get_signature", {"names": ["get_profilez"]})
    assert sig.is_error
    assert "get_profilez" in text_of(sig)


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("search_api", {}, "'query' is required"),
        ("search_api", {"query": "lists", "limit": 0}, "'limit' must be at least 1"),
        ("search_api", {"query": "lists", "limit": 500}, "'limit' must be at most 20"),
        ("search_api", {"query": 42}, "'query' must be a string (got int)"),
        ("get_signature", {"names": "get_profiles"}, "'names' must be a list of strings (got str)"),
        ("get_signature", {"names": []}, "'names' needs at least 1 item"),
        ("get_signature", {"names": ["get_lists"] * 21}, "'names' takes at most 20 items; split"),
        ("execute_code", {"dry_run": True}, "'code' is required"),
    ],
)
async def test_arguments_that_fail_the_schema_get_one_line_with_the_bound_and_the_call_shape(
    make_server: BuildServer, tool: str, arguments: dict[str, Any], says: str
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error and says in text
    assert f"Call it as {tool}(" in text  # the listed schemas leave the bounds out; this says them
    assert "pydantic" not in text and "validation error" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("bound", "value", "says"),
    [
        ({"ge": 1}, 0, "'n' must be at least 1"),
        ({"gt": 0}, 0, "'n' must be greater than 0"),
        ({"le": 5}, 6, "'n' must be at most 5"),
        ({"lt": 5}, 5, "'n' must be less than 5"),
    ],
)
def test_a_bound_is_worded_as_it_is_strict_or_not(
    bound: dict[str, int], value: int, says: str
) -> None:
    adapter = TypeAdapter(Annotated[int, Field(**bound)])
    with pytest.raises(ValidationError) as raised:
        adapter.validate_python(value)
    error = raised.value
    # A one-argument tool: the error's location is the argument's name.
    shaped = ValidationError.from_exception_data(
        error.title,
        [{**e, "loc": ("n",)} for e in error.errors()],  # type: ignore[typeddict-unknown-key]
    )
    parameters = {"properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert argument_error("tool", shaped, parameters) == f"tool: {says}. Call it as tool(n: int)."


async def test_an_unknown_tool_names_the_three_there_are(make_server: BuildServer) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        result = await client.call_tool("search", {"query": "lists"})
    assert result.is_error
    assert text_of(result) == (
        "unknown tool 'search'; this server's tools are search_api, get_signature, execute_code"
    )


async def test_signature_takes_other_sdks_spellings_of_an_operation(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        sig = await client.call_tool(
            "get_signature", {"names": ["Profiles.getProfiles", "get_lists()"]}
        )
    assert not sig.is_error
    assert [s["id"] for s in sig.structured_content["signatures"]] == ["get_profiles", "get_lists"]


async def test_a_failing_script_is_a_structured_result_with_the_error_line(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": "x = 1\nprint(undefined_name)\n"})
    assert ran.is_error
    assert ran.structured_content is not None
    error = ran.structured_content["error"]
    assert error["type"] == "NameError" and error["line"] == 2
    assert "NameError" in text_of(ran)


async def test_a_read_only_server_refuses_writes_naming_the_policy(
    make_server: BuildServer,
) -> None:
    built = make_server(read_only=True)
    code = "klaviyo.lists.create_list(attributes={'name': 'nope'})\n"
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": code})
    assert ran.structured_content is not None
    error = ran.structured_content["error"]
    assert error is not None and "read-only" in error["message"]
    assert ran.structured_content["calls"][0]["status"] == 0


async def test_dry_run_performs_reads_and_returns_planned_writes_without_sending_them(
    make_server: BuildServer, sim_app: Any
) -> None:
    built = make_server()
    code = (
        "newest = klaviyo.profiles.get_profiles(sort='-created', page_size=3)\n"
        "made = klaviyo.lists.create_list(attributes={'name': 'VIP (dry run)'})\n"
        "print(len(newest), 'profiles read')\n"
    )
    writes_before = dict(sim_app.state.sim.stats.writes)
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": code, "dry_run": True})
    assert ran.structured_content is not None, text_of(ran)
    result = ran.structured_content
    assert result["error"] is None, result["error"]
    assert result["output"].strip() == "3 profiles read"
    [planned] = result["planned_writes"]
    assert "create_list" in str(planned)
    assert dict(sim_app.state.sim.stats.writes) == writes_before
    assert "planned writes (1, not sent)" in text_of(ran)


async def test_the_store_persists_across_calls_of_a_connection_and_by_session_id(
    make_server: BuildServer,
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp, mode="legacy") as client:
        first = await client.call_tool(
            "execute_code", {"code": "store['n'] = store.get('n', 0) + 1\nprint(store['n'])"}
        )
        second = await client.call_tool(
            "execute_code", {"code": "store['n'] = store.get('n', 0) + 1\nprint(store['n'])"}
        )
        assert first.structured_content is not None and second.structured_content is not None
        assert second.structured_content["output"].strip() == "2"
        session = second.structured_content["session"]
        assert first.structured_content["session"] == session
        again = await client.call_tool(
            "execute_code", {"code": "print(store['n'])", "session": session}
        )
        assert again.structured_content is not None
        assert again.structured_content["output"].strip() == "2"


async def test_progress_is_reported_while_a_script_runs_longer_than_a_second(
    make_server: BuildServer,
) -> None:
    built = make_server(timeout_s=2.5)  # the wall-clock limit ends the spin below
    updates: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, message))

    code = "print('start')\nwhile True:\n    pass\n"
    async with built.running(), Client(built.mcp, mode="legacy") as client:
        with anyio.fail_after(60):
            ran = await client.call_tool(
                "execute_code", {"code": code}, progress_callback=on_progress
            )
    assert ran.structured_content is not None
    assert ran.structured_content["error"]["type"] == "LimitError"
    assert "start" in ran.structured_content["output"]
    assert updates, "no progress notification during a run of more than a second"
    assert updates[0][1] is not None and "running" in updates[0][1]


async def test_a_run_beyond_the_worker_cap_gets_a_busy_result(
    make_server: BuildServer, audit_path: Path
) -> None:
    built = make_server(max_workers=1, queue_s=0.2)  # one worker: the whole pool is one run
    spin = "while True:\n    pass\n"
    running = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        running.set()  # the first run holds the only worker slot

    async with built.running(), Client(built.mcp, mode="legacy") as client:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    partial(
                        client.call_tool,
                        "execute_code",
                        {"code": spin},
                        progress_callback=on_progress,
                    )
                )
                await running.wait()
                assert await built.runtime.admission.store.held() == 1
                busy = await client.call_tool("execute_code", {"code": "print(1)"})
                tg.cancel_scope.cancel()
    assert busy.is_error and busy.structured_content is not None
    assert busy.structured_content["error"]["type"] == "Busy"
    assert "retry after" in busy.structured_content["error"]["message"]
    outcomes = [r["outcome"] for r in AuditLog(audit_path).rows()]
    assert "busy" in outcomes


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_audit_log_records_each_run(
    make_server: BuildServer, audit_path: Path, mode: str
) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp, mode=mode) as client:  # type: ignore[arg-type]
        await client.call_tool("execute_code", {"code": COUNT_PROFILES})
    [row] = AuditLog(audit_path).rows()
    assert row["principal"] == "demo" and row["outcome"] == "ok" and row["transport"] == "memory"
    assert row["calls"][0]["id"] == "get_profiles" and set(row["calls"][0]) == {
        "id",
        "status",
        "ms",
        "scan",
    }
    assert len(row["code_sha256"]) == 64


@pytest.mark.parametrize(("answer", "deleted"), [("accept", True), ("decline", False)])
async def test_destructive_actions_are_confirmed_through_elicitation(
    make_server: BuildServer, sim_app: Any, answer: str, deleted: bool
) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(
            action=answer, content={"confirm": True} if answer == "accept" else None
        )  # type: ignore[arg-type]

    built = make_server(allow_destructive=True)
    code = (
        "made = klaviyo.lists.create_list(attributes={'name': 'to delete'})\n"
        "klaviyo.lists.delete_list(made.data['id'])\n"
        "print('deleted')\n"
    )
    async with (
        built.running(),
        Client(built.mcp, mode="legacy", elicitation_callback=elicit) as client,
    ):
        ran = await client.call_tool("execute_code", {"code": code})
    assert ran.structured_content is not None
    assert len(asked) == 1 and "delete_list" in asked[0]
    if deleted:
        assert (
            ran.structured_content["error"] is None
            and "deleted" in ran.structured_content["output"]
        )
    else:
        assert ran.structured_content["error"] is not None
        assert "declined" in ran.structured_content["error"]["message"]


async def test_destructive_actions_stay_off_unless_enabled(make_server: BuildServer) -> None:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": "klaviyo.lists.delete_list('abc')"})
    assert ran.structured_content is not None
    assert "--allow-destructive" in ran.structured_content["error"]["message"]


async def test_a_deny_entry_refuses_matching_actions_naming_the_setting(
    make_server: BuildServer,
) -> None:
    built = make_server(deny=("lists",))
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": "klaviyo.lists.get_lists()"})
    assert ran.structured_content is not None
    assert "CODEMODE_DENY" in ran.structured_content["error"]["message"]


async def test_without_a_credential_execute_code_says_how_to_provide_one(
    sim_app: Any, tmp_path: Path
) -> None:
    from codemode.config import Settings
    from codemode.server import build_server

    settings = Settings(demo=False, audit_disabled=True, config_dir=tmp_path, state_dir=tmp_path)
    built = build_server(settings, transport="memory", log_level="ERROR")
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": "print(1)"})
    assert ran.is_error and ran.structured_content is not None
    assert ran.structured_content["error"]["type"] == "AuthError"
    assert "KLAVIYO_API_KEY" in ran.structured_content["error"]["message"]


async def test_a_session_over_its_run_rate_is_told_when_to_retry(make_server: BuildServer) -> None:
    built = make_server(rate_per_min=1)
    async with built.running(), Client(built.mcp) as client:
        first = await client.call_tool("execute_code", {"code": "print(1)"})
        second = await client.call_tool("execute_code", {"code": "print(2)"})
    assert not first.is_error
    assert second.is_error and second.structured_content is not None
    assert second.structured_content["error"]["type"] == "RateLimited"
    assert "retry after" in second.structured_content["error"]["message"]


def test_a_clean_run_reads_as_its_output_and_problems_bring_the_calls_line() -> None:
    from codemode.server.results import CallRecord, ErrorInfo, ExecuteResult, render_execute

    ok = CallRecord(id="get_profiles", status=200, ms=1.0, scan="clean")
    clean = ExecuteResult(output="42\n", truncated=False, calls=[ok], error=None, session="s1")
    assert render_execute(clean, [], show_session=False) == "42"
    assert render_execute(clean, []) == "42\nsession: s1"  # stateless: the model passes it back
    failed = clean.model_copy(
        update={"error": ErrorInfo(type="NotFoundError", message="gone", line=2)}
    )
    text = render_execute(failed, [], show_session=False)
    assert "error: NotFoundError (line 2): gone" in text and "calls: get_profiles 200" in text
    bad = CallRecord(id="get_profile", status=404, ms=1.0, scan="unscanned")
    assert "calls: " in render_execute(clean.model_copy(update={"calls": [bad]}), [])
    silent = clean.model_copy(update={"output": ""})
    assert render_execute(silent, [], show_session=False) == "calls: get_profiles 200"


async def test_search_ranks_on_a_worker_thread_so_a_slow_query_never_stalls_the_loop(
    make_server: BuildServer,
) -> None:
    """An unsure query runs the encoder (tens of ms): ranking must leave the event loop free."""
    import threading

    built = make_server()
    runtime = built.runtime
    ranked_on: list[threading.Thread] = []
    real_rank = runtime.rank

    def rank(query: str, limit: int) -> Any:
        ranked_on.append(threading.current_thread())
        return real_rank(query, limit)

    runtime.rank = rank  # type: ignore[method-assign]
    async with built.running(), Client(built.mcp) as client:
        found = await client.call_tool("search_api", {"query": "list all profiles"})
    assert not found.is_error
    assert ranked_on and all(t is not threading.main_thread() for t in ranked_on)


async def test_the_shared_http_client_keeps_no_cookie_one_caller_got_for_the_next(
    tmp_path: Path,
) -> None:
    import httpx

    from codemode.config import Settings
    from codemode.server import build_server

    for demo in (True, False):
        settings = Settings(demo=demo, audit_disabled=True, config_dir=tmp_path, state_dir=tmp_path)
        built = build_server(settings, transport="memory", log_level="ERROR")
        async with built.running():
            http = built.runtime.http_client
            first = http.build_request("GET", "https://a.klaviyo.com/api/profiles")
            answer = httpx.Response(200, headers={"set-cookie": "sid=one; Path=/"}, request=first)
            http.cookies.extract_cookies(answer)  # what httpx does with every answer
            http.cookies.set("sid", "two", domain="a.klaviyo.com")
            assert not list(http.cookies.jar)
            nxt = http.build_request("GET", "https://a.klaviyo.com/api/lists")
            assert "cookie" not in nxt.headers

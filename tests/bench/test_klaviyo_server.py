"""Klaviyo's own MCP server run end to end against a loopback simulator."""

from __future__ import annotations

import httpx
import pytest

from codemode.bench import _klaviyo_server
from codemode.bench._harness import new_world
from codemode.bench._peers import KLAVIYO_MCP_PACKAGE
from codemode.bench.tokens import TASKS
from codemode.simulator import DEMO_PRIVATE_KEY

VENV = _klaviyo_server.REPO / ".bench-venvs" / KLAVIYO_MCP_PACKAGE / "bin" / KLAVIYO_MCP_PACKAGE


def test_the_cursor_the_klaviyo_sdk_cuts_from_a_link_loses_its_leading_equals_sign() -> None:
    fixed = _klaviyo_server._cursor_fixed(b"page%5Bcursor%5D=%3DeyJvIjo&page%5Bsize%5D=100")
    assert fixed == b"page%5Bcursor%5D=eyJvIjo&page%5Bsize%5D=100"
    assert _klaviyo_server._cursor_fixed(b"filter=equals%28a%2C%3Db%29") == (
        b"filter=equals%28a%2C%3Db%29"
    )


async def test_the_loopback_server_serves_the_current_simulator_with_https_links() -> None:
    world = new_world()
    async with _klaviyo_server.loopback(lambda: world.app) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answer = await http.get(
                "/api/profiles",
                params={"page[size]": "1"},
                headers={
                    "Authorization": f"Klaviyo-API-Key {DEMO_PRIVATE_KEY}",
                    "revision": "2026-07-15",
                    "Accept": "application/vnd.api+json",
                },
            )
    assert answer.status_code == 200, answer.text
    assert answer.json()["links"]["next"].startswith("https://127.0.0.1:")


def test_klaviyo_plans_exist_only_for_tasks_its_tools_cover() -> None:
    planned = {t.id for t in TASKS if t.klaviyo is not None}
    assert len(planned) >= 8
    assert "gdpr_erase_dry_run" not in planned  # no deletion tool among its 28


@pytest.mark.peer_benchmark
@pytest.mark.skipif(
    not VENV.exists(), reason="peer not installed: `codemode bench tokens` creates .bench-venvs/"
)
async def test_klaviyo_server_answers_a_task_from_the_simulator_end_to_end() -> None:
    from codemode.bench._harness import open_bench
    from codemode.bench.tokens import _run_tasks

    task = next(t for t in TASKS if t.id == "account_timezone_currency")
    async with open_bench(klaviyo=True) as bench:
        assert bench.klaviyo_info["available"], bench.klaviyo_info
        rows = await _run_tasks(bench, [task], lambda _: None)
    record = rows[0]["modes"]["klaviyo"]
    assert record["correct"], record
    assert record["definition_tokens_per_turn"] > 10_000  # its 28 tools, on every turn

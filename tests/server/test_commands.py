"""The ``demo``, ``serve`` and ``audit`` commands."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from codemode.audit import AuditLog, AuditRecord
from codemode.cli import app
from codemode.commands.demo import TASKS, run_tasks
from codemode.simulator import SimConfig


async def test_the_demo_tasks_succeed_and_cost_less_than_the_classic_approach() -> None:
    console = Console(record=True, width=100)
    results = await run_tasks(
        console,
        lambda text: (len(text) + 3) // 4,
        "estimated tokens",
        SimConfig(profiles=80, events=200),
    )
    assert [task.short for task, _ in results] == [task.short for task in TASKS]
    shown = console.export_text()
    assert "error:" not in shown, shown
    assert "planned writes (2, not sent)" in shown
    for task, tally in results:
        assert tally.http_calls > 0, task.short
        assert 0 < tally.code_mode < tally.classic, task.short


def test_serve_refuses_the_demo_on_a_public_address_without_a_traceback() -> None:
    result = CliRunner().invoke(
        app, ["serve", "--demo", "--transport", "http", "--host", "0.0.0.0"]
    )
    assert result.exit_code == 2
    assert "refusing to serve the demo without authentication" in result.output
    assert "Traceback" not in result.output


def test_serve_rejects_an_unknown_transport() -> None:
    result = CliRunner().invoke(app, ["serve", "--transport", "sse"])
    assert result.exit_code == 2 and "stdio or http" in result.output


def test_audit_shows_rows_as_json_lines_and_filters_by_age(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    log = AuditLog(db)
    for started, outcome in ((1.0, "ok"), (4e9, "error")):
        log.record(
            AuditRecord(
                started=started,
                principal="key:abc",
                session="s",
                transport="http",
                code_sha256="f" * 64,
                dry_run=False,
                outcome=outcome,
                duration_ms=5.0,
                calls=[{"id": "get_lists", "status": 200, "ms": 1.0, "scan": "clean"}],
            )
        )
    log.close()
    every = CliRunner().invoke(app, ["audit", "--db", str(db), "--json"])
    assert every.exit_code == 0, every.output
    rows = [json.loads(line) for line in every.output.splitlines()]
    assert [r["outcome"] for r in rows] == ["error", "ok"]
    recent = CliRunner().invoke(app, ["audit", "--db", str(db), "--json", "--since", "1h"])
    assert [json.loads(line)["outcome"] for line in recent.output.splitlines()] == ["error"]
    table = CliRunner().invoke(app, ["audit", "--db", str(db)], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "key:abc" in table.output and "get_lists 200" in table.output
    bad = CliRunner().invoke(app, ["audit", "--db", str(db), "--since", "soon"])
    assert bad.exit_code == 2 and "duration" in bad.output
    missing = CliRunner().invoke(app, ["audit", "--db", str(tmp_path / "none.sqlite3")])
    assert missing.exit_code == 1 and "no audit log" in missing.output

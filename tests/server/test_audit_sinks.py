"""The audit log keeps the same rows and answers the same queries on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codemode.audit import AuditRecord, AuditSink, code_hash, open_audit
from codemode.cli import app
from codemode.errors import ConfigError
from tests._postgres import clean_postgres, postgres_url

__all__ = ["clean_postgres", "postgres_url"]


def _record(started: float, principal: str, call_id: str = "get_profiles") -> AuditRecord:
    return AuditRecord(
        started=started,
        principal=principal,
        session="s1",
        transport="http",
        code_sha256=code_hash("print(1)"),
        dry_run=False,
        outcome="ok",
        duration_ms=1.5,
        calls=[{"id": call_id, "status": 200, "ms": 2.0, "scan": "clean", "raw": {"x": 1}}],
    )


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "audit.sqlite3")
    url: str = request.getfixturevalue("clean_postgres")
    return url


@pytest.fixture
def log(target: str) -> Iterator[AuditSink]:
    sink = open_audit(target)
    yield sink
    sink.close()


def test_rows_come_back_newest_first_with_only_whitelisted_call_fields(log: AuditSink) -> None:
    log.record(_record(100.0, "key:a"))
    log.record(_record(200.0, "key:b", call_id="made\nup [red]x[/red]"))
    rows = log.rows()
    assert [r["principal"] for r in rows] == ["key:b", "key:a"]
    assert rows[1]["calls"] == [{"id": "get_profiles", "status": 200, "ms": 2.0, "scan": "clean"}]
    assert rows[0]["calls"][0]["id"] == "(invalid)"
    assert rows[0]["dry_run"] is False


def test_since_and_limit_select_the_same_rows(log: AuditSink) -> None:
    for i in range(5):
        log.record(_record(100.0 + i, f"key:{i}"))
    assert [r["principal"] for r in log.rows(since=103.0)] == ["key:4", "key:3"]
    assert len(log.rows(limit=2)) == 2


def test_many_rows_written_in_batches_are_all_kept(log: AuditSink) -> None:
    for i in range(600):
        log.record(_record(float(i), "key:bulk"))
    assert len(log.rows(limit=10_000)) == 600


def test_the_audit_command_reads_either_store(target: str) -> None:
    sink = open_audit(target)
    sink.record(_record(1e9, "key:cli"))
    sink.close()
    shown = CliRunner().invoke(app, ["audit", "--db", target, "--json"])
    assert shown.exit_code == 0, shown.output
    rows = [json.loads(line) for line in shown.output.splitlines() if line.strip()]
    assert [r["principal"] for r in rows] == ["key:cli"]


def test_an_unreachable_postgres_is_a_config_error_without_the_url() -> None:
    url = "postgresql://auditor:s3cret@/nodb?host=/nonexistent-codemode-test"
    with pytest.raises(ConfigError) as caught:
        open_audit(url)
    assert "s3cret" not in str(caught.value) and "CODEMODE_AUDIT_DB" in str(caught.value)

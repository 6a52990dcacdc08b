"""The audit log keeps who ran what and which calls, never secrets or payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemode.audit import AuditLog, AuditRecord, RefusalSampler, code_hash, parse_since


def test_rows_keep_only_whitelisted_call_fields_and_come_back_newest_first(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a" / "audit.sqlite3")
    log.record(
        AuditRecord(
            started=100.0,
            principal="key:abc",
            session="s1",
            transport="http",
            code_sha256=code_hash("print(1)"),
            dry_run=False,
            outcome="ok",
            duration_ms=12.5,
            calls=[
                {
                    "id": "get_profiles",
                    "status": 200,
                    "ms": 3.2,
                    "scan": "clean",
                    "raw": {"email": "a@b.co"},
                }
            ],
        )
    )
    log.record(
        AuditRecord(
            started=200.0,
            principal="demo",
            session="s2",
            transport="stdio",
            code_sha256="x",
            dry_run=True,
            outcome="error",
            error_type="NameError",
            duration_ms=1.0,
        )
    )
    rows = log.rows()
    assert [r["principal"] for r in rows] == ["demo", "key:abc"]
    assert rows[1]["calls"] == [{"id": "get_profiles", "status": 200, "ms": 3.2, "scan": "clean"}]
    assert rows[0]["dry_run"] is True and rows[0]["error_type"] == "NameError"
    assert [r["session"] for r in log.rows(since=150.0)] == ["s2"]
    log.close()
    assert b"a@b.co" not in (tmp_path / "a" / "audit.sqlite3").read_bytes()


def test_since_accepts_durations_and_rejects_anything_else() -> None:
    assert parse_since("1h", now=10_000.0) == 10_000.0 - 3600
    assert parse_since("30m", now=10_000.0) == 10_000.0 - 1800
    assert parse_since("2d", now=1e6) == 1e6 - 2 * 86400
    for bad in ("", "h", "1y", "-1h", "abc"):
        with pytest.raises(ValueError, match="duration"):
            parse_since(bad)


def test_code_hash_is_sha256_hex() -> None:
    assert code_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_refusal_sampler_forgets_ended_windows_oldest_first_and_keeps_live_ones() -> None:
    now = [0.0]
    sampler = RefusalSampler(window_s=60, max_keys=3, clock=lambda: now[0])
    for at, key in ((0.0, "key:a"), (10.0, "key:b"), (20.0, "key:c")):
        now[0] = at
        assert sampler.admit(key, "busy", "Busy") == "Busy"
    now[0] = 61.0  # a's window ended and starts again: a is now the newest
    assert sampler.admit("key:a", "busy", "Busy") == "Busy"
    now[0] = 75.0  # full: b's window ended, c's has not
    assert sampler.admit("key:d", "busy", "Busy") == "Busy"
    assert sampler.admit("key:d", "busy", "Busy") is None  # d has a window of its own
    assert sampler.admit("key:a", "busy", "Busy") is None  # a's window (from 61) was kept
    # Full of live windows: a new principal's refusals are all written, none dropped.
    assert [sampler.admit("key:e", "busy", "Busy") for _ in range(2)] == ["Busy", "Busy"]
    now[0] = 81.0
    assert sampler.admit("key:b", "busy", "Busy") == "Busy"  # c forgotten at last

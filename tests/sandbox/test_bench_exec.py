"""The sandbox benchmark and the ``codemode exec`` command, end to end on the simulator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

pytest.importorskip("codemode.simulator")

from codemode.bench import sandbox as bench
from codemode.cli import app

from .conftest import CANARY


def test_quick_benchmark_reports_the_headline_figures() -> None:
    out = io.StringIO()
    result = bench.run(quick=True, console=Console(file=out, width=120))
    summary = result["summary"]
    assert summary["trivial_p50_ms"] > 0 and summary["trivial_p95_ms"] >= summary["trivial_p50_ms"]
    assert summary["per_call_ms_direct"] > 0 and summary["per_call_ratio"] > 0
    assert summary["executions_per_s_8_callers"] > 0 and summary["proxy_round_trip_ms"] >= 0
    machine = result["machine"]
    assert machine["cores"] and machine["date"] and "load_after" in machine
    assert result["concurrent_executions"] == 40
    assert "trivial script round trip p50" in out.getvalue()
    json.dumps(result)


def test_exec_runs_a_script_on_the_demo_simulator_and_keeps_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codemode.commands.exec as exec_command

    # The real scanner runs in the next test; here only the store round trip matters.
    monkeypatch.setattr(exec_command, "_scanner", lambda: None)
    script = tmp_path / "count.py"
    script.write_text(
        "r = klaviyo.profiles.get_profiles(page_size=3)\nprint(len(r.records))\nstore['n'] = store.get('n', 0) + 1\n"
    )
    store = tmp_path / "store.json"
    runner = CliRunner()
    first = runner.invoke(app, ["exec", str(script), "--demo", "--store", str(store)])
    assert first.exit_code == 0, first.output
    assert first.stdout == "3\n"
    second = runner.invoke(app, ["exec", str(script), "--demo", "--store", str(store), "--json"])
    assert json.loads(store.read_text()) == {"n": 2}
    # --json is execute_code's result; its session is the store file that carries `store`.
    result = json.loads(second.stdout)
    assert {"output", "truncated", "calls", "error", "session"} <= set(result)
    assert result["session"] == str(store) and result["output"] == "3\n"


def test_exec_json_dry_run_and_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", CANARY)
    runner = CliRunner()
    code = "klaviyo.lists.create_list(attributes={'name': 'x'})\n"
    planned = runner.invoke(app, ["exec", "-", "--demo", "--json", "--dry-run"], input=code)
    assert planned.exit_code == 0, planned.output
    result = json.loads(planned.stdout)
    assert result["session"] is None  # no --store: nothing is kept between runs
    assert result["planned_writes"] == [
        {"id": "create_list", "params": {"attributes": {"name": "x"}}}
    ]
    refused = runner.invoke(app, ["exec", "-", "--demo", "--read-only"], input=code)
    assert refused.exit_code == 1
    assert "PolicyError" in refused.stderr and "read-only session" in refused.stderr
    assert CANARY not in refused.output


def test_exec_reports_bad_input_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["exec", str(tmp_path / "nope.py"), "--demo"])
    assert missing.exit_code == 2 and "pass a readable UTF-8 file" in missing.stderr
    bad_store = tmp_path / "s.json"
    bad_store.write_text("[1]")
    listed = runner.invoke(app, ["exec", "-", "--demo", "--store", str(bad_store)], input="pass")
    assert listed.exit_code == 2 and "must hold a JSON object" in listed.stderr
    bad_store.write_text("{")
    broken = runner.invoke(app, ["exec", "-", "--demo", "--store", str(bad_store)], input="pass")
    assert broken.exit_code == 2 and "fix or delete the file" in broken.stderr
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    no_key = runner.invoke(app, ["exec", "-"], input="pass")
    assert no_key.exit_code == 2 and "--demo" in no_key.stderr
    monkeypatch.setenv("CODEMODE_READ_ONLY", "maybe")
    bad_env = runner.invoke(app, ["exec", "-", "--demo"], input="pass")
    assert bad_env.exit_code == 2 and "CODEMODE_READ_ONLY" in bad_env.stderr


def test_exec_store_is_replaced_whole_or_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    import codemode.commands.exec as exec_command

    monkeypatch.setattr(exec_command, "_scanner", lambda: None)
    store = tmp_path / "store.json"
    store.write_text('{"n": 1}\n')
    code = "store['n'] += 1\nprint('ran', store['n'])\n"

    def full_disk(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    failed = CliRunner().invoke(app, ["exec", "-", "--demo", "--store", str(store)], input=code)
    # The output still comes back; the failure is named; the old store is intact, no temp left.
    assert failed.exit_code == 1
    assert failed.stdout == "ran 2\n"
    assert (
        "cannot write the store" in failed.stderr and "previous store is unchanged" in failed.stderr
    )
    assert json.loads(store.read_text()) == {"n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["store.json"]

    monkeypatch.undo()
    monkeypatch.setattr(exec_command, "_scanner", lambda: None)
    ok = CliRunner().invoke(app, ["exec", "-", "--demo", "--store", str(store)], input=code)
    assert ok.exit_code == 0, ok.output
    assert json.loads(store.read_text()) == {"n": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["store.json"]

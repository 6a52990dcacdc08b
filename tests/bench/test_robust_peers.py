"""A broken interpreter shim on PATH must not take the benchmark down: peers are found by running
them, and a peer that cannot start is reported with its reason while the others still run."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from codemode.bench import _interpreters, _peers


def _shim(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def broken_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds only a pyenv-like ``python3.13`` that exits 127, and no uv; HOME is empty."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for minor in (13, 14):
        _shim(
            bin_dir, f"python3.{minor}", "echo 'pyenv: python3.13: command not found' >&2; exit 127"
        )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setattr(_interpreters, "_own_version", lambda: (3, 10))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_a_shim_that_exits_127_is_refused_with_its_reason(broken_path: Path) -> None:
    found = _interpreters.find_python((3, 13), home=broken_path / "home")
    assert found.python is None
    assert any("python3.13 exits 127" in r and "command not found" in r for r in found.refused)
    reason = found.reason((3, 13))
    assert "no working Python >= 3.13" in reason and "uv python install 3.13" in reason


def test_a_working_interpreter_after_a_broken_one_is_chosen(
    broken_path: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    versions = home / ".pyenv" / "versions" / "3.13.9" / "bin"
    versions.mkdir(parents=True)
    (versions / "python3").symlink_to(sys.executable)
    found = _interpreters.find_python((3, 11), home=home)
    assert found.python is not None
    assert found.refused  # the shims were tried first and refused


def test_an_interpreter_that_is_too_old_is_refused(tmp_path: Path) -> None:
    fake = _shim(tmp_path, "python3.13", "echo 3.9")
    version, why = _interpreters._probe(str(fake))
    assert (version, why) == ("3.9", "")
    assert _interpreters._probe(str(tmp_path / "missing"))[0] is None


def test_klaviyo_server_setup_names_the_broken_shim_instead_of_raising_calledprocesserror(
    broken_path: Path,
) -> None:
    with pytest.raises(_peers.PeerUnavailable, match="exits 127"):
        _peers._ensure_venv(broken_path / "repo", lambda _: None)


def test_a_failing_setup_step_becomes_peer_unavailable(tmp_path: Path) -> None:
    failing = _shim(tmp_path, "fails", "echo boom >&2; exit 3")
    with pytest.raises(_peers.PeerUnavailable, match=r"making it failed \(exit 3\): boom"):
        _peers._run_step([str(failing)], "making it", 30)
    with pytest.raises(_peers.PeerUnavailable, match="could not start"):
        _peers._run_step([str(tmp_path / "absent")], "starting it", 30)


def test_bench_tokens_completes_with_the_broken_peer_named_in_the_table(
    broken_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastmcp", reason="the bench extra is not installed")
    from rich.console import Console

    from codemode.bench import tokens

    monkeypatch.setattr(_peers, "_VENV_DIR", str(broken_path / "venvs"))
    out = io.StringIO()
    result = tokens.run(quick=True, console=Console(file=out, width=200))
    printed = " ".join(out.getvalue().split())
    assert result["klaviyo_mcp"]["available"] is False
    assert "exits 127" in result["klaviyo_mcp"]["reason"]
    assert "Klaviyo MCP did not run" in printed and "exits 127" in printed
    assert result["summary"]["all_correct"] is True  # the other systems still ran
    assert str(Path.home()) not in json.dumps(result)

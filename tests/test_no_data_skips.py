"""A skip for missing data fails the run; a skip for what the host lacks stays a skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests._shared import REPO_ROOT

PROBE = """
import pytest

def test_needs_the_folder_beside_the_checkout():
    pytest.skip("../shared is not beside the checkout")

def test_needs_a_file():
    pytest.skip("tests/data/x.jsonl not found")

def test_needs_a_kernel_feature():
    pytest.skip("Landlock unavailable on this kernel")
"""


def test_skips_for_missing_data_are_reported_as_failures(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "40"},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 failed, 1 skipped" in out, out
    assert "skipped for missing data" in out

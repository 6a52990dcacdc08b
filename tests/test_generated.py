"""Generated files are current: the catalog (needs ../shared) and the SDK resources and stubs."""

from __future__ import annotations

import subprocess
import sys

from tests._shared import REPO_ROOT, shared_dir


def _check(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / script), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def test_catalog_is_current_with_shared_inputs() -> None:
    shared_dir()
    proc = _check("gen_catalog.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sdk_resources_and_stubs_are_current_with_the_catalog() -> None:
    proc = _check("gen_sdk.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr

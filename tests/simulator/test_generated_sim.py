"""The simulator's generated files are current: operation table, resource shapes and coverage table."""

from __future__ import annotations

import subprocess
import sys

from codemode.simulator.handlers import differences, handler_for
from codemode.simulator.operations import load_operations
from tests._shared import REPO_ROOT


def _check(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / script), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def test_resource_shapes_are_current_with_the_openapi_document() -> None:
    proc = _check("gen_sim_resources.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_coverage_table_is_current_with_the_handlers() -> None:
    proc = _check("gen_sim_coverage.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_operation_has_a_handler_named_after_it_or_a_generic_one() -> None:
    for action in load_operations().values():
        handler = handler_for(action)
        where, _ = differences(action)
        assert handler.__name__ == action.id or where.startswith("generic"), action.id

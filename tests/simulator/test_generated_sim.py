"""The simulator's generated files are current: resource shapes (from the vendored OpenAPI document) and the coverage table."""

from __future__ import annotations

import subprocess
import sys

from codemode.catalog import load_catalog
from codemode.simulator.handlers import differences, handler_for, serves
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


def test_every_served_action_has_a_handler_named_after_it_or_a_generic_one() -> None:
    for action in load_catalog().values():
        if not serves(action):
            assert handler_for(action).__name__ == "not_served", action.id
            continue
        handler = handler_for(action)
        where, _ = differences(action)
        assert handler.__name__ == action.id or where.startswith("generic"), action.id

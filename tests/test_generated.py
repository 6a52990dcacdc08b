"""Generated files are current: the catalog (from the vendored inputs), the SDK and stubs, the README results."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def test_catalog_is_current_with_the_vendored_inputs() -> None:
    proc = _check("gen_catalog.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sdk_resources_and_stubs_are_current_with_the_catalog() -> None:
    proc = _check("gen_sdk.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_search_operation_embeddings_are_current_with_the_catalog() -> None:
    proc = _check("gen_search_embeddings.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_learned_search_weights_are_current_with_the_catalog_and_vocabulary() -> None:
    proc = _check("gen_search_weights.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_search_refusal_model_is_current_with_the_ranking_and_tuning_sets() -> None:
    proc = _check("gen_search_refusal.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_results_section_is_current_with_the_benchmark_results() -> None:
    proc = _check("gen_readme_results.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stubs_are_valid_typed_python(tmp_path: Path) -> None:
    package = tmp_path / "klaviyo_stubs"
    package.mkdir()
    for stub in (REPO_ROOT / "sdk_stubs").glob("*.pyi"):
        shutil.copy(stub, package / stub.name)
    (package / "__init__.pyi").write_text("", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy"),
            "-p",
            "klaviyo_stubs",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_early_tools_list_answer_is_current_with_the_tools() -> None:
    proc = _check("gen_tools_list.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr

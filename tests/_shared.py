"""The vendored inputs tests read: Klaviyo's OpenAPI document, the core-action spec, data slices.

Everything lives in the repository (``tools/vendor/``, ``tests/data/``), so a fresh clone runs the
whole suite with nothing beside it. A missing file is a broken checkout: the helpers fail with the
path and the fix, and ``tests/conftest.py`` turns any skip for missing data into a failure.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR = REPO_ROOT / "tools" / "vendor"
OPENAPI_PATH = VENDOR / "klaviyo" / "openapi-stable.json"
SPEC_PATH = VENDOR / "spec" / "actions.json"
DATA = REPO_ROOT / "tests" / "data"


def load_tool(path: Path) -> ModuleType:
    """The script ``path`` (under ``tools/``) imported as a module, so tests call its functions."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vendored(path: Path) -> Path:
    """Return ``path`` (a vendored input), or raise naming it and how to restore it."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.relative_to(REPO_ROOT)} is missing from the checkout; restore it with "
            f"`git checkout -- {path.relative_to(REPO_ROOT)}` (see tools/vendor/README.md)"
        )
    return path


@cache
def openapi() -> dict[str, Any]:
    """Klaviyo's OpenAPI document (the vendored revision the catalog is generated from)."""
    doc: dict[str, Any] = json.loads(vendored(OPENAPI_PATH).read_text(encoding="utf-8"))
    return doc


@cache
def spec_actions() -> list[dict[str, Any]]:
    """The core actions of the spec (``n``, id, method, path, category, kind, ``seed_sha1``)."""
    rows: list[dict[str, Any]] = json.loads(vendored(SPEC_PATH).read_text(encoding="utf-8"))[
        "actions"
    ]
    return rows


def openapi_operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (METHOD, path, operation) over every operation of the OpenAPI document."""
    out: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in openapi()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                out[op["operationId"]] = (method.upper(), path, op)
    return out

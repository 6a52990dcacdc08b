"""Access to ../shared (the spec, the OpenAPI document, the data sets) from tests.

A user's fresh clone has no ../shared: tests that need it skip with a reason. CI always has it, so
there (``CI`` set) a missing ../shared is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


def shared_dir() -> Path:
    """Return ../shared, or skip (fail under CI) when it is not beside the checkout."""
    if (SHARED / "spec" / "actions.json").is_file():
        return SHARED
    reason = (
        f"../shared is not beside the checkout ({SHARED.name} missing); it holds the spec and data"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)

"""Fixtures of the OAuth tests."""

from __future__ import annotations

import pytest

from ._support import Rig, build_rig


@pytest.fixture
def rig() -> Rig:
    """The simulator and our OAuth front, in-process, on a fake clock."""
    return build_rig()

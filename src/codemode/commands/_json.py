"""JSON for ``--json`` output: strict JSON, never a bare ``NaN`` or ``Infinity``.

Python's ``json.dumps`` writes ``NaN`` and ``Infinity`` by default, which no JSON parser but
Python's accepts; a consumer of ``--json`` would fail on the whole line. Non-finite numbers
become ``null`` (the figure is unknown), everything else is unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from codemode.sandbox.protocol import finite

__all__ = ["dumps"]


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` with non-finite floats written as ``null``."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        return json.dumps(finite(value), allow_nan=False, **kwargs)

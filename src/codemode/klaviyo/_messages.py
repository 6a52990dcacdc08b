"""Validation messages shared by parameter and body checks: valid options, closest first."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from codemode.catalog import Action
from codemode.klaviyo._errors import ValidationError

__all__ = ["SUGGEST_MAX", "fail", "options"]

# Names longer than this get no "did you mean" (difflib's cost grows with the square of a name's
# length, and a script chooses the name).
SUGGEST_MAX = 64


def options(name: str, choices: Sequence[str], limit: int = 25) -> str:
    """Valid choices with the closest matches to ``name`` first, truncated to ``limit``."""
    close = (
        difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
        if len(name) <= SUGGEST_MAX
        else []
    )
    ordered = close + [o for o in choices if o not in close]
    shown = ", ".join(ordered[:limit])
    more = f", ... ({len(ordered) - limit} more)" if len(ordered) > limit else ""
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}valid: {shown}{more}" if ordered else "none are accepted"


def fail(action: Action, message: str, parameter: str | None = None) -> ValidationError:
    """A ValidationError for ``action`` naming the offending parameter."""
    return ValidationError(
        f"{action.id}: {message}",
        operation_id=action.id,
        source={"parameter": parameter} if parameter else None,
    )

"""The one check every table of attacks shares: a run ended exactly as its row says."""

from __future__ import annotations

from typing import Any

from codemode.sandbox.result import ExecutionResult


def assert_outcome(result: ExecutionResult, name: str, expected: tuple[Any, ...]) -> None:
    """``("output", text)``: no error and exactly ``text`` printed; else ``(_, error type, words)``:
    that error, its message containing ``words``."""
    if expected[0] == "output":
        assert result.error is None, (name, result.error)
        assert result.output == expected[1], (name, result.output)
        return
    assert result.error is not None, (name, result.output)
    assert result.error.type == expected[1], (name, result.error)
    assert expected[2] in result.error.message, (name, result.error.message)

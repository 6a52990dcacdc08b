"""NaN and infinities never reach ``--json``: what a script sends, what a helper computes.

``json.dumps`` writes bare ``NaN``/``Infinity`` by default, which strict JSON parsers reject, so
one poisoned number would break every consumer of the line.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from typer.testing import CliRunner

from codemode.cli import app
from codemode.commands._json import dumps

from .conftest import CANARY

pytest.importorskip("codemode.simulator")


def strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"bare {name} in --json output")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "value", ["float('nan')", "float('inf')", "-float('inf')", "1e308 * 10", "[0.5, float('nan')]"]
)
def test_a_script_cannot_put_a_non_finite_number_into_json_output(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", CANARY)
    code = f"klaviyo.lists.create_list(attributes={{'name': 'x', 'extra': {value}}})\n"
    result = CliRunner().invoke(app, ["exec", "-", "--demo", "--json", "--dry-run"], input=code)
    data = strict(result.stdout)
    assert data["error"]["type"] == "ValidationError", data
    assert "finite float" in data["error"]["message"] and data["planned_writes"] == []
    assert CANARY not in result.stdout


def test_json_output_writes_non_finite_figures_as_null() -> None:
    text = dumps({"a": math.nan, "b": [math.inf, 1.5, -math.inf], "c": "NaN"}, sort_keys=True)
    assert strict(text) == {"a": None, "b": [None, 1.5, None], "c": "NaN"}
    assert dumps({"ok": 1.0}) == '{"ok": 1.0}'

"""``CODEMODE_DEMO_LATENCY_MS``: the demo simulator waits as long as Klaviyo takes to answer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from codemode.config import Settings
from codemode.errors import ConfigError
from codemode.server import build_server
from codemode.simulator import DEMO_PRIVATE_KEY
from codemode.simulator import app as sim_app


def test_the_demo_latency_is_read_from_its_variable() -> None:
    assert Settings.from_env({"CODEMODE_DEMO_LATENCY_MS": "120"}).demo_latency_ms == 120.0
    assert Settings.from_env({}).demo_latency_ms == 0.0
    assert Settings.from_env({"CODEMODE_DEMO_LATENCY_MS": "0"}).demo_latency_ms == 0.0


@pytest.mark.parametrize(
    ("raw", "says"),
    [("nan", "not a finite number"), ("inf", "not a finite number"), ("-5", "zero or positive")],
)
def test_a_demo_latency_that_is_not_a_finite_delay_names_the_variable(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match=rf"CODEMODE_DEMO_LATENCY_MS.*{says}"):
        Settings.from_env({"CODEMODE_DEMO_LATENCY_MS": raw})


@pytest.mark.parametrize(("latency_ms", "waits"), [(250.0, [0.25]), (0.0, [])])
async def test_the_demo_simulator_awaits_the_latency_before_each_answer(
    monkeypatch: pytest.MonkeyPatch, latency_ms: float, waits: list[float]
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:  # the wait is recorded, never slept
        slept.append(seconds)

    # Only the simulator's own clock is replaced; the event loop's sleep stays as it is.
    monkeypatch.setattr(sim_app, "asyncio", SimpleNamespace(sleep=record))
    built = build_server(
        Settings(demo=True, demo_latency_ms=latency_ms, audit_disabled=True), transport="memory"
    )
    client = built.runtime.http_client
    response = await client.get(
        "/api/lists",
        headers={"Authorization": f"Klaviyo-API-Key {DEMO_PRIVATE_KEY}", "revision": "2026-07-15"},
    )
    assert response.status_code == 200
    assert slept == waits
    await built.aclose()

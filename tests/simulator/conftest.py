"""Fixtures: one simulator app per module (seeding costs most of a second), clients, headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app
from codemode.simulator.transport import SimTransport

NOW = datetime(2026, 7, 1, tzinfo=UTC)
HEADERS = {
    "Authorization": f"Klaviyo-API-Key {DEMO_PRIVATE_KEY}",
    "revision": "2026-07-15",
    "accept": "application/vnd.api+json",
}


def make_client(app: Starlette) -> httpx.Client:
    """A sync httpx client into ``app`` with the demo key and a revision."""
    return httpx.Client(transport=SimTransport(app), base_url="http://sim.test", headers=HEADERS)


@pytest.fixture(scope="module")
def app() -> Starlette:
    """A fresh seeded simulator (fixed clock) shared by one test module."""
    return create_app(SimConfig(now=NOW))


@pytest.fixture(scope="module")
def client(app: Starlette) -> Iterator[httpx.Client]:
    """A client of the module's app."""
    with make_client(app) as c:
        yield c

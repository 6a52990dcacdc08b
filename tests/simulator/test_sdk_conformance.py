"""The SDK (``codemode.Klaviyo``) calls every action against the simulator; each answer has the
documented status and validates against the operation's OpenAPI response schema. The simulator
never imports the SDK, so the two check each other."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from codemode.catalog import Action, load_catalog
from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app
from codemode.simulator.transport import SimTransport
from tests.simulator._openapi import problems
from tests.simulator._recipes import World, call_for
from tests.simulator._scope import simulated
from tests.simulator.conftest import NOW

klaviyo = pytest.importorskip("codemode.klaviyo")
ACTIONS = [pytest.param(a, id=a.id) for a in simulated(load_catalog())]


@pytest.fixture(scope="module")
def sdk_app() -> Starlette:
    return create_app(SimConfig(now=NOW, profiles=300, events=4000))


@pytest.fixture(scope="module")
def sdk(sdk_app: Starlette) -> Iterator[object]:
    with httpx.Client(transport=SimTransport(sdk_app)) as http:
        yield klaviyo.Klaviyo(
            api_key=DEMO_PRIVATE_KEY, base_url="http://sim.test", http_client=http, max_retries=0
        )


def _call(sdk: object, action: Action, world: World) -> object:
    def setup(dep: str) -> str:
        result = _call(sdk, load_catalog()[dep], world)
        return str(result.raw["data"]["id"])  # type: ignore[attr-defined]

    call = call_for(action, world, setup)
    return sdk.call(action.id, **call.sdk_params(action))  # type: ignore[attr-defined]


@pytest.mark.parametrize("action", ACTIONS)
def test_sdk_call_gets_documented_status_and_schema_valid_document(
    action: Action, sdk_app: Starlette, sdk: object
) -> None:
    result = _call(sdk, action, World(sdk_app))
    assert result.status == action.response.status  # type: ignore[attr-defined]
    if action.response.schema is None or action.response.status == 204:
        return
    found = problems(action.response.schema, result.raw)  # type: ignore[attr-defined]
    assert not found, f"{action.response.schema}: {found}"

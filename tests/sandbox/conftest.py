"""Shared fixtures of the sandbox tests: one warm sandbox per module, a canary key, a fake bridge.

The canary is set in the test process's environment before the zygote starts: if any layer ever
let a script reach the host's environment, it would show up in a result, and every result is
checked for it (``execute`` below).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
import pytest_asyncio

from codemode.sandbox import BridgeReply, ExecutionResult, Limits, OutputScan, Sandbox

CANARY = "pk_canary_7f3a9c1e_never_leak_me"

# Small limits keep hostile tests fast; the wall limit bounds every wait.
TEST_LIMITS = Limits(wall_s=2.0, cpu_s=2.0, memory_mb=96, output_bytes=2048, max_calls=5)

PAGE_1 = {
    "data": [
        {
            "type": "profile",
            "id": "P1",
            "attributes": {"email": "ada@example.com", "first_name": "Ada"},
        },
        {
            "type": "profile",
            "id": "P2",
            "attributes": {"email": "bob@example.com", "first_name": "Bob"},
        },
    ],
    "links": {"next": "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D=c2"},
}
PAGE_2 = {
    "data": [
        {
            "type": "profile",
            "id": "P3",
            "attributes": {"email": "cy@example.com", "first_name": "Cy"},
        }
    ],
    "links": {"next": None},
}


class FakeBridge:
    """A bridge with canned answers: pages of profiles, a 404, and call recording."""

    def __init__(self, *, dry_run: bool = False) -> None:
        self.dry_run = dry_run
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []

    def operations(self) -> Mapping[str, Sequence[str]]:
        return {"profiles": ["get_profiles", "get_profile"], "webhooks": ["create_webhook"]}

    async def call(self, op_id: str, args: Sequence[Any], params: Mapping[str, Any]) -> BridgeReply:
        self.calls.append((op_id, list(args), dict(params)))
        if op_id == "get_profile":
            return BridgeReply(
                status=404,
                error={
                    "class": "NotFoundError",
                    "message": "no profile 'nope'",
                    "status": 404,
                    "detail": "not found",
                },
            )
        if op_id == "create_webhook":
            return BridgeReply(
                error={
                    "class": "PolicyError",
                    "message": "create_webhook refused by policy: webhook",
                    "rule": "webhook",
                }
            )
        page = PAGE_2 if params.get("page_cursor") == "c2" else PAGE_1
        return BridgeReply(status=200, raw=page, scan="clean", params=dict(params))

    async def scan_output(self, pieces: dict[str, str]) -> OutputScan:
        return OutputScan("unscanned")

    def scrub(self, text: str) -> str:
        return text


@pytest.fixture(scope="module")
def canary_env() -> Iterator[str]:
    """Put a fake key in the host environment for the module's lifetime."""
    old = os.environ.get("KLAVIYO_API_KEY")
    os.environ["KLAVIYO_API_KEY"] = CANARY
    yield CANARY
    if old is None:
        del os.environ["KLAVIYO_API_KEY"]
    else:  # pragma: no cover - only when the developer has a key set
        os.environ["KLAVIYO_API_KEY"] = old


def sandbox_fixture(limits: Limits, name: str = "box") -> Any:
    """A module-scoped fixture ``name``: a warm sandbox with ``limits``, started after the canary
    is set (``box = sandbox_fixture(LIMITS)`` in a test module)."""

    @pytest_asyncio.fixture(loop_scope="module", scope="module", name=name)
    async def box(canary_env: str) -> AsyncIterator[Sandbox]:
        started = Sandbox(limits=limits)
        await started.start()
        yield started
        await started.aclose()

    return box


# A warm sandbox with small limits.
sandbox = sandbox_fixture(TEST_LIMITS, name="sandbox")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a fresh simulator (one per test module), for the real SDK."""
    simulator = pytest.importorskip("codemode.simulator")
    app = simulator.create_app(simulator.SimConfig(seed=0, rate_limits=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def pid_gone(pid: int | None) -> bool:
    """True when no process with ``pid`` exists any more."""
    assert pid is not None, "the result should name its worker"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def check_invariants(result: ExecutionResult) -> None:
    """What holds for every execution, hostile or not."""
    text = json.dumps({**result.to_dict(), "store": result.store})
    assert CANARY not in text
    assert "Traceback" not in text
    assert "site-packages" not in text and "/src/codemode" not in text
    assert pid_gone(result.worker_pid)


def model_text(result: ExecutionResult) -> str:
    """Everything of the result the model reads."""
    return json.dumps(result.to_dict(), ensure_ascii=False)


def model_strings(result: ExecutionResult) -> list[str]:
    """Every string of the result the model reads (keys and values), unescaped."""

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [t for k, v in value.items() for t in (*strings(k), *strings(v))]
        if isinstance(value, list):
            return [t for v in value for t in strings(v)]
        return []

    return strings(json.loads(model_text(result)))


async def execute(box: Sandbox, code: str, bridge: Any = None, **kwargs: Any) -> ExecutionResult:
    """Run ``code`` and check the invariants."""
    result = await box.execute(code, bridge=bridge or FakeBridge(), **kwargs)
    check_invariants(result)
    return result

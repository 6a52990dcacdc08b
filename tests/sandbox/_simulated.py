"""Helpers of the output-screen tests: the demo simulator behind a real SDK and bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp_types import ElicitResult

from codemode.catalog import load_catalog
from codemode.config import Settings
from codemode.klaviyo import AsyncKlaviyo
from codemode.policy import Policy
from codemode.sandbox import ExecutionResult, Sandbox, SdkBridge
from codemode.scanner import Scanner
from codemode.server import DEMO_BASE_URL, build_server
from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app

from .conftest import check_invariants, model_text


@asynccontextmanager
async def simulator_client(**keys: frozenset[str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a fresh demo simulator; ``keys`` adds scoped private keys."""
    app = create_app(SimConfig(seed=0, rate_limits=False))
    for key, scopes in keys.items():
        app.state.sim.add_key(key, app.state.sim.default_account, scopes)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client


async def plant_profiles(client: httpx.AsyncClient, *attributes: dict[str, Any]) -> None:
    """Create one profile per ``attributes`` in the simulator behind ``client`` (planted data)."""
    k = AsyncKlaviyo(
        api_key=DEMO_PRIVATE_KEY, base_url="http://sim", http_client=client, max_retries=0
    )
    for each in attributes:
        await k.profiles.create_profile(attributes=each)


class OutputScanOnly(SdkBridge):
    """Answers reach the script unscanned: only the host's output scan stands in the way."""

    async def _scan(self, document: Any, **_: Any) -> tuple[Any, Any, list[str], str | None]:
        return document, "clean", [], None


def make_bridge(
    http: httpx.AsyncClient,
    kind: type[SdkBridge] = SdkBridge,
    *,
    scanner: Any = "real",
    key: str = DEMO_PRIVATE_KEY,
    policy: Policy | None = None,
    scan_policy: Any = "redact",
    dry_run: bool = False,
) -> SdkBridge:
    """A bridge on the simulator with the real scanner (or ``scanner``, None for none)."""
    client = AsyncKlaviyo(api_key=key, base_url="http://sim", http_client=http, max_retries=0)
    return kind(
        client=client,
        catalog=load_catalog(),
        policy=policy,
        scanner=Scanner.default() if scanner == "real" else scanner,
        scan_policy=scan_policy,
        dry_run=dry_run,
    )


async def screened_run(
    box: Sandbox, sim: httpx.AsyncClient, code: str, kind: type[SdkBridge] = SdkBridge, **kw: Any
) -> ExecutionResult:
    """Run ``code`` on a bridge of ``kind`` (``scanner=None``: nothing scanned), checking the
    result's invariants and that the key reaches no text the model reads."""
    result = await box.execute(code, bridge=make_bridge(sim, kind, **kw))
    check_invariants(result)
    assert DEMO_PRIVATE_KEY not in model_text(result)
    return result


async def assert_intact(
    box: Sandbox, sim: httpx.AsyncClient, script: str, label: str, kind: type[SdkBridge]
) -> None:
    """An honest script prints exactly what it prints with no scanner, and nothing is removed."""
    reference = await screened_run(box, sim, script, kind, scanner=None)
    assert reference.error is None, (label, reference.error)
    assert reference.output.strip(), label
    result = await screened_run(box, sim, script, kind)
    assert result.redactions == [], f"{label}: {result.redactions[:3]}"
    assert result.output == reference.output, f"{label}: {result.output[:700]}"


async def declined_run(
    code: str, audit_db: Path, **settings: Any
) -> tuple[dict[str, Any], list[str]]:
    """Run ``code`` with the MCP ``execute_code`` tool of an in-process demo server whose user
    declines every question; the structured result and the questions the user was asked."""
    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    sim = create_app(SimConfig(profiles=20, events=50))
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=DEMO_BASE_URL)
    config = Settings(demo=True, audit_db=audit_db, **settings)
    built = build_server(config, transport="memory", http_client=raw, log_level="ERROR")
    async with built.running(), Client(built.mcp, mode="legacy", elicitation_callback=elicit) as c:
        ran = await c.call_tool("execute_code", {"code": code})
    assert ran.structured_content is not None
    return dict(ran.structured_content), asked

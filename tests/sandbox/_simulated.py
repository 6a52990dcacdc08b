"""Helpers of the output-screen tests: the demo simulator behind a real SDK and bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo
from codemode.policy import Policy
from codemode.sandbox import SdkBridge
from codemode.scanner import Scanner
from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app


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


class OutputScanOnly(SdkBridge):
    """Answers reach the script unscanned: only the host's output scan stands in the way."""

    async def _scan(self, document: Any) -> tuple[Any, Any, list[str], str | None]:
        return document, "clean", [], None


def make_bridge(
    http: httpx.AsyncClient,
    kind: type[SdkBridge] = SdkBridge,
    *,
    scanner: Any = "real",
    key: str = DEMO_PRIVATE_KEY,
    policy: Policy | None = None,
    scan_policy: Any = "redact",
) -> SdkBridge:
    """A bridge on the simulator with the real scanner (or ``scanner``, None for none)."""
    client = AsyncKlaviyo(api_key=key, base_url="http://sim", http_client=http, max_retries=0)
    return kind(
        client=client,
        catalog=load_catalog(),
        policy=policy,
        scanner=Scanner.default() if scanner == "real" else scanner,
        scan_policy=scan_policy,
    )

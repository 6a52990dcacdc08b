"""AsyncKlaviyo against the embedded simulator through ``httpx.ASGITransport`` (no network)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from codemode.klaviyo import AsyncKlaviyo, F, Klaviyo, NotFoundError

simulator = pytest.importorskip("codemode.simulator")


@pytest.fixture(scope="module")
def app() -> Any:
    """One seeded simulator for the module (seeding takes a few seconds)."""
    return simulator.create_app(simulator.SimConfig(seed=0, rate_limits=False))


async def test_async_sdk_reads_pages_writes_and_fails_typed_against_the_simulator(app: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        k = AsyncKlaviyo(
            api_key=simulator.DEMO_PRIVATE_KEY, base_url="http://sim", http_client=http
        )
        first = await k.profiles.get_profiles(page_size=5)
        assert len(first) == 5 and first.next_cursor
        records = [r async for r in first.aall(max_items=12)]
        assert len(records) == 12 and len({r["id"] for r in records}) == 12
        email = records[0]["email"]
        found = await k.profiles.get_profiles(filter=F.equals("email", email))
        assert [r["id"] for r in found] == [records[0]["id"]]
        created = await k.lists.create_list(attributes={"name": "SDK smoke"})
        assert created.status == 201 and isinstance(created.data, dict)
        again = await k.lists.get_list(created.data["id"])
        assert again.data is not None and again.data["name"] == "SDK smoke"
        with pytest.raises(NotFoundError) as caught:
            await k.profiles.get_profile("no-such-profile")
        assert caught.value.operation_id == "get_profile" and caught.value.status == 404


def test_sync_sdk_pages_and_prepares_against_the_simulator(app: Any) -> None:
    from starlette.testclient import TestClient

    # TestClient is an httpx.Client that drives the ASGI app in-process: the sync client's seam.
    with TestClient(app, base_url="http://sim") as http:
        k = Klaviyo(api_key=simulator.DEMO_PRIVATE_KEY, base_url="http://sim", http_client=http)
        lists = k.lists.get_lists()
        assert lists.status == 200 and lists.info is not None and lists.info.attempts == 1
        every = list(k.profiles.get_profiles(page_size=3).all(max_items=7))
        assert len({r["id"] for r in every}) == 7
        assert k.prepare("get_lists").url == "http://sim/api/lists"

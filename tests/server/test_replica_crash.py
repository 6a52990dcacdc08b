"""A run longer than the slot expiry keeps its slot; a replica killed mid-run frees it in time.

Two real ``codemode serve --demo --transport http --state unix://…`` processes share one Redis
server (the bench's fleet starts them). The demo principal may hold one run at a time across
both (``CODEMODE_PRINCIPAL_WORKERS=1``) and may not queue for long (``CODEMODE_QUEUE_S``), so a
second run is refused with ``Busy`` at once. Replica A starts a run that sleeps for several
expiries; while it runs, A renews its lease, so past the first expiry B still refuses the
principal (the cap holds). Then A is SIGKILLed (it cannot release or renew anything); B admits
the principal again once the lease has run out, which Redis says is within the expiry.
"""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis

from codemode.bench._fleet import redis_binary, start_fleet
from codemode.bench.load import RawClient

EXPIRY_S = 4
SLEEPER = "import time\ntime.sleep(25)\nprint('woke')"
QUICK = "print('admitted')"
LEASES = "codemode:slots:demo"  # the demo principal's leases: member = holder, score = end (ms)

pytestmark = pytest.mark.skipif(redis_binary() is None, reason="no redis-server binary")


def _redis_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def _run(url: str, code: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        result = await RawClient(http, url).call_tool("execute_code", {"code": code})
    return dict(result.structured_content or {})


async def test_a_long_run_keeps_its_slot_and_a_killed_replica_frees_it_within_the_expiry(
    tmp_path: Path,
) -> None:
    env = {
        "CODEMODE_PRINCIPAL_WORKERS": "1",
        "CODEMODE_SLOT_EXPIRY_S": str(EXPIRY_S),
        "CODEMODE_QUEUE_S": "0.2",
        "CODEMODE_TIMEOUT_S": "30",
        "CODEMODE_AUDIT_DB": "off",
    }
    fleet = await start_fleet(tmp_path, replicas=2, env=env)
    try:
        assert fleet.state_url is not None and fleet.state_url.startswith("unix://")
        a, b = fleet.servers
        leases = redis.Redis.from_url(fleet.state_url)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_run_ignoring_the_crash, a.url)
            with anyio.fail_after(60):  # A's run has taken the principal's one slot
                while leases.zcard(LEASES) == 0:
                    await anyio.sleep(0.05)
            [(holder, first_ends_ms)] = leases.zrange(LEASES, 0, -1, withscores=True)
            refused = await _run(b.url, QUICK)
            assert (refused.get("error") or {}).get("type") == "Busy", refused

            # Past the lease's first end the run goes on, renewed by A: B still refuses.
            with anyio.fail_after(EXPIRY_S * 5):
                while _redis_ms(leases) < first_ends_ms + 1000:
                    await anyio.sleep(0.1)
            refused = await _run(b.url, QUICK)
            assert (refused.get("error") or {}).get("type") == "Busy", refused
            assert leases.zscore(LEASES, holder) is not None
            assert leases.zscore(LEASES, holder) > first_ends_ms  # renewed

            a.proc.send_signal(signal.SIGKILL)  # no release, no renewal, no goodbye
            a.proc.wait(timeout=30)
            killed_ms = _redis_ms(leases)
            ends_ms = leases.zscore(LEASES, holder)
            assert ends_ms is not None  # still held: nobody released it
            # The lease frees itself at most EXPIRY_S after its last renewal, before the kill.
            assert ends_ms - killed_ms <= EXPIRY_S * 1000

            with anyio.fail_after(EXPIRY_S * 10):  # B admits the principal once it lapses
                while True:
                    answer = await _run(b.url, QUICK)
                    if answer.get("error") is None:
                        break
                    assert answer["error"]["type"] == "Busy", answer
                    await anyio.sleep(0.25)
            assert answer["output"].strip() == "admitted"
            assert _redis_ms(leases) >= ends_ms  # admitted because the dead lease ran out
            tg.cancel_scope.cancel()
        leases.close()
    finally:
        fleet.stop()


async def _run_ignoring_the_crash(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError, RuntimeError):  # the replica dies under it
        await _run(url, SLEEPER)

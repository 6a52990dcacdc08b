"""Settings of one simulator instance: seed, clocks, rate limits, faults and persistence."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "DEMO_COMPANY_ID",
    "DEMO_OAUTH_CLIENT",
    "DEMO_OAUTH_SECRET",
    "DEMO_PRIVATE_KEY",
    "DEMO_USERS",
    "FaultConfig",
    "SimConfig",
]

DEMO_COMPANY_ID = "TrA1lH"
"""Public key (site id) of the default demo account, the one ``/client/*`` endpoints take."""
DEMO_PRIVATE_KEY = "pk_demo_trailhead_outfitters"
"""A private key of the default demo account (in demo mode any ``pk_...`` key maps there)."""
DEMO_OAUTH_CLIENT = "codemode-demo-client"
"""Client id of the pre-registered OAuth app."""
DEMO_OAUTH_SECRET = "codemode-demo-secret"
"""Client secret of the pre-registered OAuth app (HTTP Basic on ``/oauth/token``)."""
DEMO_USERS = ("ada@trailhead.example", "grace@summitsupply.example")
"""Demo users; each owns one account. The first owns the default (Trailhead) account."""


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Deterministic fault injection for reliability tests (all off by default).

    Attributes:
        error_rate: share of API requests answered with a 503 error document.
        latency_ms: delay added to every API request (through the injected ``sleep``).
        drop_rate: share of API requests whose connection is dropped without a response.
        burst_429_every: every Nth API request starts a burst of ``burst_429_length`` 429 answers.
        burst_429_length: how many consecutive requests a 429 burst lasts.
        seed: seed of the fault stream, so the same requests see the same faults.
    """

    error_rate: float = 0.0
    latency_ms: float = 0.0
    drop_rate: float = 0.0
    burst_429_every: int = 0
    burst_429_length: int = 1
    seed: int = 0

    @property
    def active(self) -> bool:
        """True when any fault is configured."""
        return bool(self.error_rate or self.latency_ms or self.drop_rate or self.burst_429_every)


def _monotonic() -> float:
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How to build one simulator app.

    Attributes:
        seed: seed of the demo data; the same seed gives the same accounts.
        rate_limits: enforce each endpoint's burst/steady/daily tier (on for ``codemode sim``).
        faults: fault injection settings.
        db_path: SQLite file that keeps state across restarts; None keeps it in memory.
        now: the demo data's "now" (events lie in the 90 days before it); default today, UTC midnight.
        clock: monotonic seconds used for rate-limit windows and token expiry (inject to test).
        demo: accept any non-empty ``pk_`` key as the default account's private key.
        profiles: number of seeded profiles in the default account.
        events: number of seeded events in the default account.
        job_polls: polls a bulk job needs before it reports ``complete``.
        token_ttl: lifetime of OAuth access tokens in seconds.
        sleep: called with seconds to add latency (injected so tests never really sleep).
        write_budget_bytes: request-body bytes of accepted writes each account takes before
            further writes answer 413: the simulator keeps its data in the serving process (the
            demo server's own memory), so what scripts write must be bounded.
    """

    seed: int = 0
    rate_limits: bool = False
    faults: FaultConfig = field(default_factory=FaultConfig)
    db_path: Path | None = None
    now: datetime | None = None
    clock: Callable[[], float] = _monotonic
    demo: bool = True
    profiles: int = 1000
    events: int = 20000
    job_polls: int = 2
    token_ttl: int = 3600
    sleep: Callable[[float], object] | None = None
    write_budget_bytes: int = 16 * 1024 * 1024

    def anchor(self) -> datetime:
        """The fixed "now" of the demo data (UTC)."""
        if self.now is not None:
            return self.now.astimezone(UTC)
        today = datetime.now(UTC)
        return today.replace(hour=0, minute=0, second=0, microsecond=0)

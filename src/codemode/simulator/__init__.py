"""A Klaviyo-compatible API simulator (ASGI) with seeded demo accounts.

Public API::

    from codemode.simulator import create_app, SimConfig, FaultConfig
    app = create_app(SimConfig(seed=0, rate_limits=False))
    httpx.Client(transport=httpx.ASGITransport(app=app), base_url="http://sim")

``app.state.sim`` (a :class:`SimState`) exposes the accounts, ``stats`` (requests, writes per
operation id), ``add_key``/``add_account``/``add_client`` to register more credentials.
"""

from __future__ import annotations

from codemode.simulator.app import MEDIA_TYPE, create_app
from codemode.simulator.config import (
    DEMO_COMPANY_ID,
    DEMO_OAUTH_CLIENT,
    DEMO_OAUTH_SECRET,
    DEMO_PRIVATE_KEY,
    DEMO_USERS,
    FaultConfig,
    SimConfig,
)
from codemode.simulator.state import SimState, Stats

__all__ = [
    "DEMO_COMPANY_ID",
    "DEMO_OAUTH_CLIENT",
    "DEMO_OAUTH_SECRET",
    "DEMO_PRIVATE_KEY",
    "DEMO_USERS",
    "MEDIA_TYPE",
    "FaultConfig",
    "SimConfig",
    "SimState",
    "Stats",
    "create_app",
]

"""A Klaviyo-compatible API simulator (ASGI) with seeded demo accounts.

Public API::

    from codemode.simulator import create_app, SimConfig, FaultConfig, SimTransport
    app = create_app(SimConfig(seed=0, rate_limits=False))
    httpx.Client(transport=SimTransport(app), base_url="http://sim")              # sync
    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")  # async

Credentials: ``DEMO_PRIVATE_KEY`` (any ``pk_...`` key in demo mode) and ``DEMO_COMPANY_ID`` (the
public key for ``/client/*``) open the default account "Trailhead Outfitters"; OAuth runs through
``/oauth/authorize`` (PKCE S256, auto-approved for ``DEMO_USERS[0]`` or the ``user`` hint),
``/oauth/token`` and ``/oauth/revoke`` with ``DEMO_OAUTH_CLIENT``/``DEMO_OAUTH_SECRET``;
``DEMO_USERS[1]`` owns a second account, "Summit Supply Co.".

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
from codemode.simulator.lazy import LazyApp
from codemode.simulator.state import SimState, Stats
from codemode.simulator.transport import SimTransport

__all__ = [
    "DEMO_COMPANY_ID",
    "DEMO_OAUTH_CLIENT",
    "DEMO_OAUTH_SECRET",
    "DEMO_PRIVATE_KEY",
    "DEMO_USERS",
    "MEDIA_TYPE",
    "FaultConfig",
    "LazyApp",
    "SimConfig",
    "SimState",
    "SimTransport",
    "Stats",
    "create_app",
]

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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "MEDIA_TYPE": "codemode.simulator.app",
    "create_app": "codemode.simulator.app",
    "DEMO_COMPANY_ID": "codemode.simulator.config",
    "DEMO_OAUTH_CLIENT": "codemode.simulator.config",
    "DEMO_OAUTH_SECRET": "codemode.simulator.config",
    "DEMO_PRIVATE_KEY": "codemode.simulator.config",
    "DEMO_USERS": "codemode.simulator.config",
    "FaultConfig": "codemode.simulator.config",
    "SimConfig": "codemode.simulator.config",
    "LazyApp": "codemode.simulator.lazy",
    "SimState": "codemode.simulator.state",
    "Stats": "codemode.simulator.state",
    "SimTransport": "codemode.simulator.transport",
}

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


def __getattr__(name: str) -> Any:
    # Names load on first use: importing one light submodule (or the package for one name) does
    # not pull in the rest (a one-shot `codemode exec` starts without what it never touches).
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

"""Fixtures of the reliability tests: the server tests' real servers and simulator, reused.

Everything here is real: ``build_server`` over the simulator and the sandbox, uvicorn on
127.0.0.1, the official MCP client. Waits are bounded by ``anyio.fail_after``.
"""

from __future__ import annotations

from typing import Any

from codemode.server import CodemodeServer
from tests.server.conftest import BuildServer, audit_path, make_server, sim_app

__all__ = ["BuildServer", "audit_path", "keyed_http_server", "make_server", "sim_app"]


def keyed_http_server(make_server: BuildServer, **overrides: Any) -> CodemodeServer:
    """An HTTP server where each caller brings its own key (a distinct principal per key)."""
    return make_server(transport="http", demo=False, base_url="http://simulator", **overrides)

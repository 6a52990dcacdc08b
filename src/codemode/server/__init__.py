"""The MCP server: three tools (search_api, get_signature, execute_code) over stdio or HTTP.

``build_server(settings)`` wires everything; see :mod:`codemode.server.app`. Names are imported
lazily so that the light modules (sessions, limits, credentials) load without the sandbox.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemode.server.app import DEMO_BASE_URL, CodemodeServer, build_server
    from codemode.server.credentials import (
        CredentialSource,
        KlaviyoCredentials,
        MissingCredentials,
        OAuthCredentialLookup,
        RequestUserSource,
        StaticCredentials,
        key_principal,
    )
    from codemode.server.http import HttpAuth, is_loopback
    from codemode.server.results import ExecuteResult, SearchResult, SignatureResult

_WHERE = {
    "DEMO_BASE_URL": "app",
    "CodemodeServer": "app",
    "build_server": "app",
    "CredentialSource": "credentials",
    "KlaviyoCredentials": "credentials",
    "MissingCredentials": "credentials",
    "OAuthCredentialLookup": "credentials",
    "RequestUserSource": "credentials",
    "StaticCredentials": "credentials",
    "key_principal": "credentials",
    "HttpAuth": "http",
    "is_loopback": "http",
    "ExecuteResult": "results",
    "SearchResult": "results",
    "SignatureResult": "results",
}

__all__ = [
    "DEMO_BASE_URL",
    "CodemodeServer",
    "CredentialSource",
    "ExecuteResult",
    "HttpAuth",
    "KlaviyoCredentials",
    "MissingCredentials",
    "OAuthCredentialLookup",
    "RequestUserSource",
    "SearchResult",
    "SignatureResult",
    "StaticCredentials",
    "build_server",
    "is_loopback",
    "key_principal",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'codemode.server' has no attribute {name!r}")
    return getattr(importlib.import_module(f"codemode.server.{module}"), name)

"""The Klaviyo SDK: ``Klaviyo`` / ``AsyncKlaviyo`` on httpx, one method per action.

``from codemode.klaviyo import Klaviyo, F``. The error tree and ``Result`` are stdlib-only and the
sandbox worker imports them directly (``codemode.klaviyo._errors``, ``codemode.klaviyo._jsonapi``),
so this package imports the httpx-based client lazily (PEP 562): importing ``_errors`` never
imports httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codemode.klaviyo._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    KlaviyoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from codemode.klaviyo._filters import F, Filter
from codemode.klaviyo._jsonapi import CallInfo, Result, flatten

if TYPE_CHECKING:
    from codemode.klaviyo._client import DEFAULT_BASE_URL, AsyncKlaviyo, Klaviyo
    from codemode.klaviyo._params import PreparedRequest
    from codemode.klaviyo._retries import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "APIError",
    "AsyncKlaviyo",
    "AuthenticationError",
    "BadRequestError",
    "CallInfo",
    "ConflictError",
    "F",
    "Filter",
    "Klaviyo",
    "KlaviyoError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreparedRequest",
    "RateLimitError",
    "Result",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "flatten",
]

_LAZY = {
    "DEFAULT_BASE_URL": "codemode.klaviyo._client",
    "AsyncKlaviyo": "codemode.klaviyo._client",
    "Klaviyo": "codemode.klaviyo._client",
    "PreparedRequest": "codemode.klaviyo._params",
    "RetryPolicy": "codemode.klaviyo._retries",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codemode.klaviyo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

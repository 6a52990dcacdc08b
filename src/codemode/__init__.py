"""klaviyo-codemode: the whole Klaviyo API for AI agents through search, signatures and sandboxed code.

``from codemode import Klaviyo, AsyncKlaviyo`` gives the SDK (imported lazily, so importing
``codemode`` alone stays cheap and free of httpx).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemode.klaviyo import AsyncKlaviyo, F, Klaviyo

__all__ = ["AsyncKlaviyo", "F", "Klaviyo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from codemode import klaviyo

        return getattr(klaviyo, name)
    raise AttributeError(f"module 'codemode' has no attribute {name!r}")

"""The stdio server loads the parts of the ``mcp`` SDK it serves with, not its client as well.

``mcp/__init__.py`` re-exports the SDK's client side (``Client``, ``ClientSession``, the stdio
client and their sessions), so importing any ``mcp.server`` module first imports all of that: a
tenth of the SDK's import time, paid by every ``codemode serve`` before it can answer
``tools/list``. :func:`defer_package_init` registers the package without running its
``__init__``: submodules (``mcp.server.stdio``, ``mcp.server.mcpserver``) import as usual, and
the first attribute read on the package itself (``from mcp import Client``, ``mcp.types``) runs
the real ``__init__`` then, so every name is still there for whoever needs it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any

__all__ = ["defer_package_init"]


def defer_package_init(name: str) -> bool:
    """Register package ``name`` with its ``__init__`` run on first attribute access.

    Returns False (and changes nothing) when the package is imported already or cannot be found.
    """
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)
    lock = threading.Lock()

    def __getattr__(attr: str) -> Any:  # the module hook of PEP 562
        with lock:  # one thread runs the real __init__; another waits and reads its names
            if package.__dict__.get("__getattr__") is __getattr__:
                del package.__dict__["__getattr__"]
                loader.exec_module(package)
        return getattr(package, attr)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    return True

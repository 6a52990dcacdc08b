"""The stdio server loads the parts of its libraries it serves with, not their other sides too.

``mcp/__init__.py`` re-exports the SDK's client side (``Client``, ``ClientSession``, the stdio
client and their sessions), so importing any ``mcp.server`` module first imports all of that: a
tenth of the SDK's import time, paid by every ``codemode serve`` before it can answer
``tools/list``. :func:`defer_package_init` registers the package without running its
``__init__``: submodules (``mcp.server.stdio``, ``mcp.server.mcpserver``) import as usual, and
the first attribute read on the package itself (``from mcp import Client``, ``mcp.types``) runs
the real ``__init__`` then, so every name is still there for whoever needs it.

``httpx`` does the same with its command-line client: ``httpx/__init__.py`` imports
``httpx._main`` (and with it click, rich and pygments), as much as the rest of httpx again, for
``httpx.main`` alone. :func:`import_httpx` imports httpx with ``httpx.main`` importing them when
it is called.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["defer_package_init", "import_httpx"]


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
                try:
                    loader.exec_module(package)
                except BaseException:
                    # A half-run __init__ must not stay registered: the next import retries it
                    # and raises the real error instead of an AttributeError on a missing name.
                    if sys.modules.get(name) is package:
                        del sys.modules[name]
                    raise
        return getattr(package, attr)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    return True


def _httpx_cli(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``: the real command-line client, imported now."""
    return importlib.import_module("httpx._main").main(*args, **kwargs)


def import_httpx() -> ModuleType:
    """``import httpx``, without importing its command-line client until ``httpx.main()`` runs."""
    if "httpx" in sys.modules:
        return sys.modules["httpx"]
    stand_in = ModuleType("httpx._main")
    stand_in.main = _httpx_cli  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in
    try:
        return importlib.import_module("httpx")
    finally:  # httpx took `main` from it; a later `import httpx._main` finds the real one
        if sys.modules.get("httpx._main") is stand_in:
            del sys.modules["httpx._main"]

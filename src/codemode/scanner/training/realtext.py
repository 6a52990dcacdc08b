"""Real benign prose from permissively licensed packages that are installed anyway.

Docstrings and package descriptions of numpy (BSD-3-Clause), httpx (BSD-3-Clause), pydantic (MIT),
rich (MIT), typer (MIT), click (BSD-3-Clause), starlette (BSD-3-Clause) and anyio (MIT): long,
well-formed, imperative ("Return ...", "Call this before ...") and never an injection. The Python
standard library is left out on purpose: the shared corpus already has its docstrings as a source
of its own, which the benchmark holds out. Which text comes out depends on the installed versions.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from importlib import metadata
from types import ModuleType

__all__ = ["PACKAGES", "docstring_rows"]

PACKAGES = ("numpy", "httpx", "pydantic", "rich", "typer", "click", "starlette", "anyio")
_SKIP = ("test", "_vendor", "conftest", "f2py", "distutils", "__main__", "typing")


def _modules(package: str) -> list[ModuleType]:
    with warnings.catch_warnings():
        # Importing every submodule trips deprecation warnings (numpy.distutils, ...); their
        # docstrings are still good prose.
        warnings.simplefilter("ignore")
        return _import_all(package)


def _import_all(package: str) -> list[ModuleType]:
    try:
        root = importlib.import_module(package)
    except ImportError:
        return []
    found = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        if any(part in info.name for part in _SKIP):
            continue
        try:
            found.append(importlib.import_module(info.name))
        except Exception:  # an optional submodule that fails to import is skipped
            continue
    return found


def docstring_rows(limit: int = 2500, min_chars: int = 200) -> list[dict[str, object]]:
    """Return up to ``limit`` benign rows (source ``real-docstrings``), deterministic per install."""
    texts: set[str] = set()
    for package in PACKAGES:
        try:
            description = metadata.metadata(package).get_payload()  # type: ignore[attr-defined]
        except (metadata.PackageNotFoundError, AttributeError):
            description = None
        if isinstance(description, str) and len(description) >= min_chars:
            texts.add(description[:6000])
        for module in _modules(package):
            for obj in [module, *vars(module).values()]:
                if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isfunction(obj)):
                    continue
                home = (
                    obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", "") or ""
                )
                if not home.startswith(package):
                    continue  # re-exported from the standard library or another package
                doc = inspect.getdoc(obj)
                if doc and len(doc) >= min_chars:
                    texts.add(doc[:6000])
                if inspect.isclass(obj):
                    for member in vars(obj).values():
                        doc = inspect.getdoc(member) if inspect.isfunction(member) else None
                        if doc and len(doc) >= min_chars:
                            texts.add(doc[:6000])
    ordered = sorted(texts)
    step = max(1, len(ordered) // limit)
    return [
        {"text": t, "label": 0, "source": "real-docstrings", "lang": "en"}
        for t in ordered[::step][:limit]
    ]

"""Search over the catalog for ``search_api`` and signatures for ``get_signature``.

``SearchIndex(catalog).search(query)`` ranks the actions for what a caller wants to do;
``get_signatures(names, catalog)`` explains how to call them. The ``render_*`` functions turn
both into the compact text a model reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemode.search._index import SearchHit, SearchIndex, Weights
    from codemode.search._render import render_help, render_hits, render_signatures, top_signature
    from codemode.search._signature import Signature, get_signatures

_WHERE = {
    "SearchHit": "codemode.search._index",
    "SearchIndex": "codemode.search._index",
    "Weights": "codemode.search._index",
    "render_help": "codemode.search._render",
    "render_hits": "codemode.search._render",
    "render_signatures": "codemode.search._render",
    "Signature": "codemode.search._signature",
    "get_signatures": "codemode.search._signature",
    "top_signature": "codemode.search._render",
}

__all__ = [
    "SearchHit",
    "SearchIndex",
    "Signature",
    "Weights",
    "get_signatures",
    "render_help",
    "render_hits",
    "render_signatures",
    "top_signature",
]


def __getattr__(name: str) -> Any:
    # Names load on first use: a server answers its first requests without the ranker (numpy,
    # the vocabulary) until a search needs it.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

"""Search over the catalog for ``search_api`` and signatures for ``get_signature``.

``SearchIndex(catalog).search(query)`` ranks the actions for what a caller wants to do;
``get_signatures(names, catalog)`` explains how to call them. The ``render_*`` functions turn
both into the compact text a model reads.
"""

from __future__ import annotations

from codemode.search._index import SearchHit, SearchIndex, Weights
from codemode.search._render import render_help, render_hits, render_signatures, top_signature
from codemode.search._signature import Signature, get_signatures

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

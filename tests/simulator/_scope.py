"""The operations the simulator's conformance tests cover, as the simulator declares them.

The catalog holds every operation of the OpenAPI document; the simulator is built and seeded
operation by operation (issue #14, simulator half). Its tests cover the operations it serves
(``codemode.simulator.handlers.serves``) within its seeded scope: the 162 core actions and the job
reads they start. Widen ``in_scope`` as handlers and seed data land; the manifest test checks that
everything outside it answers a clear 501 or is served.
"""

from __future__ import annotations

from codemode.catalog import Action, Catalog
from codemode.simulator.handlers import serves


def in_scope(action: Action, catalog: Catalog) -> bool:
    """Whether the simulator's conformance tests cover ``action``."""
    parent = catalog.get(action.companion_of or "")
    seeded = action.core or (parent is not None and parent.core)
    return seeded and serves(action)


def simulated(catalog: Catalog) -> list[Action]:
    """Every action in scope, in catalog order."""
    return [a for a in catalog.values() if in_scope(a, catalog)]

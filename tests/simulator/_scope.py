"""The operations the simulator's tests cover: every one it serves (all of the OpenAPI document).

``codemode.simulator.handlers.serves`` says whether an operation has a handler; the simulator
serves every operation of the vendored OpenAPI document, so the scope is the whole catalog.
"""

from __future__ import annotations

from codemode.catalog import Action, Catalog
from codemode.simulator.handlers import serves


def in_scope(action: Action, catalog: Catalog) -> bool:
    """Whether the simulator's tests cover ``action`` (every operation it serves)."""
    return action.id in catalog and serves(action)


def simulated(catalog: Catalog) -> list[Action]:
    """Every action in scope, in catalog order."""
    return [a for a in catalog.values() if in_scope(a, catalog)]

"""Handlers, one per operation id: specific ones in ``<group>.py``, the rest generic by shape."""

from __future__ import annotations

import inspect

from codemode.catalog import Action
from codemode.simulator.handlers import (  # noqa: F401  (imported to register their handlers)
    campaigns,
    catalogs,
    consent,
    coupons,
    events,
    extras,
    flows,
    jobs,
    objects,
    profiles,
    reporting,
    templates,
)
from codemode.simulator.handlers._registry import EXPLICIT, Handler
from codemode.simulator.handlers.generic import classify, generic_handler

__all__ = ["differences", "handler_for"]


def handler_for(action: Action) -> Handler:
    """The handler serving ``action``; a missing one is a programming error caught at app build."""
    explicit = EXPLICIT.get(action.id)
    if explicit is not None:
        return explicit
    generic = generic_handler(action)
    if generic is None:
        raise LookupError(f"no simulator handler for {action.id} ({action.method} {action.path})")
    return generic


def differences(action: Action) -> tuple[str, list[str]]:
    """Where the handler of ``action`` lives and its "Differs:" docstring lines (coverage table)."""
    fn = handler_for(action)
    where = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
    if action.id not in EXPLICIT:
        where = f"generic {classify(action)} ({where})"
    lines = [
        line.strip()[len("Differs:") :].strip()
        for line in (inspect.getdoc(fn) or "").splitlines()
        if line.strip().startswith("Differs:")
    ]
    return where, lines

"""Handlers, one per operation id: specific ones in ``<group>.py``, the rest generic by shape."""

from __future__ import annotations

import inspect

from codemode.catalog import Action
from codemode.simulator.context import Ctx, Reply
from codemode.simulator.errors import ApiError
from codemode.simulator.handlers import (  # noqa: F401  (imported to register their handlers)
    campaigns,
    catalogs,
    coupons,
    events,
    flows,
    jobs,
    profiles,
    reporting,
    templates,
)
from codemode.simulator.handlers._registry import EXPLICIT, Handler
from codemode.simulator.handlers.generic import classify, generic_handler

__all__ = ["differences", "handler_for", "serves"]


def serves(action: Action) -> bool:
    """Whether the simulator has a handler for ``action`` (its own or a generic one)."""
    return action.id in EXPLICIT or generic_handler(action) is not None


def not_served(ctx: Ctx) -> Reply:
    """Answer 501 for a catalog operation the simulator has no handler for yet.

    Differs: Klaviyo serves it; the simulator answers 501 until a handler lands.
    """
    raise ApiError(
        501,
        "not_implemented",
        f"The simulator does not serve {ctx.action.id} yet; call it against the real API "
        "(KLAVIYO_BASE_URL) or pick another operation.",
    )


def handler_for(action: Action) -> Handler:
    """The handler serving ``action``: its own, a generic one by shape, or ``not_served`` (501)."""
    explicit = EXPLICIT.get(action.id)
    if explicit is not None:
        return explicit
    return generic_handler(action) or not_served


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

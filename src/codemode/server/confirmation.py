"""The question a user answers before a destructive or egress action runs (MCP elicitation).

The parameters are the script's choice, and the script may be following an injected instruction,
so the question must show what the action really does, whatever the script puts first: every
value is cut on its own (a long ``name`` cannot push ``endpoint_url`` out of sight), where data
goes (URLs, a ``company_id``) is listed first and in full, each value is a ``repr`` (control
characters escaped, quotes marking where the script's text starts and ends), and secrets (a
webhook's ``secret_key``) are not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from codemode.catalog import Action

__all__ = ["confirmation_message"]

_URL = re.compile(r"\s*[a-zA-Z][a-zA-Z0-9+.-]*://")
_DESTINATION_KEYS = re.compile(r"url|endpoint|company_id|uri|href|host|email", re.IGNORECASE)
_DESTINATIONS = 20  # destinations listed (all of them, in practice)
_SECRET_KEYS = re.compile(r"secret|password|token|api_key", re.IGNORECASE)
_SHOWN = 8  # other values listed
_DESTINATION_CHARS = 300  # a destination is shown whole up to this length
_VALUE_CHARS = 60  # any other value is cut here
_WALKED = 500  # leaves looked at, at most


def _leaves(params: Mapping[str, Any]) -> tuple[list[tuple[str, Any]], int]:
    """``(path, value)`` for the scalar leaves of ``params`` in order, and how many there are."""
    found: list[tuple[str, Any]] = []
    count = 0
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in reversed(list(params.items()))]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{path}.{k}", v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        else:
            count += 1
            if len(found) < _WALKED:
                found.append((path, value))
    return found, count


def _is_destination(path: str, value: Any) -> bool:
    return isinstance(value, str) and (
        bool(_URL.match(value)) or bool(_DESTINATION_KEYS.search(path.rsplit(".", 1)[-1]))
    )


def _shown(path: str, value: Any, limit: int) -> str:
    if isinstance(value, str) and _SECRET_KEYS.search(path.rsplit(".", 1)[-1]):
        return f"(a secret of {len(value)} characters, not shown)"
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r} (+{len(value) - limit} more characters)"
    return repr(value)[: limit + 2]


def confirmation_message(action: Action, params: Mapping[str, Any]) -> str:
    """What the user is asked before ``action`` runs with ``params``."""
    leaves, count = _leaves(params)
    destinations = [(p, v) for p, v in leaves if _is_destination(p, v)]
    others = [(p, v) for p, v in leaves if not _is_destination(p, v)]
    lines = [f"Allow the destructive Klaviyo action {action.id}? {action.summary}"]
    for path, value in destinations[:_DESTINATIONS]:
        lines.append(f"- {path[:80]} = {_shown(path, value, _DESTINATION_CHARS)}")
    for path, value in others[:_SHOWN]:
        lines.append(f"- {path[:80]} = {_shown(path, value, _VALUE_CHARS)}")
    listed = min(len(destinations), _DESTINATIONS) + min(len(others), _SHOWN)
    if count > listed:
        lines.append(f"- and {count - listed} more value(s) not shown")
    return "\n".join(lines)

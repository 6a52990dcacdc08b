"""The question a user answers before a destructive or egress action runs (MCP elicitation).

The parameters are the script's choice, and the script may be following an injected instruction,
so the question must show what the action really does, whatever the script puts first: every
value is cut on its own (a long ``name`` cannot push ``endpoint_url`` out of sight), where data
goes (URLs, a ``company_id``) is listed first and in full, each value is a ``repr`` (control
characters escaped, quotes marking where the script's text starts and ends), so is every key
that is not a plain name (a key cannot write a line of its own), every leaf is looked at (a
destination cannot hide behind hundreds of other values), and secrets (a webhook's
``secret_key``) are not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from codemode.catalog import Action

__all__ = ["confirmation_message"]

_URL = re.compile(r"\s*[a-zA-Z][a-zA-Z0-9+.-]*://")
_DESTINATION_KEYS = re.compile(r"url|endpoint|company_id|uri|href|host|email", re.IGNORECASE)
_DESTINATIONS = 20  # destinations listed (all of them, in practice)
_SECRET_KEYS = re.compile(r"secret|password|token|api_key", re.IGNORECASE)
_SHOWN = 8  # other values listed
_DESTINATION_CHARS = 300  # a destination is shown whole up to this length
_VALUE_CHARS = 60  # any other value is cut here
# A key shown as it is; any other (a newline, a quote, a sentence) is shown as its repr, so a key
# cannot write a line of the question ("x\n- endpoint_url = 'https://ours.example'").
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$-]{1,40}")

Leaf = tuple[str, str, Any]  # (path as shown, the key it sits under, value)


def _key(key: Any) -> str:
    text = str(key)
    return text if _PLAIN_KEY.fullmatch(text) else repr(text)[:42]


def _leaves(params: Mapping[str, Any]) -> tuple[list[Leaf], list[Leaf], int, int]:
    """The destinations and the other scalar leaves of ``params`` to list, in order, and how
    many of each there are: every leaf is looked at, so none can hide behind hundreds of others.
    """
    destinations: list[Leaf] = []
    others: list[Leaf] = []
    counts = [0, 0]
    stack: list[Leaf] = [(_key(k), str(k), v) for k, v in reversed(list(params.items()))]
    while stack:
        path, key, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{path}.{_key(k)}", str(k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", key, v) for i, v in reversed(list(enumerate(value))))
        else:
            kind = 0 if _is_destination(key, value) else 1
            counts[kind] += 1
            kept = (destinations, others)[kind]
            if len(kept) < (_DESTINATIONS, _SHOWN)[kind]:
                kept.append((path, key, value))
    return destinations, others, counts[0], counts[1]


def _is_destination(key: str, value: Any) -> bool:
    return isinstance(value, str) and (
        bool(_URL.match(value)) or bool(_DESTINATION_KEYS.search(key))
    )


def _host(value: str) -> str:
    """The host a URL really reaches, as a URL parser reads it, in ASCII (punycode for look-alike
    letters), or a note when it has none or cannot be read."""
    try:
        host = urlsplit(value.strip()).hostname
    except ValueError:
        return "(a URL that cannot be read: decline)"
    if not host:
        return "(no host)"
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = host.encode("ascii", "backslashreplace").decode("ascii")
    return ascii_host[:120]


def _shown(key: str, value: Any, limit: int) -> str:
    if isinstance(value, str) and _SECRET_KEYS.search(key):
        return f"(a secret of {len(value)} characters, not shown)"
    if isinstance(value, str) and _URL.match(value) and _misleading(value):
        # The real host first: a user-info part ("https://hooks.klaviyo.com.x...x@evil.example")
        # reads as the host and can push the real one past the cut; look-alike letters and a
        # backslash (which some parsers take for a slash) mislead the same way.
        return f"(reaches host {_host(value)}) {_cut(value, limit)}"
    return _cut(value, limit)


def _misleading(url: str) -> bool:
    """True when what a reader takes for the host of ``url`` may not be the host it reaches."""
    head = url.strip().split("://", 1)[-1]
    authority = re.split(r"[/?#]", head, maxsplit=1)[0]
    return "@" in authority or "\\" in url or not url.isascii()


def _cut(value: Any, limit: int) -> str:
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r} (+{len(value) - limit} more characters)"
    return repr(value)[: limit + 2]


# What a value the scanner flagged is shown as: the question is read by the user (and by any
# model the client hands it to), so data never speaks to them unscanned (red team round 13).
_WITHHELD = "(withheld: the injection scanner flagged it; decline unless you expected it)"


def confirmation_message(
    action: Action,
    params: Mapping[str, Any],
    flagged: Callable[[str], bool] | None = None,
) -> str:
    """What the user is asked before ``action`` runs with ``params``.

    ``flagged``: the injection scanner's verdict on a text; each value line it flags is
    withheld, and every one when only the lines read together are flagged.
    """
    head = f"Allow the destructive Klaviyo action {action.id}? {action.summary}"
    entries = _value_lines(params)
    lines = [line for line, _ in entries]
    if flagged is not None:
        # A withheld address still names the host it reaches (itself scanned): data could
        # otherwise hide where it is sent behind an instruction in the address (round 14).
        hosts: list[str] = []
        lines = []
        for line, host in entries:
            if host is not None:
                host = host if not flagged(host) else "(one the injection scanner flagged: decline)"
                hosts.append(host)
            if not flagged(line):
                lines.append(line)
            else:
                lines.append(f"- {_WITHHELD}" + (f"; it reaches host {host}" if host else ""))
        if len(lines) > 1 and flagged("\n".join(lines)):
            lines = [f"- {len(lines)} values {_WITHHELD}"]
            lines += [f"- a destination reaches host {host}" for host in hosts]
    return "\n".join([head, *lines])


def _value_lines(params: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Each value line, with the host the value reaches when it is a URL."""
    destinations, others, n_destinations, n_others = _leaves(params)
    lines: list[tuple[str, str | None]] = []
    for path, key, value in destinations:
        host = _host(value) if isinstance(value, str) and _URL.match(value) else None
        lines.append((f"- {path[:80]} = {_shown(key, value, _DESTINATION_CHARS)}", host))
    if n_destinations > len(destinations):
        lines.append(
            (
                f"- and {n_destinations - len(destinations)} more destination(s) not shown: "
                "decline unless you expected this many",
                None,
            )
        )
    for path, key, value in others:
        lines.append((f"- {path[:80]} = {_shown(key, value, _VALUE_CHARS)}", None))
    if n_others > len(others):
        lines.append((f"- and {n_others - len(others)} more value(s) not shown", None))
    return lines

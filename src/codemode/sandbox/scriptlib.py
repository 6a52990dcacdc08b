"""Script-facing stand-ins for builtins the sandbox cannot hand out raw: type, format, str.format.

Each keeps ordinary Python working and closes the route it would otherwise open:

- ``type(x)``: one argument only, and never for a class (``type(int)`` is ``type`` itself, whose
  three-argument form builds classes the compiler never checked).
- ``format(value, spec)``, ``str.format``, ``str.format_map``: the replacement field names
  (``{0.attr}``, ``{0[key]}``) go through the same attribute and item guards as the script's own
  code, so ``'{0.__globals__}'`` is refused exactly like ``f.__globals__``. Every route to the
  real methods (``'x'.format``, ``str.format``, ``super(S, s).format`` on a ``str`` subclass,
  ``getattr``) is answered with these functions instead (see ``guards.guarded_getattr``).
- ``json.dumps``: SDK results, dates and decimals serialise without a ``default=``.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # the parser behind str.format
import datetime as _dt
import decimal
import json
import string
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from codemode.klaviyo._jsonapi import MissingKey, Record, Result

__all__ = [
    "FORMAT_METHODS",
    "ForbiddenError",
    "SafeFormatter",
    "format_method",
    "json_dumps",
    "real_format_method",
    "safe_format",
    "safe_type",
]

Guard = Callable[[Any, Any], Any]

FORMAT_METHODS = frozenset({"format", "format_map"})
_UNBOUND: tuple[tuple[Any, str], ...] = ((str.format, "format"), (str.format_map, "format_map"))


class ForbiddenError(Exception):
    """The script reached for something the sandbox keeps closed; the message says why."""


def safe_type(*args: Any) -> type:
    """``type(x)``: the class of ``x`` (enough for ``type(x).__name__`` and ``type(x) is dict``)."""
    if len(args) != 1:
        raise ForbiddenError(
            "type() with three arguments builds a class outside the sandbox's checks; "
            "write a class statement instead"
        )
    kind = type(args[0])
    # An SDK record is a dict to scripts, and its missing key a KeyError: the subclasses only
    # word the error (what the record holds instead).
    if kind is Record:
        return dict
    if kind is MissingKey:
        return KeyError
    if issubclass(kind, type):
        raise ForbiddenError(
            "type() of a class is closed (metaclasses build classes unchecked); "
            "use isinstance(x, SomeClass) or x.__name__"
        )
    return kind


class SafeFormatter(string.Formatter):
    """``str.format`` semantics with every ``.attr`` and ``[key]`` of a field run through guards."""

    def __init__(self, getattr_: Guard, getitem_: Guard) -> None:
        self._getattr = getattr_
        self._getitem = getitem_

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = self._getattr(obj, key) if is_attr else self._getitem(obj, key)
        return obj, first

    def format_field(self, value: Any, format_spec: str) -> Any:
        return safe_format(value, format_spec)


def safe_format(value: Any, spec: Any = "") -> str:
    """``format(value, spec)``: the builtin, with the spec checked to be text."""
    if not isinstance(spec, str):
        raise TypeError(f"format() spec must be a str, not {type(spec).__name__}")
    return format(value, str(spec))


def format_method(formatter: SafeFormatter, name: str, template: Any = None) -> Any:
    """The guarded stand-in for ``template.format`` / ``format_map`` (unbound when no template)."""

    def _check(text: Any) -> str:
        if not isinstance(text, str):
            raise TypeError(f"str.{name} needs a str template, not {type(text).__name__}")
        return str.__str__(text)  # a str subclass's own methods never run here

    if name == "format":
        if template is None:

            def unbound_format(text: Any, /, *args: Any, **kwargs: Any) -> str:
                return str(formatter.vformat(_check(text), args, kwargs))

            return unbound_format

        def bound_format(*args: Any, **kwargs: Any) -> str:
            return str(formatter.vformat(_check(template), args, kwargs))

        return bound_format
    if template is None:

        def unbound_format_map(text: Any, mapping: Mapping[str, Any], /) -> str:
            return str(formatter.vformat(_check(text), (), mapping))

        return unbound_format_map

    def bound_format_map(mapping: Mapping[str, Any], /) -> str:
        return str(formatter.vformat(_check(template), (), mapping))

    return bound_format_map


def real_format_method(value: Any) -> tuple[str, Any] | None:
    """``(name, template or None)`` when ``value`` is str's own format/format_map, bound or not."""
    # Identity only: a dict lookup or == would run a script object's __hash__/__eq__ with the
    # real method as the other operand (a spy could keep it).
    for method, name in _UNBOUND:
        if value is method:
            return name, None
    if type(value) is types.BuiltinMethodType and value.__name__ in FORMAT_METHODS:
        owner = value.__self__
        if isinstance(owner, str):
            return value.__name__, owner
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, Result):
        return value.data
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_dumps(obj: Any, /, *, default: Callable[[Any], Any] | None = None, **kwargs: Any) -> str:
    """``json.dumps`` that also writes SDK results, dates, decimals and sets."""

    def chained(value: Any) -> Any:
        if default is not None:
            try:
                return default(value)
            except TypeError:
                pass
        return _json_default(value)

    return json.dumps(obj, default=chained, **kwargs)

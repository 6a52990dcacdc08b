"""Klaviyo's ``filter=`` syntax: a small builder (``F``) and a parser used to validate filters.

Klaviyo filters look like ``equals(email,"a@b.co")``, ``any(id,["a","b"])`` or
``greater-or-equal(created,2024-08-01T00:00:00+00:00)``; several conditions are joined with commas
or ``and(...)``. Strings are double-quoted with ``\\`` escapes, datetimes are NOT quoted (Klaviyo
rejects quoted datetimes), lists are ``[...]``. There is no ``or``/``not``.

The parser exists so the SDK can reject a filter on a field or operator the endpoint does not allow
before sending it, with a message that lists what is allowed. stdlib only.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

__all__ = ["Condition", "F", "Filter", "FilterSyntaxError", "format_value", "parse_filter"]


class FilterSyntaxError(ValueError):
    """The filter text does not follow Klaviyo's ``op(field,value)`` grammar."""


class Filter:
    """A filter expression; ``str(f)`` is the text Klaviyo expects. Combine with ``&`` or ``F.and_``."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Filter({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __and__(self, other: Filter | str) -> Filter:
        return F.and_(self, other)


def _quote(text: str) -> str:
    # Backslash first, so the escape we add for quotes is not escaped again.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_value(value: Any) -> str:
    """One filter value in Klaviyo's syntax (strings quoted, datetimes bare, lists bracketed).

    Raises:
        TypeError: the value has no filter representation (dicts, sets, objects).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(format_value(item) for item in value) + "]"
    raise TypeError(
        f"cannot use a {type(value).__name__} as a filter value; "
        "use a str, number, bool, datetime or a list of those"
    )


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


def _moment(value: Any) -> Any:
    """A comparison's ISO 8601 string as the datetime it spells (Klaviyo compares only numbers
    and datetimes, and rejects a quoted datetime); any other value unchanged."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        return value
    try:
        moment = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment if "T" in value or " " in value.strip() else moment.replace(tzinfo=_dt.UTC)


def _condition(op: str, field: str, value: Any) -> Filter:
    if not field or any(ch in field for ch in '(),"[] '):
        raise ValueError(f"invalid filter field {field!r}; use a plain field name such as 'email'")
    return Filter(f"{op}({field},{format_value(value)})")


# What other filter libraries call the builders, and the operators Klaviyo does not have.
_F_ALIASES = {
    "eq": "equals",
    "equal": "equals",
    "gt": "greater_than",
    "gte": "greater_or_equal",
    "ge": "greater_or_equal",
    "lt": "less_than",
    "lte": "less_or_equal",
    "le": "less_or_equal",
    "in_": "any",
    "is_in": "any",
    "one_of": "any",
    "startswith": "starts_with",
    "endswith": "ends_with",
    "and": "and_",
    "all_": "and_",
}
_F_MISSING = {
    "or_": "Klaviyo filters have no or(): use F.any(field, [a, b]) for one field's alternatives",
    "not_": "Klaviyo filters have no not(); filter on the values you want instead",
    "ne": "Klaviyo filters have no not-equals; use F.any(field, [the values you want])",
    "not_equals": "Klaviyo filters have no not-equals; use F.any(field, [the values you want])",
}


class _FilterBuilders(type):
    """F's class: a builder it lacks is named with the one to use (``F.eq`` -> ``F.equals``)."""

    if not TYPE_CHECKING:  # type checkers keep reporting unknown builders themselves

        def __getattr__(cls, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)
            builders = sorted(n for n in vars(cls) if not n.startswith("_"))
            alias = _F_ALIASES.get(name.lower())
            close = difflib.get_close_matches(name, builders, n=1, cutoff=0.7)
            hint = _F_MISSING.get(name.lower()) or (
                f"did you mean F.{alias or close[0]}?" if alias or close else ""
            )
            raise AttributeError(
                f"F has no {name[:64]!r}{'; ' + hint if hint else ''} (F builds: "
                + ", ".join(builders)
                + ")"
            )


class F(metaclass=_FilterBuilders):
    """Builders for Klaviyo filter expressions, e.g. ``F.and_(F.equals("email", e), F.greater_than("created", d))``."""

    @staticmethod
    def equals(field: str, value: Any) -> Filter:
        """``equals(field,value)``."""
        return _condition("equals", field, value)

    @staticmethod
    def any(field: str, values: Iterable[Any]) -> Filter:
        """``any(field,[v1,v2])``: the field equals one of the values."""
        return _condition("any", field, list(values))

    @staticmethod
    def greater_than(field: str, value: Any) -> Filter:
        """``greater-than(field,value)``; an ISO 8601 string goes as the datetime it spells."""
        return _condition("greater-than", field, _moment(value))

    @staticmethod
    def greater_or_equal(field: str, value: Any) -> Filter:
        """``greater-or-equal(field,value)``; an ISO 8601 string goes as the datetime it spells."""
        return _condition("greater-or-equal", field, _moment(value))

    @staticmethod
    def less_than(field: str, value: Any) -> Filter:
        """``less-than(field,value)``; an ISO 8601 string goes as the datetime it spells."""
        return _condition("less-than", field, _moment(value))

    @staticmethod
    def less_or_equal(field: str, value: Any) -> Filter:
        """``less-or-equal(field,value)``; an ISO 8601 string goes as the datetime it spells."""
        return _condition("less-or-equal", field, _moment(value))

    @staticmethod
    def contains(field: str, value: Any) -> Filter:
        """``contains(field,value)``."""
        return _condition("contains", field, value)

    @staticmethod
    def contains_any(field: str, values: Iterable[Any]) -> Filter:
        """``contains-any(field,[...])``."""
        return _condition("contains-any", field, list(values))

    @staticmethod
    def contains_all(field: str, values: Iterable[Any]) -> Filter:
        """``contains-all(field,[...])``."""
        return _condition("contains-all", field, list(values))

    @staticmethod
    def starts_with(field: str, value: str) -> Filter:
        """``starts-with(field,value)``."""
        return _condition("starts-with", field, value)

    @staticmethod
    def ends_with(field: str, value: str) -> Filter:
        """``ends-with(field,value)``."""
        return _condition("ends-with", field, value)

    @staticmethod
    def has(field: str, value: Any) -> Filter:
        """``has(field,value)``."""
        return _condition("has", field, value)

    @staticmethod
    def and_(*filters: Filter | str) -> Filter:
        """``and(a,b,...)``: every condition holds (Klaviyo also accepts a comma-joined list)."""
        parts = [str(f) for f in filters if str(f)]
        if not parts:
            raise ValueError("F.and_() needs at least one filter")
        if len(parts) == 1:
            return Filter(parts[0])
        return Filter("and(" + ",".join(parts) + ")")


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``op(field,value)``; ``kind`` is ``string``, ``list``, ``bare`` or ``none``."""

    op: str
    field: str
    kind: str
    value: str


_GROUPING = {"and", "or", "not"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> FilterSyntaxError:
        return FilterSyntaxError(f"{what} at position {self.pos} of filter {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def expect(self, ch: str) -> None:
        self.skip_ws()
        if self.peek() != ch:
            raise self.fail(f"expected {ch!r}")
        self.pos += 1

    def name(self) -> str:
        self.skip_ws()
        start = self.pos
        while self.peek() and self.peek() not in "(),[]\"' ":
            self.pos += 1
        if start == self.pos:
            raise self.fail("expected a name")
        return self.text[start : self.pos]

    def string(self) -> str:
        quote = self.peek()
        self.pos += 1
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise self.fail("unterminated string")
            self.pos += 1
            if ch == "\\":
                out.append(self.peek())
                self.pos += 1
            elif ch == quote:
                return "".join(out)
            else:
                out.append(ch)

    def value(self) -> tuple[str, str]:
        self.skip_ws()
        ch = self.peek()
        if ch in "\"'":
            return "string", self.string()
        if ch == "[":
            start = self.pos
            self.pos += 1
            self.skip_ws()
            if self.peek() == "]":
                self.pos += 1
                return "list", self.text[start : self.pos]
            while True:
                self.value()
                self.skip_ws()
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.expect("]")
                return "list", self.text[start : self.pos]
        return "bare", self.name()

    def terms(self) -> list[Condition]:
        out = self.term()
        self.skip_ws()
        while self.peek() == ",":
            self.pos += 1
            out.extend(self.term())
            self.skip_ws()
        return out

    def term(self) -> list[Condition]:
        op = self.name()
        self.expect("(")
        if op in _GROUPING:
            inner = self.terms()
            self.expect(")")
            return [Condition(op, "", "group", ""), *inner]
        field = self.name()
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
            return [Condition(op, field, "none", "")]
        self.expect(",")
        kind, value = self.value()
        self.expect(")")
        return [Condition(op, field, kind, value)]


def parse_filter(text: str) -> list[Condition]:
    """Every condition of a filter, flattened (``and``/``or``/``not`` appear as ``kind="group"``).

    Raises:
        FilterSyntaxError: the text is not ``op(field,value)[,op(field,value)...]``.
    """
    parser = _Parser(text)
    conditions = parser.terms()
    parser.skip_ws()
    if parser.pos != len(text):
        raise parser.fail("unexpected text")
    return conditions

"""Klaviyo's filter language: parse ``filter=`` against an action's allow-list and evaluate it.

Syntax: ``op(field,value)``; conjunction by commas or ``and(...)``; strings in single or double
quotes, lists in brackets, datetimes unquoted. ``or``/``not`` do not exist in Klaviyo's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codemode.catalog import Action, FilterField
from codemode.simulator.errors import ApiError

__all__ = ["Condition", "matches", "parse_datetime", "parse_filter"]

OPERATORS = frozenset(
    {
        "equals",
        "any",
        "contains",
        "contains-any",
        "contains-all",
        "starts-with",
        "ends-with",
        "greater-than",
        "greater-or-equal",
        "less-than",
        "less-or-equal",
        "has",
        "is-set",
    }
)


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``op(field, value)`` term of a parsed filter."""

    op: str
    field: str
    value: Any


def _bad(detail: str) -> ApiError:
    return ApiError(400, "invalid", detail, parameter="filter")


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 datetime or date (UTC when no offset); ValueError when malformed."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


_MAX_DEPTH = 32
"""Deepest ``and(...)`` nesting accepted: deeper is refused with a 400, not a RecursionError."""
MAX_FILTER_CHARS = 4096
"""Longest filter accepted: one request must not make the simulator parse without bound."""
MAX_CONDITIONS = 25
"""Most ``op(field,value)`` terms in one filter."""
MAX_LIST_VALUES = 100
"""Most values in one list (``any``, ``contains-any``, ``contains-all``)."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.text[self.pos : self.pos + 10] or "the end"
            raise _bad(
                f"Invalid filter: expected {char!r} at position {self.pos}, found {found!r}."
            )
        self.pos += 1

    def name(self) -> str:
        self.skip()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "_-.$"
        ):
            self.pos += 1
        if start == self.pos:
            raise _bad(f"Invalid filter: expected an operator or field name at position {start}.")
        return self.text[start : self.pos]

    def terms(self) -> list[tuple[str, str, Any, bool]]:
        out = self.term()
        while self.peek() == ",":
            self.pos += 1
            out += self.term()
        return out

    def term(self) -> list[tuple[str, str, Any, bool]]:
        op = self.name()
        if op in ("or", "not"):
            raise _bad(
                f"Invalid filter: {op}() is not supported; join conditions with and() or commas."
            )
        self.expect("(")
        if op == "and":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise _bad(f"Invalid filter: and() nested more than {_MAX_DEPTH} deep; flatten it.")
            inner = self.terms()
            self.expect(")")
            self.depth -= 1
            return inner
        if op not in OPERATORS:
            raise _bad(f"Invalid filter: unknown operator {op!r}.")
        field = self.name()
        if op == "is-set":
            self.expect(")")
            return [(op, field, True, False)]
        self.expect(",")
        value, quoted = self.value()
        self.expect(")")
        return [(op, field, value, quoted)]

    def value(self, *, in_list: bool = False) -> tuple[Any, bool]:
        char = self.peek()
        if char in ("'", '"'):
            end = self.text.find(char, self.pos + 1)
            if end < 0:
                raise _bad("Invalid filter: a quoted value is not closed.")
            text = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return text, True
        if char == "[":
            if in_list:
                raise _bad(f"Invalid filter: lists cannot contain lists (position {self.pos}).")
            self.pos += 1
            items: list[Any] = []
            any_quoted = False
            if self.peek() == "]":
                self.pos += 1
                return items, False
            while True:
                item, quoted = self.value(in_list=True)
                items.append(item)
                if len(items) > MAX_LIST_VALUES:
                    raise _bad(
                        f"Invalid filter: a list holds at most {MAX_LIST_VALUES} values; "
                        "split the request."
                    )
                any_quoted = any_quoted or quoted
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.expect("]")
                return items, any_quoted
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",)]":
            self.pos += 1
        token = self.text[start : self.pos].strip()
        if not token:
            raise _bad(f"Invalid filter: missing value at position {start}.")
        return _bare(token), False


def _bare(token: str) -> Any:
    if token in ("true", "false"):
        return token == "true"
    if token == "null":
        return None
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return _Unquoted(token)


class _Unquoted(str):
    """A bare token that is neither a number nor a literal (a datetime, or a string missing quotes)."""


def parse_filter(
    text: str, action: Action, allowed: Mapping[str, FilterField] | None = None
) -> list[Condition]:
    """Parse and check a filter against the fields and operators ``action`` allows.

    ``allowed`` replaces the action's own allow-list (report bodies carry their filter in JSON).

    Raises:
        ApiError: 400 with ``source.parameter = "filter"`` naming what is wrong and what is allowed.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(
            f"Invalid filter: {len(text)} characters is more than the {MAX_FILTER_CHARS} allowed; "
            "narrow it or split the request."
        )
    parser = _Parser(text)
    raw = parser.terms()
    if len(raw) > MAX_CONDITIONS:
        raise _bad(
            f"Invalid filter: {len(raw)} conditions is more than the {MAX_CONDITIONS} allowed; "
            "combine values with any(field,[...]) or split the request."
        )
    if parser.peek():
        raise _bad(
            f"Invalid filter: unexpected {parser.text[parser.pos :][:10]!r} at position {parser.pos}."
        )
    allowed = action.filters if allowed is None else allowed
    out: list[Condition] = []
    for op, field, value, quoted in raw:
        spec = allowed.get(field)
        if spec is None:
            names = ", ".join(sorted(allowed)) or "none"
            raise _bad(
                f"Invalid filter: {action.id} cannot filter on {field!r}; filterable fields: {names}."
            )
        if op not in spec.operators:
            ops = ", ".join(spec.operators) or "none"
            raise _bad(
                f"Invalid filter: operator {op!r} is not allowed on {field!r}; allowed: {ops}."
            )
        if (
            isinstance(value, list)
            and op not in spec.list_operators
            and op not in ("any", "contains-any", "contains-all")
        ):
            raise _bad(f"Invalid filter: {op}({field}, ...) takes one value, not a list.")
        if op in ("any", "contains-any", "contains-all") and not isinstance(value, list):
            raise _bad(
                f'Invalid filter: {op}({field}, ...) takes a list, e.g. {op}({field},["a","b"]).'
            )
        out.append(Condition(op, field, _typed(field, spec.type, value, quoted)))
    return out


def _typed(field: str, kind: str, value: Any, quoted: bool) -> Any:
    if isinstance(value, list):
        return [_typed(field, kind, v, quoted) for v in value]
    if kind == "datetime":
        if quoted:
            raise _bad(
                f"Invalid filter: datetimes are unquoted, e.g. greater-than({field},2024-01-01T00:00:00Z)."
            )
        try:
            return parse_datetime(str(value))
        except ValueError:
            raise _bad(
                f"Invalid filter: {value!r} is not an ISO 8601 datetime for {field!r}."
            ) from None
    if isinstance(value, _Unquoted):
        raise _bad(
            f'Invalid filter: quote the string value {str(value)!r}, e.g. equals({field},"{value}").'
        )
    if kind == "boolean" and not isinstance(value, bool):
        raise _bad(f"Invalid filter: {field!r} takes true or false.")
    return value


def _compare(op: str, actual: Any, wanted: Any) -> bool:
    if actual is None:
        return False
    if isinstance(wanted, datetime):
        try:
            actual = parse_datetime(str(actual))
        except ValueError:
            return False
    try:
        if op == "equals":
            return bool(actual == wanted)
        if op == "any":
            return actual in wanted
        if op == "contains":
            return str(wanted).lower() in str(actual).lower()
        if op == "starts-with":
            return str(actual).startswith(str(wanted))
        if op == "ends-with":
            return str(actual).endswith(str(wanted))
        if op == "greater-than":
            return bool(actual > wanted)
        if op == "greater-or-equal":
            return bool(actual >= wanted)
        if op == "less-than":
            return bool(actual < wanted)
        if op == "less-or-equal":
            return bool(actual <= wanted)
    except TypeError:
        return False
    return False


def matches(conditions: list[Condition], value_of: Callable[[str], Any]) -> bool:
    """True when every condition holds; ``value_of(field)`` reads a record's field (lists: any element)."""
    for cond in conditions:
        actual = value_of(cond.field)
        if cond.op == "is-set":
            ok = actual not in (None, [], "")
        elif cond.op in ("has", "contains-any", "contains-all") or (
            cond.op == "contains" and isinstance(actual, list)
        ):
            items = actual if isinstance(actual, list) else [actual]
            wanted = cond.value if isinstance(cond.value, list) else [cond.value]
            ok = (
                all(w in items for w in wanted)
                if cond.op == "contains-all"
                else any(w in items for w in wanted)
            )
        elif isinstance(actual, list):
            ok = any(_compare(cond.op, item, cond.value) for item in actual)
        else:
            ok = _compare(cond.op, actual, cond.value)
        if not ok:
            return False
    return True

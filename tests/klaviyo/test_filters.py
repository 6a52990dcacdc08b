"""The ``F`` filter builder and the parser the SDK validates filters with."""

from __future__ import annotations

import datetime as dt

import pytest

from codemode.klaviyo import F, Filter
from codemode.klaviyo._filters import Condition, FilterSyntaxError, format_value, parse_filter


def test_strings_are_double_quoted_and_escaped() -> None:
    assert str(F.equals("email", 'a"b\\c')) == 'equals(email,"a\\"b\\\\c")'


def test_datetimes_are_unquoted_and_lists_bracketed() -> None:
    when = dt.datetime(2024, 8, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert (
        str(F.greater_or_equal("created", when))
        == "greater-or-equal(created,2024-08-01T12:00:00-07:00)"
    )
    assert str(F.any("id", ["a", "b"])) == 'any(id,["a","b"])'
    assert str(F.equals("is_active", True)) == "equals(is_active,true)"
    assert (
        format_value(None) == "null"
        and format_value(2.5) == "2.5"
        and format_value(dt.date(2024, 1, 2)) == "2024-01-02"
    )


def test_and_combines_and_ampersand_works() -> None:
    a, b = F.equals("email", "x"), F.less_than("created", dt.date(2024, 1, 1))
    assert str(F.and_(a, b)) == 'and(equals(email,"x"),less-than(created,2024-01-01))'
    assert a & b == F.and_(a, b)
    assert F.and_(a) == a
    with pytest.raises(ValueError, match="at least one"):
        F.and_()


def test_other_builders_use_klaviyo_operator_names() -> None:
    assert str(F.contains_any("tags", ["x"])) == 'contains-any(tags,["x"])'
    assert str(F.starts_with("name", "A")) == 'starts-with(name,"A")'
    assert str(F.less_or_equal("n", 3)) == "less-or-equal(n,3)"
    assert repr(F.has("x", 1)) == "Filter('has(x,1)')"


def test_builder_refuses_bad_fields_and_values() -> None:
    with pytest.raises(ValueError, match="invalid filter field"):
        F.equals('email,"x"),equals(id', "y")
    with pytest.raises(TypeError, match="cannot use a dict"):
        F.equals("email", {"a": 1})


def test_parser_round_trips_what_the_builder_writes() -> None:
    expr = F.and_(F.any("email", ["a,b", 'c"d']), F.greater_than("created", dt.date(2024, 1, 1)))
    assert parse_filter(str(expr)) == [
        Condition("and", "", "group", ""),
        Condition("any", "email", "list", '["a,b","c\\"d"]'),
        Condition("greater-than", "created", "bare", "2024-01-01"),
    ]
    assert parse_filter("equals(a,'x'), has(b)") == [
        Condition("equals", "a", "string", "x"),
        Condition("has", "b", "none", ""),
    ]


@pytest.mark.parametrize(
    "bad", ["equals(email", 'equals(email,"x"', "equals(email,[1,2)", "equals(email,x) junk", "(x)"]
)
def test_parser_rejects_malformed_filters(bad: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter(bad)


def test_filter_is_hashable_and_comparable() -> None:
    assert {Filter("a"), Filter("a")} == {Filter("a")}
    assert Filter("a") != "a"


def test_comparisons_send_an_iso_string_as_the_datetime_it_spells() -> None:
    # Klaviyo rejects a quoted datetime; the comparisons are for numbers and datetimes only.
    assert str(F.greater_than("datetime", "2026-12-07T09:00:00Z")) == (
        "greater-than(datetime,2026-12-07T09:00:00+00:00)"
    )
    assert str(F.less_or_equal("created", "2026-12-07")) == (
        "less-or-equal(created,2026-12-07T00:00:00+00:00)"
    )
    assert str(F.less_than("updated", "2026-12-07T09:00:00")) == (
        "less-than(updated,2026-12-07T09:00:00)"
    )
    # Anything else stays a quoted string, and equals keeps strings as they are.
    assert str(F.greater_or_equal("name", "2026-13-45")) == 'greater-or-equal(name,"2026-13-45")'
    assert str(F.equals("title", "2026-12-07")) == 'equals(title,"2026-12-07")'

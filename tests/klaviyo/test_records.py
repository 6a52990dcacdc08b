"""Records are flat dicts; a key a record lacks says what it holds instead (still a KeyError)."""

from __future__ import annotations

import json

import pytest

from codemode.klaviyo import flatten
from codemode.klaviyo._jsonapi import MissingKey, Record

RESOURCE = {
    "type": "profile",
    "id": "01P",
    "attributes": {"email": "ana@example.com", "first_name": "Ana", "properties": {"tier": "gold"}},
    "relationships": {"lists": {"data": [{"type": "list", "id": "L1"}]}},
}


def missing(record: Record, key: object) -> str:
    with pytest.raises(KeyError) as caught:
        record[key]  # type: ignore[index]
    assert isinstance(caught.value, MissingKey) and caught.value.key == key
    return str(caught.value)


def test_a_record_is_the_dict_it_always_was() -> None:
    record = flatten(RESOURCE)
    plain = {
        "id": "01P",
        "type": "profile",
        "email": "ana@example.com",
        "first_name": "Ana",
        "properties": {"tier": "gold"},
        "lists": ["L1"],
    }
    assert isinstance(record, dict) and record == plain
    assert json.loads(json.dumps(record)) == plain and repr(record) == repr(plain)
    assert record.get("last_name") is None and "last_name" not in record


def test_the_json_api_shape_points_to_the_flat_one() -> None:
    record = flatten(RESOURCE)
    attributes = missing(record, "attributes")
    assert "records are flat" in attributes and "record['email']" in attributes
    assert "keys: id, type, email, first_name, properties, lists" in attributes
    assert "record['lists']" in missing(record, "relationships")
    assert ".included" in missing(record, "included")


def test_a_misspelt_key_gets_the_close_one_and_an_absent_one_get() -> None:
    record = flatten(RESOURCE)
    assert "did you mean 'email'?" in missing(record, "emial")
    absent = missing(record, "phone_number")
    assert "did you mean" not in absent and "record.get(key)" in absent
    assert missing(record, 3).startswith("3: ")


def test_the_message_stays_short_whatever_the_record() -> None:
    wide = flatten({"type": "x", "id": "1", "attributes": {f"field_{n}": n for n in range(500)}})
    message = missing(wide, "nope")
    assert message.endswith(", ...)") and message.count(",") < 40
    assert len(missing(wide, "k" * 10_000)) < 600


def test_an_attribute_of_a_record_or_a_result_points_to_what_holds_it() -> None:
    from codemode.klaviyo import Result

    record = flatten(RESOURCE)
    with pytest.raises(AttributeError, match=r"records are dicts, read record\['email'\]"):
        getattr(record, "email")  # noqa: B009
    with pytest.raises(AttributeError, match=r"read record.get\(key\)"):
        getattr(record, "last_name")  # noqa: B009
    result = Result({"data": [RESOURCE]}, status=200)
    for name, hint in [
        ("json", "records are .data"),
        ("status_code", "HTTP status is .status"),
        ("nxt_cursor", "did you mean .next_cursor?"),
    ]:
        with pytest.raises(AttributeError) as caught:
            getattr(result, name)
        assert hint in str(caught.value)
    with pytest.raises(AttributeError, match=r"no attribute 'rows'; its records are \.data"):
        getattr(result, "rows")  # noqa: B009
    # The protocols that probe attributes still see a plain miss, and real attributes resolve.
    assert not hasattr(result, "__array__") and not hasattr(record, "__html__")
    assert getattr(result, "nope", 7) == 7 and result.status == 200 and len(result) == 1


def test_a_filter_builder_other_libraries_name_gets_ours() -> None:
    from codemode import F

    for name, hint in [
        ("eq", "did you mean F.equals?"),
        ("gte", "did you mean F.greater_or_equal?"),
        ("or_", "have no or(): use F.any"),
        ("equal", "did you mean F.equals?"),
    ]:
        with pytest.raises(AttributeError) as caught:
            getattr(F, name)
        assert hint in str(caught.value) and "(F builds: and_, any," in str(caught.value)
    assert str(F.equals("email", "a@b.co")) == 'equals(email,"a@b.co")'


def test_a_result_indexes_its_records_and_keys_its_one_record() -> None:
    from codemode.klaviyo._jsonapi import Result

    page = Result({"data": [RESOURCE, {**RESOURCE, "id": "02P"}]})
    one = Result({"data": RESOURCE})
    assert page[0]["email"] == "ana@example.com" and [r["id"] for r in page[:2]] == ["01P", "02P"]
    assert page[-1]["id"] == "02P" and one[0]["id"] == "01P"
    assert one["id"] == "01P" and one["lists"] == ["L1"]
    with pytest.raises(KeyError, match="did you mean 'email'"):
        one["emial"]
    with pytest.raises(TypeError, match=r"a list of 2 records, not one record: read result\[0\]"):
        page["email"]
    with pytest.raises(TypeError, match=r"not Klaviyo's document: read result\.data"):
        page["data"]
    with pytest.raises(TypeError, match="holds no record"):
        Result(None)["id"]
    with pytest.raises(IndexError):
        page[2]


def test_a_dry_run_write_says_there_is_no_record_to_read() -> None:
    from codemode.klaviyo._jsonapi import Result

    planned = Result({"data": None, "meta": {"dry_run": True}}, status=0)
    for key in ("id", 0):
        with pytest.raises(TypeError, match="a dry run plans this write without sending it"):
            planned[key]
    assert list(planned) == [] and planned.data is None

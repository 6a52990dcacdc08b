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

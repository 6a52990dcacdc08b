"""Contact records are data: a name that also spells an attack word is not an injection."""

from __future__ import annotations

import pytest

scanner_module = pytest.importorskip("codemode.scanner")

RECORDS = [
    # "Allen" is German for "all" ("send it to all subscribers"), a word of many attacks.
    "Zoe Allen <zoe.allen@example.com>",
    "Contact: Zoe Allen, zoe.allen@example.com",
    "mark.post@example.com | Mark | Post | Leeds",
    "Ana Price <ana.price@mail.example>",
]


@pytest.mark.parametrize("text", RECORDS)
def test_a_contact_record_is_not_flagged(text: str) -> None:
    verdict = scanner_module.Scanner.default().scan_text(text)
    assert not verdict.injection, verdict

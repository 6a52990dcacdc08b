"""Benign store data in other languages, through the real Scanner (round 17's foreign route).

``tests/data/injection/benign_foreign.jsonl`` holds 220 texts in 22 languages, written for this
check, of what a Klaviyo account holds: product copy, reviews (angry ones too), service chats and
e-mails with polite requests, staff notes, SMS and e-mail campaigns with imperatives, consent
footers, shipping notices and form questions, with addresses, phones, URLs and e-mail addresses.
None is a row of an outsider set.

The scanner flags six of them. Five were flagged before the foreign route existed; the route adds
the French consent footer, whose "demander la suppression de vos données" both encoder heads read
as a request to delete data (lower 0.99, upper 0.99): no cut on the route separates it from the
injections the route catches (see the commit that added this test). The test pins that set: a
change that flags any other text of the file fails here.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from codemode.scanner import Scanner
from tests._shared import DATA, vendored

# (language, carrier): each pair names one text of the file.
KNOWN = {
    ("es", "sms"),
    ("de", "email"),
    ("de", "footer"),
    ("hi", "sms"),
    ("ja", "form"),
    ("fr", "footer"),  # added by the foreign route
}


def _rows() -> list[dict[str, object]]:
    path = vendored(DATA / "injection" / "benign_foreign.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_set_is_benign_and_wide() -> None:
    rows = _rows()
    assert len(rows) >= 200
    assert all(row["label"] == 0 for row in rows)
    assert len({row["language"] for row in rows}) >= 20
    pairs = Counter((row["language"], row["carrier"]) for row in rows)
    assert max(pairs.values()) == 1
    assert pairs.keys() >= KNOWN


def test_no_benign_foreign_text_is_flagged_beyond_the_known_ones() -> None:
    scanner = Scanner()
    flagged = set()
    for n, row in enumerate(_rows()):
        # A generous deadline: a text not read in time counts as flagged, and this checks verdicts.
        verdict = scanner.scan_text(
            str(row["text"]), principal=f"benign-{n}", deadline=time.monotonic() + 60
        )
        if verdict.injection:
            flagged.add((row["language"], row["carrier"]))
    assert flagged <= KNOWN, sorted(flagged - KNOWN)

"""The scanner's memo of per-string decisions: the same answers as deciding anew, and bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemode.scanner import Scanner
from codemode.scanner import _scanner as scanner_module
from codemode.scanner._scanner import (
    _MEMO_CHARS,
    _MEMO_SIZE,
    _decide,
    _decided,
    _wordy,
    _worth,
    _worth_scanning,
)
from tests._shared import DATA, vendored

# What SDK answers hold, and what the decisions look at: letters, digits, whitespace, the
# characters of ids, dates, URLs and e-mails, blanks that are not whitespace, and other scripts.
_ALPHABET = st.sampled_from(
    [*"aAzZeo iI0159 \t\n._-:/+=%@$#,;|~*TZ€", "\u2800", "\u3164", "é", "и", "中", "ท"]
)
_WORDS = ["ignore", "all", "previous", "Anna", "SKU", "$custom", "Zürich", "注意事项", "42", "a.b"]
_TEXT = st.one_of(
    st.text(),
    st.text(_ALPHABET, max_size=2 * _MEMO_CHARS),
    st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join),
    # Just below, at and just above the length cut.
    st.integers(_MEMO_CHARS - 2, _MEMO_CHARS + 2).flatmap(
        lambda n: st.text(_ALPHABET, min_size=n, max_size=n)
    ),
)


@pytest.fixture
def empty_memo() -> Iterator[None]:
    _decided.clear()
    yield
    _decided.clear()


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_memoised_decisions_equal_deciding_anew(text: str) -> None:
    expected = (_wordy(text), _worth_scanning(text))
    assert _decide(text) == expected  # first sight
    assert _decide(text) == expected  # from the memo, when short enough to be kept
    assert _worth(text) == expected[1]
    assert (text in _decided) == (len(text) <= _MEMO_CHARS)


@pytest.mark.parametrize("extra", [-1, 0, 1])
@pytest.mark.usefixtures("empty_memo")
def test_only_strings_up_to_the_cut_are_kept(extra: int) -> None:
    text = "Please ignore the word " + "x" * (_MEMO_CHARS + extra - 23)
    assert len(text) == _MEMO_CHARS + extra
    _decide(text)
    assert (text in _decided) == (extra <= 0)


@pytest.mark.usefixtures("empty_memo")
def test_the_memo_stays_bounded_under_a_flood_of_distinct_strings() -> None:
    most = 0
    for i in range(3 * _MEMO_SIZE + 7):
        text = f"status {i} of the order"
        assert _decide(text) == (_wordy(text), _worth_scanning(text))
        most = max(most, len(_decided))
    assert most == _MEMO_SIZE
    assert 0 < len(_decided) <= _MEMO_SIZE
    assert all(len(text) <= _MEMO_CHARS for text in _decided)


def _rows(*names: str) -> list[str]:
    texts: list[str] = []
    for name in names:
        path = vendored(DATA / "injection" / f"{name}.jsonl")
        texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
    return texts


_SETS = ("sample", "outsider", "outsider2", "outsider3")


def _page(texts: list[str], first: int) -> dict[str, Any]:
    """A JSON:API page whose records repeat short values and carry each text whole and in parts."""
    records = []
    for i, text in enumerate(texts, first):
        words = text.split()
        records.append(
            {
                "type": "profile",
                "id": f"01J{i:023d}",
                "attributes": {
                    "status": "SUBSCRIBED" if i % 3 else "NEVER_SUBSCRIBED",
                    "title": text[: _MEMO_CHARS - 1 + i % 3],  # either side of the cut
                    "first_name": " ".join(words[:2]),
                    "last_name": " ".join(words[2:4]),
                    "tags": words[4:16],
                    "note": text,
                    "properties": {"source": "Shopify", " ".join(words[:3]): "yes"},
                },
                "links": {"self": f"https://a.klaviyo.com/api/profiles/01J{i:023d}/"},
            }
        )
    return {"data": records, "links": {"self": "https://a.klaviyo.com/api/profiles/"}}


def _pages(texts: list[str]) -> list[dict[str, Any]]:
    return [_page(texts[i : i + 40], i) for i in range(0, len(texts), 40)]


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


@pytest.mark.usefixtures("empty_memo")
def test_every_string_of_the_injection_data_is_decided_as_without_the_memo() -> None:
    strings = [s for page in _pages(_rows(*_SETS)) for s in _strings(page)]
    for _ in range(2):  # first sight, then from the memo
        assert [_decide(s) for s in strings] == [(_wordy(s), _worth_scanning(s)) for s in strings]
        assert [_worth(s) for s in strings] == [_worth_scanning(s) for s in strings]
    assert _decided


def _scan_all(scanner: Scanner, pages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    scanner.clear_cache()
    out = []
    for page in pages:
        scan = scanner.scan_response(page, "redact", principal="corpus", deadline=float("inf"))
        out.append((scan.verdict, scan.document, scan.findings, scan.tier2_available))
    return out


@pytest.mark.parametrize(
    ("tier2", "sets", "rows"),
    [
        (False, _SETS, None),  # tier 1 over every set
        (True, ("sample",), 80),  # the classifier too (with the encoder: slow), over a slice
    ],
)
@pytest.mark.usefixtures("empty_memo")
def test_scan_verdicts_over_the_injection_data_are_the_same_without_the_memo(
    monkeypatch: pytest.MonkeyPatch, tier2: bool, sets: tuple[str, ...], rows: int | None
) -> None:
    pages = _pages(_rows(*sets)[:rows])
    scanner = Scanner.default() if tier2 else Scanner(tier2=False)
    with_memo = _scan_all(scanner, pages)
    assert _decided
    monkeypatch.setattr(scanner_module, "_decide", lambda t: (_wordy(t), _worth_scanning(t)))
    monkeypatch.setattr(scanner_module, "_worth", _worth_scanning)
    _decided.clear()
    without = _scan_all(scanner, pages)
    assert not _decided
    assert without == with_memo
    findings = [f for _, _, found, _ in with_memo for f in found]
    assert all(available == tier2 for *_, available in with_memo)
    assert ("classifier" in {f.rule for f in findings}) == tier2
    assert any("split across" in f.reason for f in findings)

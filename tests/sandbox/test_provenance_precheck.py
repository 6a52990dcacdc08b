"""The provenance pre-check: a delivered answer is rendered only when it may hold the output's
words as tokens, and what is found is the same as with every answer rendered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemode.sandbox import provenance
from codemode.sandbox.provenance import Provenance, Span


def _find(p: Provenance, texts: list[str], monkeypatch: pytest.MonkeyPatch, *, check: bool) -> Any:
    with monkeypatch.context() as patch:
        if not check:
            patch.setattr(provenance, "_PRECHECK_WORDS", -1)
        return p.find(texts)


class _Renders(list[str]):
    """The delivered strings ``find`` renders, in order (``_as_text`` wrapped while it lives)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self._real = provenance._as_text
        monkeypatch.setattr(provenance, "_as_text", self._render)

    def _render(self, raw: str, is_dump: bool) -> str:
        self.append(raw)
        return self._real(raw, is_dump)


def test_numbers_inside_other_tokens_of_every_page_do_not_render_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The load bench's output: a marker, a counter and a total. Read every other word, it holds
    # the pair ("12", "4"): both are substrings of any page ("2012", "t12:04", "1004"), and
    # every page used to be rendered and tokenised to look for it (18 ms for 20 pages).
    rendered = _Renders(monkeypatch)
    p = Provenance("print(store['marker'], store['n'], k)")
    for call in range(20):
        page = {
            "data": [{"id": f"01J{call}1004", "attributes": {"created": "2012-03-04T12:04:00"}}],
            "links": {"next": "https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=bmV4dA12"},
        }
        p.add(f"get_profiles (call {call + 1})", page)
    assert p.find(["marker-12-0a1b2c 4 100"]) == [[]]
    assert rendered == []


def test_a_number_standing_alone_after_an_escape_still_renders_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In the dump "12" follows the escape \\n and "4" the escape \\u0001: letters and digits
    # on their left, separators once rendered.
    rendered = _Renders(monkeypatch)
    p = Provenance()
    p.add("get_lists (call 1)", {"note": "x\u00e912 4"})  # not ASCII: matched as substrings
    p.add("get_profiles (call 2)", {"note": "line\n12\x014"})
    assert p.find(["12 4"]) == [[Span(0, 4, "get_profiles (call 2)")]]
    assert len(rendered) == 2


_PIECES = [*'ab12 4"\\:_-./é\u200bİ', "\nab", "\n12", "\x014", "ignore", "all", "2012", "t12"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)
_LEAF = _TEXT | st.integers(-5, 2100)
# Two levels of objects and lists: enough for keys, escapes and neighbouring values.
_DOCS = st.dictionaries(
    _TEXT,
    _LEAF | st.lists(_LEAF, max_size=4) | st.dictionaries(_TEXT, _LEAF, max_size=3),
    max_size=4,
)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=st.lists(_DOCS, min_size=1, max_size=4), plain=st.booleans(), data=st.data())
def test_the_pre_check_finds_what_rendering_every_answer_finds(
    docs: list[Any], plain: bool, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = Provenance("print(n)")
    for number, doc in enumerate(docs, 1):
        value = json.dumps(doc) if plain else doc  # a plain string too, not only a dump
        p.add(f"call {number}", value)
    # The output repeats words of the answers as rendered (and a few that are not there).
    words = [
        w for doc in docs for w in provenance._fold(provenance._as_text(json.dumps(doc), True))
    ]
    pick = st.sampled_from([*words, "12", "4", "u0001", "n", "x"])
    said = data.draw(st.lists(pick, min_size=2, max_size=4))
    texts = [" ".join(said), "\n".join(reversed(said))]
    assert _find(p, texts, monkeypatch, check=True) == _find(p, texts, monkeypatch, check=False)


def test_a_text_too_long_for_the_words_found_in_it_is_rendered_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Data that holds the word after a letter everywhere makes every place a candidate: past
    # the bound the pre-check keeps the substring answer instead of reading them all.
    monkeypatch.setattr(provenance, "_BOUNDED_CHARS", 1000)
    rendered = _Renders(monkeypatch)
    p = Provenance()
    p.add("get_events (call 1)", "x12 x4 " * 100)  # 700 characters, 2 words found: 1400
    p.add("get_lists (call 2)", "x12 x4 " * 50)  # 350 characters: read by boundaries
    assert p.find(["12 4"]) == [[]]
    assert rendered == ["x12 x4 " * 100]

"""Properties over arbitrary input: ids stay in their path segment, filters survive a round trip."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from codemode.klaviyo import F, Klaviyo, ValidationError
from codemode.klaviyo._filters import parse_filter

from .conftest import KEY

CLIENT = Klaviyo(api_key=KEY)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_id_stays_one_segment_on_the_base_origin(hostile: str) -> None:
    try:
        prepared = CLIENT.prepare("get_profile", id=hostile)
    except ValidationError:
        folded = unicodedata.normalize("NFKC", hostile)
        assert (
            any(f.strip() in ("", ".", "..") for f in (hostile, folded))
            or any(c in f for c in "/\\" for f in (hostile, folded))
            or any(ord(c) < 32 or 127 <= ord(c) < 160 for f in (hostile, folded) for c in f)
            or re.search("%[0-9A-Fa-f]{2}", hostile)
        ), hostile
        return
    parts = urlsplit(prepared.url)
    assert (parts.scheme, parts.netloc) == ("https", "a.klaviyo.com")
    assert parts.query == "" and parts.fragment == ""
    prefix, segment = parts.path.rsplit("/", 1)
    assert prefix == "/api/profiles"
    assert unquote(segment) == hostile
    # A server that decodes the path before routing (once or twice) still sees one segment.
    for decoded in (unquote(segment), unquote(unquote(segment))):
        assert "/" not in decoded and decoded.strip() not in ("", ".", "..")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=4))
def test_builder_output_parses_back_to_the_same_values(value: str, values: list[str]) -> None:
    conditions = parse_filter(str(F.and_(F.equals("email", value), F.any("id", values))))
    assert [c.op for c in conditions] == ["and", "equals", "any"]
    assert conditions[1].kind == "string" and conditions[1].value == value
    assert conditions[2].kind == "list"

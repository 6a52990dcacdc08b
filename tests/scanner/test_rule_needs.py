"""A rule's ``needs`` skip only texts its regex cannot match.

``match_views`` runs a rule's regex only when one of its needed literals is in the view, so each
rule's ``needs`` must be held by every string its regex matches (a match found in a long text's
window is a substring of the text, so it holds one too). Strings drawn from each regex's own
language check that; the shipped injection data, its views and long texts built from it check
that every match is the same with and without the needs.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemode.scanner import patterns
from codemode.scanner._rules import RULES, Rule
from codemode.scanner.normalize import views
from codemode.scanner.patterns import match_views
from tests._shared import DATA, vendored

_NEEDY = [rule for rule in RULES if rule.needs]


def test_the_costly_rules_have_needs_in_lower_case() -> None:
    assert {rule.id for rule in _NEEDY} >= {"role.system_marker", "agent.addressed.ml"}
    for rule in _NEEDY:
        assert all(need and need == need.lower() for need in rule.needs)
        assert set(rule.needs) <= set(patterns._ANCHORS)  # found in the anchors' one pass


@pytest.mark.parametrize("rule", _NEEDY, ids=lambda rule: rule.id)
def test_every_string_a_rule_matches_holds_one_of_its_needs(rule: Rule) -> None:
    @settings(max_examples=800, deadline=None)
    @given(st.from_regex(rule.regex, fullmatch=True))
    def holds(text: str) -> None:
        assert any(need in text for need in rule.needs), text

    holds()


def _without_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        patterns,
        "_RULE_ANCHORS",
        tuple((rule, anchors, None) for rule, anchors, _ in patterns._RULE_ANCHORS),
    )


@pytest.mark.parametrize("rule", _NEEDY, ids=lambda rule: rule.id)
def test_a_match_among_other_text_reads_the_same_without_needs(rule: Rule) -> None:
    @settings(max_examples=200, deadline=None)
    @given(st.from_regex(rule.regex, fullmatch=True), st.sampled_from(["", " ", "x ", "\n"]))
    def same(text: str, around: str) -> None:
        found = [patterns.View("text", f"{around}{text}{around}")]
        with_needs = match_views(found)
        with pytest.MonkeyPatch.context() as monkeypatch:
            _without_needs(monkeypatch)
            assert match_views(found) == with_needs

    same()


def _texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((DATA / "injection").glob("*.jsonl")):
        lines = vendored(path).read_text("utf-8").splitlines()
        texts += [json.loads(line)["text"] for line in lines]
    return texts


def test_matches_over_the_injection_data_are_the_same_without_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = _texts()
    # Long texts too (3,000 characters and more are searched in windows around the anchors).
    texts += ["\n".join(texts[i : i + 12]) for i in range(0, len(texts), 12)]
    texts += [" ".join(texts[i : i + 40]) for i in range(0, len(texts), 40)]
    all_views = [views(text) for text in texts]
    with_needs = [match_views(found) for found in all_views]
    _without_needs(monkeypatch)
    assert [match_views(found) for found in all_views] == with_needs
    matched = {m.rule.id for found in with_needs for m in found}
    assert {rule.id for rule in _NEEDY} <= matched  # each needy rule matches somewhere in it

"""How agents and scripts frame a request (issue #17, round 11): each rule, and what it changes.

Every ranking test pairs the shipped reading with the same index built without the rule, so a
test fails if its rule is removed.
"""

from __future__ import annotations

import dataclasses

import pytest

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights
from codemode.search import _query as query_module
from codemode.search._framing import PARTS, frame


@pytest.fixture(scope="module")
def unframed(catalog: Catalog) -> SearchIndex:
    return SearchIndex(catalog, weights=dataclasses.replace(Weights(), framing=False))


def _without(part: str) -> tuple[str, ...]:
    return tuple(p for p in PARTS if p != part)


# -- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("Step 2: fetch the campaign by id", "fetch the campaign by id"),
        ("Next step - rename the tag", "rename the tag"),
        ("Thought: I need the segments of this person", "I need the segments of this person"),
        ("# TODO: rename the newsletter list", "rename the newsletter list"),
        ("// FIXME: delete the draft segment", "delete the draft segment"),
        ("Plan: 1) get every list in the account", "get every list in the account"),
    ],
)
def test_a_step_label_or_a_comment_marker_is_cut(text: str, request_: str) -> None:
    assert frame(text) == request_
    assert frame(text, _without("labels")) != request_


def test_a_label_alone_is_kept() -> None:
    assert frame("Step 2:") == "Step 2:"


# -- purpose and the call around this one --------------------------------------------------------


def test_a_purpose_clause_names_the_next_call_and_is_cut() -> None:
    text = "Step 1: add the tag 'Spring' so that I can attach it to the flows later"
    assert frame(text) == "add the tag 'Spring'"
    assert "attach" in frame(text, _without("purpose"))


def test_a_purpose_clause_stays_when_it_is_the_whole_question() -> None:
    text = "which call should I use so that I can add people to a list"
    assert frame(text) == text


def test_a_result_clause_after_context_is_the_ask_and_stays() -> None:
    text = "the delay is wrong, so the flow step needs an edit"
    assert frame(text) == text


def test_the_call_before_or_after_this_one_is_cut() -> None:
    assert frame("remove the old webhook before registering a new one") == "remove the old webhook"
    assert frame("Before creating a webhook, list the topics") == "list the topics"


def test_creating_the_tag_is_not_read_as_attaching_it(
    index: SearchIndex, unframed: SearchIndex
) -> None:
    text = "Step 1: create the tag 'Black Friday' so that I can attach it to the campaigns after"
    assert index.rank(text)[0] == "create_tag"
    assert unframed.rank(text)[0] != "create_tag"


def test_deleting_before_registering_is_a_delete(index: SearchIndex, unframed: SearchIndex) -> None:
    text = "# drop the old webhook before registering the new endpoint"
    assert index.rank(text)[0] == "delete_webhook"
    assert unframed.rank(text)[0] != "delete_webhook"


# -- an agent's first-person lead, and finding out ---------------------------------------------


def test_an_agents_first_person_lead_is_cut() -> None:
    assert frame("First I'll list the metrics") == "list the metrics"
    assert frame("Now let me fetch the flow") == "fetch the flow"
    assert frame("First I'll list the metrics", _without("plan")) != "list the metrics"


def test_finding_out_after_the_request_is_why_not_what() -> None:
    assert frame("list the metrics to find the id of Placed Order") == "list the metrics"
    assert frame("list the metrics to find the id", _without("to_learn")) != "list the metrics"
    # Led into, finding out is the request.
    assert frame("I need to find the profile") == "I need to find the profile"
    assert frame("how to check a job") == "how to check a job"


def test_listing_the_metrics_first_is_a_listing(index: SearchIndex, unframed: SearchIndex) -> None:
    text = "First I'll list the metrics to find the id of Ordered Product so I can sum revenue"
    assert index.rank(text)[0] == "get_metrics"
    assert unframed.rank(text)[0] != "get_metrics"


# -- contrast -----------------------------------------------------------------------------------


def test_a_trailing_contrast_is_not_cut() -> None:
    # Its denied words are what "!" terms match ("does not unsubscribe"): measured, they stay.
    text = "remove them from the list only, do not unsubscribe them"
    assert frame(text) == text


# -- values: emails, phone numbers, written ids --------------------------------------------------


def _parse(index: SearchIndex, text: str) -> query_module.ParsedQuery:
    return index._parse(text)


def test_an_email_in_a_read_asks_for_the_listing_filtered_by_it(catalog: Catalog) -> None:
    shipped = SearchIndex(catalog)
    plain = SearchIndex(catalog, weights=dataclasses.replace(Weights(), values=False))
    text = "who is ana@shop.example, show me her profile"
    assert shipped.rank(text)[0] == "get_profiles"
    assert plain.rank(text)[0] != "get_profiles"


def test_an_email_in_a_change_asks_for_no_listing(index: SearchIndex) -> None:
    assert _parse(index, "update the profile of ana@shop.example").cues.get("list", 0.0) <= 0


def test_a_phone_number_is_a_value_not_a_word(index: SearchIndex) -> None:
    parsed = _parse(index, "look up +14155550199 in klaviyo")
    assert not any(any(c.isdigit() for c in t) for t in parsed.terms)
    assert parsed.cues.get("list", 0.0) >= 1.0
    # An ISO date is no phone number.
    assert query_module._PHONE.search("events since 2024-05-01T10:00:00Z") is None


def test_a_written_id_stands_for_one_record_not_for_words(index: SearchIndex) -> None:
    parsed = _parse(index, "get list 01HQ3Z9M0PXYZ")
    assert not {"hq3", "z9", "m0"} & set(parsed.terms)
    assert "list" in parsed.owners
    # A word with a digit at its end is no id ("base64", "oauth2").
    assert query_module._API_ID.search("base64 oauth2 sha256") is None


# -- "<resource> id of <another>" ----------------------------------------------------------------


def test_the_id_one_record_holds_of_another_asks_for_ids(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "the profile id behind event Xq7Lm2"
    assert _parse(index, text).cues.get("ids", 0.0) >= 1.0
    assert index.rank(text)[0] == "get_profile_id_for_event"
    monkeypatch.setattr(query_module, "_ID_OF", query_module.re.compile(r"(?!x)x"))
    assert SearchIndex(index.catalog).rank(text)[0] != "get_profile_id_for_event"


# -- a change whose only resource is the container ----------------------------------------------


def test_moving_records_out_of_a_container_is_a_relationship_write(index: SearchIndex) -> None:
    text = "remove 01HQ3Z9M0P and 01HQ3Z9M0Q from list Tz8Nw1"
    parsed = _parse(index, text)
    assert not parsed.heads and parsed.cues.get("link", 0.0) >= 1.0
    assert index.rank(text)[0] == "remove_profiles_from_list"

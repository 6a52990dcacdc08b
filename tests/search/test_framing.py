"""How agents and scripts frame a request (issue #17, round 11): each rule, and what it changes.

Every ranking test pairs the shipped reading with the same index built without the rule, so a
test fails if its rule is removed.
"""

from __future__ import annotations

import dataclasses

import pytest

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights
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

"""Long requests read from the caller's ask (``_asks``, opt-in with ``Weights(asks=True)``)."""

from __future__ import annotations

import dataclasses

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights
from codemode.search._asks import ask_clauses, asked_clause


def _length(text: str) -> float:
    return float(len(text))


def test_the_clause_that_asks_is_the_request_whatever_the_context_matches() -> None:
    query = (
        "We built a segment of VIP shoppers last quarter and the finance team wants a "
        "spreadsheet, so I need to export every profile in it"
    )

    def score(text: str) -> float:
        return 3.0 if "segment" in text else 1.0

    assert asked_clause(query, score) == (
        "export every profile in it, We built a segment of VIP shoppers last quarter "
        "and the finance team wants a spreadsheet"
    )


def test_an_ask_after_and_starts_a_clause_of_its_own() -> None:
    query = "A weird event showed up in our activity feed and I want to know who that event is for"
    assert ask_clauses(query) == [
        "A weird event showed up in our activity feed",
        "I want to know who that event is for",
    ]


def test_a_pleasantry_is_no_ask() -> None:
    query = (
        "Pull every subscriber on the Weekly Digest list into a spreadsheet for the audit. "
        "Please let me know if anything is unclear, thanks"
    )
    assert asked_clause(query, _length) == (
        "Pull every subscriber on the Weekly Digest list into a spreadsheet for the audit"
    )


def test_context_first_requests_rank_their_ask(catalog: Catalog) -> None:
    index = SearchIndex(catalog, weights=dataclasses.replace(Weights(), asks=True))
    query = (
        "There's a draft campaign from last year's holiday planning that was never sent and "
        "just confuses everyone, so please help me remove that campaign."
    )
    assert index.rank(query)[0] == "delete_campaign"


def test_an_imperative_after_a_comma_is_the_ask() -> None:
    query = (
        "Three of our test accounts ended up on the real customer list after the QA session, "
        "take those profiles off the list"
    )
    assert ask_clauses(query) == [
        "Three of our test accounts ended up on the real customer list after the QA session",
        "take those profiles off the list",
    ]
    assert asked_clause(query, _length).startswith("take those profiles off the list")


def test_a_gerund_or_a_question_word_after_a_comma_is_no_imperative() -> None:
    query = "After the sale, sending volume doubled, which hurt deliverability on the main list"
    assert ask_clauses(query) == [query]


def test_the_old_one_points_back_to_the_clause_before() -> None:
    query = "the old welcome automation is replaced by a new one, so remove the old one"
    assert asked_clause(query, _length) == (
        "remove the old one, the old welcome automation is replaced by a new one"
    )


def test_the_last_ask_is_the_request_when_the_context_asks_too() -> None:
    query = (
        "For the influencer push we want a new discount that we can generate unique codes for, "
        "so first I need to set up the coupon itself"
    )
    assert asked_clause(query, _length) == "set up the coupon itself"


def test_an_ask_without_a_word_of_the_api_is_passed_over() -> None:
    query = (
        "On our storefront the browser script should record each add to cart directly, "
        "without our server; which call is that?"
    )

    def score(text: str) -> float:
        return 0.0 if "which call" in text else 1.0

    assert asked_clause(query, score) == (
        "On our storefront the browser script should record each add to cart directly, "
        "without our server"
    )


def test_an_ask_after_a_comma_starts_a_clause() -> None:
    query = (
        "The welcome flow has run for two years and nobody remembers how it was built, "
        "any way to list the actions inside that flow?"
    )
    assert asked_clause(query, _length) == "list the actions inside that flow"


def test_an_ask_that_names_nothing_brings_the_clause_before_it() -> None:
    query = "the preview text of the email inside the campaign, I want see"
    assert asked_clause(query, _length) == (
        "I want see, the preview text of the email inside the campaign"
    )


def test_obligations_and_questions_about_data_ask_but_questions_about_the_api_do_not() -> None:
    query = (
        "Someone tagged our test segments as Production, which broke the dashboard filter. "
        "The Production tag has to come off those segments."
    )
    assert asked_clause(query, _length) == (
        "The Production tag has to come off those segments, "
        "Someone tagged our test segments as Production, which broke the dashboard filter"
    )
    query = (
        "During the audit I noticed the cart reminder automation has odd labels. "
        "What tags are on that flow right now?"
    )
    assert asked_clause(query, _length) == "What tags are on that flow right now"
    query = (
        "Our agency manages this account and they want us to export the VIP list; "
        "what's the right way to do that in Klaviyo?"
    )
    assert asked_clause(query, _length) == "export the VIP list"


def test_the_ask_reading_is_off_by_default(index: SearchIndex) -> None:
    # Round 5 measured one untouched set losing 1.3 points with it on (benchmarks/search.md).
    assert Weights().asks is False
    query = (
        "There's a draft campaign from last year's holiday planning that was never sent and "
        "just confuses everyone, so please help me remove that campaign."
    )
    assert index._request(query) != asked_clause(query, index._strength)

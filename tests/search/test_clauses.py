"""Long requests are read from the clause that states them, not from the context around it."""

from __future__ import annotations

import dataclasses

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights
from codemode.search._clauses import clauses, request_clause


def _length(text: str) -> float:
    return float(len(text))


def test_a_short_query_is_read_whole() -> None:
    assert request_clause("delete the tag group Old Promos", _length) is None


def test_a_long_query_of_one_clause_is_read_whole() -> None:
    query = "list every profile that joined the newsletter list during the last thirty days please"
    assert request_clause(query, _length) is None


def test_clauses_split_at_sentence_ends_dashes_and_linking_words() -> None:
    text = "We sell candles. Right now I need to -- sorry -- export the list, but only VIPs"
    assert clauses(text) == [
        "We sell candles",
        "Right now I need to",
        "sorry",
        "export the list",
        "only VIPs",
    ]


def test_the_strongest_clause_is_read_from_its_lead_in() -> None:
    query = (
        "Hi there, hope you are well. Could you please help me figure out how to archive a flow?"
    )

    def score(text: str) -> float:
        return 2.0 if "flow" in text else 0.5

    assert request_clause(query, score) == "archive a flow"


def test_a_pronoun_brings_the_clause_before_it() -> None:
    query = "We have a VIP list that sales curates by hand. Please add these new customers to it."

    def score(text: str) -> float:
        return 2.0 if "add" in text else 1.0

    assert request_clause(query, score) == (
        "add these new customers to it, We have a VIP list that sales curates by hand"
    )


def test_a_request_wrapped_in_context_ranks_as_it_does_alone(index: SearchIndex) -> None:
    wrapped = (
        "We opened a second warehouse last spring and the new team keeps asking me things. "
        "Anyway, what I need to do today is remove the tag group called Old Promos, thanks!"
    )
    assert index.rank(wrapped)[0] == index.rank("remove the tag group called Old Promos")[0]
    assert index.rank(wrapped)[0] == "delete_tag_group"


def test_context_words_do_not_hide_an_unserved_request(catalog: Catalog) -> None:
    query = (
        "My sister started this shop and I only help out on the weekends, so go easy on me. "
        "I need to buy extra sending credits"
    )
    focused = SearchIndex(catalog)
    whole = SearchIndex(catalog, weights=dataclasses.replace(Weights(), clauses=False))
    assert focused.serves(query) is False
    assert "credits" in focused.unserved(query)
    assert whole.serves(query) is True  # the context's known words outvote "credits"


def test_the_clause_that_asks_is_the_request_whatever_the_context_matches() -> None:
    query = (
        "We built a segment of VIP shoppers last quarter and the finance team wants a "
        "spreadsheet, so I need to export every profile in it"
    )

    def score(text: str) -> float:
        return 3.0 if "segment" in text else 1.0

    assert request_clause(query, score) == (
        "export every profile in it, We built a segment of VIP shoppers last quarter "
        "and the finance team wants a spreadsheet"
    )


def test_an_ask_after_and_starts_a_clause_of_its_own() -> None:
    query = "A weird event showed up in our activity feed and I want to know who that event is for"
    assert clauses(query) == [
        "A weird event showed up in our activity feed",
        "I want to know who that event is for",
    ]


def test_a_pleasantry_is_no_ask() -> None:
    query = (
        "Pull every subscriber on the Weekly Digest list into a spreadsheet for the audit. "
        "Please let me know if anything is unclear, thanks"
    )
    assert request_clause(query, _length) == (
        "Pull every subscriber on the Weekly Digest list into a spreadsheet for the audit"
    )


def test_context_first_requests_rank_their_ask(index: SearchIndex) -> None:
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
    assert clauses(query) == [
        "Three of our test accounts ended up on the real customer list after the QA session",
        "take those profiles off the list",
    ]
    assert request_clause(query, _length).startswith("take those profiles off the list")


def test_a_gerund_or_a_question_word_after_a_comma_is_no_imperative() -> None:
    query = "After the sale, sending volume doubled, which hurt deliverability on the main list"
    assert clauses(query) == [query]


def test_the_old_one_points_back_to_the_clause_before() -> None:
    query = "the old welcome automation is replaced by a new one, so remove the old one"
    assert request_clause(query, _length) == (
        "remove the old one, the old welcome automation is replaced by a new one"
    )


def test_the_last_ask_is_the_request_when_the_context_asks_too() -> None:
    query = (
        "For the influencer push we want a new discount that we can generate unique codes for, "
        "so first I need to set up the coupon itself"
    )
    assert request_clause(query, _length) == "set up the coupon itself"


def test_an_ask_without_a_word_of_the_api_is_passed_over() -> None:
    query = (
        "On our storefront the browser script should record each add to cart directly, "
        "without our server; which call is that?"
    )

    def score(text: str) -> float:
        return 0.0 if "which call" in text else 1.0

    assert request_clause(query, score) == (
        "On our storefront the browser script should record each add to cart directly, "
        "without our server"
    )


def test_an_ask_after_a_comma_starts_a_clause() -> None:
    query = (
        "The welcome flow has run for two years and nobody remembers how it was built, "
        "any way to list the actions inside that flow?"
    )
    assert request_clause(query, _length) == "list the actions inside that flow"


def test_an_ask_that_names_nothing_brings_the_clause_before_it() -> None:
    query = "the preview text of the email inside the campaign, I want see"
    assert request_clause(query, _length) == (
        "I want see, the preview text of the email inside the campaign"
    )


def test_obligations_and_questions_about_data_ask_but_questions_about_the_api_do_not() -> None:
    query = (
        "Someone tagged our test segments as Production, which broke the dashboard filter. "
        "The Production tag has to come off those segments."
    )
    assert request_clause(query, _length) == (
        "The Production tag has to come off those segments, "
        "Someone tagged our test segments as Production, which broke the dashboard filter"
    )
    query = (
        "During the audit I noticed the cart reminder automation has odd labels. "
        "What tags are on that flow right now?"
    )
    assert request_clause(query, _length) == "What tags are on that flow right now"
    query = (
        "Our agency manages this account and they want us to export the VIP list; "
        "what's the right way to do that in Klaviyo?"
    )
    assert request_clause(query, _length) == "export the VIP list"

"""Long requests are read from the clause that states them, not from the context around it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights
from codemode.search._clauses import clauses, linked_clauses, request_clause
from codemode.search._documents import own_summary


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


def _score(strengths: dict[str, float]) -> Callable[[str], float]:
    def score(text: str) -> float:
        return next((v for k, v in strengths.items() if k in text), 0.1)

    return score


def test_a_later_clause_nearly_as_strong_is_the_request() -> None:
    # Context first, the ask last (issue #17, round 7): the later clause wins at 0.8 of the best.
    query = "Our spring segment still counts lapsed buyers from last year, so I need to edit that segment."
    score = _score({"spring": 1.0, "edit": 0.85})
    assert request_clause(query, score) == "edit that segment"
    assert (
        request_clause(query, score, near=0.9)
        == "Our spring segment still counts lapsed buyers from last year"
    )


def test_what_happens_next_or_a_condition_is_not_the_request() -> None:
    score = _score({"export": 1.0, "clean": 0.9, "keep": 0.9})
    then = "We moved shops in spring and things are messy. Right now I need to export the VIP list, then we can clean up the rest."
    assert request_clause(then, score) == "export the VIP list"
    but = "Before the holiday sale starts on Monday I want to export the VIP list but keep the old one around"
    assert request_clause(but, score) == "export the VIP list"


def test_what_follows_a_question_is_context() -> None:
    query = "Which flows does the Placed Order metric start? We are about to rename the metric and worry."
    score = _score({"flows": 1.0, "rename": 0.95})
    assert request_clause(query, score) == "Which flows does the Placed Order metric start"


def test_clauses_keep_the_link_before_them() -> None:
    assert linked_clauses("We sell candles, so I need to export the list, then rest") == [
        ("", "We sell candles"),
        (", so", "I need to export the list"),
        (", then", "rest"),
    ]


def test_a_clause_that_opens_with_a_verb_keeps_the_request() -> None:
    # The ask first, details after: "fetch ..." stays the request though "include" is near;
    # the same later clause after a clause of context is the request.
    score = _score({"Fetch": 1.0, "Seasons": 1.0, "include": 0.9})
    query = "Fetch one tag group by id with its name; it can also include the tags inside it"
    assert request_clause(query, score) == "Fetch one tag group by id with its name"
    context = "Our Seasons group holds the spring labels; it can also include the tags inside it"
    assert request_clause(context, score) == (
        "it can also include the tags inside it, Our Seasons group holds the spring labels"
    )


def test_every_core_action_is_found_by_its_own_summary(
    catalog: Catalog, index: SearchIndex
) -> None:
    # A summary states the action first and its details after (the bench's reachability check);
    # a pointer to another operation ("...; to halt a send use cancel_campaign_send") is not
    # what it says of itself.
    ids = frozenset(catalog)
    missed = [a.id for a in catalog.core() if a.id not in index.rank(own_summary(a, ids))[:3]]
    assert not missed

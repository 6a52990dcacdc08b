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

"""Second-language constructions are read as the plain English they mean (issue #17, round 13)."""

from __future__ import annotations

from codemode.search import SearchIndex
from codemode.search._learner import plain


def _names(text: str) -> bool:
    return text.lower() in {"templates", "code", "segment"}


def test_what_after_a_resource_opens_a_relative_clause() -> None:
    assert plain("all templates what exist", names_resource=_names) == "all templates that exist"
    assert plain("the coupon code what is wrong", names_resource=_names) == (
        "the coupon code that is wrong"
    )
    # After any other word, or before a question, "what" stays.
    assert plain("tell me what exists", names_resource=_names) == "tell me what exists"
    assert plain("segment what is the size", names_resource=_names) == "segment what is the size"


def test_a_list_of_all_things_is_all_of_them() -> None:
    assert plain("give me the list with all templates", names_resource=_names) == (
        "give me all templates"
    )
    assert plain("a list of all flows", names_resource=_names) == "all flows"
    # The API's list resource stays.
    assert plain("the list of newsletter", names_resource=_names) == "the list of newsletter"
    assert plain("x", names_resource=_names, parts=()) == "x"


def test_the_list_of_all_flows_is_a_listing_of_flows(index: SearchIndex) -> None:
    assert index.rank("i like to obtain the list of all flows of the account")[0] == "get_flows"

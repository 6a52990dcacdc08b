"""Shorthand, app-screen paths and verb-last word order (issue #17, round 12): each rule, and what
it changes.

Every ranking test pairs the shipped reading with the same index built without the rule, so a
test fails if its rule is removed.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import pytest

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights
from codemode.search._shorthand import PARTS


@pytest.fixture(scope="module")
def plain(catalog: Catalog) -> SearchIndex:
    return SearchIndex(catalog, weights=dataclasses.replace(Weights(), shorthand=False))


def _expand(index: SearchIndex, text: str, parts: tuple[str, ...] = PARTS) -> str:
    return index._expanded(text, parts)


def _without(part: str) -> tuple[str, ...]:
    return tuple(p for p in PARTS if p != part)


# -- abbreviations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("segs of a prof", "segments of a profile"),
        ("recip count for camp", "recipient count for campaign"),
        ("msgs of camp", "messages of campaign"),
        ("tpl w/ footer", "template with footer"),
        ("evts by metric", "events by metric"),
    ],
)
def test_an_abbreviation_the_index_does_not_know_is_spelled_out(
    index: SearchIndex, typed: str, meant: str
) -> None:
    assert _expand(index, typed) == meant
    assert _expand(index, typed, _without("abbreviations")) == typed


def test_a_word_the_index_knows_is_never_expanded(index: SearchIndex) -> None:
    # "list" and "sub" are the API's own words where it uses them; only unknown ones expand.
    assert index._knows("list")
    assert _expand(index, "list the tags") == "list the tags"


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("segs of a prof", "get_segments_for_profile"),
        ("recip count for camp", "get_campaign_recipient_estimation"),
        ("msgs of camp", "get_messages_for_campaign"),
        ("evts by metric", "get_events"),
    ],
)
def test_spelled_out_shorthand_finds_the_operation(
    index: SearchIndex, plain: SearchIndex, query: str, want: str
) -> None:
    assert index.rank(query)[0] == want
    assert plain.rank(query)[0] != want


def test_every_abbreviation_is_one_lower_case_word_and_names_one_meaning() -> None:
    text = resources.files("codemode.search").joinpath("vocabulary.json").read_text("utf-8")
    table = json.loads(text)["abbreviations"]
    shorts = [s for forms in table.values() for s in forms]
    assert len(shorts) == len(set(shorts))
    assert all(s.isalpha() and s == s.lower() for s in shorts)


# -- screen paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ("Content > Templates", "templates"),
        ("Audience > Lists & Segments > Create segment", "create segment"),
        ("Settings \u203a Webhooks \u203a add", "add webhooks"),
        ("Analytics -> Metrics", "metrics"),
    ],
)
def test_a_screen_path_is_read_as_its_last_step(index: SearchIndex, path: str, step: str) -> None:
    assert _expand(index, path) == step
    assert _expand(index, path, _without("paths")) != step


def test_a_screen_of_sections_alone_is_kept_as_typed(index: SearchIndex) -> None:
    assert _expand(index, "Audience > Content") == "Audience > Content"


def test_a_long_sentence_with_an_arrow_is_no_screen_path(index: SearchIndex) -> None:
    text = "when a shopper places an order in the store and pays -> add them to the VIP list"
    assert _expand(index, text, ("paths",)) == text


def test_the_screen_of_metrics_lists_them_rather_than_reporting(
    index: SearchIndex, plain: SearchIndex
) -> None:
    assert index.rank("Analytics > Metrics")[0] == "get_metrics"
    assert plain.rank("Analytics > Metrics")[0] != "get_metrics"


@pytest.mark.parametrize(
    ("path", "want"), [("Settings > Tags", "get_tags"), ("Settings > Images", "get_images")]
)
def test_a_settings_screen_asks_for_no_change(
    index: SearchIndex, plain: SearchIndex, path: str, want: str
) -> None:
    # "settings" alone reads as "set": the section is where the screen is, not a request.
    assert index.rank(path)[0] == want
    assert plain.rank(path)[0].startswith("update_")


# -- places -------------------------------------------------------------------------------------


def test_page_or_tab_after_a_short_request_names_where_it_is_shown(index: SearchIndex) -> None:
    assert _expand(index, "Campaigns page") == "Campaigns"
    assert _expand(index, "Templates tab", _without("places")) == "Templates tab"


def test_a_page_inside_a_sentence_stays(index: SearchIndex) -> None:
    text = "let a shopper leave a review from the product page"
    assert _expand(index, text) == text


# -- verb last ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pile", "request_"),
    [
        ("list profile remove", "remove list profile"),
        ("tag group delete", "delete tag group"),
        ("segment by id fetch", "fetch segment by id"),
    ],
)
def test_a_verb_closing_a_noun_pile_is_read_first(
    index: SearchIndex, pile: str, request_: str
) -> None:
    assert _expand(index, pile) == request_
    assert _expand(index, pile, _without("verb_last")) == pile


@pytest.mark.parametrize(
    "text",
    [
        "profile activity log",  # "log" is as often the noun
        "list tracking settings",  # a plural closes a pile as its noun
        "errors from the contact import",  # an article makes it a sentence
        "what topics for webhooks exist",  # so does a question word
    ],
)
def test_a_closing_noun_or_a_sentence_is_not_reordered(index: SearchIndex, text: str) -> None:
    assert _expand(index, text) == text


def test_a_leading_list_before_a_closing_verb_is_the_resource(
    index: SearchIndex, plain: SearchIndex
) -> None:
    assert index.rank("list profile remove")[0] == "remove_profiles_from_list"
    assert plain.rank("list profile remove")[0] == "remove_profiles_from_list"
    # without the reading, the list verb pulls the list's own reads into second place
    assert index.rank("list profile remove")[1] != plain.rank("list profile remove")[1]


# -- typos --------------------------------------------------------------------------------------


def test_a_letter_typed_twice_is_repaired(index: SearchIndex) -> None:
    assert index._correct("taggs") == "tags"
    assert index._correct("lisst") == "list"


def test_expand_never_leaves_a_request_without_words(index: SearchIndex) -> None:
    assert _expand(index, " > ") == " > "


# -- words the vocabulary lacked ----------------------------------------------------------------


def test_analytics_asks_for_a_report(index: SearchIndex) -> None:
    # "analytic" was a report cue, but the stemmer keeps "analytics" whole, so it never met it.
    assert index._parse("flow analytics").cues.get("report", 0.0) >= 1.0
    assert index.rank("flow analytics")[0].startswith("query_flow_")


def test_assign_is_a_verb_that_links_records(index: SearchIndex) -> None:
    cues = index._parse("assign the saved template").cues
    assert cues.get("link", 0.0) >= 1.0 and cues.get("create", 0.0) >= 1.0


def test_ls_asks_for_every_record(index: SearchIndex) -> None:
    assert index._expanded("tpl ls") == "template list all"
    assert index.rank("tpl ls")[0] == "get_templates"

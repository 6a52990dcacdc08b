"""The search text: one line per hit, and the top hit's signature when the search is confident."""

from __future__ import annotations

from codemode.catalog import Catalog
from codemode.search import SearchHit, render_hits, top_signature


def _hit(catalog: Catalog, action_id: str, score: float) -> SearchHit:
    action = catalog[action_id]
    return SearchHit(action_id, action.function, action.summary, action.kind, score)


def test_a_clear_lead_or_a_query_that_spells_the_id_is_confident(catalog: Catalog) -> None:
    lead = [_hit(catalog, "get_campaigns", 2.0), _hit(catalog, "get_campaign", 1.5)]
    close = [_hit(catalog, "get_campaigns", 2.0), _hit(catalog, "get_campaign", 1.99)]
    sig = top_signature(lead, "scheduled campaigns", catalog)
    assert sig is not None and sig.id == "get_campaigns"
    assert top_signature(close, "scheduled campaigns", catalog) is None
    spelled = top_signature(close, "Get campaigns", catalog)
    assert spelled is not None and spelled.id == "get_campaigns"
    assert top_signature([], "anything", catalog) is None


def test_confident_hits_carry_the_signature_after_one_line_each(catalog: Catalog) -> None:
    hits = [_hit(catalog, "get_campaigns", 2.0), _hit(catalog, "get_campaign", 1.0)]
    sig = top_signature(hits, "campaigns", catalog)
    text = render_hits(hits, "campaigns", inline=sig)
    lines = text.splitlines()
    assert lines[0] == f"klaviyo.campaigns.get_campaigns - {catalog['get_campaigns'].summary}"
    second = catalog["get_campaign"].summary.split("; ")[0]
    assert lines[1] == f"klaviyo.campaigns.get_campaign - {second}"
    assert lines[2] == "" and lines[3].startswith("klaviyo.campaigns.get_campaigns(*, filter:")
    assert "Example: klaviyo.campaigns.get_campaigns(" in text


def test_without_confidence_the_hits_stand_alone(catalog: Catalog) -> None:
    hits = [_hit(catalog, "get_campaigns", 2.0), _hit(catalog, "get_campaign", 1.99)]
    text = render_hits(hits, "campaigns", inline=top_signature(hits, "campaigns", catalog))
    assert len(text.splitlines()) == 2

"""The static (per-token) embedding distilled from the scanner's encoder (issue #17, round 9)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from codemode.catalog import Catalog
from codemode.search import SearchIndex, Weights, _static


def test_the_table_is_small_and_reads_pieces_of_unknown_words() -> None:
    table = _static._table()
    assert table is not None
    tokenizer, row_of, rows, factors = table
    assert rows.shape[1] == _static.DIMENSIONS and rows.dtype == np.int8
    assert np.count_nonzero(row_of >= 0) > 10_000  # every lowercase ASCII piece

    def vector(text: str) -> np.ndarray:
        return _static._embed(table, text)

    # A typo splits into pieces that still land near the word; frequent pieces weigh little.
    assert vector("campaing") @ vector("campaign") > vector("campaing") @ vector("webhook")
    the, campaign = (row_of[tokenizer.token_to_id(p)] for p in ("▁the", "▁campaign"))
    assert factors[the] * np.abs(rows[the]).max() < factors[campaign] * np.abs(rows[campaign]).max()


def test_without_a_table_the_static_embedding_gives_no_opinion(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_static, "_table", lambda: None)
    vectors = _static.StaticVectors(list(catalog.values()))
    assert vectors.zscores("display the product collections") is None
    assert not vectors.warm()
    index = SearchIndex(catalog)
    without = SearchIndex(catalog, weights=dataclasses.replace(Weights(), static=0.0))
    assert index.rank("display the product collections") == without.rank(
        "display the product collections"
    )

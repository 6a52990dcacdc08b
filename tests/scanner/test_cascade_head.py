"""The encoder head's training: language identity projected out, small languages lifted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the train extra (scikit-learn) is not installed")

from codemode.scanner.training.cascade import Embedded, fit_head, language_subspace

DIM = 8
LANGUAGE = np.eye(DIM)[0]  # the direction that says which language a text is in
ATTACK = np.eye(DIM)[1]  # the direction that says whether it is an injection


def _corpus(n: int = 240, seed: int = 3) -> tuple[Any, Embedded, Any]:
    """Units in two languages whose injection rates differ, so language alone predicts the label."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    vectors = []
    for i in range(n):
        lang = "aa" if i % 2 else "bb"
        label = int(rng.random() < (0.9 if lang == "aa" else 0.1))
        rows.append({"text": str(i), "label": label, "source": "gen-x", "lang": lang})
        offset = (1.0 if lang == "aa" else -1.0) * LANGUAGE
        vectors.append(offset + (label - 0.5) * 0.4 * ATTACK + rng.normal(0, 0.3, DIM))
    labels = np.array([r["label"] for r in rows])
    negatives, positives = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    corpus = SimpleNamespace(rows=rows, indices=list(range(n)), unit_row=np.arange(n))
    model = SimpleNamespace(units=np.concatenate([negatives, positives]), positives=len(positives))
    embedded = Embedded(np.arange(n, dtype=np.int64), np.asarray(vectors, dtype=np.float32))
    return corpus, embedded, model


def test_the_language_subspace_is_the_direction_between_language_means() -> None:
    corpus, embedded, _ = _corpus()
    languages = [r["lang"] for r in corpus.rows]
    basis = language_subspace(embedded.vectors.astype(np.float64), languages, 4)
    assert basis.shape == (DIM, 1)  # two languages span one direction, however many are asked
    assert abs(float(basis[:, 0] @ LANGUAGE)) > 0.95
    assert language_subspace(embedded.vectors.astype(np.float64), languages, 0).shape == (DIM, 0)
    assert language_subspace(embedded.vectors.astype(np.float64), ["aa"] * 240, 4).shape[1] == 0


def test_a_head_without_language_dims_keys_on_the_language_and_one_with_them_cannot() -> None:
    corpus, embedded, model = _corpus()
    plain = fit_head(corpus, embedded, model, language_dims=0, lift=1.0)
    neutral = fit_head(corpus, embedded, model, language_dims=1, lift=1.0)
    assert abs(float(plain.weights @ LANGUAGE)) > 1.0
    assert abs(float(neutral.weights @ LANGUAGE)) < 0.2 * abs(float(neutral.weights @ ATTACK))
    # An injection where injections are rare and a benign text where they are common: the plain
    # head reads the language, the neutral one the attack.
    rare = (-LANGUAGE + 0.2 * ATTACK).astype(np.float32)[None, :]
    common = (LANGUAGE - 0.2 * ATTACK).astype(np.float32)[None, :]
    assert float(plain(rare)[0]) < 0.5 < float(plain(common)[0])
    assert float(neutral(rare)[0]) > 0.5 > float(neutral(common)[0])


def test_a_small_language_weighs_more_in_the_head() -> None:
    corpus, embedded, model = _corpus()
    for i, row in enumerate(corpus.rows):  # most "aa" rows become a third, large language
        if row["lang"] == "aa" and i % 6 != 1:
            row["lang"] = "cc"
    even = fit_head(corpus, embedded, model, language_dims=0, lift=1.0)
    lifted = fit_head(corpus, embedded, model, language_dims=0, lift=4.0)
    assert not np.allclose(even.weights, lifted.weights)

"""The encoder head's training: language identity projected out, small languages lifted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
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


def _noisy_languages(n: int = 600, seed: int = 5) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Two languages: far apart along a noisy direction (2), near but cleanly apart along 0."""
    rng = np.random.default_rng(seed)
    languages = ["aa" if i % 2 else "bb" for i in range(n)]
    sign = np.array([1.0 if x == "aa" else -1.0 for x in languages])[:, None]
    vectors = rng.normal(0, 0.3, (n, DIM))
    vectors[:, 0] = sign[:, 0] * 0.5 + rng.normal(0, 0.05, n)
    vectors[:, 2] = sign[:, 0] * 1.0 + rng.normal(0, 4.0, n)
    return vectors, languages


def test_lda_finds_the_direction_that_tells_languages_apart_not_the_widest_gap() -> None:
    vectors, languages = _noisy_languages()
    means = language_subspace(vectors, languages, 1, "means")
    lda = language_subspace(vectors, languages, 1, "lda")
    assert abs(float(means[:, 0] @ np.eye(DIM)[2])) > 0.8  # the widest gap between the means
    assert abs(float(lda[:, 0] @ np.eye(DIM)[0])) > 0.95  # the clean, narrow one


def test_inlp_removes_what_a_linear_classifier_reads_the_language_from() -> None:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,import-not-found,unused-ignore]

    vectors, languages = _noisy_languages()
    basis = language_subspace(vectors, languages, 3, "inlp")
    assert basis.shape == (DIM, 3)  # not bounded by the number of languages
    assert np.allclose(basis.T @ basis, np.eye(3), atol=1e-8)
    assert abs(float(basis[:, 0] @ np.eye(DIM)[0])) > 0.9
    projected = vectors - (vectors @ basis) @ basis.T
    before = LogisticRegression().fit(vectors, languages).score(vectors, languages)
    after = LogisticRegression().fit(projected, languages).score(projected, languages)
    assert before > 0.99 and after < 0.7


@pytest.mark.parametrize("method", ["lda", "inlp"])
def test_a_head_with_a_language_method_cannot_key_on_the_language(method: str) -> None:
    corpus, embedded, model = _corpus()
    neutral = fit_head(corpus, embedded, model, language_dims=1, lift=1.0, language_method=method)
    assert abs(float(neutral.weights @ LANGUAGE)) < 0.2 * abs(float(neutral.weights @ ATTACK))
    rare = (-LANGUAGE + 0.2 * ATTACK).astype(np.float32)[None, :]
    assert float(neutral(rare)[0]) > 0.5


def test_an_unknown_language_method_is_refused() -> None:
    vectors, languages = _noisy_languages()
    with pytest.raises(ValueError, match="unknown"):
        language_subspace(vectors, languages, 2, "centroid")

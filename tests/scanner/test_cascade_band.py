"""The cascade's band widened for unseen text: the head's own cut, as low as the budget allows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from codemode.scanner.training.cascade import pick


def _units(seed: int, novel: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One unit per row: clear rows the n-gram model gets right, and ``novel`` positives it
    scores low (a style it never saw) that the head reads as injections, with as many negatives
    in the same low band that the head reads as benign."""
    rng = np.random.default_rng(seed)
    n_clear = 400
    labels = np.r_[rng.random(n_clear) < 0.4, np.ones(novel, bool), np.zeros(novel, bool)]
    ph = np.r_[
        np.where(labels[:n_clear], rng.uniform(0.7, 1.0, n_clear), rng.uniform(0.0, 0.04, n_clear)),
        rng.uniform(0.06, 0.25, 2 * novel),
    ]
    pe = np.where(labels, rng.uniform(0.9, 1.0, len(labels)), rng.uniform(0.0, 0.5, len(labels)))
    pe[:n_clear] = np.where(labels[:n_clear], rng.uniform(0.3, 1.0, n_clear), pe[:n_clear])
    return ph, pe, labels, np.ones(len(labels))  # every word seen: no novelty gate


def _recall_of_novel(cascade, ph, pe, labels, novel):  # type: ignore[no-untyped-def]
    flags = cascade.flag(ph, pe)
    return float(flags[400 : 400 + novel].mean())


def test_without_a_budget_the_band_stays_narrow_and_the_novel_style_is_missed() -> None:
    ph, pe, labels, covered = _units(1, 20)
    rows = np.arange(len(labels))
    narrow, _ = pick(ph, pe, rows, rows, labels, covered=covered)
    wide, info = pick(ph, pe, rows, rows, labels, covered=covered, band_budget=0.2)
    assert _recall_of_novel(wide, ph, pe, labels, 20) == 1.0
    assert _recall_of_novel(narrow, ph, pe, labels, 20) < 1.0 or narrow.low <= 0.05
    assert wide.cut == wide.novel_cut and wide.low <= narrow.low
    assert info["band"] <= 0.2 and info["fpr"] <= 0.02 and info["band_budget"] == 0.2


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000), novel=st.integers(0, 60), budget=st.sampled_from([0.02, 0.1, 0.3])
)
def test_the_widened_band_keeps_its_budget_and_the_false_positive_limit(
    seed: int, novel: int, budget: float
) -> None:
    ph, pe, labels, covered = _units(seed, novel)
    rows = np.arange(len(labels))
    base, _ = pick(ph, pe, rows, rows, labels, covered=covered)
    wide, info = pick(ph, pe, rows, rows, labels, covered=covered, band_budget=budget)
    if wide.low == base.low and wide.high == base.high and wide.cut == base.cut:
        return  # no band fitted the budget: the narrow choice stands
    band = (ph >= wide.low) & (ph < wide.high)
    assert band.mean() <= budget + 1e-9
    assert info["fpr"] <= 0.02
    assert wide.cut == wide.novel_cut


def test_the_part_of_a_widened_band_below_the_narrow_one_is_read_within_an_allowance() -> None:
    ph, pe, labels, covered = _units(1, 20)
    rows = np.arange(len(labels))
    narrow, _ = pick(ph, pe, rows, rows, labels, covered=covered)
    wide, _ = pick(ph, pe, rows, rows, labels, covered=covered, band_budget=0.2)
    assert wide.free_low == max(wide.low, narrow.low)
    assert wide.as_dict()["free_low"] == wide.free_low and "free_low" not in narrow.as_dict()


class _Left:
    def __init__(self, windows: int) -> None:
        self.windows = windows


def _lower_band(monkeypatch, n: int):  # type: ignore[no-untyped-def]
    """The packaged classifier with ``n`` texts whose n-gram scores fall, in decreasing order of
    index, inside the lower part of its widened band; returns it and the texts the encoder reads."""
    from codemode.scanner.classifier import Classifier

    classifier = Classifier.from_directory()
    assert classifier.encoder is not None and classifier.low < classifier.free_low
    low, top = classifier.low, classifier.free_low
    texts = [f"Note {k}: please look at the attached order and reply." for k in range(n)]
    scores = np.linspace(top - 1e-3, low, n).astype(np.float32)
    monkeypatch.setattr(classifier, "raw_scores", lambda batch: scores[: len(batch)])
    read: list[str] = []
    original = classifier.encoder.windows

    def spy(batch: list[str]):  # type: ignore[no-untyped-def]
        read.extend(batch)
        return original(batch)

    monkeypatch.setattr(classifier.encoder, "windows", spy)
    return classifier, texts, read


def test_a_document_of_many_lower_band_texts_costs_at_most_the_allowance(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    classifier, texts, read = _lower_band(monkeypatch, 60)
    left = _Left(4)
    classifier.scores(texts, left)
    assert read == texts[:4]  # one window each, the most suspect first, then the allowance ends
    assert left.windows == 0
    read.clear()
    classifier.scores(texts)  # no allowance: every text is read
    assert read == texts


def test_a_spent_allowance_leaves_the_narrow_band_and_the_n_gram_verdicts_alone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    classifier, texts, read = _lower_band(monkeypatch, 3)
    spent = classifier.scores(texts, _Left(0))
    assert read == [] and all(score < 0.5 for score in spent)  # under the cut, as the n-gram says

"""The cascade's band widened for unseen text: the head's own cut, as low as the budget allows."""

from __future__ import annotations

import numpy as np
import pytest
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
    wide, info = pick(ph, pe, rows, rows, labels, covered=covered, band_budget=0.2, gate_cut=None)
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
    wide, info = pick(
        ph, pe, rows, rows, labels, covered=covered, band_budget=budget, gate_cut=None
    )
    if wide.low == base.low and wide.high == base.high and wide.cut == base.cut:
        return  # no band fitted the budget: the narrow choice stands
    band = (ph >= wide.low) & (ph < wide.high)
    assert band.mean() <= budget + 1e-9
    assert info["fpr"] <= 0.02
    assert wide.cut == wide.novel_cut


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), novel=st.integers(0, 40))
def test_the_novel_band_cut_is_the_heads_own_safe_cut_on_the_same_band(
    seed: int, novel: int
) -> None:
    ph, pe, labels, covered = _units(seed, novel)
    rows = np.arange(len(labels))
    validation, _ = pick(
        ph, pe, rows, rows, labels, covered=covered, band_cut="validation", gate_cut=None
    )
    novel_cut, info = pick(
        ph, pe, rows, rows, labels, covered=covered, band_cut="novel", gate_cut=None
    )
    assert (novel_cut.low, novel_cut.high) == (validation.low, validation.high)
    assert novel_cut.cut == novel_cut.novel_cut == validation.novel_cut
    gated, _ = pick(ph, pe, rows, rows, labels, covered=covered, band_cut="novel", gate_cut=0.7)
    assert (gated.low, gated.high, gated.cut) == (novel_cut.low, novel_cut.high, novel_cut.cut)
    assert gated.novel_cut == 0.7  # the gate's own cut; the band keeps the safe one
    if info["head_alone_within_budget"]:  # the head alone stays within the false-positive limit
        assert float((pe[~labels] >= novel_cut.cut).mean()) <= 0.02
    flags = novel_cut.flag(ph, pe, covered)
    assert info["f1_with_gate"] == pytest.approx(_f1_of(flags, labels), abs=1e-4)


def test_an_unknown_band_cut_is_refused() -> None:
    ph, pe, labels, covered = _units(3, 5)
    rows = np.arange(len(labels))
    with pytest.raises(ValueError, match="band_cut"):
        pick(ph, pe, rows, rows, labels, covered=covered, band_cut="strict")


def _f1_of(flags: np.ndarray, labels: np.ndarray) -> float:
    tp = float((flags & labels).sum())
    fp = float((flags & ~labels).sum())
    fn = float((~flags & labels).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

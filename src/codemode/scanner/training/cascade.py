"""Train and tune the tier-2 cascade: the n-gram model decides the clear units, the encoder the rest.

Used by ``tools/train_scanner.py`` (the shipped model) and ``codemode bench scan`` (one retrain per
held-out family), so both follow one recipe:

1. ``embed(corpus, encoder)``: every unit's encoder windows, embedded once (the encoder is frozen
   and never sees a label, so one embedding serves every fold); cached on disk by content hash.
2. ``fit_head``: a logistic-regression head on the windows of the units the n-gram model trained on
   (its multiple-instance choice of positive units included).
3. ``pick``: on a validation split that holds no row of the evaluated family, the band
   ``[low, high)`` of n-gram probabilities sent to the encoder and the encoder's cut, for the best
   F1 with at most ``max_fpr`` false positives and at most ``max_band`` of the units in the band.

A unit is flagged when its n-gram probability is at least ``high``, or it is in the band and the
head's probability reaches ``cut``. A row is flagged when one of its units is.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoder import Encoder, Head
from .train import SOURCE_CAP, Corpus, TrainedModel

__all__ = [
    "Cascade",
    "Embedded",
    "embed",
    "fit_head",
    "foreign_units",
    "hashed_units",
    "pick",
    "rows_flagged",
]

HEAD_C = 4.0


@dataclass(frozen=True)
class Embedded:
    """Window embeddings of a corpus's units: ``window_unit[k]`` is the unit of ``vectors[k]``."""

    window_unit: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Cascade:
    """The band of n-gram probabilities sent to the encoder, and the encoder head's cut."""

    low: float
    high: float
    cut: float
    foreign_low: float = 1.0  # foreign-script units from this n-gram probability up ...
    foreign_cut: float = 1.0  # ... go to the encoder too, flagged at this head probability

    def flag(
        self,
        p_hashed: npt.NDArray[np.float64],
        p_encoder: npt.NDArray[np.float64],
        foreign: npt.NDArray[np.bool_] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Flag each unit from its two probabilities (and whether it is in a foreign script)."""
        band = (p_hashed >= self.low) & (p_hashed < self.high)
        result: npt.NDArray[np.bool_] = (p_hashed >= self.high) | (band & (p_encoder >= self.cut))
        if foreign is not None:
            gate = foreign & ~band & (p_hashed >= self.foreign_low) & (p_hashed < self.high)
            result = result | (gate & (p_encoder >= self.foreign_cut))
        return result

    def as_dict(self) -> dict[str, float]:
        """The cascade's settings as stored in ``scanner.json``."""
        return {
            "low": self.low,
            "high": self.high,
            "cut": self.cut,
            "foreign_low": self.foreign_low,
            "foreign_cut": self.foreign_cut,
        }


def embed(corpus: Corpus, encoder: Encoder, cache: Path | None = None) -> Embedded:
    """Embed every unit's windows, reusing the windows of texts already in ``cache``.

    The cache (``embeddings-<encoder fingerprint>.npz``) maps each unit text's SHA-1 to its window embeddings, so a
    changed corpus only embeds its new texts.
    """
    texts = corpus.texts or []
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, npt.NDArray[np.float32]] = {}
    path = None if cache is None else cache / f"embeddings-{encoder.fingerprint}.npz"
    if path is not None and path.is_file():
        data = np.load(path)
        stored_keys, starts, vectors = data["keys"], data["starts"], data["vectors"]
        for k, key in enumerate(stored_keys):
            known[str(key)] = vectors[starts[k] : starts[k + 1]]
    missing = sorted({i for i, key in enumerate(keys) if key not in known}, key=keys.__getitem__)
    todo = list(dict.fromkeys(keys[i] for i in missing))
    first = {keys[i]: i for i in reversed(missing)}
    owners, pieces = encoder.windows([texts[first[key]] for key in todo])
    fresh = encoder.embed_windows(pieces)
    for n, key in enumerate(todo):
        known[key] = fresh[np.asarray(owners) == n]
    window_unit = np.concatenate(
        [np.full(len(known[key]), u, dtype=np.int64) for u, key in enumerate(keys)]
    )
    result = Embedded(window_unit, np.concatenate([known[key] for key in keys]))
    if path is not None and todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        order = list(known)
        lengths = np.array([len(known[k]) for k in order], dtype=np.int64)
        np.savez(
            path,
            keys=np.array(order),
            starts=np.concatenate(([0], np.cumsum(lengths))),
            vectors=np.concatenate([known[k] for k in order]),
        )
    return result


def hashed_units(model: TrainedModel, corpus: Corpus) -> npt.NDArray[np.float64]:
    """Return the n-gram model's probability of every unit of the corpus."""
    logits = (
        corpus.matrix(np.arange(len(corpus.indices))) @ model.weights.astype(np.float64)
        + model.bias
    )
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits))
    return result


def encoder_units(embedded: Embedded, head: Head, n_units: int) -> npt.NDArray[np.float64]:
    """Return the head's probability of every unit (its worst window)."""
    result = np.zeros(n_units, dtype=np.float64)
    np.maximum.at(result, embedded.window_unit, head(embedded.vectors))
    return result


def fit_head(corpus: Corpus, embedded: Embedded, model: TrainedModel, *, c: float = HEAD_C) -> Head:
    """Train the head on the windows of the units ``model`` trained on, with the same labels."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,import-not-found,unused-ignore]

    assert model.units is not None, "fit_head needs a model from train.fit"
    label_of_unit = np.full(len(corpus.indices), -1, dtype=np.int64)
    negatives = len(model.units) - model.positives
    label_of_unit[model.units[:negatives]] = 0
    label_of_unit[model.units[negatives:]] = 1
    window_label = label_of_unit[embedded.window_unit]
    picked = np.flatnonzero(window_label >= 0)
    y = window_label[picked]
    sources = [str(corpus.rows[corpus.unit_row[u]]["source"]) for u in embedded.window_unit[picked]]
    counts = Counter(sources)
    w = np.array([min(1.0, SOURCE_CAP / counts[s]) for s in sources], dtype=np.float64)
    for label in (0, 1):
        mask = y == label
        w[mask] *= 0.5 * w.sum() / w[mask].sum()
    head = LogisticRegression(C=c, max_iter=400)
    head.fit(embedded.vectors[picked], y, sample_weight=w / w.mean())
    return Head([float(x) for x in head.coef_.reshape(-1)], float(head.intercept_[0]))


def rows_flagged(
    unit_flags: npt.NDArray[np.bool_], unit_row: npt.NDArray[np.int64], n_rows: int
) -> npt.NDArray[np.bool_]:
    """A row is flagged when one of its units is."""
    out = np.zeros(n_rows, dtype=bool)
    out[unit_row[unit_flags]] = True
    return out


def _f1(flagged: npt.NDArray[np.bool_], labels: npt.NDArray[np.bool_]) -> tuple[float, float]:
    tp = int((flagged & labels).sum())
    fp = int((flagged & ~labels).sum())
    fn = int((~flagged & labels).sum())
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    return f1, fp / max(1, int((~labels).sum()))


def foreign_units(corpus: Corpus) -> npt.NDArray[np.bool_]:
    """Which units are in a foreign script (``encoder.foreign_share``)."""
    from ..encoder import FOREIGN_SHARE, foreign_share

    return np.array([foreign_share(t) >= FOREIGN_SHARE for t in corpus.texts or []], dtype=bool)


def pick(
    p_hashed: npt.NDArray[np.float64],
    p_encoder: npt.NDArray[np.float64],
    unit_row: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    labels: npt.NDArray[np.bool_],
    *,
    max_fpr: float = 0.02,
    max_band: float = 0.35,
    foreign: npt.NDArray[np.bool_] | None = None,
) -> tuple[Cascade, dict[str, Any]]:
    """Choose the cascade on the validation ``rows`` (indices into the corpus rows).

    ``labels`` is the label of every corpus row; only the units of ``rows`` are read.
    """
    wanted = np.zeros(len(labels), dtype=bool)
    wanted[rows] = True
    units = np.flatnonzero(wanted[unit_row])
    # Renumber the validation rows 0..n-1 so flags aggregate into a small array.
    position = np.full(len(labels), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    u_row = position[unit_row[units]]
    ph, pe, y = p_hashed[units], p_encoder[units], labels[rows]
    best = (Cascade(0.5, 0.5, 0.5), {"f1": -1.0})
    for low in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3):
        for high in np.arange(0.40, 0.995, 0.03):
            if high <= low:
                continue
            band = (ph >= low) & (ph < high)
            share = float(band.mean()) if len(band) else 0.0
            if share > max_band:
                continue
            for cut in np.arange(0.30, 0.991, 0.03):
                c = Cascade(float(low), round(float(high), 3), round(float(cut), 3))
                flags = rows_flagged(c.flag(ph, pe), u_row, len(rows))
                f1, fpr = _f1(flags, y)
                if fpr <= max_fpr and f1 > best[1]["f1"]:
                    best = (c, {"f1": round(f1, 4), "fpr": round(fpr, 4), "band": round(share, 4)})
    if foreign is None:
        return best
    # Then the foreign-script gate, with the band and cut fixed: the most lenient settings that
    # keep the validation F1 and false positives (the validation rows' scripts are all seen, so
    # the gate can only be chosen not to hurt; what it gains shows on held-out scripts).
    fu = foreign[units]
    base, info = best
    lenient = -1
    for f_low in (0.3, 0.1, 0.05, 0.02):
        for f_cut in (0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7):
            c = Cascade(base.low, base.high, base.cut, f_low, f_cut)
            unit_flags = c.flag(ph, pe, fu)
            flags = rows_flagged(unit_flags, u_row, len(rows))
            f1, fpr = _f1(flags, y)
            keeps = fpr <= max(max_fpr, info["fpr"]) and f1 >= info["f1"] - 0.002
            if keeps and int(unit_flags.sum()) > lenient:
                lenient = int(unit_flags.sum())
                gate = {"f1_with_gate": round(f1, 4), "fpr_with_gate": round(fpr, 4)}
                best = (c, {**info, **gate})
    return best

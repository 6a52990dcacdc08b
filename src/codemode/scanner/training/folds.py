"""Leave-one-family-out evaluation of the tier-2 cascade (needs the ``train`` extra).

Families: each generated intent, framing, language and domain (``families.py``; a domain fold
holds out that domain's injections and benign rows together), and each source family
of the shared corpus (``train.FAMILIES``). For every fold, *nothing* that is fitted or tuned sees
the held-out family:

- the n-gram model and the encoder head are retrained without it;
- the cascade (band and cut) is chosen on a validation split (one row in five, by hash) of the
  remaining rows, never on the rows reported;
- the frozen encoder never saw a label; its embeddings are shared by every fold.

Held out: the family's rows, plus, for intent and framing folds (whose benign rows have no
intent or framing), a fixed fifth of the generated benign rows that no fold trains on.

Three figures per fold: ``model`` (the cascade alone: the clean held-out figure), ``rules``
(tier-1 patterns alone; they were written by hand with every family in view, so they are reported
apart and never pooled into the held-out figure) and ``combined`` (flagged by a strong rule or by
the model: what the shipped scanner does, for reference only); and ``model_earlier_rows``, the
model on the fold's rows that come from neither later generator part (``part``: the domain pass
and the weak-language frames), so a fold can be compared with runs made before those parts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoder import Encoder
from ..normalize import views
from ..patterns import match_views
from .cascade import (
    WIDE_BAND,
    Embedded,
    covered_units,
    embed,
    encoder_units,
    fit_head,
    hashed_units,
    pick,
    rows_flagged,
    seen_words,
    word_buckets_of,
)
from .families import DOMAIN_NAMES, FOLD_FRAMINGS, INTENTS, LANGUAGES
from .train import FAMILIES, Corpus, build_corpus, fit

__all__ = ["Prepared", "evaluate", "prepare", "split_of"]


def split_of(text: str) -> int:
    """A stable bucket 0..4 of a text: 0 is validation, 1 is the held-out benign test fifth."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 5


@dataclass
class Prepared:
    """Everything computed once for all folds."""

    rows: list[dict[str, Any]]
    corpus: Corpus
    embedded: Embedded
    labels: npt.NDArray[np.bool_]
    strong: npt.NDArray[np.bool_]  # a strong tier-1 rule flags the row
    bucket: npt.NDArray[np.int64]
    generated: npt.NDArray[np.bool_]
    earlier: npt.NDArray[np.bool_]  # not from a later generator part (``part``: domain, weak)


def prepare(rows: list[dict[str, Any]], encoder: Encoder, cache: Path | None) -> Prepared:
    """Featurise, embed and run the rules on every row once."""
    corpus = build_corpus(rows)
    embedded = embed(corpus, encoder, cache)
    strong = np.array(
        [any(m.weight >= 0.5 for m in match_views(views(r["text"]))) for r in rows], dtype=bool
    )
    return Prepared(
        rows,
        corpus,
        embedded,
        np.array([bool(r["label"]) for r in rows]),
        strong,
        np.array([split_of(r["text"]) for r in rows], dtype=np.int64),
        np.array([str(r["source"]).startswith("gen-") for r in rows]),
        np.array(["part" not in r for r in rows]),
    )


def _metrics(flagged: npt.NDArray[np.bool_], labels: npt.NDArray[np.bool_]) -> dict[str, Any]:
    tp = int((flagged & labels).sum())
    fp = int((flagged & ~labels).sum())
    fn = int((~flagged & labels).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    negatives = int((~labels).sum())
    return {
        "items": len(labels),
        "injections": int(labels.sum()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "fpr": round(fp / negatives, 4) if negatives else None,
    }


def _folds(prep: Prepared) -> list[tuple[str, str, npt.NDArray[np.bool_]]]:
    """(kind, name, rows of the family) for every fold."""
    rows = prep.rows
    out: list[tuple[str, str, npt.NDArray[np.bool_]]] = []
    for kind, names in (
        ("intent", INTENTS),
        ("framing", FOLD_FRAMINGS),
        ("language", sorted(LANGUAGES)),
        ("domain", DOMAIN_NAMES),
    ):
        key = "lang" if kind == "language" else kind
        for name in names:
            # A language fold also takes the older synthetic rows of that language.
            member = np.array([r.get(key) == name for r in rows])
            out.append((kind, name, member))
    for family in sorted(set(FAMILIES.values())):
        member = np.array([FAMILIES.get(str(r["source"])) == family for r in rows])
        out.append(("source", family, member))
    return out


def evaluate(
    prep: Prepared,
    *,
    kinds: Sequence[str] = ("intent", "framing", "language", "source", "domain"),
    max_fpr: float = 0.02,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every fold of ``kinds``; return per-fold and pooled figures for model, rules, combined."""
    corpus, labels = prep.corpus, prep.labels
    n_rows, n_units = len(prep.rows), len(corpus.indices)
    benign_test = prep.generated & ~labels & (prep.bucket == 1)
    result: dict[str, Any] = {}
    words = word_buckets_of(corpus)
    for kind, name, member in _folds(prep):
        if kind not in kinds or not member.any():
            continue
        started = time.perf_counter()
        test = member | (benign_test if kind in ("intent", "framing") else False)
        usable = ~test & ~benign_test
        train = usable & (prep.bucket != 0)
        validation = np.flatnonzero(usable & (prep.bucket == 0))
        model = fit(corpus, train)
        head = fit_head(corpus, prep.embedded, model)
        p_h = hashed_units(model, corpus)
        p_e = encoder_units(prep.embedded, head, n_units)
        assert model.units is not None
        covered = covered_units(words, seen_words(words, model.units), corpus.texts or [])
        cascade, tuned = pick(
            p_h,
            p_e,
            corpus.unit_row,
            validation,
            labels,
            max_fpr=max_fpr,
            covered=covered,
            band_budget=WIDE_BAND,
        )
        flagged = rows_flagged(cascade.flag(p_h, p_e, covered), corpus.unit_row, n_rows)
        rows = np.flatnonzero(test)
        y = labels[rows]
        read = cascade.to_encoder(p_h, covered)
        earlier = prep.earlier[rows]
        figures = {
            "model": _metrics(flagged[rows], y),
            "model_earlier_rows": _metrics(flagged[rows][earlier], y[earlier]),
            "rules": _metrics(prep.strong[rows], y),
            "combined": _metrics(flagged[rows] | prep.strong[rows], y),
            "cascade": cascade.as_dict(),
            "validation": tuned,
            "encoder_share_test": round(float(read[test[corpus.unit_row]].mean()), 4),
            "test_rows": rows.tolist(),
            "flagged": flagged[rows].tolist(),
        }
        result.setdefault(kind, {})[name] = figures
        log(
            f"  {kind}={name}: model F1 {figures['model']['f1']:.3f} "
            f"R {figures['model']['recall']:.3f} FP {figures['model']['fpr']} | rules F1 "
            f"{figures['rules']['f1']:.3f} | combined F1 {figures['combined']['f1']:.3f} "
            f"({time.perf_counter() - started:.0f}s)"
        )
    for kind, folds in result.items():
        pooled = {}
        for part in ("model", "rules", "combined", "model_earlier_rows"):
            flags: list[bool] = []
            ys: list[bool] = []
            for figures in folds.values():
                rows = np.asarray(figures["test_rows"], dtype=np.int64)
                own = np.asarray(figures["flagged"], dtype=bool)
                if part == "rules":
                    own = prep.strong[rows]
                elif part == "combined":
                    own = own | prep.strong[rows]
                elif part == "model_earlier_rows":
                    own, rows = own[prep.earlier[rows]], rows[prep.earlier[rows]]
                flags.extend(own.tolist())
                ys.extend(labels[rows].tolist())
            pooled[part] = _metrics(np.asarray(flags, dtype=bool), np.asarray(ys, dtype=bool))
        folds_min = {
            "f1": min(f["model"]["f1"] for f in folds.values()),
            "recall": min(f["model"]["recall"] for f in folds.values()),
        }
        for figures in folds.values():
            figures.pop("test_rows")
            figures.pop("flagged")
        result[kind] = {"folds": folds, "pooled": pooled, "worst_fold": folds_min}
    return result

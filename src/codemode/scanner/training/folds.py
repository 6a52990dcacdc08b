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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..classifier import Classifier
from ..encoder import Encoder, Head
from ..normalize import views
from ..patterns import match_views
from .cascade import (
    BAND_CUT,
    EXIT_BUDGET,
    WIDE_BAND,
    Cascade,
    Embedded,
    Exit,
    covered_units,
    embed,
    encoder_units,
    exit_units,
    fit_head,
    hashed_units,
    pick,
    pick_exit,
    rows_flagged,
    seen_words,
    word_buckets_of,
)
from .families import DOMAIN_NAMES, FOLD_FRAMINGS, INTENTS, LANGUAGES
from .train import DEFAULT_C, FAMILIES, Corpus, TrainedModel, build_corpus, fit

__all__ = [
    "Prepared",
    "Shipped",
    "evaluate",
    "evaluate_variants",
    "fit_shipped",
    "prepare",
    "split_of",
]


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
    lower: Embedded | None = None  # the same windows through the encoder's lower slice alone


def prepare(
    rows: list[dict[str, Any]],
    encoder: Encoder,
    cache: Path | None,
    *,
    lower: bool | None = None,
) -> Prepared:
    """Featurise, embed and run the rules on every row once; with ``lower`` (default: when the
    encoder has slices and ``EXIT_BUDGET`` is set) also embed with the lower slice alone."""
    corpus = build_corpus(rows)
    embedded = embed(corpus, encoder, cache)
    if lower is None:
        lower = encoder.split and EXIT_BUDGET is not None
    lower_embedded = embed(corpus, encoder, cache, depth="lower") if lower else None
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
        lower_embedded,
    )


@dataclass
class Shipped:
    """The cascade ``tools/train_scanner.py`` ships: the n-gram model (its ``threshold`` is the
    band's top), the head, the cascade, its validation figures and the words it trained on; and
    with an early exit, the head on the lower slice and the exit's cuts."""

    model: TrainedModel
    head: Head
    cascade: Cascade
    tuned: dict[str, Any]
    seen: npt.NDArray[np.bool_]
    lower_head: Head | None = None
    exit: Exit | None = None

    def exit_dict(self) -> dict[str, Any] | None:
        """The exit as stored in ``scanner.json`` (its cuts and the lower head), or None."""
        if self.exit is None or self.lower_head is None:
            return None
        return {**self.exit.as_dict(), "head": self.lower_head.as_dict()}

    def classifier(self, encoder: Encoder) -> Classifier:
        """The shipped ``Classifier``, in memory (``model.info`` records the head and cascade)."""
        self.model.info.update({"cascade": self.cascade.as_dict(), "head": self.head.as_dict()})
        exit_ = self.exit_dict()
        if exit_ is not None:
            self.model.info["exit"] = exit_
        classifier = self.model.classifier()
        classifier.attach(encoder, np.packbits(self.seen).tobytes())
        return classifier


def fit_shipped(
    prep: Prepared,
    *,
    seed: int = 7,
    c: float = DEFAULT_C,
    max_fpr: float = 0.02,
    head_options: Mapping[str, Any] | None = None,
    model: TrainedModel | None = None,
) -> Shipped:
    """Train the n-gram model (or reuse ``model``, fitted the same way) and the head on four
    fifths of the rows and choose the cascade on the fifth left (``split_of`` bucket 0); with
    ``prep.lower`` and an exit budget (``head_options["exit_budget"]``, default ``EXIT_BUDGET``),
    also the lower slice's head and the exit's cuts (``pick_exit``) on the same fifth."""
    train = prep.bucket != 0
    validation = np.flatnonzero(prep.bucket == 0)
    if model is None:
        model = fit(prep.corpus, train, seed=seed, c=c)
    options = dict(head_options or {})
    band_cut = options.pop("band_cut", BAND_CUT)
    exit_budget = options.pop("exit_budget", EXIT_BUDGET)
    head = fit_head(prep.corpus, prep.embedded, model, **options)
    p_h = hashed_units(model, prep.corpus)
    p_e = encoder_units(prep.embedded, head, len(prep.corpus.indices))
    assert model.units is not None
    words = word_buckets_of(prep.corpus)
    seen = seen_words(words, model.units)
    cascade, tuned = pick(
        p_h,
        p_e,
        prep.corpus.unit_row,
        validation,
        prep.labels,
        max_fpr=max_fpr,
        covered=covered_units(words, seen, prep.corpus.texts or []),
        band_budget=WIDE_BAND,
        band_cut=band_cut,
    )
    model.threshold = cascade.high
    shipped = Shipped(model, head, cascade, tuned, seen)
    if prep.lower is not None and exit_budget is not None:
        shipped.lower_head = fit_head(prep.corpus, prep.lower, model, **options)
        shipped.exit, exit_info = pick_exit(
            shipped.lower_head(prep.lower.vectors),
            head(prep.embedded.vectors),
            prep.embedded.window_unit,
            prep.corpus.unit_row,
            validation,
            prep.labels,
            cascade,
            budget=exit_budget,
        )
        tuned["exit"] = exit_info
    return shipped


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
    return evaluate_variants(prep, {"": {}}, kinds=kinds, max_fpr=max_fpr, log=log)[""]


def evaluate_variants(
    prep: Prepared,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    kinds: Sequence[str] = ("intent", "framing", "language", "source", "domain"),
    names: Collection[str] | None = None,
    max_fpr: float = 0.02,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """``evaluate`` for several heads at once: ``variants`` maps a name to ``fit_head``'s keyword
    arguments (and ``band_cut``, which goes to ``pick``). Each fold's n-gram model is fitted once
    and shared by every variant (it does not depend on the head); ``names`` keeps only the folds
    of those family names."""
    corpus, labels = prep.corpus, prep.labels
    n_rows, n_units = len(prep.rows), len(corpus.indices)
    benign_test = prep.generated & ~labels & (prep.bucket == 1)
    results: dict[str, dict[str, Any]] = {variant: {} for variant in variants}
    words = word_buckets_of(corpus)
    for kind, name, member in _folds(prep):
        if kind not in kinds or not member.any() or (names is not None and name not in names):
            continue
        started = time.perf_counter()
        test = member | (benign_test if kind in ("intent", "framing") else False)
        usable = ~test & ~benign_test
        train = usable & (prep.bucket != 0)
        validation = np.flatnonzero(usable & (prep.bucket == 0))
        model = fit(corpus, train)
        p_h = hashed_units(model, corpus)
        assert model.units is not None
        covered = covered_units(words, seen_words(words, model.units), corpus.texts or [])
        rows = np.flatnonzero(test)
        y = labels[rows]
        earlier = prep.earlier[rows]
        for variant, options in variants.items():
            head_options = {
                k: v for k, v in options.items() if k not in ("band_cut", "exit_budget")
            }
            head = fit_head(corpus, prep.embedded, model, **head_options)
            p_e = encoder_units(prep.embedded, head, n_units)
            cascade, tuned = pick(
                p_h,
                p_e,
                corpus.unit_row,
                validation,
                labels,
                max_fpr=max_fpr,
                covered=covered,
                band_budget=WIDE_BAND,
                band_cut=options.get("band_cut", BAND_CUT),
            )
            flagged = rows_flagged(cascade.flag(p_h, p_e, covered), corpus.unit_row, n_rows)
            read = cascade.to_encoder(p_h, covered)
            exit_budget = options.get("exit_budget", EXIT_BUDGET)
            extra: dict[str, Any] = {}
            if prep.lower is not None and exit_budget is not None:
                # The same fold with the early exit; ``model_no_exit`` keeps the figures without.
                lower_head = fit_head(corpus, prep.lower, model, **head_options)
                p_lower = lower_head(prep.lower.vectors)
                exit_, exit_info = pick_exit(
                    p_lower,
                    head(prep.embedded.vectors),
                    prep.embedded.window_unit,
                    corpus.unit_row,
                    validation,
                    labels,
                    cascade,
                    budget=exit_budget,
                )
                p_exit = exit_units(prep.embedded, prep.lower, head, lower_head, exit_, n_units)
                whole = flagged
                flagged = rows_flagged(cascade.flag(p_h, p_exit, covered), corpus.unit_row, n_rows)
                test_read = read & test[corpus.unit_row]
                windows = test_read[prep.embedded.window_unit]
                extra = {
                    "model_no_exit": _metrics(whole[rows], y),
                    "flagged_no_exit": whole[rows].tolist(),
                    "exit": {**exit_.as_dict(), **exit_info},
                    "continued_share_test": round(
                        float(exit_.continues(p_lower[windows]).mean()) if windows.any() else 0.0,
                        4,
                    ),
                }
            figures = {
                **extra,
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
            results[variant].setdefault(kind, {})[name] = figures
            log(
                f"  {variant + ' ' if variant else ''}{kind}={name}: model F1 "
                f"{figures['model']['f1']:.3f} R {figures['model']['recall']:.3f} FP "
                f"{figures['model']['fpr']} | rules F1 {figures['rules']['f1']:.3f} | combined F1 "
                f"{figures['combined']['f1']:.3f} ({time.perf_counter() - started:.0f}s)"
            )
    return {variant: _pool(prep, result) for variant, result in results.items()}


def _pool(prep: Prepared, result: dict[str, Any]) -> dict[str, Any]:
    """Add each kind's pooled figures and worst fold; drop the per-row lists."""
    labels = prep.labels
    for kind, folds in result.items():
        pooled = {}
        parts = ["model", "rules", "combined", "model_earlier_rows"]
        if all("flagged_no_exit" in f for f in folds.values()):
            parts.append("model_no_exit")
        for part in parts:
            flags: list[bool] = []
            ys: list[bool] = []
            for figures in folds.values():
                rows = np.asarray(figures["test_rows"], dtype=np.int64)
                own = np.asarray(figures["flagged"], dtype=bool)
                if part == "model_no_exit":
                    own = np.asarray(figures["flagged_no_exit"], dtype=bool)
                elif part == "rules":
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
            figures.pop("flagged_no_exit", None)
        result[kind] = {"folds": folds, "pooled": pooled, "worst_fold": folds_min}
    return result

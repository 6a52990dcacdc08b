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
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoder import _BATCH, Depth, Encoder, Head
from ..features import WORD_BITS, long_enough, word_buckets
from .train import SOURCE_CAP, Corpus, TrainedModel

# The share of validation units a widened band may send to the encoder (``pick(band_budget=)``),
# or None: the narrow band. Off: at 0.10 the band reached down to n-gram scores of 0.10, where
# long ordinary texts sit too, and every window of such a text went through the encoder (a note of
# sixty encoded order confirmations: 5 ms of scanning became 2.3 s). Round 4 of
# benchmarks/scan.md has its figures. Round 5 bounded the part below the narrow band by a per-scan
# allowance of encoder windows and measured it again: most of its gain came from the head's cut
# (0.90 instead of 0.99) in the narrow band, which ``BAND_CUT`` now gives without a wider band,
# and the part below added more false positives than catches on every leave-one-out family.
WIDE_BAND: float | None = None
# How the band's cut is chosen (``pick(band_cut=)``): "validation", the best F1 on the validation
# fifth (which comes from the families the n-gram model trained on, where the n-gram model is so
# often right that the head's cut lands at its strictest, 0.99); "novel", the head's own
# false-positive-safe cut (``novel_cut``: the head alone keeps validation false positives within
# ``max_fpr``), with the band still chosen on validation. Round 5 of benchmarks/scan.md measures
# both on every leave-one-out fold.
BAND_CUT = "novel"
# The head's cut for units of words the n-gram model never saw (the novelty gate), or None: the
# same false-positive-safe cut as the band's. The validation fifth holds almost no such unit (0.5%),
# so it cannot place this cut; the leave-one-language-out folds can, since there every unit of
# the held-out language is new to its n-gram model. Pooled over those 32 folds (round 5 of
# benchmarks/scan.md), the gated rows' recall / false positives were 0.60 / 1.7% at 0.9, 0.70 /
# 3.7% at 0.8, 0.77 / 5.5% at 0.7 and 0.81 / 7.4% at 0.6, the family's F1 best at 0.7. Chosen on
# those folds, so their language figures are optimistic; the outsider sets check it.
GATE_CUT: float | None = 0.7
# The early exit (``pick_exit``): the share of the validation units' verdicts (injections the whole
# model's head flags, benign units it clears) that the head on the lower slice may change by
# deciding alone, or None: no exit, every encoded window runs through all the layers. At 0.005
# 56% of the validation windows the cascade encodes still ran the upper slice and the outsider
# sets' p95 fell 1-16%; at 0.02 (the cascade's own false-positive budget) 23% do, p95 fell 18-37%,
# and the 32 language folds gained F1 (0.821 -> 0.843) and recall (0.870 -> 0.920) for 0.7
# points of false positives (round 7 of benchmarks/scan.md).
EXIT_BUDGET: float | None = 0.02

__all__ = [
    "BAND_CUT",
    "EXIT_BUDGET",
    "GATE_CUT",
    "WIDE_BAND",
    "Cascade",
    "Embedded",
    "Exit",
    "covered_units",
    "embed",
    "encoder_units",
    "exit_units",
    "fit_head",
    "hashed_units",
    "language_subspace",
    "pick",
    "pick_exit",
    "rows_flagged",
    "seen_words",
    "word_buckets_of",
]

# Weaker regularisation than the first head's 4: measured on four leave-one-out folds (polite,
# create_discount, de, vi), 64 adds 0.01 to 0.06 F1 to each; a standardised head or one hidden
# layer of 64 units did no better.
HEAD_C = 64.0
# The novelty gate's share of seen words. Measured on the shared dev set against the training
# words, 99% of units have at least 0.8 of their words seen; a held-out language's units have a
# median of 0.17 (0.36 for German, next to Dutch and Swedish), 0.5 at the 90th percentile.
NOVEL_COVER = 0.6
# The head's language handling (``fit_head``): directions of language identity projected out, and
# the most extra weight a small generated language gets. Off: on all 61 folds LDA with 16 or 24
# directions met targets on 31 or 34 splits (29 without), but the pooled framing F1 fell 0.014 or
# 0.005 (held-out polite); the means and INLP subspaces lost on most weak languages (scan.md,
# "A language-neutral encoder head").
LANGUAGE_DIMS = 0
LANGUAGE_LIFT = 1.0
# How the language directions are found (``language_subspace``: "means", "lda" or "inlp").
LANGUAGE_METHOD = "means"
_LDA_SHRINK = 0.1
_INLP_ROWS = 400
_INLP_STEP = 8
# How often ``embed`` writes what it has embedded so far to the cache.
SAVE_EVERY_S = 300.0


@dataclass(frozen=True)
class Embedded:
    """Window embeddings of a corpus's units: ``window_unit[k]`` is the unit of ``vectors[k]``."""

    window_unit: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Cascade:
    """The band of n-gram probabilities sent to the encoder, the head's cut, and the novelty gate.

    A unit goes to the encoder when its n-gram probability is in ``[low, high)`` (the n-gram model
    is unsure) or when fewer than ``cover`` of its words were in the n-gram model's training text
    (the model has little evidence either way: an unseen language or vocabulary); the head decides
    the first at ``cut`` and the second at ``novel_cut``.
    """

    low: float
    high: float
    cut: float
    cover: float = 0.0  # units with a smaller share of seen words ...
    novel_cut: float = 1.0  # ... go to the encoder too, flagged at this head probability

    def flag(
        self,
        p_hashed: npt.NDArray[np.float64],
        p_encoder: npt.NDArray[np.float64],
        covered: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Flag each unit from its two probabilities (and the share of its words seen)."""
        band = (p_hashed >= self.low) & (p_hashed < self.high)
        result: npt.NDArray[np.bool_] = (p_hashed >= self.high) | (band & (p_encoder >= self.cut))
        if covered is not None:
            gate = (covered < self.cover) & ~band & (p_hashed < self.high)
            result = result | (gate & (p_encoder >= self.novel_cut))
        return result

    def to_encoder(
        self, p_hashed: npt.NDArray[np.float64], covered: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Which units the encoder reads."""
        result: npt.NDArray[np.bool_] = (p_hashed < self.high) & (
            (p_hashed >= self.low) | (covered < self.cover)
        )
        return result

    def as_dict(self) -> dict[str, float]:
        """The cascade's settings as stored in ``scanner.json``."""
        return {
            "low": self.low,
            "high": self.high,
            "cut": self.cut,
            "cover": self.cover,
            "novel_cut": self.novel_cut,
        }


@dataclass(frozen=True)
class Exit:
    """The early exit: the head on the lower slice decides a window it scores below ``low``
    (clean) or at ``high`` or above (flagged); the windows in between continue through the upper
    slice to the whole model's head, which decides them as it would without the exit."""

    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        """The exit's cuts as stored in ``scanner.json`` (beside the lower head)."""
        return {"low": self.low, "high": self.high}

    def window_scores(
        self, p_lower: npt.NDArray[np.float64], p_full: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Each window's probability on the whole model's scale: 0 where the exit clears it, 1
        where it flags it, the whole model's head elsewhere."""
        result: npt.NDArray[np.float64] = np.where(
            p_lower < self.low, 0.0, np.where(p_lower >= self.high, 1.0, p_full)
        )
        return result

    def continues(self, p_lower: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which windows run the upper slice."""
        result: npt.NDArray[np.bool_] = (p_lower >= self.low) & (p_lower < self.high)
        return result


def cache_file(cache: Path, encoder: Encoder, depth: Depth = "full") -> Path:
    """The embedding cache of ``encoder`` (or of its lower slice) in the folder ``cache``."""
    if depth == "lower":
        if encoder.lower_fingerprint is None:
            raise ValueError("this encoder has no lower slice to cache")
        return cache / f"embeddings-lower-{encoder.lower_fingerprint}.npz"
    return cache / f"embeddings-{encoder.fingerprint}.npz"


def load_cache(path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """The window embeddings stored in ``path`` by text SHA-1 (empty when there is no file)."""
    known: dict[str, npt.NDArray[np.float32]] = {}
    if path.is_file():
        data = np.load(path)
        stored_keys, starts, vectors = data["keys"], data["starts"], data["vectors"]
        for k, key in enumerate(stored_keys):
            known[str(key)] = vectors[starts[k] : starts[k + 1]]
    return known


def save_cache(path: Path, known: dict[str, npt.NDArray[np.float32]]) -> None:
    """Write ``known`` to ``path`` atomically (a crash mid-write leaves the previous file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    order = list(known)
    lengths = np.array([len(known[k]) for k in order], dtype=np.int64)
    partial = path.with_name(path.name + ".partial.npz")  # np.savez keeps a .npz suffix
    np.savez(
        partial,
        keys=np.array(order),
        starts=np.concatenate(([0], np.cumsum(lengths))),
        vectors=(
            np.concatenate([known[k] for k in order])
            if order
            else np.zeros((0, 384), dtype=np.float32)
        ),
    )
    os.replace(partial, path)


def text_key(text: str) -> str:
    """The cache key of a unit text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def embed_missing(
    texts: Sequence[str],
    encoder: Encoder,
    known: dict[str, npt.NDArray[np.float32]],
    path: Path | None = None,
    *,
    save_every_s: float = SAVE_EVERY_S,
    log: Callable[[str], None] | None = None,
    depth: Depth = "full",
) -> int:
    """Embed the windows of the ``texts`` not in ``known`` into it; return how many texts were new.

    ``depth="lower"`` embeds with the encoder's lower slice alone (``Encoder.embed_windows``).

    The windows run in the encoder's own order (shortest first, batches of ``_BATCH``) in slices
    of whole batches, so the batches and the vectors are those of one ``embed_windows`` call;
    every ``save_every_s`` seconds the texts whose windows are all done are saved to ``path``, so
    a crash loses at most that much work.
    """
    keys = [text_key(t) for t in texts]
    todo = sorted(
        {key: i for i, key in reversed(list(enumerate(keys))) if key not in known}.items()
    )
    if not todo:
        return 0
    owners, pieces = encoder.windows([texts[i] for _, i in todo])
    owner = np.asarray(owners, dtype=np.int64)
    left = np.bincount(owner, minlength=len(todo))
    fresh = np.zeros((len(pieces), 384), dtype=np.float32)
    order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
    step = _BATCH * 64
    last = time.monotonic()
    for start in range(0, len(order), step):
        part = order[start : start + step]
        chosen = [pieces[k] for k in part]
        fresh[part] = (
            encoder.embed_windows(chosen)
            if depth == "full"
            else encoder.embed_windows(chosen, depth=depth)
        )
        np.subtract.at(left, owner[part], 1)
        done = start + len(part) == len(order)
        if done or (path is not None and time.monotonic() - last >= save_every_s):
            for n in np.flatnonzero(left == 0):
                key = todo[n][0]
                if key not in known:
                    known[key] = fresh[owner == n]
            if path is not None:
                save_cache(path, known)
            last = time.monotonic()
            if log is not None:
                log(f"embedded {start + len(part)} of {len(order)} windows")
    return len(todo)


def embed(
    corpus: Corpus,
    encoder: Encoder,
    cache: Path | None = None,
    *,
    save_every_s: float = SAVE_EVERY_S,
    depth: Depth = "full",
) -> Embedded:
    """Embed every unit's windows, reusing the windows of texts already in ``cache``.

    The cache (``embeddings-<encoder fingerprint>.npz``) maps each unit text's SHA-1 to its window
    embeddings, so a changed corpus only embeds its new texts; it is written as the embedding goes
    (``embed_missing``), so an interrupted run resumes where it was saved.
    """
    texts = corpus.texts or []
    path = None if cache is None else cache_file(cache, encoder, depth)
    known = {} if path is None else load_cache(path)
    embed_missing(texts, encoder, known, path, save_every_s=save_every_s, depth=depth)
    keys = [text_key(t) for t in texts]
    window_unit = np.concatenate(
        [np.full(len(known[key]), u, dtype=np.int64) for u, key in enumerate(keys)]
    )
    return Embedded(window_unit, np.concatenate([known[key] for key in keys]))


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


def exit_units(
    embedded: Embedded,
    lower: Embedded,
    head: Head,
    lower_head: Head,
    exit_: Exit,
    n_units: int,
) -> npt.NDArray[np.float64]:
    """Return every unit's encoder probability with the early exit (its worst window, each window
    scored by ``Exit.window_scores``); ``lower`` holds the same windows as ``embedded``."""
    result = np.zeros(n_units, dtype=np.float64)
    scores = exit_.window_scores(lower_head(lower.vectors), head(embedded.vectors))
    np.maximum.at(result, embedded.window_unit, scores)
    return result


def pick_exit(
    p_lower: npt.NDArray[np.float64],
    p_full: npt.NDArray[np.float64],
    window_unit: npt.NDArray[np.int64],
    unit_row: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    labels: npt.NDArray[np.bool_],
    cascade: Cascade,
    *,
    budget: float = EXIT_BUDGET or 0.02,
) -> tuple[Exit, dict[str, Any]]:
    """Choose the exit's cuts on the validation ``rows`` from window probabilities of both heads.

    Every window of the validation units is read (as ``novel_cut`` is placed: the units the
    cascade sends to the encoder are too few to place a cut on). ``low`` is the highest cut at
    which the exit clears at most ``budget`` of the injection units the whole model's head flags
    at the cascade's lower cut; then ``high`` the lowest at which it flags at most ``budget`` of
    the benign units that head clears at the cascade's higher cut. Either way the exit costs the
    validation at most ``budget`` of the whole model's verdicts on each side.
    """
    wanted = np.zeros(len(labels), dtype=bool)
    wanted[rows] = True
    keep = wanted[unit_row[window_unit]]
    units, w_unit = np.unique(window_unit[keep], return_inverse=True)
    pl, pf = p_lower[keep], p_full[keep]
    y = labels[unit_row[units]]
    n = len(units)

    def worst(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.zeros(n, dtype=np.float64)
        np.maximum.at(out, w_unit, values)
        return out

    full = worst(pf)
    soft, strict = min(cascade.cut, cascade.novel_cut), max(cascade.cut, cascade.novel_cut)
    caught = y & (full >= soft)
    cleared = ~y & (full < strict)
    grid = [round(float(v), 3) for v in np.arange(0.0, 1.0001, 0.005)]
    low = 0.0
    for value in grid:
        kept = worst(Exit(value, 1.0).window_scores(pl, pf)) >= soft
        if (caught & ~kept).sum() > budget * max(1, int(caught.sum())):
            break
        low = value
    high = 1.0
    for value in reversed(grid):
        if value <= low:
            break
        flagged = worst(Exit(low, value).window_scores(pl, pf)) >= strict
        if (cleared & flagged).sum() > budget * max(1, int(cleared.sum())):
            break
        high = value
    chosen = Exit(low, high)
    share = float(chosen.continues(pl).mean()) if len(pl) else 0.0
    return chosen, {"budget": budget, "continued_windows": round(share, 4)}


def fit_head(
    corpus: Corpus,
    embedded: Embedded,
    model: TrainedModel,
    *,
    c: float = HEAD_C,
    language_dims: int = LANGUAGE_DIMS,
    lift: float = LANGUAGE_LIFT,
    language_method: str = LANGUAGE_METHOD,
) -> Head:
    """Train the head on the windows of the units ``model`` trained on, with the same labels.

    Two choices aim it at languages it never saw. The ``language_dims`` directions that tell the
    training languages apart (``language_subspace`` by ``language_method``: between their means,
    their linear discriminants, or iterative nullspace projection) are projected out before the
    fit and out of the weights after it, so the head cannot key on which language a text is in;
    only the training rows' languages are read, so a held-out language never shapes them. The
    projection folds into the weights, so the head stays one dot product. And a
    generated language with fewer windows than the median language weighs up to ``lift`` times
    more, so the twelve large languages do not set the boundary alone.
    """
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,import-not-found,unused-ignore]

    assert model.units is not None, "fit_head needs a model from train.fit"
    label_of_unit = np.full(len(corpus.indices), -1, dtype=np.int64)
    negatives = len(model.units) - model.positives
    label_of_unit[model.units[:negatives]] = 0
    label_of_unit[model.units[negatives:]] = 1
    window_label = label_of_unit[embedded.window_unit]
    picked = np.flatnonzero(window_label >= 0)
    y = window_label[picked]
    rows = [corpus.rows[corpus.unit_row[u]] for u in embedded.window_unit[picked]]
    sources = [str(r["source"]) for r in rows]
    languages = [str(r.get("lang") or "") for r in rows]
    counts = Counter(sources)
    w = np.array([min(1.0, SOURCE_CAP / counts[s]) for s in sources], dtype=np.float64)
    per_language = Counter(x for x in languages if x)
    if per_language and lift > 1.0:
        median = float(np.median(list(per_language.values())))
        w *= np.array(
            [min(lift, max(1.0, median / per_language[x])) if x else 1.0 for x in languages]
        )
    for label in (0, 1):
        mask = y == label
        w[mask] *= 0.5 * w.sum() / w[mask].sum()
    x = embedded.vectors[picked].astype(np.float64)
    basis = language_subspace(x, languages, language_dims, language_method)
    if basis.shape[1]:
        x -= (x @ basis) @ basis.T
    head = LogisticRegression(C=c, max_iter=400)
    head.fit(x, y, sample_weight=w / w.mean())
    weights = head.coef_.reshape(-1)
    weights = weights - basis @ (basis.T @ weights)
    return Head([float(v) for v in weights], float(head.intercept_[0]))


def language_subspace(
    vectors: npt.NDArray[np.float64],
    languages: Sequence[str],
    dims: int,
    method: str = LANGUAGE_METHOD,
) -> npt.NDArray[np.float64]:
    """An orthonormal basis (columns) of at most ``dims`` directions that separate the languages.

    Rows with an empty language are left out; the basis is empty when ``dims`` is 0 or fewer than
    two languages are present. Every language weighs the same, however many rows it has.

    - ``"means"``: the principal directions of the per-language mean embeddings (at most one
      fewer than the languages);
    - ``"lda"``: the linear discriminants of the languages (between-language scatter over the
      mean within-language scatter, shrunk towards its average variance), so a direction along
      which texts of one language vary a lot counts less (at most one fewer than the languages);
    - ``"inlp"``: iterative nullspace projection: a linear classifier of the language (multinomial
      logistic regression on up to ``_INLP_ROWS`` rows per language) is trained, the
      ``_INLP_STEP`` strongest directions of its weights are added to the basis and projected out
      of the rows, and so on until ``dims`` directions (not bounded by the number of languages).
    """
    names = sorted({x for x in languages if x})
    if dims <= 0 or len(names) < 2:
        return np.zeros((vectors.shape[1], 0))
    tags = np.asarray(languages)
    groups = [np.flatnonzero(tags == name) for name in names]
    means = np.stack([vectors[g].mean(axis=0) for g in groups])
    means -= means.mean(axis=0)
    if method == "means":
        _, _, directions = np.linalg.svd(means, full_matrices=False)
        basis: npt.NDArray[np.float64] = directions[: min(dims, len(names) - 1)].T
        return basis
    if method == "lda":
        import scipy.linalg  # type: ignore[import-untyped,unused-ignore]

        within = np.zeros((vectors.shape[1], vectors.shape[1]))
        for g in groups:
            centred = vectors[g] - vectors[g].mean(axis=0)
            within += centred.T @ centred / max(1, len(g) - 1)
        within /= len(groups)
        within += _LDA_SHRINK * float(np.trace(within)) / within.shape[0] * np.eye(within.shape[0])
        between = means.T @ means / len(groups)
        values, vectors_ = scipy.linalg.eigh(between, within)
        top = vectors_[:, np.argsort(values)[::-1][: min(dims, len(names) - 1)]]
        q, _ = np.linalg.qr(top)
        result: npt.NDArray[np.float64] = q
        return result
    if method == "inlp":
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,import-not-found,unused-ignore]

        rng = np.random.default_rng(0)
        picked = np.concatenate(
            [rng.choice(g, min(len(g), _INLP_ROWS), replace=False) for g in groups]
        )
        x, y = vectors[picked].copy(), tags[picked]
        x -= x.mean(axis=0)
        found = np.zeros((vectors.shape[1], 0))
        while found.shape[1] < dims:
            classifier = LogisticRegression(C=1.0, max_iter=200, class_weight="balanced")
            classifier.fit(x - (x @ found) @ found.T, y)
            _, _, directions = np.linalg.svd(classifier.coef_, full_matrices=False)
            step = directions[: min(_INLP_STEP, dims - found.shape[1])].T
            step -= found @ (found.T @ step)
            q, _ = np.linalg.qr(step)
            found = np.concatenate([found, q], axis=1)
        return found
    raise ValueError(f"unknown language subspace method {method!r}")


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


def word_buckets_of(corpus: Corpus) -> list[npt.NDArray[np.int64]]:
    """The word buckets (``features.word_buckets``) of every unit of the corpus."""
    return [word_buckets(t) for t in corpus.texts or []]


def seen_words(
    words: list[npt.NDArray[np.int64]], units: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """The bitmap of the words of ``units`` (those the n-gram model trained on)."""
    seen = np.zeros(2**WORD_BITS, dtype=bool)
    picked = [words[u] for u in units]
    if picked:
        seen[np.concatenate(picked)] = True
    return seen


def covered_units(
    words: list[npt.NDArray[np.int64]], seen: npt.NDArray[np.bool_], texts: Sequence[str]
) -> npt.NDArray[np.float64]:
    """The share of each unit's words set in ``seen``: ``features.coverage`` for the corpus (1.0
    for a unit without words or too short for the gate, ``features.long_enough``)."""
    return np.array(
        [
            float(seen[w].mean()) if w.shape[0] and long_enough(t) else 1.0
            for w, t in zip(words, texts, strict=True)
        ]
    )


def pick(
    p_hashed: npt.NDArray[np.float64],
    p_encoder: npt.NDArray[np.float64],
    unit_row: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    labels: npt.NDArray[np.bool_],
    *,
    max_fpr: float = 0.02,
    max_band: float = 0.35,
    covered: npt.NDArray[np.float64] | None = None,
    cover: float = NOVEL_COVER,
    band_budget: float | None = None,
    band_cut: str = BAND_CUT,
    gate_cut: float | None = GATE_CUT,
) -> tuple[Cascade, dict[str, Any]]:
    """Choose the cascade on the validation ``rows`` (indices into the corpus rows).

    ``labels`` is the label of every corpus row; only the units of ``rows`` are read.
    ``covered`` (``covered_units``) adds the novelty gate at ``cover``.

    ``band_budget`` (with ``covered``) widens the band for text unlike the training data: the
    validation rows come from the families the n-gram model trained on, where it is right so
    often that the best band is narrow and the head's cut the strictest. But the head reads
    meaning and the n-gram model reads words, so on a style or a language it never saw the head
    is the one that transfers. With a budget, the band's cut is ``novel_cut`` (the head alone
    keeps false positives within ``max_fpr`` at it) and the band reaches as low as the budget
    allows: the lowest ``low`` for which some ``high`` keeps at most ``band_budget`` of the
    validation units in the band and false positives within ``max_fpr``, at the best F1 of
    those. The budget is the share of units the encoder reads, i.e. its cost.

    ``band_cut`` (see ``BAND_CUT``): "validation" keeps the cut chosen with the band; "novel"
    replaces it with the head's false-positive-safe cut (needs ``covered``), the band unchanged.
    ``gate_cut`` (see ``GATE_CUT``) is the novelty gate's cut, ``novel_cut`` in the result; None
    gives the gate the same safe cut.
    """
    if band_cut not in ("validation", "novel"):
        raise ValueError(f"band_cut is 'validation' or 'novel', not {band_cut!r}")
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
    if covered is None:
        return best
    # Then the novelty gate, with the band and cut fixed. The validation rows come from families
    # the model trained on, so they cannot show what the gate gains on an unseen language; they
    # can show what the head costs when it decides alone. ``novel_cut`` is the lowest cut at
    # which the head alone, reading every validation unit, keeps false positives within budget.
    base, info = best
    cu = covered[units]
    for novel_cut in np.arange(0.30, 0.991, 0.03):
        alone = rows_flagged(pe >= novel_cut, u_row, len(rows))
        f1_alone, fpr_alone = _f1(alone, y)
        if fpr_alone <= max_fpr:
            break
    safe = round(float(novel_cut), 3)
    cut = safe if band_cut == "novel" else base.cut
    c = Cascade(base.low, base.high, cut, cover, safe if gate_cut is None else gate_cut)
    if band_budget is not None:
        c = _widen(c, ph, pe, cu, u_row, y, max_fpr=max_fpr, band_budget=band_budget, cut=safe)
    flags = rows_flagged(c.flag(ph, pe, cu), u_row, len(rows))
    f1, fpr = _f1(flags, y)
    gate = {
        "f1_with_gate": round(f1, 4),
        "fpr_with_gate": round(fpr, 4),
        "gate": round(float(((cu < cover) & ~((ph >= base.low) & (ph < base.high))).mean()), 4),
        "head_alone_f1": round(f1_alone, 4),
        # False when no cut kept the head alone within budget: the gate then runs at the last
        # cut tried, and whoever trains (tools/train_scanner.py prints this) must see it.
        "head_alone_within_budget": bool(fpr_alone <= max_fpr),
    }
    if band_budget is not None or c.cut != base.cut:
        band = (ph >= c.low) & (ph < c.high)
        info = {
            "f1": round(f1, 4),
            "fpr": round(fpr, 4),
            "band": round(float(band.mean()) if len(band) else 0.0, 4),
        }
        if band_budget is not None:
            info["band_budget"] = band_budget
    return c, {**info, **gate}


def _widen(
    base: Cascade,
    ph: npt.NDArray[np.float64],
    pe: npt.NDArray[np.float64],
    cu: npt.NDArray[np.float64],
    u_row: npt.NDArray[np.int64],
    y: npt.NDArray[np.bool_],
    *,
    max_fpr: float,
    band_budget: float,
    cut: float,
) -> Cascade:
    """The widest band within ``band_budget`` at the head's own ``cut`` (see ``pick``)."""
    n = len(y)
    for low in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3):
        best: tuple[float, Cascade] | None = None
        for high in np.arange(0.40, 0.995, 0.03):
            band = (ph >= low) & (ph < high)
            if (float(band.mean()) if len(band) else 0.0) > band_budget:
                continue
            c = Cascade(low, round(float(high), 3), cut, base.cover, base.novel_cut)
            f1, fpr = _f1(rows_flagged(c.flag(ph, pe, cu), u_row, n), y)
            if fpr <= max_fpr and (best is None or f1 > best[0]):
                best = (f1, c)
        if best is not None:
            return best[1]
    return base

"""Train the tier-2 classifier and export it as ONNX (needs the ``train`` extra).

Used by ``tools/train_scanner.py`` (the shipped model) and by ``codemode bench scan`` (the
leave-source-out retraining), so both train exactly the same way.

The recipe, in order:

1. Every row becomes *units*, the texts the scanner will really score: the string leaves of a JSON
   body (each canonicalised), or the chunks of a plain text.
2. Negative rows give negative units. A positive row with one unit gives a positive unit. A long
   positive row (a résumé with one injected line, a JSON body with one poisoned field) is a bag of
   units of which only some carry the attack: a first model, trained on the rest, picks each bag's
   best unit, any unit it is sure of and any unit a strong pattern flags (multiple-instance
   learning); only those become positives.
3. A logistic regression on the hashed features (``features.py``), class-balanced, each source's
   total weight capped so that the long jailbreak collections do not teach "long = attack".
4. The weights become a five-node ONNX graph: gather the weights of the present buckets, multiply
   by the feature values, sum, add the bias, sigmoid.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._scanner import _Leaf, _looks_like_json, _worth_scanning, collect
from ..classifier import Classifier
from ..features import DIM_BITS, FEATURE_VERSION, chunks, featurize
from ..normalize import canonical, views
from ..patterns import match_views

__all__ = ["FAMILIES", "Corpus", "TrainedModel", "build_corpus", "fit", "to_onnx"]

# Source -> family, for leave-source-out evaluation: each family shares templates or an origin.
FAMILIES: dict[str, str] = {
    "agentdojo": "agentdojo",
    "agentdojo+klaviyo-synth": "agentdojo",
    "agentdojo-env": "agentdojo",
    "spikee": "spikee",
    "spikee+klaviyo-synth": "spikee",
    "spikee-docs": "spikee",
    "garak-latentinjection": "garak",
    "garak-latentinjection-clean": "garak",
    "garak-dan": "garak",
    "garak-sysprompt-extraction": "garak",
    "promptinject": "garak",
    "jailbreak_llms-itw": "jailbreak",
    "pyrit-jailbreak-templates": "jailbreak",
    "klaviyo-synth-injection": "klaviyo-injection",
    "klaviyo-synth-json-injection": "klaviyo-injection",
    "klaviyo-synth": "klaviyo-benign",
    "klaviyo-synth-json": "klaviyo-benign",
    "klaviyo-synth-hardneg": "hardneg",
    "python-stdlib-docs": "stdlib-docs",
}

DEFAULT_C = 16.0  # chosen on leave-source-out F1 at <=2% FP: 1 -> 0.897, 4 -> 0.913, 16 -> 0.922, 64 -> 0.908
SOURCE_CAP = 1500.0  # the most total weight one source may carry, in units
MIL_KEEP = 0.5  # a unit of a positive bag is a positive when it scores at least this ...
MIL_RELATIVE = 0.6
EPOCHS = 12  # ... or at least this fraction of the bag's best unit


def units_of(text: str) -> list[str]:
    """Return the canonical texts the scanner scores for ``text`` (JSON leaves or chunks)."""
    if _looks_like_json(text):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, (dict, list)):
            leaves: list[_Leaf] = []
            collect(document, "", leaves, [])
            found = {
                canonical(leaf.text) for leaf in leaves if _worth_scanning(leaf.text) == "full"
            }
            return sorted(found)
    return chunks(canonical(text))


@dataclass
class Corpus:
    """Featurised units of a list of rows (``text``, ``label``, ``source``)."""

    rows: list[dict[str, Any]]
    unit_row: npt.NDArray[np.int64]
    unit_strong: npt.NDArray[np.bool_]
    indices: list[npt.NDArray[np.int64]]
    values: list[npt.NDArray[np.float32]]
    texts: list[str] | None = None  # each unit's canonical text (what the encoder reads)

    def matrix(self, units: npt.NDArray[np.int64]) -> Any:
        """Return a CSR matrix of the given units."""
        from scipy import sparse  # type: ignore[import-untyped,import-not-found,unused-ignore]

        picked_idx = [self.indices[i] for i in units]
        picked_val = [self.values[i] for i in units]
        lengths = np.array([a.shape[0] for a in picked_idx], dtype=np.int64)
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        cols = np.concatenate(picked_idx) if picked_idx else np.zeros(0, dtype=np.int64)
        data = np.concatenate(picked_val) if picked_val else np.zeros(0, dtype=np.float32)
        return sparse.csr_matrix((data, cols, indptr), shape=(len(units), 2**DIM_BITS))


def build_corpus(rows: Sequence[dict[str, Any]]) -> Corpus:
    """Cut every row into units and featurise them once."""
    unit_row: list[int] = []
    strong: list[bool] = []
    indices: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float32]] = []
    texts: list[str] = []
    for r, row in enumerate(rows):
        units = units_of(row["text"]) or [canonical(row["text"])[:2000]]
        for unit in units:
            i, v = featurize(unit)
            texts.append(unit)
            unit_row.append(r)
            indices.append(i)
            values.append(v)
            # Only a positive bag's units need the pattern check (it marks units to keep).
            strong.append(
                bool(row["label"])
                and len(units) > 1
                and any(m.weight >= 0.5 for m in match_views(views(unit)))
            )

    return Corpus(
        list(rows),
        np.asarray(unit_row, dtype=np.int64),
        np.asarray(strong, dtype=bool),
        indices,
        values,
        texts,
    )


@dataclass
class TrainedModel:
    """A trained linear model: one weight per bucket, a bias and the decision threshold."""

    weights: npt.NDArray[np.float32]
    bias: float
    threshold: float
    info: dict[str, Any]
    units: npt.NDArray[np.int64] | None = (
        None  # the units it trained on (negatives, then positives)
    )
    positives: int = 0  # how many of ``units`` (the last ones) were positives

    def meta(self) -> dict[str, Any]:
        """The ``scanner.json`` metadata shipped beside the ONNX file."""
        return {
            "feature_version": FEATURE_VERSION,
            "dim_bits": DIM_BITS,
            "threshold": self.threshold,
            **self.info,
        }

    def classifier(self) -> Classifier:
        """Load this model into a ``Classifier`` in memory (no file written)."""
        return Classifier(to_onnx(self), self.meta())


def _weights(labels: npt.NDArray[np.int64], sources: list[str]) -> npt.NDArray[np.float64]:
    counts = Counter(sources)
    w = np.array([min(1.0, SOURCE_CAP / counts[s]) for s in sources], dtype=np.float64)
    for label in (0, 1):
        mask = labels == label
        if mask.any():
            w[mask] *= 0.5 * w.sum() / w[mask].sum()
    return w


def _logreg(
    x: Any, y: npt.NDArray[np.int64], w: npt.NDArray[np.float64], c: float, seed: int
) -> Any:
    """Logistic regression by SGD: within a hair of liblinear here, and ten times faster."""
    from sklearn.linear_model import SGDClassifier  # type: ignore[import-untyped,import-not-found,unused-ignore]

    model = SGDClassifier(
        loss="log_loss",
        alpha=1.0 / (c * float(w.sum())),
        max_iter=EPOCHS,
        tol=None,
        random_state=seed,
        learning_rate="optimal",
        average=True,
    )
    model.fit(x, y, sample_weight=w)
    return model


def fit(
    corpus: Corpus,
    row_mask: npt.NDArray[np.bool_] | None = None,
    *,
    threshold: float = 0.5,
    c: float = DEFAULT_C,
    seed: int = 7,
) -> TrainedModel:
    """Train on the rows selected by ``row_mask`` (all by default) with the recipe above."""
    n_rows = len(corpus.rows)
    mask = np.ones(n_rows, dtype=bool) if row_mask is None else row_mask
    labels = np.array([int(r["label"]) for r in corpus.rows], dtype=np.int64)
    sources = [str(r["source"]) for r in corpus.rows]
    unit_mask = mask[corpus.unit_row]
    per_row = np.bincount(corpus.unit_row, minlength=n_rows)
    unit_label = labels[corpus.unit_row]
    neg = np.flatnonzero(unit_mask & (unit_label == 0))
    single_pos = np.flatnonzero(unit_mask & (unit_label == 1) & (per_row[corpus.unit_row] == 1))
    bag_rows = np.flatnonzero(mask & (labels == 1) & (per_row > 1))

    # Pass 1: negatives and single-unit positives only. Whole bags would teach "long prose is an
    # attack", since most of a poisoned document is ordinary text.
    x1 = corpus.matrix(np.concatenate([neg, single_pos]))
    y1 = np.concatenate([np.zeros(len(neg)), np.ones(len(single_pos))]).astype(np.int64)
    s1 = [sources[i] for i in corpus.unit_row[neg]] + [
        sources[i] for i in corpus.unit_row[single_pos]
    ]
    first = _logreg(x1, y1, _weights(y1, s1), c, seed)

    # Pass 2: keep the units of each bag that carry the attack.
    bag_units = np.flatnonzero(unit_mask & (unit_label == 1) & (per_row[corpus.unit_row] > 1))
    chosen: list[int] = []
    if len(bag_units):
        p = first.predict_proba(corpus.matrix(bag_units))[:, 1]
        best: dict[int, float] = {}
        for u, score in zip(bag_units, p, strict=True):
            r = int(corpus.unit_row[u])
            best[r] = max(best.get(r, 0.0), float(score))
        for u, score in zip(bag_units, p, strict=True):
            top = best[int(corpus.unit_row[u])]
            if score >= top or score >= MIL_KEEP or corpus.unit_strong[u]:
                chosen.append(int(u))
    pos = np.concatenate([single_pos, np.asarray(chosen, dtype=np.int64)])
    units = np.concatenate([neg, pos])
    y = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))]).astype(np.int64)
    s2 = [sources[i] for i in corpus.unit_row[units]]
    final = _logreg(corpus.matrix(units), y, _weights(y, s2), c, seed)
    return TrainedModel(
        final.coef_.astype(np.float32).reshape(-1),
        float(final.intercept_[0]),
        threshold,
        {
            "model": "logistic regression on hashed char 2-5-grams, words and word bigrams",
            "c": c,
            "rows": int(mask.sum()),
            "units": {
                "negative": len(neg),
                "positive": len(pos),
                "bags": len(bag_rows),
            },
        },
        units,
        len(pos),
    )


def to_onnx(model: TrainedModel) -> bytes:
    """Return the ONNX graph: probability = sigmoid(sum(W[indices] * values) + b)."""
    import onnx  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(model.weights.reshape(-1, 1).astype(np.float32), "W")
    bias = numpy_helper.from_array(np.array([model.bias], dtype=np.float32), "b")
    axis1 = numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")
    axis2 = numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2")
    nodes = [
        helper.make_node("Gather", ["W", "indices"], ["gathered"], axis=0),
        helper.make_node("Unsqueeze", ["values", "axis2"], ["values3"]),
        helper.make_node("Mul", ["gathered", "values3"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], ["summed"], keepdims=0),
        helper.make_node("Add", ["summed", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes,
        "codemode_scanner",
        [
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["batch", "width"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["batch", "width"]),
        ],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        [weights, bias, axis1, axis2],
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="codemode-train-scanner"
    )
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    data: bytes = onnx_model.SerializeToString()
    return data


def row_probabilities(
    model: TrainedModel, corpus: Corpus, rows: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Return each selected row's classifier probability (its worst unit), straight from the weights."""
    wanted = np.zeros(len(corpus.rows), dtype=bool)
    wanted[rows] = True
    units = np.flatnonzero(wanted[corpus.unit_row])
    logits = corpus.matrix(units) @ model.weights.astype(np.float64) + model.bias
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    best = np.zeros(len(corpus.rows), dtype=np.float64)
    np.maximum.at(best, corpus.unit_row[units], probabilities)
    result: npt.NDArray[np.float64] = best[rows]
    return result


def pick_threshold(
    probabilities: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    strong: npt.NDArray[np.bool_],
    *,
    max_fpr: float = 0.02,
    grid: Sequence[float] | None = None,
) -> tuple[float, dict[str, float]]:
    """Pick the cut with the best F1 whose false-positive rate stays within ``max_fpr``.

    ``strong`` marks rows a strong tier-1 pattern flags anyway, as the scanner would.
    """
    best = (0.5, {"f1": -1.0})
    negatives = max(1, int((labels == 0).sum()))
    for t in np.arange(0.30, 0.99, 0.01) if grid is None else grid:
        flagged = strong | (probabilities >= t)
        tp = int((flagged & (labels == 1)).sum())
        fp = int((flagged & (labels == 0)).sum())
        fn = int((~flagged & (labels == 1)).sum())
        precision = tp / max(1, tp + fp)
        recall = tp / max(1, tp + fn)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        fpr = fp / negatives
        if fpr <= max_fpr and f1 > best[1]["f1"]:
            best = (
                round(float(t), 2),
                {"f1": f1, "precision": precision, "recall": recall, "fpr": fpr},
            )
    return best

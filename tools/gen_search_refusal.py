"""Fit search_api's "no operation does this" decision (``src/codemode/search/refusal.json``).

Rows: the tuning sets (``heldout_tuning``, ``heldout2_tuning``, ``heldout4_tuning``,
``dev_queries``) and ``unserved_tuning.jsonl`` (requests no operation serves, and answerable ones
full of the caller's own names, written for this model). An untouched set is never read. Each
row's ``REFUSAL_FEATURES`` come from the shipped ranking (``SearchIndex.refusal_features``); an
L2-regularised logistic regression, with the two classes weighted equally, is fitted by Newton's
method on standardised features (deterministic, numpy only). The threshold comes from
cross-validated probabilities (five folds, each row scored by a model fitted without it): the
least probability at which at most ``FALSE_REFUSALS`` of the answerable rows are refused, so the
figure the file reports is what a new query meets, not what the fit saw.

Run it with no argument to write the file; ``--check`` exits 1 when the committed file differs
from a fresh fit (``make check-generated``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from codemode.catalog import load_catalog  # noqa: E402
from codemode.search._index import SearchIndex  # noqa: E402
from codemode.search._refusal import HARD_REFUSALS, REFUSAL_FEATURES, RefusalModel  # noqa: E402

OUTPUT = ROOT / "src" / "codemode" / "search" / "refusal.json"
DATA = ROOT / "tests" / "data" / "search"
SETS = (
    "dev_queries.jsonl",
    "heldout_tuning.jsonl",
    "heldout2_tuning.jsonl",
    "heldout4_tuning.jsonl",
    "unserved_tuning.jsonl",
)
SEED = 1717
FOLDS = 5
L2 = 10.0
# Share of answerable tuning rows a cross-validated model may refuse.
FALSE_REFUSALS = 0.005
_BLANK = RefusalModel(
    mean=(0.0,) * len(REFUSAL_FEATURES),
    scale=(1.0,) * len(REFUSAL_FEATURES),
    coef=(0.0,) * len(REFUSAL_FEATURES),
    intercept=0.0,
    threshold=1.0,
)

Array = np.ndarray[Any, np.dtype[np.float64]]


def rows() -> list[tuple[str, bool]]:
    """(query, unserved) for every row of the tuning sets, in file order."""
    out: list[tuple[str, bool]] = []
    for name in SETS:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((row["query"], not row["answers"]))
    return out


def fit(x: Array, y: Array) -> tuple[Array, float]:
    """Coefficients and intercept of a class-balanced, L2-regularised logistic regression."""
    n, d = x.shape
    weight = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum())))
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, L2)
    penalty[-1] = 0.0  # the intercept is not pulled toward zero
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        grad = design.T @ (weight * (p - y)) + penalty * beta
        hess = (design * (weight * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hess + 1e-9 * np.eye(d + 1), grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:-1], float(beta[-1])


def _probability(x: Array, coef: Array, intercept: float) -> Array:
    result: Array = 1.0 / (1.0 + np.exp(-(x @ coef + intercept)))
    return result


def build() -> dict[str, Any]:
    """The fitted model and what it does on its own rows, cross-validated."""
    index = SearchIndex(load_catalog(), refusal=_BLANK)
    data = rows()
    raw = np.array([index.refusal_features(q) for q, _ in data], dtype=np.float64)
    y = np.array([1.0 if unserved else 0.0 for _, unserved in data])
    mean = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale[scale == 0] = 1.0
    x = (raw - mean) / scale
    fold = np.random.default_rng(SEED).permutation(len(data)) % FOLDS
    held = np.zeros(len(data))
    for k in range(FOLDS):
        coef, intercept = fit(x[fold != k], y[fold != k])
        held[fold == k] = _probability(x[fold == k], coef, intercept)
    # A change no operation makes and a route the API lacks are refused whatever the model says
    # (``HARD_REFUSALS``, ``SearchIndex.serves``), so the rows they refuse use up the allowance first.
    change = (raw[:, [REFUSAL_FEATURES.index(n) for n in HARD_REFUSALS]] > 0).any(axis=1)
    answerable = np.sort(held[(y == 0) & ~change])[::-1]
    allowed = int(FALSE_REFUSALS * int((y == 0).sum())) - int(((y == 0) & change).sum())
    threshold = float(answerable[max(0, allowed)]) + 1e-6
    coef, intercept = fit(x, y)
    fitted = _probability(x, coef, intercept)

    def said(p: Array, unserved: bool) -> int:
        return int((((p >= threshold) | change) & (y == (1.0 if unserved else 0.0))).sum())

    return {
        "_about": (
            "The 'no operation does this' model of search_api (codemode.search._refusal), fitted "
            "by tools/gen_search_refusal.py on the tuning sets and unserved_tuning.jsonl; no "
            "untouched set is read."
        ),
        "features": list(REFUSAL_FEATURES),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in coef],
        "intercept": round(intercept, 6),
        "threshold": round(threshold, 6),
        "rows": {"answerable": int((y == 0).sum()), "unserved": int(y.sum())},
        "cross_validated": {
            "unserved_said_none": said(held, True),
            "answerable_refused": said(held, False),
        },
        "fitted": {
            "unserved_said_none": said(fitted, True),
            "answerable_refused": said(fitted, False),
        },
    }


def _numbers(model: dict[str, Any]) -> list[float]:
    keys = ("mean", "scale", "coef")
    return [*(v for k in keys for v in model[k]), model["intercept"], model["threshold"]]


def stale(current: dict[str, Any], fresh: dict[str, Any]) -> bool:
    """Whether ``current`` is not ``fresh`` (numbers within 1e-3: BLAS rounding differs by host)."""
    if any(current.get(k) != fresh[k] for k in ("features", "rows")):
        return True
    return any(abs(a - b) > 1e-3 for a, b in zip(_numbers(current), _numbers(fresh), strict=True))


def main(argv: list[str] | None = None) -> int:
    """Write ``refusal.json``, or with ``--check`` compare it with a fresh fit."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    fresh = build()
    if not parser.parse_args(argv).check:
        OUTPUT.write_text(json.dumps(fresh, indent=1) + "\n", encoding="utf-8")
        print("refusal model written:", OUTPUT.relative_to(ROOT), fresh["cross_validated"])
        return 0
    current = json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.is_file() else {}
    if current and not stale(current, fresh):
        return 0
    print(f"{OUTPUT.relative_to(ROOT)} is stale: run tools/gen_search_refusal.py")
    return 1


if __name__ == "__main__":
    sys.exit(main())

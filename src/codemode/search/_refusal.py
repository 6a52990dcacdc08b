"""The "no operation does this" decision: calibrated over what the ranking already knows.

A request the API cannot serve ("invite a teammate", "refund the order", "GET /api/users") still
draws five hits, since some words always match. What tells it apart is the shape of the match, not
any phrase: how many of its words no operation or vocabulary entry knows (before and after names
are excused), whether its lead word is one of them, a change no operation makes to the resource it
names, a route the API does not have, how strong the best operation's score is overall and per
query term, and how many content words the request has. ``REFUSAL_FEATURES`` lists them; one
logistic model over them (``refusal.json``, fitted by ``tools/gen_search_refusal.py`` on the tuning
sets and the written unserved requests, never on an untouched set) gives the probability that no
operation serves the request, and its threshold is set so that at most 0.5% of the answerable
tuning queries are refused when each is scored by a model fitted without it (cross-validated).

No encoder runs here: the decision costs one extra lexical pass, well inside the latency budget.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["HARD_REFUSALS", "REFUSAL_FEATURES", "RefusalModel"]

REFUSAL_FEATURES: tuple[str, ...] = (
    "missing_change",
    "unknown_share",
    "best_score",
    "unknown_route",
    "strength_per_term",
    "raw_unknown_share",
    "content_words",
    "lead_unknown",
)

# Features that refuse on their own, whatever the model says: facts of the OpenAPI document (a
# change no operation makes to the resource named; a route, or a method at a route, it lacks).
HARD_REFUSALS: tuple[str, ...] = ("missing_change", "unknown_route")


@dataclass(frozen=True, slots=True)
class RefusalModel:
    """A logistic model over ``REFUSAL_FEATURES`` (standardised), with its decision threshold."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, values: tuple[float, ...]) -> float:
        """The probability that no operation serves a request with these feature ``values``."""
        z = self.intercept + sum(
            c * (v - m) / s
            for c, v, m, s in zip(self.coef, values, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def refuses(self, values: tuple[float, ...]) -> bool:
        """True when the probability reaches the threshold."""
        return self.probability(values) >= self.threshold

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefusalModel:
        """Read the model part of ``refusal.json``; its feature names must be ``REFUSAL_FEATURES``.

        Raises:
            ValueError: the file was fitted over other features (rerun the generator).
        """
        if tuple(data["features"]) != REFUSAL_FEATURES:
            raise ValueError(
                "refusal.json was fitted over other features: run tools/gen_search_refusal.py"
            )
        return cls(
            mean=tuple(float(x) for x in data["mean"]),
            scale=tuple(float(x) for x in data["scale"]),
            coef=tuple(float(x) for x in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
        )

    @classmethod
    @lru_cache(maxsize=1)
    def shipped(cls) -> RefusalModel:
        """The model shipped beside this module."""
        text = resources.files(__package__).joinpath("refusal.json").read_text(encoding="utf-8")
        return cls.from_json(json.loads(text))

"""``tools/cv_search_rerank.py``: the round 10 cross-validation of rerankers fitted on written queries.

What it measures must be what ships: the signals it reads rebuild the shipped score and order, and
each model's learned term is connected (a fit on rows where a signal marks the answer flips the
ranking), and leave-one-set-out never fits on the set it scores.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from codemode.search import SearchIndex
from codemode.search._index import FEATURES, weight_vector
from tests._shared import REPO_ROOT

QUERIES = (
    ("dev_queries", "delete the Webinar list, profiles stay", ["delete_list"]),
    (
        "heldout_tuning",
        "which campaign does this message belong to?",
        ["get_campaign_for_campaign_message"],
    ),
    (
        "dev_long",
        "Our team uses tags heavily to organize campaigns and flows, and I'd like to get a full "
        "list of all the tags in the account.",
        ["get_tags"],
    ),
    ("heldout2_tuning", "GET /api/lists/Y7dL2q/profiles", ["get_profiles_for_list"]),
    ("unserved_tuning", "conversation of profile P", ["get_conversation_for_profile"]),
)


def _load() -> ModuleType:
    # Registered before it runs: its dataclasses look their module up by name.
    name = "cv_search_rerank"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _load()


def test_the_signals_rebuild_the_shipped_score_and_order(
    tool: ModuleType, index: SearchIndex
) -> None:
    vector = weight_vector(index.weights)
    for name, query, answers in QUERIES:
        features, total = tool.signals(index, query)
        assert features.shape == (len(FEATURES), len(index.actions))
        assert np.allclose(vector @ features, total)
        s = tool.sample(index, name, query, answers)
        assert [index.actions[int(j)].id for j in s.cand] == index.rank(query)[: tool.DEPTH]
        # The nudged score orders the candidates as the shipped ranking does (up to its ties).
        assert int(np.argmax(s.total)) == 0
        assert s.label[0] == int(index.rank(query)[0] in answers)


def _synthetic(n: int, lead: str = "coverage", gap: float = 0.02) -> list[Any]:
    """Queries whose answer is always second, a near tie, and the only candidate with ``lead``."""
    tool = _load()
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        signals = rng.normal(0, 0.1, size=(5, len(FEATURES)))
        signals[:, FEATURES.index(lead)] = [0, 1, 0, 0, 0]
        out.append(
            tool.Sample(
                set=tool.SETS[i % len(tool.SETS)],
                query=f"q{i}",
                cand=np.arange(5),
                label=np.array([0, 1, 0, 0, 0]),
                signals=signals,
                total=np.array([1.0, 1.0 - gap, 0.9, 0.8, 0.7]),
                unsure=True,
                semantic=np.zeros(5),
                static=np.zeros(5),
            )
        )
    return out


def test_the_listwise_term_is_connected(tool: ModuleType) -> None:
    samples = _synthetic(60)
    model = tool.fit_listwise(samples, 5, 1.0, False)
    assert model.coef[FEATURES.index("coverage")] > 0
    assert all(model.first(s, 1.0) == 1 for s in samples)  # the learned term flips every one
    assert all(model.first(s, 0.0) == 0 for s in samples)  # and without it nothing moves


def test_the_swap_term_is_connected(tool: ModuleType, index: SearchIndex) -> None:
    flags = np.stack([tool.structure(a) for a in index.actions])
    samples = _synthetic(60)
    model = tool.fit_swap(samples, flags, 1.0, 0.1)
    assert all(model.first(s, flags, 0.5) == 1 for s in samples)
    assert all(model.first(s, flags, 1.0) == 0 for s in samples)
    clear = _synthetic(6, gap=0.5)  # a lead over the model's gap is never swapped
    assert all(model.first(s, flags, 0.5) == 0 for s in clear)


def test_leave_one_set_out_never_fits_on_the_set_it_scores(tool: ModuleType) -> None:
    samples = _synthetic(12)
    seen: list[set[str]] = []

    def fit(train: list[Any]) -> Any:
        seen.append({s.set for s in train})
        return lambda s: 0

    scores = tool.loso(samples, fit)
    assert list(scores) == list(tool.SETS) and all(v == 0 for v in scores.values())
    folds = len(tool.SETS)
    assert [tool.SETS[i] not in sets and len(sets) == folds - 1 for i, sets in enumerate(seen)] == [
        True
    ] * folds


def test_the_refit_scores_the_shipped_weights_as_shipped(
    tool: ModuleType, index: SearchIndex
) -> None:
    samples = [tool.sample(index, *row) for row in QUERIES]
    refit = tool.Refit(samples, index)
    hits = refit.hits(weight_vector(index.weights))
    assert hits.tolist() == [int(s.label[0]) for s in samples]


def test_a_setting_is_chosen_without_the_set_it_is_scored_on(tool: ModuleType) -> None:
    sets = tool.SETS
    # Scored on the first set, "a" wins on the other five (50 against 25) and scores 0 there,
    # although "b" would score 50; on any other set "b" wins on the rest (70 against 40).
    a = {"model": "a", "cv": {n: 10 if n != sets[0] else 0 for n in sets}, "in_place": {}}
    b = {"model": "b", "cv": {n: 5 if n != sets[0] else 50 for n in sets}, "in_place": {}}
    scores, chosen = tool.selected([a, b])
    assert chosen[sets[0]] == {"model": "a"} and scores[sets[0]] == 0
    assert all(scores[n] == 5 and chosen[n] == {"model": "b"} for n in sets[1:])


def test_the_verb_sense_reads_the_apis_verbs_and_only_where_no_verb_is_clear(
    tool: ModuleType, index: SearchIndex
) -> None:
    by_id = {a.id: a for a in index.actions}
    assert [tool.verb_class(by_id[i]) for i in ("get_lists", "create_list", "update_list")] == [
        0,
        1,
        2,
    ]
    assert tool.verb_class(by_id["remove_profiles_from_list"]) == 3
    sense = tool.VerbSense(index)
    sims = sense.similarities("please delete this list", 50)
    assert sims is not None and int(np.argmax(sims)) == 3
    s = tool.sample(index, "dev_queries", "the Webinar list", ["delete_list"])
    delete = [i for i, j in enumerate(s.cand[:10]) if sense.classes[j] == 3]
    assert delete and s.label[0] == 0
    # A large weight towards "delete" puts the first delete operation of the ten first.
    assert sense.first(s, np.array([0.0, 0.0, 0.0, 1.0]), 10.0, 0.05) == delete[0]
    assert sense.first(s, None, 10.0, 0.05) == 0
    clear = tool.sample(index, "dev_queries", "create a list called Webinar", ["create_list"])
    assert sense.first(clear, np.array([0.0, 0.0, 0.0, 1.0]), 10.0, 0.05) == 0  # a clear verb

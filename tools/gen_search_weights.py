"""Learn the weights of search_api's signals from queries generated from the OpenAPI structure.

No query set is read. For every operation of the catalog, synthetic requests are built from what
the OpenAPI document says about it: the resource of its route (and the marketer words the
vocabulary folds onto that resource), the verb its method and route imply (read one, list,
create, change, delete, link, bulk job, poll a job, report), the record it hangs off, the ids-only
relationship routes, its filters, sort keys and enum values, its body fields, and whether it is a
client (public key) route. The weights of ``codemode.search.FEATURES`` are then fitted by
softmax cross-entropy over all operations (each synthetic query's own operation is the answer),
pulled toward the hand-set weights (``Weights()``) so a signal the synthetic queries never
exercise keeps its hand value.

Usage:
  python tools/gen_search_weights.py          write src/codemode/search/weights.json
  python tools/gen_search_weights.py --check  exit 1 when the committed file differs from a fresh run
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from codemode.catalog import Action, load_catalog  # noqa: E402
from codemode.search._index import FEATURES, SearchIndex, Weights, weight_vector  # noqa: E402

OUTPUT = ROOT / "src" / "codemode" / "search" / "weights.json"
VOCABULARY = ROOT / "src" / "codemode" / "search" / "vocabulary.json"
SEED = 1717
PER_OPERATION = 8
# Strength of the pull toward the hand-set weights, and the softmax temperature.
L2 = 10.0
TEMPERATURE = 0.1
# Not learned: lexical is the unit the others are read in; the core prior is about which
# operations people ask for most (synthetic queries ask for every operation equally often);
# exact names and routes are never what the synthetic queries vary.
FROZEN = frozenset({"lexical", "core", "exact_id", "exact_route", "route_method", "method_word"})
_PLACEHOLDERS = ("X", "P", "L", "C", "7", "12", "Ab3", "01HZ9K", "the one")

_SEARCH = ("list", "show", "all", "get all", "browse", "find")
_ONE = ("get", "fetch", "show", "look up", "read", "details of")
_CREATE = ("create", "add", "make", "new", "set up")
_UPDATE = ("update", "change", "edit", "modify")
_DELETE = ("delete", "remove", "get rid of")
_PLAIN_VERBS = frozenset(
    {"get", "create", "update", "delete", "bulk", "query", "add", "remove", "tag"}
)
_JOB_VERBS = {"create": _CREATE, "update": _UPDATE, "delete": _DELETE, "import": ("import",)}


def _plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy")):
        return word[:-1] + "ies"
    return word if word.endswith("s") else word + "s"


def _singular(segment: str) -> str:
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") and not segment.endswith("ss") else segment


class Nouns:
    """Surface words for a route segment: its own words and the vocabulary's synonyms."""

    def __init__(self) -> None:
        vocab = json.loads(VOCABULARY.read_text(encoding="utf-8"))
        self.heads: dict[str, str] = vocab["resource_heads"]
        self.concepts: dict[str, list[str]] = vocab["concepts"]

    def forms(self, segment: str) -> list[str]:
        base = _singular(segment)
        own = base.replace("-", " ")
        out = [own]
        head = self.heads.get(base)
        if head and head in self.concepts:
            out += [
                p
                for p in self.concepts[head][:6]
                if p != own and len(p.split()) <= 3 and not p.endswith("ed") and len(p) > 3
            ]
        return out


def _segments(action: Action) -> list[str]:
    return [p for p in action.path.split("/") if p and p not in ("api", "client")]


def _pick(rng: random.Random, items: tuple[str, ...] | list[str]) -> str:
    return items[rng.randrange(len(items))]


def _say(rng: random.Random, noun: str, plural: bool) -> str:
    return " ".join([*noun.split()[:-1], _plural(noun.split()[-1])]) if plural else noun


def _extras(rng: random.Random, action: Action) -> str:
    """A filter, sort key, enum value or body field of the operation, phrased plainly."""

    def plain(name: str) -> str:
        return name.split(".")[-1].replace("_", " ")

    options: list[str] = []
    for name in action.filters:
        if not name.startswith("_") and name.count(".") <= 1:
            options += [f"by {plain(name)}", f"where {plain(name)} is set"]
    for key in action.sort:
        options.append(f"sorted by {plain(key.lstrip('-'))}")
    for param in action.params:
        options += [str(value).replace("_", " ") for value in param.enum[:4]]
    if action.body is not None:
        data = action.body.schema.get("properties", {}).get("data", {})
        attributes = data.get("properties", {}).get("attributes", {}).get("properties", {})
        options += [f"with {plain(name)}" for name in list(attributes)[:8]]
    return _pick(rng, options) if options and rng.random() < 0.6 else ""


def synthetic_queries(action: Action, nouns: Nouns, rng: random.Random) -> list[str]:
    """``PER_OPERATION`` requests for ``action`` built from its route, method and fields."""
    segs = _segments(action)
    first = segs[0]
    params = [i for i, s in enumerate(segs) if s.startswith("{")]
    relationship = "relationships" in segs
    words = [s for s in segs if not s.startswith("{") and s != "relationships"]
    client = action.kind == "client"
    out: list[str] = []
    for _ in range(PER_OPERATION):
        placeholder = _pick(rng, _PLACEHOLDERS)
        special = action.id.split("_")[0] not in _PLAIN_VERBS
        if special:
            # merge_profiles, send_campaign, render_template: the operation's own verb
            verb, *rest = action.id.split("_")
            noun = _pick(rng, nouns.forms(words[0]))
            q = f"{verb} {' '.join(r for r in rest if r not in noun.split())} {noun} {placeholder}"
        elif first.endswith("-jobs"):
            parts = first[: -len("-jobs")].split("-")
            verb = next((p for p in parts if p in _JOB_VERBS), "create")
            thing = " ".join(p for p in parts if p not in ("bulk", verb, "job"))
            thing_forms = nouns.forms(thing.replace(" ", "-")) if thing else ["records"]
            noun = _say(rng, _pick(rng, thing_forms), plural=True)
            vp = _pick(rng, _JOB_VERBS[verb])
            if action.method == "POST":
                q = _pick(
                    rng,
                    (
                        f"bulk {vp} {noun}",
                        f"{vp} many {noun} in one job",
                        f"{vp} 500 {noun} at once",
                        f"start a job to {vp} {noun}",
                    ),
                )
            elif params:
                q = _pick(
                    rng,
                    (
                        f"status of the {vp} {noun} job {placeholder}",
                        f"poll job {placeholder} that {vp}s {noun}",
                        f"is the bulk {vp} {noun} job done",
                    ),
                )
            else:
                q = _pick(rng, (f"all {vp} jobs for {noun}", f"list bulk {vp} {noun} jobs"))
        elif first.endswith("-reports") or first == "metric-aggregates":
            thing = first.split("-")[0]
            series = "series" in first
            shape = (
                _pick(rng, ("per day", "over time", "weekly trend"))
                if series
                else _pick(rng, ("totals", "overall", "for the whole period"))
            )
            q = f"{_pick(rng, ('report', 'performance', 'stats'))} of {thing}s {shape}"
        elif len(words) >= 2 and params:
            owner = _pick(rng, nouns.forms(words[0]))
            target_seg = words[-1]
            target = _pick(rng, nouns.forms(target_seg))
            many = target_seg.endswith("s")
            tnoun = _say(rng, target, many)
            if action.method == "GET" and relationship:
                q = _pick(
                    rng,
                    (
                        f"{target} ids of {owner} {placeholder}",
                        f"only the ids of the {tnoun} of {owner} {placeholder}",
                        f"{owner} {target} relationship ids",
                        f"identifiers of {tnoun} for {owner} {placeholder}",
                    ),
                )
            elif action.method == "GET":
                q = _pick(
                    rng,
                    (
                        f"{tnoun} of {owner} {placeholder}",
                        f"{_pick(rng, _SEARCH)} the {tnoun} of a {owner}",
                        f"full {tnoun} for {owner} {placeholder}",
                        f"which {tnoun} does {owner} {placeholder} have",
                    ),
                )
            elif action.method == "POST":
                q = _pick(
                    rng,
                    (
                        f"add {_say(rng, target, True)} to {owner} {placeholder}",
                        f"attach {target} to {owner} {placeholder}",
                        f"link {_say(rng, target, True)} with {owner} {placeholder}",
                    ),
                )
            elif action.method == "DELETE":
                q = _pick(
                    rng,
                    (
                        f"remove {_say(rng, target, True)} from {owner} {placeholder}",
                        f"unlink {target} from {owner} {placeholder}",
                    ),
                )
            else:
                q = _pick(
                    rng,
                    (
                        f"replace the {_say(rng, target, True)} of {owner} {placeholder}",
                        f"set {owner} {placeholder} {_say(rng, target, True)} to exactly these",
                        f"update {target} of {owner} {placeholder}",
                    ),
                )
        else:
            noun = _pick(rng, nouns.forms(first))
            if action.method == "GET" and not params:
                q = f"{_pick(rng, _SEARCH)} {_say(rng, noun, True)} {_extras(rng, action)}"
            elif action.method == "GET":
                q = f"{_pick(rng, _ONE)} {noun} {placeholder}"
            elif action.method == "POST":
                verb = " ".join(action.id.split("_")[:1])
                vp = verb if verb not in ("create", "get") else _pick(rng, _CREATE)
                q = f"{vp} {'a ' if rng.random() < 0.5 else ''}{noun} {_extras(rng, action)}"
            elif action.method == "DELETE":
                q = f"{_pick(rng, _DELETE)} {noun} {placeholder}"
            else:
                q = f"{_pick(rng, _UPDATE)} {noun} {placeholder} {_extras(rng, action)}"
        if client:
            q += " " + _pick(
                rng, ("with the public key", "from the browser", "from the mobile app")
            )
        out.append(re.sub(r"\s+", " ", q).strip())
    return out


def _dataset(index: SearchIndex, catalog: Any) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(SEED)
    nouns = Nouns()
    feats: list[np.ndarray] = []
    answers: list[int] = []
    position = {a.id: j for j, a in enumerate(index.actions)}
    for action in catalog.values():
        for query in dict.fromkeys(synthetic_queries(action, nouns, rng)):
            _, f = index._features(query)
            feats.append(f.astype(np.float32))
            answers.append(position[action.id])
    return np.stack(feats), np.array(answers)


def fit(features: np.ndarray, answers: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Weights minimising softmax cross-entropy plus ``L2 * |w - start|^2`` (lexical stays 1)."""
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    free = np.array([i for i, name in enumerate(FEATURES) if name not in FROZEN])
    rows = np.arange(len(answers))

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        w = start.copy()
        w[free] = x
        scores = np.einsum("f,qfa->qa", w, features) / TEMPERATURE
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.log(p[rows, answers] + 1e-12).mean()
        expected = np.einsum("qa,qfa->qf", p, features)
        grad = (expected - features[rows, :, answers]).mean(axis=0) / TEMPERATURE
        diff = w - start
        total = nll + L2 * float(diff[free] @ diff[free]) / len(free)
        return total, (grad + 2 * L2 * diff / len(free))[free]

    result = minimize(loss, start[free], jac=True, method="L-BFGS-B", options={"maxiter": 200})
    w = start.copy()
    w[free] = result.x
    return w


def generate() -> str:
    catalog = load_catalog()
    index = SearchIndex(catalog)
    features, answers = _dataset(index, catalog)
    start = weight_vector(Weights())
    learned = fit(features, answers, start)
    document = {
        "_about": (
            "Weights of codemode.search.FEATURES learned by tools/gen_search_weights.py from "
            "queries generated from the OpenAPI structure (no query set is read)."
        ),
        "queries": len(answers),
        "weights": {name: round(float(v), 4) for name, v in zip(FEATURES, learned, strict=True)},
    }
    return json.dumps(document, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args()
    text = generate()
    if args.check:
        # An optimiser's last digits may differ between BLAS builds: weights agree within 1e-3.
        current = json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.is_file() else {}
        fresh = json.loads(text)
        old, new = current.get("weights", {}), fresh["weights"]
        if (
            current.get("queries") != fresh["queries"]
            or old.keys() != new.keys()
            or any(abs(old[k] - new[k]) > 1e-3 for k in new)
        ):
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python tools/gen_search_weights.py")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The search index: fielded BM25 over rich action documents, plus intent, exact-name and typo signals.

Score of an action for a query (every part measured on the dev queries before it was kept; the
benchmark switches each off in turn):

``bm25f / max(bm25f) + intent + exact``

* **bm25f**: BM25 over weighted fields (operation id words, summary, keywords, resource, path,
  parameter and attribute names) with domain concept terms on both sides and "!" terms for denied
  words; normalised per query so the other signals keep one scale for short and long queries.
* **intent**: what the caller wants to do (read one, list, create, change, delete, link, bulk,
  poll a job, report, values vs series, IDs only vs full objects, client-side vs server-side) against
  the action's facets; a clear verb penalises actions of another kind; the resource the query is
  about (its head) against what the action returns or moves; nested reads whose parent is never
  named step back; and the share of the operation id's nouns the query says.
* **exact**: an operation id, a dotted function name, or ``METHOD /path`` named in the query.
* **typos**: unknown words one or two edits from a known word are repaired (rapidfuzz) first.
* **semantic tie-breaker** (``_semantic``): when the first two are closer than
  ``Weights.semantic_margin``, the top ten are reordered with the scanner's sentence encoder
  (query against operation embeddings computed offline); a clear winner never reaches it.
  Beside it, a static per-token embedding distilled from the same encoder (``_static``) adds a
  smaller nudge to the same ten (microseconds: no encoder pass).

The signals are one linear map (``FEATURES``, :func:`weight_vector`); the weights are set by
hand, and ``tools/gen_search_weights.py`` learns an alternative set from queries generated from
the OpenAPI structure, which the benchmark measures beside them.

Every term's score row is precomputed at build time, so a query is a handful of vector additions.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from codemode.catalog import Action, Catalog, RouteTable
from codemode.search._asks import asked_clause
from codemode.search._clauses import request_clause
from codemode.search._documents import (
    FIELD_WEIGHTS,
    action_facets,
    action_nesting,
    action_owner,
    action_parent,
    action_targets,
    changed_types,
    concept_terms,
    document_fields,
    neighbour_types,
    resource_heads,
    resource_phrases,
    resource_verbs,
    terms,
)
from codemode.search._framing import frame
from codemode.search._query import ParsedQuery, names_full_route, parse_query
from codemode.search._refusal import HARD_REFUSALS, REFUSAL_FEATURES, RefusalModel
from codemode.search._semantic import OperationVectors
from codemode.search._shorthand import PARTS as SHORTHAND
from codemode.search._shorthand import expand
from codemode.search._static import StaticVectors
from codemode.search._text import STOPWORDS, negation_mask, stem, words
from codemode.search._vocab import (
    ABBREVIATIONS,
    CUES,
    FACETS,
    HEADS,
    MAX_PHRASE,
    SURFACE_WORDS,
)

__all__ = [
    "FEATURES",
    "SearchHit",
    "SearchIndex",
    "Weights",
    "learned_weights",
    "weight_vector",
    "with_vector",
]

_VERB_CLASSES = ("read", "create", "update", "delete", "link")
# Verbs of operation ids; what is left of an id is the resource it names.
_ID_VERBS = frozenset(
    {"get", "creat", "updat", "delet", "query", "bulk", "add", "remov", "tag", "for", "id", "all"}
)
# Words of an operation id that join its nouns ("get_tags_for_list").
_LINK_SPLIT = re.compile("_(?:" + "|".join(("for", "from", "to", "by", "of", "all")) + ")_")
# A filter or include on a listing, or a count: not a read of the records under a parent.
_FILTER = re.compile(r"\b(?:filter|filtered|where|equals|include|count|total|totals)\b|\?", re.I)
# The caller's own names inside a request: quoted, an email address, a word in Title Case, or a
# key written in snake_case ("a loyalty_tier property"), which no English sentence uses (not a
# function of a dotted or called name: "Billing.get_invoices", "get_invoices()").
_NAMES = re.compile(r"(['\"]).*?\1|\S+@\S+|\b[A-Z]\w*|(?<![.\w])[a-z0-9]+(?:_[a-z0-9]+)+\b(?![.(])")
_INDEFINITE = frozenset({"a", "an"})
_CALLED = re.compile(r"\b(?:called|named|titled)(?:\s+[\w-]+){1,3}", re.I)
# Words that ask for a bulk job itself (its progress, what it touched), not for its records.
_JOB_WORDS = frozenset({"job", "jobs", "import", "imports", "imported", "upload", "uploads"})
_GERUND = {"create": "creating", "update": "changing", "delete": "deleting"}
# A search states a task in a sentence or two; a pasted document is cut so latency stays bounded.
_MAX_QUERY_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Weights:
    """Every tunable of the ranking in one place.

    The lexical score is normalised to 1 for the best action, so the other weights read as "how
    much of a full lexical match this signal is worth". k1, b, the field weights and a few facet
    weights were set by coordinate search on the even dev lines (half A) and kept only where the odd
    lines (half B) and the package's own probes agreed; the rest are set by hand, small on purpose,
    so intent breaks ties between look-alikes without overriding what the words say.

    Attributes:
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        fields: weight of one occurrence in each document field.
        concept: weight of domain-concept terms relative to literal terms.
        list_verb: weight of a leading verb that is also a noun ("list", "mark") as a term.
        negated: weight of denied words, matched against denials in summaries.
        facets: bonus per unit of cue strength when the action has the facet.
        head: bonus when the action returns or moves the resource the query is about.
        verb_mismatch: penalty per unit of a clear verb for actions of another kind.
        parent_missing: penalty for nested reads whose parent resource the query never names.
        parent_named: bonus for nested reads of the query's head under a parent it names as one
            record ("event E", "this list"); the kind alone ("product collections") earns none.
        nesting: bonus for routes that nest two resources the query names in that order.
        coverage: bonus times the share of the operation id's nouns the query says (or means).
        job_unasked: penalty for reads of bulk jobs (their listings, one job, the records a job
            touched) when the query asks for no job ("job", "import", progress or status words).
        client_unasked: cue against client routes (``facets`` ``client`` times this) when the
            query names no client side (browser, app, public key): a request is a server's.
        cue_cap: cues stronger than this count as this.
        exact_id: bonus for an operation id or dotted function named in the query.
        exact_route: bonus for a ``/api/...`` route named in the query; ``route_method`` when
            its HTTP method matches too, ``method_word`` for a bare method word.
        fuzzy_cutoff: least rapidfuzz ratio for a typo repair.
        typos: whether unknown words are repaired at all.
        typo: weight of a repaired word relative to a word as typed.
        core: prior for the 162 core actions of the spec (what most tasks need), so a niche
            operation that shares every word with a core one (a relationship or job listing)
            ranks just behind it.
        twins: whether an ids-only relationship route earns over the route beside it that
            returns the full records only what its own words earn, unless ids are asked for
            (its shorter document otherwise out-matches the twin on the words they share).
        both_numbers: whether a noun the query says in both numbers ("variants of item Q, every
            variant") is left out of the ``number`` signal.
        clauses: whether a long query is read from the clause that states its request
            (``_clauses``); ``context``: weight of the whole query's lexical score beside it;
            ``asks``: read it instead from the last clause where the caller asks (``_asks``,
            off until it is shown not to lose on any untouched set); ``clause_near``: a later
            clause at least this share of the strongest one's raw match is the request
            (``_clauses.request_clause``; 1 reads the strongest clause alone).
        framing: whether a request is read without its framing (``_framing``): a planning
            step's label or a comment marker, an agent's "I'll" lead, and a purpose clause ("so
            I can ...", "to find ...") or a "before doing ..." that names another call.
        shorthand: whether abbreviations the index does not know are spelled out, a screen
            path ("Content > Templates") is read as its last step and a closing verb ("list
            member remove") is moved to the front (``_shorthand``).
        values: whether an email address or a phone number in a read asks for the listing
            that filters by it, and a written id ("01HQ3Z9M0P", "Tz8Nw1") stands for one
            record instead of being split into words (``_query``).
        semantic: weight of the encoder's z-scored similarity when the ranking is unsure
            (0 switches the tie-breaker off); ``semantic_margin``: "unsure" is a gap between
            the first two under this; ``semantic_top``: how many are reordered.
        static: weight of the static embedding's z-scored similarity (``_static``), added to
            the same unsure top ``semantic_top`` beside the encoder's (0 switches it off).
    """

    k1: float = 0.9
    b: float = 1.0
    fields: tuple[tuple[str, float], ...] = tuple(FIELD_WEIGHTS.items())
    concept: float = 0.6
    list_verb: float = 0.3
    negated: float = 0.5
    facets: tuple[tuple[str, float], ...] = (
        ("read", 0.05),
        ("list", 0.16),
        ("one", 0.16),
        ("create", 0.10),
        ("update", 0.10),
        ("delete", 0.10),
        ("bulk", 0.15),
        ("single", 0.10),
        ("report", 0.10),
        ("series", 0.20),
        ("values", 0.15),
        ("ids", 0.15),
        ("full", 0.08),
        ("link", 0.15),
        ("poll", 0.15),
        ("client", 0.25),
        ("server", 0.05),
    )
    head: float = 0.24
    verb_mismatch: float = 0.1
    parent_missing: float = 0.2
    parent_named: float = 0.15
    nesting: float = 0.05
    coverage: float = 0.1
    owner: float = 0.2
    number: float = 0.1
    job_unasked: float = 0.3
    client_unasked: float = 0.6
    cue_cap: float = 2.0
    exact_id: float = 1.5
    exact_route: float = 1.0
    route_method: float = 0.5
    method_word: float = 0.1
    fuzzy_cutoff: float = 82.0
    typos: bool = True
    typo: float = 0.7
    core: float = 0.05
    twins: bool = True
    both_numbers: bool = True
    clauses: bool = True
    framing: bool = True
    shorthand: bool = True
    values: bool = True
    asks: bool = False
    context: float = 0.2
    clause_near: float = 0.8
    semantic: float = 0.03
    semantic_margin: float = 0.1
    semantic_top: int = 10
    static: float = 0.005


# The signals of the score, in the order of ``SearchIndex._features``'s rows.
FEATURES: tuple[str, ...] = (
    "lexical",
    *(f"facet_{f}" for f in FACETS),
    "verb_mismatch",
    "head",
    "parent_missing",
    "parent_named",
    "nesting",
    "owner",
    "coverage",
    "number",
    "job_unasked",
    "core",
    "exact_id",
    "exact_route",
    "route_method",
    "method_word",
)
_FEATURE_ROW = {name: i for i, name in enumerate(FEATURES)}
_EXACT = ("exact_id", "exact_route", "route_method", "method_word")


def weight_vector(weights: Weights) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The weight of each signal of ``FEATURES`` (lexical is the unit the others are read in)."""
    facets = dict(weights.facets)
    vector = np.array(
        [
            1.0,
            *(facets.get(f, 0.0) for f in FACETS),
            *(float(getattr(weights, name)) for name in FEATURES[1 + len(FACETS) :]),
        ]
    )
    return vector


def with_vector(weights: Weights, vector: Mapping[str, float]) -> Weights:
    """``weights`` with the signal weights of ``vector`` (a ``FEATURES`` name -> weight map)."""
    facets = tuple((f, float(vector.get(f"facet_{f}", w))) for f, w in weights.facets)
    named: dict[str, Any] = {
        name: float(vector[name]) for name in FEATURES[1 + len(FACETS) :] if name in vector
    }
    return dataclasses.replace(weights, facets=facets, **named)


def learned_weights() -> Weights:
    """The hand-set weights with the signal weights learned by ``tools/gen_search_weights.py``.

    Learned from queries generated from the OpenAPI structure (``weights.json``); the benchmark
    measures them beside the shipped hand-set weights, which stay the default.
    """
    text = resources.files(__package__).joinpath("weights.json").read_text(encoding="utf-8")
    learned: dict[str, float] = json.loads(text)["weights"]
    return with_vector(Weights(), learned)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked action, compact enough to show a model."""

    id: str
    function: str
    summary: str
    kind: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The MCP ``search_api`` result record."""
        return {
            "id": self.id,
            "function": self.function,
            "summary": self.summary,
            "kind": self.kind,
            "score": self.score,
        }


@dataclass(slots=True)
class _Scores:
    """Per-signal score vectors for one query (kept apart for the benchmark's ablations)."""

    lexical: np.ndarray[Any, np.dtype[np.float64]]
    intent: np.ndarray[Any, np.dtype[np.float64]]
    exact: np.ndarray[Any, np.dtype[np.float64]]
    parsed: ParsedQuery = field(default_factory=ParsedQuery)


class SearchIndex:
    """A ranking over every action of a catalog; build once, query many times (well under 1 ms)."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        weights: Weights | None = None,
        refusal: RefusalModel | None = None,
    ) -> None:
        """Build the index.

        Args:
            catalog: the actions to rank (``load_catalog()``, possibly with extensions).
            weights: ranking parameters; the tuned defaults when omitted.
            refusal: the "no operation does this" model; the shipped one when omitted.
        """
        self.catalog = catalog
        self.weights = weights or Weights()
        self.actions: list[Action] = list(catalog.values())
        self._ids = frozenset(a.id for a in self.actions)
        self._position = {a.id: i for i, a in enumerate(self.actions)}
        self._heads = {**resource_heads(self.actions), **HEADS}
        self._build_lexical()
        self._build_facets()
        self._semantic = OperationVectors(self.actions) if self.weights.semantic else None
        self._static = StaticVectors(self.actions) if self.weights.static else None
        self._refusal = refusal or RefusalModel.shipped()
        vector = weight_vector(self.weights)
        self._exact_rows = np.array([_FEATURE_ROW[f] for f in _EXACT])
        self._intent_rows = np.array(
            [i for i, f in enumerate(FEATURES) if f != "lexical" and f not in _EXACT]
        )
        self._exact_weights = vector[self._exact_rows]
        self._intent_weights = vector[self._intent_rows]
        self._routes = RouteTable((a.path, i) for i, a in enumerate(self.actions))
        self._static_segments = self._routes.static_segments
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)
        # A search and its "no operation" decision read the same query (and its request clause)
        # several times: each is parsed and scored once. Cached results are never changed.
        self._parse = lru_cache(maxsize=1024)(self._parse_uncached)
        self._scores = lru_cache(maxsize=256)(self._scores_uncached)
        self._changes = resource_verbs(self.actions)
        self._resource_names = resource_phrases(list(self._changes))
        self._neighbours = neighbour_types(list(self._changes))
        self._resource_words = frozenset(
            w for phrase in self._heads for w in phrase if w not in STOPWORDS
        )
        self._id_verbs = frozenset(a.id.split("_")[0] for a in self.actions)
        self._writers: dict[str, list[int]] = {}
        for j, a in enumerate(self.actions):
            for t in changed_types(a):
                self._writers.setdefault(t, []).append(j)

    # -- build ---------------------------------------------------------------------------------

    def _build_lexical(self) -> None:
        w = self.weights
        field_weights = dict(w.fields)
        docs: list[defaultdict[str, float]] = []
        lengths: list[float] = []
        surface: set[str] = set()
        for action in self.actions:
            tf: defaultdict[str, float] = defaultdict(float)
            length = 0.0
            for name, field_terms in document_fields(action, self._ids).items():
                fw = field_weights.get(name, 0.0)
                for term in field_terms:
                    tf[term] += fw
                length += fw * len(field_terms)
            docs.append(tf)
            lengths.append(length)
            surface.update(
                words(" ".join([action.id, action.summary, *action.keywords, action.path]))
            )
        n = len(docs)
        avg = sum(lengths) / n if n else 1.0
        df: Counter[str] = Counter()
        for tf in docs:
            df.update(tf.keys())
        vocab = sorted(df)
        self._term_row = {t: i for i, t in enumerate(vocab)}
        rows: list[int] = []
        cols: list[int] = []
        freqs: list[float] = []
        for j, tf in enumerate(docs):
            for term, f in tf.items():
                rows.append(self._term_row[term])
                cols.append(j)
                freqs.append(f)
        r, c, f_arr = np.array(rows), np.array(cols), np.array(freqs)
        dfs = np.array([df[t] for t in vocab], dtype=np.float64)
        idf = np.log1p((n - dfs + 0.5) / (dfs + 0.5))
        norm = w.k1 * (1 - w.b + w.b * np.array(lengths) / avg)
        matrix = np.zeros((len(vocab), n), dtype=np.float64)
        matrix[r, c] = idf[r] * f_arr * (w.k1 + 1) / (f_arr + norm[c])
        self._matrix = matrix
        # Words a query may legitimately use; anything else is a candidate typo.
        surface |= SURFACE_WORDS
        self._known_words = sorted(s for s in surface | STOPWORDS if s.isalpha() and len(s) > 3)
        self._known_set = frozenset(surface | STOPWORDS)
        self._anagrams: dict[str, list[str]] = {}
        for known in sorted(surface):
            if known.isalpha() and len(known) >= 3:
                self._anagrams.setdefault("".join(sorted(known)), []).append(known)
        self._known_stems = frozenset(self._term_row) | frozenset(
            t for phrase in CUES for t in phrase
        )

    def _build_facets(self) -> None:
        self._facet_row = {f: i for i, f in enumerate(FACETS)}
        facets = np.zeros((len(FACETS), len(self.actions)), dtype=np.float64)
        for j, action in enumerate(self.actions):
            for f in action_facets(action):
                if f in self._facet_row:
                    facets[self._facet_row[f], j] = 1.0
        self._facets = facets
        self._facet_weight = np.array([dict(self.weights.facets).get(f, 0.0) for f in FACETS])
        targets: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
        for j, action in enumerate(self.actions):
            for t in action_targets(action):
                targets.setdefault(t, np.zeros(len(self.actions)))[j] = 1.0
        self._targets = targets
        parents: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
        for j, action in enumerate(self.actions):
            parent = action_parent(action)
            if parent:
                parents.setdefault(parent, np.zeros(len(self.actions)))[j] = 1.0
        self._parents = parents
        nestings: dict[tuple[str, str], np.ndarray[Any, np.dtype[np.float64]]] = {}
        for j, action in enumerate(self.actions):
            pair = action_nesting(action)
            if pair:
                nestings.setdefault(pair, np.zeros(len(self.actions)))[j] = 1.0
        self._nestings = nestings
        owned: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
        for j, action in enumerate(self.actions):
            owner = action_owner(action)
            if owner:
                owned.setdefault(owner, np.zeros(len(self.actions)))[j] = 1.0
        self._owned = owned
        # The operation id's own nouns ("custom", "metric"), each with its concepts, for how much
        # of the name a query covers ("who is on a list" covers the profile of get_profiles_for_list).
        # Flattened to groups so a query needs one lookup per term and one bincount.
        owners: list[int] = []
        shares: list[float] = []
        by_term: dict[str, list[int]] = {}
        for j, a in enumerate(self.actions):
            nouns = [t for t in terms(a.id) if t[0] not in "~!" and t not in _ID_VERBS]
            for t in nouns:
                group = len(owners)
                owners.append(j)
                shares.append(1.0 / len(nouns))
                for key in {t, *concept_terms([t])}:
                    by_term.setdefault(key, []).append(group)
        self._group_owner = np.array(owners, dtype=np.int64)
        self._group_share = np.array(shares)
        self._groups_of = {t: np.array(g, dtype=np.int64) for t, g in by_term.items()}
        # The nouns of the operation id as written ("conversation" vs "conversations", "job" vs
        # "jobs"): a query word with the same stem in the other number says one record where
        # the name says many, or the reverse, which stems alone cannot tell.
        # Only the head of each noun run counts ("codes" in coupon_codes, "ids" in profile_ids):
        # a modifier is singular whatever it means.
        by_stem: dict[str, dict[str, set[int]]] = {}
        for j, a in enumerate(self.actions):
            runs = _LINK_SPLIT.split(a.id.split("_", 1)[-1])
            for noun in (run.split("_")[-1] for run in runs if run):
                by_stem.setdefault(stem(noun), {}).setdefault(noun, set()).add(j)
        self._other_number = {
            form: np.array(sorted(set().union(*(js for f, js in forms.items() if f != form))))
            for forms in by_stem.values()
            if len(forms) > 1
            for form in forms
        }
        self._core = np.array([1.0 if a.core else 0.0 for a in self.actions])
        # Reads of bulk jobs (a job listing, one job, the records a job touched): a caller asks
        # for a job only by saying so ("import job", "progress"); "codes for the coupon" means
        # the codes, not the job that made them.
        self._job_reads = np.array(
            [1.0 if a.method == "GET" and "-jobs" in a.path else 0.0 for a in self.actions]
        )
        # An ids-only relationship route and the route beside it that returns the full records
        # (``/api/profiles/{id}/relationships/segments`` and ``/api/profiles/{id}/segments``).
        by_route = {(a.method, a.path): j for j, a in enumerate(self.actions)}
        pairs = [
            (j, k)
            for j, a in enumerate(self.actions)
            if a.method == "GET"
            and "/relationships/" in a.path
            and (k := by_route.get(("GET", a.path.replace("/relationships/", "/")))) is not None
        ]
        self._ids_twin = np.array([j for j, _ in pairs], dtype=np.int64)
        self._full_twin = np.array([k for _, k in pairs], dtype=np.int64)
        # Per term, what it gives each ids route that its full twin's document lacks.
        self._ids_only = self._matrix[:, self._ids_twin] * (self._matrix[:, self._full_twin] == 0)
        self._method = {
            m: np.array([1.0 if a.method == m else 0.0 for a in self.actions])
            for m in ("GET", "POST", "PATCH", "PUT", "DELETE")
        }

    def _correct_uncached(self, word: str) -> str:
        if (
            not self.weights.typos
            or word in self._known_set
            or len(word) < 3
            or not word.isalpha()
            or stem(word) in self._known_stems
        ):
            return word
        # "untag", "unlabel": taking off what the rest of the word names.
        rest = word[2:]
        if (
            word.startswith("un")
            and len(rest) >= 3
            and (rest in self._known_set or stem(rest) in self._known_stems)
        ):
            return "remove " + rest
        # A letter typed twice ("taggs", "lisst"): the letters are all there, as in a swap.
        doubled = sorted(
            single
            for i in range(len(word) - 1)
            if word[i] == word[i + 1] and (single := word[:i] + word[i + 1 :]) in self._known_set
        )
        if doubled:
            return doubled[0]
        # Two letters swapped ("lsit", "flwo", "itmes") is the commonest slip and safe even in
        # short words: the letters are all there, so it is repaired before any length rule.
        swapped = [
            c for c in self._anagrams.get("".join(sorted(word)), ()) if OSA.distance(word, c) == 1
        ]
        if swapped:
            return min(swapped)
        if len(word) < 5:
            return word
        # A typo is one or two edits away (transpositions count once); a real word that merely
        # resembles ours ("confirmation" ~ "configuration") is further, so it is left alone.
        limit = 1 if len(word) <= 8 else 2
        near = process.extract(
            word, self._known_words, scorer=OSA.distance, score_cutoff=limit, limit=5
        )
        if not near:
            return word
        # Among words as close, the most similar overall; five-letter words need more
        # ("black" is one edit from "back" and is no typo).
        best = max(
            (str(c[0]) for c in near), key=lambda c: (-OSA.distance(word, c), fuzz.ratio(word, c))
        )
        needed = (
            self.weights.fuzzy_cutoff if len(word) > 5 else max(self.weights.fuzzy_cutoff, 90.0)
        )
        return best if fuzz.ratio(word, best) >= needed else word

    # -- query ---------------------------------------------------------------------------------

    def _parse_uncached(self, query: str) -> ParsedQuery:
        w = self.weights
        return parse_query(
            query,
            known_ids=self._ids,
            correct=self._correct,
            concept_weight=w.concept,
            list_verb_weight=w.list_verb,
            negated_weight=w.negated,
            typo_weight=w.typo,
            heads=self._heads,
            client_unasked=w.client_unasked,
            values=w.values,
        )

    def _scores_uncached(self, query: str) -> _Scores:
        query = self._framed(query)
        focus = self._focus(query)
        parsed, features = self._features(focus or query)
        lexical = features[0]
        exact = self._exact_weights @ features[self._exact_rows]
        intent = self._intent_weights @ features[self._intent_rows]
        if focus is not None:
            # The request clause leads; the rest of the query still counts a little (a resource
            # named in an earlier sentence), and names or routes anywhere in it count in full.
            _, whole = self._features(query)
            lexical = lexical + self.weights.context * whole[0]
            exact = self._exact_weights @ whole[self._exact_rows]
        for vector in (lexical, intent, exact):
            vector.flags.writeable = False  # shared by every caller of the cache
        return _Scores(lexical=lexical, intent=intent, exact=exact, parsed=parsed)

    def _request(self, query: str) -> str:
        """The clause of a long ``query`` that states its request, else ``query`` itself."""
        query = self._framed((query or "")[:_MAX_QUERY_CHARS])
        return self._focus(query) or query

    def _framed(self, query: str) -> str:
        """``query`` without its framing (``_framing``) when ``Weights.framing``, its shorthand
        spelled out (``_shorthand``) when ``Weights.shorthand``."""
        query = self._expanded(query)
        return frame(query) if self.weights.framing else query

    def _expanded(self, query: str, parts: tuple[str, ...] = SHORTHAND) -> str:
        """``query`` with its shorthand spelled out (``_shorthand``, the rules in ``parts``)
        when ``Weights.shorthand``."""
        if not self.weights.shorthand:
            return query
        return expand(
            query,
            abbreviations=ABBREVIATIONS,
            known=self._knows,
            names_resource=self._names_resource,
            verb=self._is_verb,
            parts=parts,
        )

    def _knows(self, word: str) -> bool:
        return word in self._known_set or stem(word) in self._known_stems

    def _names_resource(self, text: str) -> bool:
        stream = [stem(w) for w in words(text)]
        return any(
            tuple(stream[i : i + k]) in self._heads
            for i in range(len(stream))
            for k in range(1, min(MAX_PHRASE, len(stream) - i) + 1)
        )

    def _is_verb(self, word: str) -> bool:
        """A verb of a request that is no resource's name ("remove", "rename"; not "list")."""
        key = (stem(word),)
        return key not in self._heads and any(
            f in ("create", "update", "delete", "read", "link") and weight >= 1.0
            for f, weight in CUES.get(key, ())
        )

    def _focus(self, query: str) -> str | None:
        """The request clause of a long ``query`` (``_clauses``, or ``_asks`` when
        ``Weights.asks``); None when the query is read whole."""
        if not self.weights.clauses:
            return None
        if self.weights.asks:
            return asked_clause(query, self._strength)
        return request_clause(query, self._strength, self.weights.clause_near)

    def _strength(self, text: str) -> float:
        """The raw (unnormalised) lexical score of the best action for ``text``."""
        best = np.zeros(len(self.actions))
        for term, weight in self._parse(text).terms.items():
            term_row = self._term_row.get(term)
            if term_row is not None:
                best += weight * self._matrix[term_row]
        return float(best.max()) if len(best) else 0.0

    def _features(self, query: str) -> tuple[ParsedQuery, np.ndarray[Any, np.dtype[np.float64]]]:
        """The query's unweighted signals, one row per name of ``FEATURES``, one column per action.

        The score is ``weight_vector(weights) @ features``: every signal is linear in its weight,
        so the weights can be learned (``tools/search_weights.py``) as well as set by hand.
        """
        w = self.weights
        n = len(self.actions)
        parsed = self._parse(query)
        out = np.zeros((len(FEATURES), n))
        row = _FEATURE_ROW
        lexical = out[row["lexical"]]
        term_rows: list[int] = []
        term_weights: list[float] = []
        for term, weight in parsed.terms.items():
            term_row = self._term_row.get(term)
            if term_row is not None:
                lexical += weight * self._matrix[term_row]
                term_rows.append(term_row)
                term_weights.append(weight)
        if w.twins and term_rows and parsed.cues.get("ids", 0.0) <= 0 and len(self._ids_twin):
            # An ids-only route says what its full twin says and returns less: unless ids are
            # asked for, it earns over the twin only what its own words ("id", "only") earn,
            # not what its shorter document gives the words they share.
            extra = np.asarray(term_weights) @ self._ids_only[term_rows]
            lexical[self._ids_twin] = np.minimum(
                lexical[self._ids_twin], lexical[self._full_twin] + extra
            )
        top = lexical.max() if n else 0.0
        if top > 0:
            lexical /= top
        cues = np.zeros(len(FACETS))
        for facet, strength in parsed.cues.items():
            cues[self._facet_row[facet]] = max(-w.cue_cap, min(w.cue_cap, strength))
        first = row["facet_" + FACETS[0]]
        out[first : first + len(FACETS)] = cues[:, None] * self._facets
        # A clear verb ("label the blast", "which segments...") rules out actions of another kind.
        verbs = {f: parsed.cues.get(f, 0.0) for f in _VERB_CLASSES}
        changing = any(verbs[f] >= 1.0 for f in ("create", "update", "delete", "link"))
        verb, strength = max(verbs.items(), key=lambda kv: kv[1])
        if strength >= 1.0:
            out[row["verb_mismatch"]] = -min(strength, w.cue_cap) * (
                1.0 - self._facets[self._facet_row[verb]]
            )
        for head in parsed.heads:
            target = self._targets.get(head)
            if target is not None:
                out[row["head"]] += target
        # "the profiles of a list" needs a list: nested reads whose parent is never named step back.
        # Only for plain reads: a change, or a filter on the listing, is about something else.
        wanted = (
            self._targets.get(parsed.heads[0])
            if parsed.heads
            and not changing
            and parsed.cues.get("report", 0.0) <= 0
            and not _FILTER.search(query)
            else None
        )
        for parent, rows in self._parents.items():
            if parent not in parsed.mentions:
                out[row["parent_missing"]] -= rows
            elif wanted is not None and parent != parsed.heads[0] and parent in parsed.owners:
                # "the metric of event E": a read of the head under the one parent record named.
                # A parent named only as a kind ("product collections", "codes of a promotion")
                # asks for the plain listing, which the core prior and the words already favour.
                out[row["parent_named"]] += rows * wanted
        if parsed.nesting:
            nested = self._nestings.get(parsed.nesting)
            if nested is not None:
                out[row["nesting"]] = nested
        # Only when the query names something under the record too ("tags of campaign C");
        # "delete tag T" is about the tag itself, not the routes under it.
        for owner in parsed.owners:
            under = self._owned.get(owner)
            if under is not None and parsed.mentions - {owner}:
                out[row["owner"]] += under
        hit = [self._groups_of[t] for t in parsed.terms if t in self._groups_of]
        if hit:
            groups = np.unique(np.concatenate(hit))
            out[row["coverage"]] = np.bincount(
                self._group_owner[groups], weights=self._group_share[groups], minlength=n
            )
        said: dict[str, set[str]] = {}
        for word in parsed.numbered:
            if word in self._other_number:
                said.setdefault(stem(word), set()).add(word)
        for word in parsed.numbered:
            other = self._other_number.get(word)
            # A query that says a noun in both numbers ("variants of item Q, every variant")
            # tells nothing about the number it wants.
            if other is not None and (not w.both_numbers or len(said[stem(word)]) == 1):
                out[row["number"], other] -= 1.0
        out[row["core"]] = self._core
        if parsed.cues.get("poll", 0.0) <= 0 and not parsed.surface & _JOB_WORDS:
            out[row["job_unasked"]] = -self._job_reads
        for ident in parsed.ids:
            out[row["exact_id"], self._position[ident]] += 1.0
        for method, path in parsed.routes:
            for j in self._route_actions(path):
                out[row["exact_route"], j] += 1.0
                if method is not None and self.actions[j].method == method:
                    out[row["route_method"], j] += 1.0
        for method in parsed.methods:
            out[row["method_word"]] += self._method.get(method, 0.0)
        return parsed, out

    def _route_actions(self, path: str) -> list[int]:
        """The actions at ``path``, where a segment may be a real id (``/api/lists/Y7xZ``)."""
        return self._routes.match(path)

    def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Rank the actions for ``query``; an empty list when nothing in it matches the catalog.

        Args:
            query: what the caller wants to do, in any words (task, keywords, ``GET /api/...``).
            limit: how many hits to return (1 to 50).
        """
        limit = max(1, min(int(limit), 50))
        query = (query or "")[:_MAX_QUERY_CHARS]
        if not re.search(r"\w", query):
            return []
        s = self._scores(query)
        if not s.lexical.any() and not s.exact.any():
            return []
        order, total = self._order(query, s)
        return [self._hit(int(j), float(total[j])) for j in order[:limit]]

    def _order(
        self, query: str, s: _Scores
    ) -> tuple[np.ndarray[Any, np.dtype[np.intp]], np.ndarray[Any, np.dtype[np.float64]]]:
        """Actions best first, and their scores: lexical + intent + exact, then, when the first
        two are closer than ``semantic_margin``, the top ``semantic_top`` reordered with the
        encoder's z-scored similarity (``_semantic``) and the static embedding's (``_static``)."""
        w = self.weights
        total = s.lexical + s.intent + s.exact
        order = np.argsort(-total, kind="stable")
        if len(order) < 2 or total[order[0]] - total[order[1]] >= w.semantic_margin:
            return order, total
        nudge = np.zeros(len(order))
        for weight, vectors in ((w.semantic, self._semantic), (w.static, self._static)):
            z = vectors.zscores(query) if vectors is not None else None
            if z is not None:
                nudge += weight * z
        if not nudge.any():
            return order, total
        top = order[: w.semantic_top]
        total = total.copy()
        total[top] += nudge[top]
        reordered = top[np.argsort(-total[top], kind="stable")]
        final = np.concatenate([reordered, order[w.semantic_top :]])
        # The nudge can lower a reordered hit below the best of the rest: scores read best first.
        total[final] = np.minimum.accumulate(total[final])
        return final, total

    def warm(self) -> bool:
        """Load the semantic tie-breaker's encoder (and the static embedding's table) now rather
        than on the first unsure query.

        Returns False when there is no encoder (switched off, or it cannot load).
        """
        if self._static is not None:
            self._static.warm()
        return self._semantic is not None and self._semantic.warm()

    def unserved(self, query: str) -> list[str]:
        """What of ``query`` nothing in the API is about ("fax", "password", "tweet").

        A word counts when it is plain (letters only, not a name in Title Case or quotes), no
        operation's document or the vocabulary knows it, and no typo repair finds one that does.
        With none, the change that no operation makes (``missing_change``: "deleting a metric");
        with neither, the request's content words that the closest operation's document lacks
        (all of them when it has every one), so a refusal always says what it could not serve.
        """
        query = self._request(query)
        out = self._unknown_words(query)[1]
        if not out and (change := self.missing_change(query)):
            out.append(change)
        if not out:
            content = self._content_words(query)
            if self._parse(query).routes:  # "GET /api/users": the method is not what is missing
                content = [w for w in content if w.upper() not in self._method]
            best = int(np.argmax(self._scores(query).lexical)) if content else 0
            out = [w for w in content if not self._in_document(w, best)] or content
        return out

    def _content_words(self, query: str) -> list[str]:
        return [
            w
            for w in words(query[:_MAX_QUERY_CHARS])
            if len(w) >= 3 and w.isalpha() and w not in STOPWORDS
        ]

    def _in_document(self, word: str, j: int) -> bool:
        """Whether action ``j``'s document has ``word`` (as repaired and stemmed) or its concept."""
        parts = [stem(p) for p in self._correct(word).split()]
        return any(
            (row := self._term_row.get(t)) is not None and self._matrix[row, j] > 0
            for t in (*parts, *concept_terms(parts))
        )

    def _unknown_words(self, query: str) -> tuple[list[str], list[str]]:
        """The plain words nothing in the API knows, and those of them not excused as names."""
        text = _NAMES.sub(self._name_gap, query[:_MAX_QUERY_CHARS])
        text = _CALLED.sub(" ", text)  # "a collection called summer essentials": the caller's name
        out: list[str] = []
        tokens = words(text)
        unknown = [False] * len(tokens)
        for k, word in enumerate(tokens):
            if len(word) < 3 or not word.isalpha() or word in STOPWORDS:
                continue
            parts = self._correct(word).split()  # "unlabel" -> "remove label"
            if all(p in self._known_set or stem(p) in self._known_stems for p in parts):
                continue
            unknown[k] = True
        for k, word in enumerate(tokens):
            if not unknown[k]:
                continue
            # Words before a resource word or a function word ("the hero image", "the bamboo
            # toothbrush is discontinued") name one of the caller's things inside the sentence;
            # what it asks for and the API lacks comes last ("post to instagram"). Measured on the
            # tuning, dev and probe sets: false "no operation" 22 -> 6 of 1611, unserved 15 -> 12/29.
            nxt = k + 1
            while nxt < len(tokens) and unknown[nxt]:
                nxt += 1
            start = k
            while start > 0 and unknown[start - 1]:
                start -= 1
            # After "a" or "an" the words name a kind of thing ("a fax", "a whatsapp message"),
            # not one of the caller's own: those come with "the", "our" or a name.
            kind = start > 0 and tokens[start - 1] in _INDEFINITE
            if (
                not kind
                and nxt < len(tokens)
                and (tokens[nxt] in STOPWORDS or stem(tokens[nxt]) in self._resource_words)
            ):
                continue
            out.append(word)
        return [t for t, u in zip(tokens, unknown, strict=True) if u], out

    def _name_gap(self, match: re.Match[str]) -> str:
        """A blank for one of the caller's names; a snake_case word that opens with the verb of
        an operation id ("get_invoices") is a guessed function, not a name, and stays."""
        text = match.group(0)
        return text if "_" in text and text.split("_")[0] in self._id_verbs else " "

    def missing_change(self, query: str) -> str | None:
        """The change the query asks for that no operation makes ("deleting a metric"), or None.

        The query must open with a clear change (create, update or delete) and name resources of
        the OpenAPI document; when no operation makes that change to any resource named, no
        operation does what it asks ("delete a metric": metrics are only read; "rename the account").
        """
        query = query[:_MAX_QUERY_CHARS]
        parsed = self._parse(query)
        if parsed.ids or parsed.routes:
            return None
        verb, strength = max(
            ((v, parsed.cues.get(v, 0.0)) for v in ("create", "update", "delete", "link")),
            key=lambda kv: kv[1],
        )
        if verb == "link" or strength < 1.5:
            return None
        raw = words(query)
        negated = negation_mask(query, raw)
        stream = [stem(self._correct(w)) for w in raw]
        named: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(stream):
            size = 0
            if not negated[i]:
                for k in range(min(MAX_PHRASE, len(stream) - i), 0, -1):
                    if tuple(stream[i : i + k]) in self._resource_names:
                        size = k
                        break
            if not size:
                if raw[i] not in STOPWORDS and not negated[i] and (stream[i],) not in CUES:
                    rest.append(stream[i])
                i += 1
                continue
            named += [t for t, _ in self._resource_names[tuple(stream[i : i + size])]]
            i += size
        if not named or any(verb in self._changes.get(t, ()) for t in named):
            return None
        # The other words may name a neighbour that is changed ("a combined revenue metric" is a
        # custom metric): a word of an operation making this change to a neighbour keeps it served.
        near = sorted(
            {j for t in named for u in self._neighbours.get(t, ()) for j in self._writers[u]}
        )
        able = [j for j in near if self._facets[self._facet_row[verb], j] > 0]
        for term in rest:
            row = self._term_row.get(term)
            if row is not None and able and self._matrix[row, able].any():
                return None
        noun = named[0].replace("-", " ")
        article = "an" if noun[0] in "aeiou" else "a"
        return f"{_GERUND[verb]} {article} {noun}"

    def serves(self, query: str) -> bool:
        """False when no operation does what ``query`` asks: a change no operation makes
        (``missing_change``), a route the API does not have (``unknown_route``), or the
        calibrated decision of ``_refusal``.

        A long query is judged by the clause that states its request (``_clauses``): the
        context around it ("I run a small candle shop") is not what the API must serve.
        """
        features = self.refusal_features(query)
        # A change no operation makes ("delete a metric") or a route the API does not have
        # ("DELETE /api/metrics/{id}") is a fact of the API, not a guess.
        if any(features[REFUSAL_FEATURES.index(name)] for name in HARD_REFUSALS):
            return False
        return not self._refusal.refuses(features)

    def refusal_features(self, query: str) -> tuple[float, ...]:
        """The values of ``REFUSAL_FEATURES`` for ``query`` (what the refusal model reads)."""
        query = (query or "")[:_MAX_QUERY_CHARS]
        request = self._request(query)
        tokens = [w for w in words(request) if len(w) >= 3 and w.isalpha() and w not in STOPWORDS]
        n = max(1, len(tokens))
        raw, unknown = self._unknown_words(request)
        # The first plain word of the request (its verb, mostly) is one nothing knows: "ring ...".
        plain = [w for w in words(re.sub(r"\b[A-Z]\w*", " ", request)) if w in tokens]
        parsed = self._parse(request)
        s = self._scores(query)
        total = s.lexical + s.intent + s.exact
        named = [t for t in parsed.terms if t[0] not in "~!"]
        values = {
            "missing_change": float(self.missing_change(request) is not None),
            "unknown_share": len(unknown) / n,
            "best_score": float(total.max()) if len(total) else 0.0,
            "unknown_route": float(self._missing_route(request, parsed)),
            "strength_per_term": self._strength(request) / max(1, len(named)),
            "raw_unknown_share": len(raw) / n,
            "content_words": float(len(tokens)),
            "lead_unknown": float(bool(plain) and plain[0] in raw),
        }
        return tuple(values[name] for name in REFUSAL_FEATURES)

    def _missing_route(self, request: str, parsed: ParsedQuery) -> bool:
        """Whether ``request`` names a route and the API has none of the routes it names.

        A route is missing when no operation sits at its path, or when its method is written and
        no operation at that path has it ("DELETE /api/metrics/{id}": metrics are only read; PUT
        reads as PATCH). A bare route ("lists/{id}") counts only when a segment is one of the
        API's own or a placeholder: "A/B test" and "and/or" are words, not routes.
        """
        routes = parsed.routes
        if routes and not names_full_route(request):
            routes = [
                (m, p)
                for m, p in routes
                if any(s == "{}" or s in self._static_segments for s in p.split("/")[2:])
            ]
        if not routes:
            return False
        for method, path in routes:
            actions = self._route_actions(path)
            wanted = "PATCH" if method == "PUT" else method
            if actions and (
                wanted is None or any(self.actions[j].method == wanted for j in actions)
            ):
                return False
        return True

    def rank(self, query: str) -> list[str]:
        """Every action id, best first (for evaluation)."""
        query = (query or "")[:_MAX_QUERY_CHARS]
        order, _ = self._order(query, self._scores(query))
        return [self.actions[int(j)].id for j in order]

    def _hit(self, j: int, score: float) -> SearchHit:
        a = self.actions[j]
        return SearchHit(
            id=a.id, function=a.function, summary=a.summary, kind=a.kind, score=round(score, 3)
        )

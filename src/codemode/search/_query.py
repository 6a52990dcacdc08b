"""Query analysis: typo repair, negation scopes, exact names and paths, and intent cues.

The output, :class:`ParsedQuery`, is everything the scorer needs and nothing it has to re-read
from the raw string: weighted terms for the lexical match, a facet -> strength map for the intent
match, and the operation ids / HTTP routes named outright.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from codemode.catalog import normalize_path
from codemode.search._documents import concept_terms
from codemode.search._text import NEGATORS, STOPWORDS, negation_mask, stem, words
from codemode.search._vocab import CUES, HEADS, MAX_PHRASE, PhraseTable

__all__ = ["ParsedQuery", "normalize_path", "parse_query"]

# Facets whose denial is itself a request for the other side.
_OPPOSITE = {
    "bulk": "single",
    "single": "bulk",
    "series": "values",
    "values": "series",
    "ids": "full",
    "full": "ids",
    "client": "server",
    "server": "client",
}
# A route, with or without the slash before "api" ("GET api/lists/Y7/profiles").
_ROUTE = re.compile(
    r"(?:\b(GET|POST|PATCH|PUT|DELETE)\s+)?((?:/(?:api|client)|(?<![\w/.])api)/[A-Za-z0-9_\-/{}$:.]*[A-Za-z0-9_\-{}$:.])",
    re.I,
)
# A guessed SDK method in camelCase ("sendCampaign", "ListsApi.addProfilesToList").
_CAMEL = re.compile(r"\b[a-z]+(?:[A-Z][a-z0-9]+)+\b")
# A route written without its /api prefix ("lists/{id}/relationships/profiles", "profiles/{id}/lists").
_BARE_ROUTE = re.compile(
    r"(?:\b(GET|POST|PATCH|PUT|DELETE)\s+)?(?<![\w/])([a-z][a-z-]*(?:/(?:\{[^}\s]*\}|[a-z][a-z-]*))+)",
    re.I,
)


def names_full_route(query: str) -> bool:
    """Whether ``query`` writes a route with its prefix ("/api/lists", "api/lists", "/client/...").

    A bare route ("lists/{id}/profiles") is guessed from any word with a slash, so "A/B" and
    "and/or" read as one too; callers that act on an unknown route tell the two apart with this.
    """
    return _ROUTE.search(query) is not None


_METHOD_VERB = {
    "GET": "read",
    "POST": "create",
    "PATCH": "update",
    "PUT": "update",
    "DELETE": "delete",
}
_IDENT = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_COUNTABLES = frozenset(
    {"records", "rows", "entries", "items", "ones", "events", "orders", "codes", "skus"}
)
_DIGIT = re.compile(r"\d")
_NAMED_LIST = 1.0
_PLURAL_LIST = 0.5
# Between two resources, these make the second one the parent ("the tags of list L").
_OWNED_BY = frozenset({"of", "for", "in", "on", "under", "behind", "belong", "belongs", "inside"})
_TALLY = ("how many", "number of", "count of")
# "the flow's actions" says "the actions of the flow": the owner second, as "of" puts it.
_POSSESSIVE = re.compile(
    r"\b(?!(?:it|that|what|who|there|here|let|he|she|everyone|one)['\u2019])"
    r"([a-z][a-z-]*)['\u2019]s\s+([a-z][a-z-]*)\b",
    re.I,
)
# After a verb-or-noun ("list", "mark"), these are its object: it is the verb.
_OBJECTS = frozenset({"it", "them", "all", "every", "each", "those", "these"})
# The intent facets of a change.
_CHANGES = ("create", "update", "delete", "link")
# "<resource> id of / for / behind <another>": the id one record holds of another.
_ID_OF = re.compile(r"\b([a-z]+)\s+id\s+(?:of|for|behind|from|on|belonging\s+to)\b", re.I)
# After these a word that is a verb or a noun ("which list", "what tag") is the noun.
_QUESTION_DETERMINERS = frozenset({"which", "what", "whose"})
# A resource just after these, in a request for a change, is where things go or come from.
_INTO = frozenset({"to", "into", "onto", "from", "off"})
_TITLE_RUN = re.compile(r"(?<=\w )(?:[A-Z][a-z]+ )+[A-Z][a-z]+\b")
# Klaviyo's compound catalog ids name one record; their parts are not vocabulary.
_CATALOG_ID = re.compile(r"\$custom:::\$default:::\S+")
_THOUSANDS = re.compile(r"(\d),(\d{3})\b")
_COUNT = re.compile(r"(\d+)([km]?)")
# "the client", "my clients": in a marketer's or an agency's English (and in most European
# languages) a client is a customer, not the public-key routes under /client/. Only a client word
# that reads as a person becomes "customer": after a determiner or in the plural, and never before
# side/API/key/route words or the name of a client route ("client-side", "the client API",
# "a client event", "client reviews").
_CLIENT_PERSON = re.compile(
    r"\b(?:((?:the|a|an|my|our|one|this|that|each|every|his|her|their|your|per|new|of|for)\s+)"
    r"client|clients)\b(?![\s-]*(?:side|api|apis|sdk|key|keys|route|routes|endpoint|endpoints|"
    r"call|calls|request|requests|library|libraries|event|events|profile|profiles|subscription|"
    r"subscriptions|review|reviews|push|token|tokens|geofence|geofences|back)\b)",
    re.I,
)


def _client_person(match: re.Match[str]) -> str:
    return f"{match.group(1)}customer" if match.group(1) else "customers"


# "last 30 days", "this month", "past week": the window a report covers, which every report
# has; the unit alone must not read as "per day" (a series).
_WINDOW = re.compile(
    r"\b(?:last|past|previous|prior|this|next|the last|the past)\s+(?:\d+\s+|few\s+|two\s+|"
    r"three\s+|six\s+|twelve\s+)?(?:days?|weeks?|months?|quarters?|years?)\b",
    re.I,
)
# "block these addresses": a leading "block" is the verb (suppress), not a content block.
_BLOCK_VERB = re.compile(
    r"^(\W*(?:please\s+|(?:i|we)\s+(?:want|need|have)\s+to\s+|how\s+(?:do|can)\s+(?:i|we)\s+)?)"
    r"(un)?block\b(?!\s+(?:of|content|library|libraries)\b)",
    re.I,
)


def _block_verb(match: re.Match[str]) -> str:
    return match.group(1) + ("unsuppress" if match.group(2) else "suppress")


# "we no longer need X", "X is not used anymore": a request to delete X, not a denial of X.
_NO_LONGER = re.compile(
    r"\b(?:no longer|don'?t|do not|never|not)\s+(?:need|needed|use|used|want|wanted)\b"
    r"|\bnot\s+(?:needed|used)\s+anymore\b",
    re.I,
)
# Quoted strings are the caller's own names ('Back to School'), not API vocabulary; emails likewise.
_QUOTED = re.compile(r"(?<!\w)(['\"\u2018\u201c])(.+?)['\"\u2019\u201d](?!\w)")
_EMAIL = re.compile(r"\S+@\S+")
# A phone number (E.164 or written with spaces, dots, dashes, brackets): the caller's value too.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d[\d\s().-]{6,}\d|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4})(?![\w-])"
)
# An id as the API writes them (ULIDs, short mixed-case ids: "01HQ3Z9M0P", "Tz8Nw1", "4Vb7Nq"):
# letters and digits with a letter after a digit or a capital after a small letter. Split into
# pieces ("hq3", "z9") they are words no document has, and each piece counted as one more id;
# one placeholder id stands for the record, once.
_API_ID = re.compile(
    r"(?<![\w$:/.-])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*(?:\d[A-Za-z]|[a-z][A-Z]))[A-Za-z0-9]{5,}"
    r"(?![\w$:/.-])"
)
# "a collection called Gifts", "a tag named Q4": the name that follows is the caller's, not ours.
_NAMED = re.compile(r"\b(?:called|named|titled)\s+\S+")
# A yes/no question about the state of things: its verbs describe, they ask for no change.
# "Is there a way to ...", "is it possible to ..." and "has to" ask for what follows.
_STATE_QUESTION = re.compile(
    r"\s*(?:is|are|was|were|did|does|do|has|have)\b(?!\s+(?:there|it|to)\b)", re.I
)
_FILLER = STOPWORDS | {"please", "now", "quickly", "also", "ok", "okay", "hey", "so", "then"}
# Verbs that are nouns or adjectives just as often; they only count as the leading imperative.
_LEADING_ONLY = frozenset(
    stem(w)
    for w in (
        "mark",
        "tag",
        "label",
        "post",
        "push",
        "send",
        "record",
        "track",
        "log",
        "set",
        "point",
        "drop",
        "list",
        "start",
        "issue",
        "draft",
        "fix",
        "move",
        "build",
        "make",
        "put",
        "trigger",
        "import",
    )
)
# Leading verbs that are also nouns in summaries ("List campaigns", "mark used"): as the
# imperative they say what to do (the intent cue), not which resource, so they weigh less.
_SOFT_VERBS = frozenset(
    stem(w) for w in ("list", "mark", "set", "record", "track", "log", "post", "point", "drop")
)
_VERB_FACETS = frozenset({"create", "update", "delete", "read", "link"})
# After these, a leading verb-or-noun ("record", "list") is the noun.
_NOUN_NEXT = frozenset({"ids", "id", "identifiers", "identifier", "of"})
# After these, a leading "tag" is the noun ("tag group", "tag ids for a flow"), not the verb.
_TAG_NOUN_NEXT = frozenset(
    {"group", "groups", "id", "ids", "identifier", "identifiers", "of", "for", "on", "names"}
)


def _drop_name(match: re.Match[str], heads: PhraseTable = HEADS) -> str:
    """Blank a Title Case run unless it names one of our resources ("Custom Metrics")."""
    if any((stem(w),) in heads for w in words(match.group(0))):
        return match.group(0)
    return " "


@dataclass(slots=True)
class ParsedQuery:
    """What a query asks for, ready for scoring."""

    terms: dict[str, float] = field(default_factory=dict)
    cues: dict[str, float] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    routes: list[tuple[str | None, str]] = field(default_factory=list)
    methods: set[str] = field(default_factory=set)
    heads: list[str] = field(default_factory=list)
    mentions: set[str] = field(default_factory=set)
    nesting: tuple[str, str] | None = None
    owners: set[str] = field(default_factory=set)
    surface: set[str] = field(default_factory=set)
    # The surface words whose number counts (not a modifier before another resource noun).
    numbered: set[str] = field(default_factory=set)

    def add_term(self, term: str, weight: float) -> None:
        """Add ``weight`` to ``term`` (terms repeat when a phrase and its words both match)."""
        self.terms[term] = self.terms.get(term, 0.0) + weight

    def add_cue(self, facet: str, weight: float) -> None:
        """Record that the query asks (positive) or refuses (negative) ``facet``."""
        if not facet.startswith("_"):
            self.cues[facet] = self.cues.get(facet, 0.0) + weight


def parse_query(
    query: str,
    *,
    known_ids: frozenset[str],
    correct: Callable[[str], str],
    concept_weight: float,
    list_verb_weight: float,
    negated_weight: float,
    typo_weight: float,
    heads: PhraseTable = HEADS,
    client_unasked: float = 0.0,
    values: bool = True,
) -> ParsedQuery:
    """Analyse ``query``.

    Args:
        query: the caller's words.
        known_ids: operation ids, so ``create_campaign`` in a query is read as a name.
        correct: maps an unknown word to the closest known word (typo repair) or returns it.
        concept_weight: weight of the domain-vocabulary concept terms relative to literal terms.
        list_verb_weight: weight of a leading "list", which is usually the verb, not the resource.
        negated_weight: weight of denied words, matched only against denials in summaries.
        typo_weight: weight of a word after typo repair, relative to a word as typed.
        heads: resource words -> head names (the vocabulary's plus the catalog's own types).
        client_unasked: strength of the cue against client routes when the query asks for no
            client side (0: none).
        values: whether emails, phone numbers and written ids are read as values (a filter,
            one record) rather than words.
    """
    parsed = ParsedQuery()
    for match in _ROUTE.finditer(query):
        method = match.group(1).upper() if match.group(1) else None
        parsed.routes.append((method, normalize_path("/" + match.group(2).lstrip("/"))))
    if not parsed.routes:
        for match in _BARE_ROUTE.finditer(query):
            method = match.group(1).upper() if match.group(1) else None
            parsed.routes.append((method, normalize_path("/api/" + match.group(2))))
    for camel in _CAMEL.findall(query):
        snake = re.sub(r"([A-Z])", r"_\1", camel).lower()
        if snake in known_ids and snake not in parsed.ids:
            parsed.ids.append(snake)
    for ident in _IDENT.findall(query.lower()):
        if ident in known_ids:
            parsed.ids.append(ident)
        elif ident.rsplit(".", 1)[-1] in known_ids:
            parsed.ids.append(ident.rsplit(".", 1)[-1])
    for dotted in re.findall(r"\b(?:klaviyo\.)?[a-z_]+\.([a-z_]+)\b", query.lower()):
        if dotted in known_ids and dotted not in parsed.ids:
            parsed.ids.append(dotted)
    for m in re.findall(r"\b(GET|POST|PATCH|PUT|DELETE)\b", query):
        parsed.methods.add(m)
        # An HTTP verb in capitals is a developer naming the operation's kind outright.
        if not (m == "POST" and re.search(r"report|aggregate|render", query, re.I)):
            parsed.add_cue(_METHOD_VERB[m], 1.0)

    # An email address or a phone number is a value to look a record up by (a filter on the
    # listing), not words; a written id stands for one record (``_API_ID``).
    value = bool(values and (_EMAIL.search(query) or _PHONE.search(query)))
    text = _EMAIL.sub(" ", query)
    if values:
        text = _API_ID.sub("X9", _PHONE.sub(" ", text))
    text = _NAMED.sub(" ", _QUOTED.sub(" ", text))
    if any(w[:1].islower() for w in text.split()):
        # Mid-sentence Title Case runs are names ("Placed Order", "Black Friday"), as quotes are.
        text = _TITLE_RUN.sub(lambda m: _drop_name(m, heads), text)
    if _CATALOG_ID.search(text):
        parsed.add_cue("one", 1.0)
        text = _CATALOG_ID.sub(" ", text)
    text = _NO_LONGER.sub(" retire ", _THOUSANDS.sub(r"\1\2", text))
    text = _POSSESSIVE.sub(r"\2 of \1", text)
    text = _CLIENT_PERSON.sub(_client_person, text)
    text = _WINDOW.sub(" ", text)
    text = _BLOCK_VERB.sub(_block_verb, text)
    raw_words = words(text)
    negated = negation_mask(text, raw_words)
    fixed: list[str] = []
    if any(" " in correct(w) for w in raw_words):
        # A repair may give two words ("untag" -> "remove tag"): they count as typed.
        split_raw: list[str] = []
        split_neg: list[bool] = []
        for w, neg in zip(raw_words, negated, strict=True):
            parts = correct(w).split()
            fixed += parts
            split_raw += parts if len(parts) > 1 else [w]
            split_neg += [neg] * len(parts)
        raw_words, negated = split_raw, split_neg
    else:
        fixed = [correct(w) for w in raw_words]
    stream = [stem(w) for w in fixed]
    first = next((i for i, w in enumerate(fixed) if w not in _FILLER), None)
    if (
        first is not None
        and stream[first] in _LEADING_ONLY
        and set(fixed[first + 1 : first + 2]) & _NOUN_NEXT
    ):
        first = None  # "record identifiers of type T", "list ids of profile P": nouns, no verb
    if first and fixed[first - 1] in _QUESTION_DETERMINERS:
        first = None  # "which list is she on": after "which" a verb-or-noun is the noun
    # A cue word that opens a resource's own name ("push token", "signup form", "object type",
    # "import errors") is part of the name: it asks for nothing.
    named = frozenset(
        i
        for i in range(len(stream))
        if any(f in _VERB_FACETS for f, _ in CUES.get((stream[i],), ()))
        and _longest(heads, stream, i) > 1
    )
    if first in named:
        first = None
    verb_tag = (
        first is not None
        and fixed[first] in ("tag", "label")
        and not set(fixed[first + 1 : first + 2]) & _TAG_NOUN_NEXT
    )

    # Lexical terms. A denied word ("not the custom ones") must not pull toward what it names;
    # it becomes a "!" term that meets summaries which deny the same thing ("not segments").
    for i, (w, s) in enumerate(zip(fixed, stream, strict=True)):
        if w in STOPWORDS or len(w) < 2 or w in NEGATORS:
            continue
        if negated[i]:
            parsed.add_term("!" + s, negated_weight)
            continue
        weight = list_verb_weight if (i == first and s in _SOFT_VERBS) else 1.0
        if w != raw_words[i]:
            weight *= typo_weight  # a repaired word is a guess: let it count for less
        parsed.add_term(s, weight)
        parsed.surface.add(w)
        # A noun before another resource noun modifies it ("coupon code list", "segment
        # membership"), and English puts a modifier in the singular whatever it means; "which
        # segment is she in" may be answered by several.
        modifier = i + 1 < len(stream) and bool(_longest(heads, stream, i + 1))
        asked = bool(i) and fixed[i - 1] in _QUESTION_DETERMINERS and not w.endswith("s")
        if not modifier and not asked:
            parsed.numbered.add(w)
    # A leading verb that is also a noun ("list tags") names no resource: no concept from it.
    concept_stream = list(stream)
    if first is not None and stream[first] in _SOFT_VERBS:
        concept_stream[first] = ""
    for concept in concept_terms(concept_stream, negated):
        parsed.add_term(concept, concept_weight * (negated_weight if concept[0] == "!" else 1.0))

    modifiers = _job_modifiers(fixed, stream, first, parsed) | named
    _phrase_cues(
        fixed, stream, negated, first, parsed, modifiers, bool(_STATE_QUESTION.match(text))
    )
    if verb_tag:
        parsed.add_cue("link", 1.5)
    _head(
        fixed,
        stream,
        negated,
        first if (first is not None and (fixed[first] == "list" or verb_tag)) else None,
        parsed,
        heads,
    )
    _number_cues(raw_words, negated, parsed, heads)
    _owners(text, parsed, heads)
    for match in _ID_OF.finditer(text):
        # "the profile id behind an event", "template id of a message": the id of the record
        # another one points to is what the relationship routes return.
        if heads.get((stem(match.group(1).lower()),)):
            parsed.add_cue("ids", 1.0)
            break
    if value and not any(parsed.cues.get(f, 0.0) >= 1.0 for f in _CHANGES):
        # "who is sam@acme.io": a read looked up by a value is the listing's filter.
        parsed.add_cue("list", 1.0)
    if not parsed.heads:
        # No resource word we know: a plural last word still asks for many of them ("feeds").
        content = [
            (w, s)
            for w, s, neg in zip(fixed, stream, negated, strict=True)
            if not neg and w not in STOPWORDS and w.isalpha()
        ]
        if content and content[-1][0] != content[-1][1] and content[-1][0].endswith("s"):
            parsed.add_cue("list", _PLURAL_LIST)
    # A clear request for many records at once ("80 products in one go") is one against the
    # single-record write of the same kind, as a clear verb is against actions of another kind.
    if parsed.cues.get("bulk", 0.0) >= 1.0 and parsed.cues.get("single", 0.0) <= 0:
        parsed.add_cue("single", -0.5 * parsed.cues["bulk"])
    # Client routes (public key, from a browser or an app) are for callers who say so: a request
    # that names no client side is made from a server.
    if client_unasked and parsed.cues.get("client", 0.0) <= 0:
        parsed.add_cue("client", -client_unasked)
    # Relationship endpoints that return only ids are for callers who say so; others want records.
    if parsed.cues.get("ids", 0.0) <= 0:
        parsed.add_cue("full", 0.3)
    # No clear request to change anything: most such queries want to read ("email templates").
    if not any(parsed.cues.get(f, 0.0) >= 1.0 for f in _CHANGES):
        parsed.add_cue("read", 0.5)
        if _NAMED.search(query):
            # "the template called Holiday": found by name, which is a filter on the listing.
            parsed.add_cue("list", _NAMED_LIST)
    return parsed


def _longest(
    table: Mapping[tuple[str, ...], list[tuple[str, float]]], stream: list[str], i: int
) -> int:
    """Length of the longest phrase of ``table`` starting at ``stream[i]`` (0 when none)."""
    for size in range(min(MAX_PHRASE, len(stream) - i), 0, -1):
        if tuple(stream[i : i + size]) in table:
            return size
    return 0


def _job_modifiers(
    fixed: list[str], stream: list[str], first: int | None, parsed: ParsedQuery
) -> frozenset[int]:
    """Verbs that name a kind of job ("the item create job", "import jobs"), not a request.

    Reading about jobs is polling them: "jobs" asks for the listing, "job" (with its id) for one.
    A query that opens with the verb ("create the items in one job") still asks to create.
    """
    spots = [i for i, s in enumerate(stream) if s == "job"]
    if not spots:
        return frozenset()
    modifiers = frozenset(
        i - 1
        for i in spots
        if i >= 1
        # "delete jobs": a verb right before "jobs" names their kind even as the first word;
        # one asks to import things, not jobs.
        and (i - 1 != first or fixed[i] == "jobs")
        and (stream[i - 1],) in CUES
    )
    lead = (stream[first],) if first is not None and first not in modifiers else ()
    # "suppression jobs", "deletion job": the noun of a verb names the kind of job, asks nothing.
    noun = first is not None and fixed[first].endswith(("ion", "ions"))
    leading_verb = not noun and any(
        f in ("create", "update", "delete") for f, _ in CUES.get(lead, ())
    )
    if not leading_verb:
        # "suppression jobs" lists the jobs; "the import job" polls one of them.
        if any(fixed[i] == "jobs" for i in spots):
            parsed.add_cue("list", 1.0)
        else:
            parsed.add_cue("poll", 1.0)
            parsed.add_cue("one", 0.5)
    return modifiers


def _phrase_cues(
    fixed: list[str],
    stream: list[str],
    negated: list[bool],
    first: int | None,
    parsed: ParsedQuery,
    modifiers: frozenset[int] = frozenset(),
    question: bool = False,
) -> None:
    """Intent cues, longest phrase first ("drop into" is not "drop"), with negation and tense.

    In a question about the state of things ("did the upload finish?", "is my batch of codes
    ready?") a verb describes what happened; it asks for no change, so it counts as a past tense
    does, unless it follows "to" ("are we able to delete ..."): what the caller asks to do.
    """
    i, n = 0, len(stream)
    while i < n:
        size = _longest(CUES, stream, i)
        if i in modifiers:
            i += 1
            continue
        if not size:
            i += 1
            continue
        word = fixed[i]
        if size == 1 and stream[i] in _LEADING_ONLY and i != first:
            i += 1
            continue
        # A phrase that starts with its own negator ("no time series") already says what it means.
        neg = negated[i] and word not in NEGATORS
        scale = 1.0
        if question and not (i and fixed[i - 1] == "to"):
            scale = 0.3  # "did the upload finish?"; "are we able to delete ..." still asks
        elif i == first:
            scale = 1.5  # the imperative verb says the most about what the caller wants
        elif size == 1 and word.endswith("ed"):
            scale = 0.3  # "the codes we generated": a description, not a request
        elif size == 1 and word == "new":
            scale = 0.5  # "update the block with new links": an adjective after the verb
        for facet, weight in CUES[tuple(stream[i : i + size])]:
            if neg:
                parsed.add_cue(facet, -weight)
                if facet in _OPPOSITE:
                    parsed.add_cue(_OPPOSITE[facet], weight)
            else:
                parsed.add_cue(facet, weight * (scale if facet in _VERB_FACETS else 1.0))
        i += size


def _head(
    fixed: list[str],
    stream: list[str],
    negated: list[bool],
    skip: int | None,
    parsed: ParsedQuery,
    heads: PhraseTable,
) -> None:
    """The first resource the query names is what it wants back; its number hints list vs one.

    In a compound ("product collection", "welcome flow step") the last resource word is the head.
    Every resource named is also recorded in ``mentions``.
    """
    i, n = 0, len(stream)
    order: list[tuple[str, int, int]] = []
    held = False
    while i < n:
        size = _longest(heads, stream, i) if not negated[i] and i != skip else 0
        if size == 1 and stream[i] in _SOFT_VERBS and set(fixed[i + 1 : i + 2]) & _OBJECTS:
            # "..., list them all", "list every flow": a verb before its object, not a resource.
            size = 0
            if stream[i] == "list":
                parsed.add_cue("read", 1.0)
                parsed.add_cue("list", 1.0)
        if not size:
            i += 1
            continue
        end = i + size
        while end < n and (nxt := _longest(heads, stream, end)):
            if stream[end : end + nxt] == ["list"] and fixed[end - 1] != stream[end - 1]:
                break  # "product categories list": a list of them, not a list resource
            # "event profile": the modifier names the parent, so it is mentioned too.
            parsed.mentions.add(heads[tuple(stream[i:end])][0][0])
            order.append((heads[tuple(stream[i:end])][0][0], i, end))
            i, end = end, end + nxt
        name = heads[tuple(stream[i:end])][0][0]
        order.append((name, i, end))
        # "how many profiles are in segment 8" asks about the segment (its size), not for profiles.
        tallied = " ".join(fixed[max(0, i - 3) : i]).endswith(_TALLY)
        # "add the workshop visitors to the spring list": a resource the change moves things into or
        # out of is where they go, not what the request is about.
        container = any(parsed.cues.get(f, 0.0) >= 1.0 for f in _CHANGES) and bool(
            set(fixed[max(0, i - 3) : i]) & _INTO
        )
        held = held or container
        if not parsed.heads and not tallied and not container:
            parsed.heads.append(name)
            last = fixed[end - 1]
            counted = any(_DIGIT.search(w) for w in fixed[max(0, i - 2) : i])
            # "which campaigns": a listing; "import 20000 contacts": a count of things to write;
            # "statistics for all campaigns": a report over them.
            if (
                last.endswith("s")
                and not last.endswith("ss")
                and last != stream[end - 1]
                and not counted
                and parsed.cues.get("report", 0.0) <= 0
            ):
                parsed.add_cue("list", 1.0)
        parsed.mentions.add(name)
        i = end
    if held and not parsed.heads:
        # "remove 01HQ and 01HR from list L": a change whose only resource is where things go or
        # come from moves records in or out of it (a relationship write), not the container.
        parsed.add_cue("link", 1.0)
    # Two resources in the order their route nests them: "event profile", "the profile of event E"
    # (a word such as "of" between them puts the second one first).
    distinct = [
        (a, ai, ae) for k, (a, ai, ae) in enumerate(order) if a not in {o[0] for o in order[:k]}
    ]
    if len(distinct) >= 2:
        (a, _, a_end), (b, b_start, _) = distinct[0], distinct[1]
        between = set(fixed[a_end:b_start])
        parsed.nesting = (b, a) if between & _OWNED_BY else (a, b)


def _number_cues(
    raw_words: list[str], negated: list[bool], parsed: ParsedQuery, heads: PhraseTable
) -> None:
    """Counts of things ask for bulk ("80 SKUs"); id-like tokens ask for one record ("9Xk2")."""
    for i, w in enumerate(raw_words):
        if negated[i] or not _DIGIT.search(w):
            continue
        prev = raw_words[i - 1] if i else ""
        named = heads.get((stem(prev),))
        if named and not prev.endswith("s"):
            # "template 123": the id of the thing asked for means one record; in "labels of
            # list 12" it names the parent, which says nothing about one vs many.
            if parsed.heads and named[0][0] == parsed.heads[0]:
                parsed.add_cue("one", 1.0)
            continue
        count = _COUNT.fullmatch(w)
        if count:
            value = int(count.group(1)) * {"": 1, "k": 1000, "m": 1_000_000}[count.group(2)]
            after = raw_words[i + 1 : i + 4]
            # "80 SKUs", "500 discount codes", "2000 past orders": a count of records asks for
            # bulk; "3 units" of stock or "3 days" of delay does not.
            things = [a for a in after if (stem(a),) in heads or a in _COUNTABLES]
            if any(t.endswith("s") for t in things) and 2 <= value <= 10_000_000:
                parsed.add_cue("bulk", 1.0)
            elif value >= 1000 and not things:
                parsed.add_cue("one", 0.5)
        elif any(c.isalpha() for c in w) and len(w) >= 2:
            parsed.add_cue("one", 0.5)
    if "id" in raw_words:
        parsed.add_cue("one", 0.5)


# A token that stands for one record: a placeholder letter ("list L"), an id with a digit
# ("segment 8", "Y7xZ2"), or a mixed-case code ("AbCd").
_RECORD = re.compile(r"^(?:[B-HJ-Z]|#?[\w$:.-]*\d[\w$:.-]*|[A-Za-z]*[a-z][A-Z][A-Za-z]*)$")
_SPECIFIC = frozenset({"this", "given", "specific", "particular"})
_TOKEN = re.compile(r"[\w$:.#-]+")


def _owners(text: str, parsed: ParsedQuery, heads: PhraseTable) -> None:
    """Resources named as one record ("product P", "list 12", "this campaign") go to ``owners``.

    When the first resource of the query is such a record, it asks for that one record, not a
    listing or a bulk job ("delete variant V").
    """
    tokens = [t.strip(".,;:!?") for t in _TOKEN.findall(text)]
    for k, token in enumerate(tokens):
        low = token.lower()
        if not low.isalpha():
            continue
        # The longest resource phrase ending here: "custom metric C" is a custom metric.
        named = heads.get((stem(tokens[k - 1].lower()), stem(low))) if k else None
        named = named or heads.get((stem(low),))
        if not named:
            continue
        after = tokens[k + 1] if k + 1 < len(tokens) else ""
        before = [t.lower() for t in tokens[max(0, k - 2) : k]]
        placeholder = bool(_RECORD.match(after))
        if placeholder or (set(before) & _SPECIFIC and not low.endswith("s")):
            name = named[0][0]
            parsed.owners.add(name)
            if (
                placeholder
                and parsed.heads
                and name == parsed.heads[0]
                and not low.endswith("s")
                and not set(before) & _OWNED_BY  # "properties of metric M": M is the parent
                and not _DIGIT.search(after)  # ids with digits: _number_cues has counted them
            ):
                parsed.add_cue("one", 1.0)
                parsed.add_cue("single", 0.5)

"""Text normalisation shared by documents and queries: tokens, a light stemmer and negation scopes.

Both sides of the index go through the same functions, so a word is always reduced to the same
term. The stemmer is deliberately small (plural, -ing, -ed, trailing e): enough to fold
``categories``/``category`` and ``tagged``/``tag`` together without a dependency, and predictable
enough that the domain vocabulary can be written in plain words.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "NEGATORS",
    "STOPWORDS",
    "negation_mask",
    "split_identifier",
    "stem",
    "tokenize",
    "words",
]

# Words that carry no meaning for choosing an action. Verbs and words that mark intent
# ("list", "all", "only", "not", "new") are NOT here: the intent scorer reads them. Counting words
# ("one", "two") are, because as terms they only match summaries that happen to say "one".
# "informations", "datas": how many non-native writers say "the details"; they name no resource,
# and neither do "something", "stuff" or "things".
_STOPWORD_TEXT = """
    a an the of to for in on at by with from into onto and or but as is are was were be been being
    it its this that these those there here i me my we our us you your he she they them their his her
    do does did done have has had having can could should would will shall may might must
    what which who whom whose when where why how please just so also too very really than then
    some any each via per about up out over under again further once one two three
    api klaviyo call request python http https rest json
    informations infos datas something anything everything nothing stuff thing things
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Words the suffix rules would mangle ("series" is not the plural of "sery").
_INVARIANT = frozenset(
    {"series", "species", "status", "analytics", "news", "canvas", "alias", "sms", "ios", "https"}
)
_WORD = re.compile(r"[a-z0-9$]+")
_SEPARATORS = re.compile(r"[_\-./{}\[\]:]+")


def split_identifier(text: str) -> str:
    """Break ``camelCase``, ``snake_case``, ``kebab-case`` and dotted names into spaced words."""
    return _SEPARATORS.sub(" ", _CAMEL.sub(" ", text))


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Reduce ``word`` (lower case) to its stem with a handful of English suffix rules."""
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w in _INVARIANT:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "ls":
            w = w[:-1]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "s":
            w = w[:-1]
    # The noun of an action meets its verb: creation/create, deletion/delete, suppression/suppress.
    if w.endswith(("ation", "etion", "ssion")) and len(w) > 7:
        w = w[:-3]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` after identifier splitting, stopwords kept."""
    return _WORD.findall(split_identifier(text).lower())


def tokenize(text: str) -> list[str]:
    """Stemmed content terms of ``text`` (stopwords and one-letter tokens dropped)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


# Words that open a negated scope running to the end of the clause.
NEGATORS = frozenset(
    {
        "not",
        "no",
        "nobody",
        "nothing",
        "without",
        "never",
        "nor",
        "except",
        "instead",
        "rather",
        "leave",
        "don",
        "doesn",
        "isn",
        "won",
        "shouldn",
    }
)
# With one of these in its clause, "leave" keeps something as it is (a denial).
_LEAVE_AS_IS = frozenset({"alone", "untouched", "intact", "unchanged", "out", "be", "as"})
# Words that negate the clause they close ("a bulk job is overkill").
_POST_NEGATORS = frozenset({"overkill", "unnecessary", "unneeded"})
# Zero-width, so every word stays in exactly one clause and the mask lines up with ``words``.
_ANY_NEGATOR = re.compile(r"\b(?:" + "|".join(sorted(NEGATORS | _POST_NEGATORS)) + r")\b|n't", re.I)
_CLAUSE_END = re.compile(
    r"(?=[,;!?()])|(?<=[a-z]\.)(?=\s)|(?=\bbut\b)|(?=\bkeep\b)|(?=\bonly\b)", re.I
)


def negation_mask(raw: str, tokens: list[str]) -> list[bool]:
    """For each word of ``raw`` (as ``words`` splits it), whether it sits in a negated scope."""
    if not _ANY_NEGATOR.search(raw):
        return [False] * len(tokens)
    mask: list[bool] = []
    for clause in _CLAUSE_END.split(raw):
        cw = words(clause)
        post = any(w in _POST_NEGATORS for w in cw)
        negating = False
        # "leave it alone" denies; "leave a review" does not.
        leave_denies = bool(_LEAVE_AS_IS & set(cw))
        for w in cw:
            if w in NEGATORS and (w != "leave" or leave_denies):
                negating = True
            mask.append(negating or post)
    # The clause split can disagree with the whole-string split on odd input; fall back to none.
    return mask if len(mask) == len(tokens) else [False] * len(tokens)

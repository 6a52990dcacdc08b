"""Hashed n-gram features for the tier-2 classifier, computed with numpy alone.

The training script (``tools/train_scanner.py``) and the scanner call the same ``featurize``, so the
features a model was trained on are, bit for bit, those it sees at run time. Text is lower-cased
canonical text (see ``normalize.canonical``); features are character 2- to 5-grams, words and word
bigrams, hashed into ``2**DIM_BITS`` buckets with a fixed polynomial hash (never Python's ``hash``,
which changes between processes), weighted ``1 + log(count)`` and L2-normalised.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHUNK_CHARS",
    "DIM_BITS",
    "FEATURE_VERSION",
    "WORD_BITS",
    "asks_reader",
    "chunks",
    "coverage",
    "english_share",
    "featurize",
    "featurize_many",
    "foreign",
    "long_enough",
    "pack",
    "word_buckets",
]

FEATURE_VERSION = 2
DIM_BITS = 18
CHUNK_CHARS = 1000
_CHUNK_OVERLAP = 150
_CHAR_NGRAMS = (2, 3, 4, 5)
# The vocabulary the n-gram model saw in training is kept as a bitmap of word hashes in a space
# of its own: 2**20 bits (128 KB) holds the ~60k training words with a 6% chance that an unseen
# word collides with a seen one (the n-gram space is too full of character n-grams to tell).
WORD_BITS = 20

_P = np.uint64(0x100000001B3)  # FNV prime: odd, so the hash is a bijection per step
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio multiplier; its top bits pick the bucket
_SHIFT = np.uint64(64 - DIM_BITS)
_SEED_WORD = np.uint64(0x51ED27)
_SEED_BIGRAM = np.uint64(0xB16A2)
# Random multipliers per position inside a word, so a word's hash is a sum numpy can segment.
_POS = np.random.default_rng(20261126).integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)

# ASCII letters, digits and underscore are word characters; above ASCII, everything but the
# general-punctuation, CJK-punctuation and full-width-punctuation blocks is.
_ASCII_WORD = np.zeros(128, dtype=bool)
for _ch in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _ASCII_WORD[ord(_ch)] = True


def _is_word(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    if codes.shape[0] and int(codes.max()) < 128:
        # All ASCII (most texts): the table decides alone, every punctuation range is above it.
        ascii_word: npt.NDArray[np.bool_] = _ASCII_WORD[codes.astype(np.intp)]
        return ascii_word
    return _is_word_any(codes)


def _is_word_any(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    ascii_mask = codes < 128
    result: npt.NDArray[np.bool_] = np.where(
        ascii_mask, _ASCII_WORD[np.minimum(codes, 127).astype(np.intp)], True
    )
    punct = (
        ((codes >= 0x2000) & (codes <= 0x206F))
        | ((codes >= 0x3000) & (codes <= 0x303F))
        | ((codes >= 0xFF00) & (codes <= 0xFF0F))
        | (codes == 0xA0)
        | (codes == 0xAB)
        | (codes == 0xBB)
        | (codes == 0xBF)
        | (codes == 0xA1)
    )
    word: npt.NDArray[np.bool_] = result & ~punct
    return word


def _bucket(hashes: npt.NDArray[np.uint64], seed: np.uint64) -> npt.NDArray[np.uint64]:
    return ((hashes ^ seed) * _MIX) >> _SHIFT


# URLs, e-mail addresses and digits are replaced by placeholders: the model should learn that an
# instruction sends data *somewhere*, not which domains or order numbers the training data used.
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_DIGITS = str.maketrans("0123456789", "0000000000")


def _codes(text: str) -> npt.NDArray[np.uint64]:
    """The code points of the lower-cased text, placeholders in, padded with single spaces."""
    text = text.lower()
    if "://" in text or "www." in text:
        text = _URL.sub(" xurlx ", text)
    if "@" in text:
        text = _EMAIL.sub(" xemailx ", text)
    padded = " " + " ".join(text.translate(_DIGITS).split()) + " "
    return np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _word_spans(
    codes: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The word characters of ``codes``, and where each word starts in them and how long it is."""
    is_word = _is_word(codes)
    starts_mask = is_word & ~np.concatenate(([False], is_word[:-1]))
    word_codes = codes[is_word]
    first = np.flatnonzero(starts_mask[is_word])
    lengths = np.diff(np.append(first, word_codes.shape[0]))
    return word_codes, first, lengths


def _words(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """One 64-bit hash per word (a run of word characters) of ``codes``."""
    word_codes, first, lengths = _word_spans(codes)
    if not first.shape[0]:
        return np.zeros(0, dtype=np.uint64)
    position = np.arange(word_codes.shape[0]) - np.repeat(first, lengths)
    weighted = word_codes * _POS[np.minimum(position, 63)]
    words: npt.NDArray[np.uint64] = np.add.reduceat(weighted, first)
    return words


def _ngrams(codes: npt.NDArray[np.uint64]) -> Iterator[tuple[int, npt.NDArray[np.uint64]]]:
    """Each n of ``_CHAR_NGRAMS`` that ``codes`` is long enough for, with the 64-bit hash of
    the n-gram starting at each position (``len(codes) - n + 1`` of them)."""
    length = codes.shape[0]
    for n in _CHAR_NGRAMS:
        if length < n:
            break
        h = codes[: length - n + 1].copy()
        for k in range(1, n):
            h = h * _P + codes[k : length - n + 1 + k]
        yield n, h


def _hashes(text: str) -> npt.NDArray[np.uint64]:
    codes = _codes(text)
    parts = [_bucket(h, np.uint64(n)) for n, h in _ngrams(codes)]
    words = _words(codes)
    if words.shape[0]:
        parts.append(_bucket(words, _SEED_WORD))
        if words.shape[0] > 1:
            parts.append(_bucket(words[:-1] * _P + words[1:], _SEED_BIGRAM))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


_MAX_ASCII_WORD = 24  # a longer ASCII run is a token, a hash or an encoded blob, not a word


def word_buckets(text: str) -> npt.NDArray[np.int64]:
    """Return the distinct ``WORD_BITS``-bit buckets of the words of ``text`` (sorted).

    Runs with a digit and ASCII runs longer than ``_MAX_ASCII_WORD`` (ids, SKUs, hashes, base64)
    are left out: they say nothing about the language, and every new one would look unseen.
    """
    codes = _codes(text)
    word_codes, first, lengths = _word_spans(codes)
    if not first.shape[0]:
        return np.zeros(0, dtype=np.int64)
    digits = np.add.reduceat((word_codes == ord("0")).astype(np.int64), first)
    ascii_run = np.add.reduceat((word_codes < 128).astype(np.int64), first) == lengths
    keep = (digits == 0) & ~(ascii_run & (lengths > _MAX_ASCII_WORD))
    words = _words(codes)[keep]
    return np.unique(((words ^ _SEED_WORD) * _MIX) >> np.uint64(64 - WORD_BITS)).astype(np.int64)


NOVEL_MIN_WORDS = 4  # fewer words (a name, a street, a city) carry no instruction to gate ...
NOVEL_MIN_WIDE = 8  # ... unless written in a script without spaces: this many letters then
# Words for that count: runs of two or more letters, not a $-name ("$custom") and not a short
# upper-case code ("ALP-FLC-HDY", "SKU"): identifiers say nothing about the language.
_WORDY = re.compile(r"(?<![$\w])(?![A-Z]{2,4}\b)[^\W\d_]{2,}")


def long_enough(text: str) -> bool:
    """Whether ``text`` is long enough for the novelty gate to send it to the encoder.

    A short value of unseen words ("3919 Aspen Way", "Anna Kowalczyk", a catalog id) is everyday
    data: the encoder would read every one of them in a page of profiles for nothing. Scripts
    without spaces (Chinese, Japanese, Thai) run many words together, so for them letters count.
    """
    if len(list(islice(_WORDY.finditer(text), NOVEL_MIN_WORDS))) >= NOVEL_MIN_WORDS:
        return True
    wide = 0
    for ch in text:
        if ord(ch) > 0x24F and ch.isalpha():
            wide += 1
            if wide >= NOVEL_MIN_WIDE:
                return True
    return False


# A text that asks its reader to do something, read from English grammar alone (no attack
# vocabulary): a modal question or offer to "you" ("could you", "if you could", "I'd appreciate it
# if you"), a politeness marker ("please", "kindly"), an obligation or permission given to "you"
# ("you must", "you are now", "I authorise you"), hypothetical or role-play mood ("suppose",
# "imagine", "pretend", "act as"), a function call written out (``name_with_underscore(``) or a
# tool, function or endpoint to call, and a step put before the reader's own task ("before
# answering"). Marketing copy talks to "you" all the time; these forms are rarer there.
_ASKS = re.compile(
    r"\b(?:could|would|can|will)\s+(?:you|u)\b"
    r"|\bif\s+you\s+(?:could|would|can|don'?t\s+mind)\b"
    r"|\b(?:i|we)(?:'d|\s+would)\s+(?:appreciate|love|like)\s+(?:it\s+)?(?:if\s+)?you\b"
    r"|\bit\s+would\s+(?:\w+\s+){0,3}(?:help|great|kind|useful|nice)\w*\b[^.!?\n]{0,60}\b(?:if\s+you|to)\b"
    r"|\b(?:please|pls|kindly)\b"
    r"|\byou\s+(?:must|should|shall|need\s+to|have\s+to|may|are\s+(?:to|now|allowed|"
    r"authori[sz]ed|cleared|permitted|required))\b"
    r"|\b(?:authori[sz]e|permit|allow|instruct|order|require)\s+you\b"
    r"|\byou\s+(?:are|'re)\s+(?:now\s+)?(?:a|an|my|the|in)\b"
    r"|\b(?:pretend|imagine|suppos(?:e|ing)|assume|hypothetical(?:ly)?|let'?s\s+(?:say|pretend|play|do)"
    r"|what\s+if|role-?play|act\s+as|in\s+character|play\s+(?:the\s+)?(?:role|character|part)|persona)\b"
    r"|\b[a-z]+_[a-z_]+\s*\("
    r"|\b(?:call|invoke|run|trigger|execute|use)\s+(?:the\s+|your\s+)?(?:[\w-]+\s+){0,2}"
    r"(?:tool|function|endpoint|api|action|command)\b"
    r"|\bbefore\s+(?:answering|replying|responding|doing|writing|translating|summari[sz]ing"
    r"|you\s+(?:reply|answer|respond|continue))\b"
    r"|\bwhoever\s+(?:reads|processes|handles|is\s+reading|sees)\b",
    re.IGNORECASE,
)


def asks_reader(text: str) -> bool:
    """Whether ``text`` addresses its reader with a request, in the English forms of ``_ASKS``.

    The cascade sends such a text to the encoder even when the n-gram model scores it under the
    band: a polite or hypothetical ask is phrased like an ordinary message, which the n-gram
    model clears, and is exactly what the encoder head reads better.
    """
    return _ASKS.search(text) is not None


# English function words: a text in which fewer than ``FOREIGN_SHARE`` of the words are these is
# not English, whatever its script, so ``asks_reader`` (English grammar) cannot read it. The list
# names English only; it says nothing about which other language a text is in.
_ENGLISH_WORDS = (
    "the a an to and of you your yours is are was were be been in on at for with this that these "
    "those it its we our us i me my he she they them their from by or not no yes if as so but do "
    "does did have has had will would can could should may please all any about into than then "
    "there here what which who when where how why just also more most only up out over new now get"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
_ADDRESS = re.compile(r"\S+://\S+|\S+@\S+")  # a URL or an e-mail address: not prose in any language
FOREIGN_SHARE = 0.1
FOREIGN_MIN_WORDS = (
    6  # fewer words (a title, a name, a CSV header) say too little about the language
)


def english_share(text: str) -> float:
    """The share of the words of ``text`` (runs of two or more letters, URLs and e-mail addresses
    left out) that are English function words; 1.0 for a text without such words.

    English prose runs at 0.3-0.5; a text in another language, even inside an English carrier
    (a review's stars line, an e-mail's headers, JSON keys), stays under ``FOREIGN_SHARE``. A
    script written without spaces counts each run of letters as one word, which is not English.
    """
    words = _LETTER_WORD.findall(_ADDRESS.sub(" ", text))
    if not words:
        return 1.0
    return sum(word.lower() in _ENGLISH for word in words) / len(words)


_PROSE_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")  # "d'ajouter", "e-mail"
_EDGES = "\"'`.,;:!?()[]{}<>«»¿¡“”\u2018\u2019„…*\u2013\u2014-"
PROSE_SHARE = 0.7
"""The share of a text's space-separated tokens that must be words for it to read as prose."""
WIDE_SHARE = 0.3
"""The share of a text's visible characters that letters above Latin must be, without spaces."""


def foreign(text: str) -> bool:
    """Whether ``text`` is prose in a language other than English, with an ``english_share``
    under ``FOREIGN_SHARE``: either ``FOREIGN_MIN_WORDS`` words or more that make up
    ``PROSE_SHARE`` of its space-separated tokens (a token is a word when, its punctuation
    stripped, it is letters joined at most by apostrophes or hyphens; a token of punctuation
    alone is not counted), or ``NOVEL_MIN_WIDE`` letters above Latin that make up
    ``WIDE_SHARE`` of its visible characters (scripts written without spaces). A short English
    value (a product title, a checkout reminder, a CSV row) has no function words either, so it
    needs the length; code, key-value lines and encoded strings (``key=value``, base64, ids)
    have none and are not prose, so they need the share."""
    if english_share(text) >= FOREIGN_SHARE:
        return False
    plain = _ADDRESS.sub(" ", text)
    visible = sum(1 for ch in plain if not ch.isspace())
    wide = sum(1 for ch in plain if ord(ch) > 0x24F and ch.isalpha())
    if wide >= NOVEL_MIN_WIDE and wide >= WIDE_SHARE * visible:
        return True
    # Tokens of punctuation alone (a table's bars and rules, stars, dashes) are layout, not words.
    tokens = [t for t in plain.split() if any(ch.isalnum() for ch in t)]
    words = [t for t in (token.strip(_EDGES) for token in tokens) if _PROSE_WORD.fullmatch(t)]
    return len(words) >= FOREIGN_MIN_WORDS and len(words) >= PROSE_SHARE * len(tokens)


def coverage(text: str, seen: npt.NDArray[np.bool_]) -> float:
    """The share of the distinct words of ``text`` whose bucket is set in ``seen``.

    ``seen`` (``2**WORD_BITS`` flags) marks the words of the n-gram model's training text. A text
    in a language or a vocabulary the model never saw has few of its words there, so its n-gram
    score is a guess from the bias, not evidence. A text without words (``word_buckets``), or
    too short to carry an instruction (``long_enough``), counts as covered.
    """
    # The gate first: it is a few string operations, the buckets are numpy work on every word.
    if not long_enough(text):
        return 1.0
    buckets = word_buckets(text)
    if not buckets.shape[0]:
        return 1.0
    return float(seen[buckets].mean())


def featurize(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Return the sparse feature vector of ``text`` as sorted bucket indices and their weights."""
    buckets, counts = np.unique(_hashes(text), return_counts=True)
    values = (1.0 + np.log(counts)).astype(np.float32)
    # The padded text always has a 2-gram, so the norm is never zero.
    values /= float(np.sqrt(np.dot(values, values)))
    return buckets.astype(np.int64), values


# featurize_many hashes its texts together in groups of about this many code points: numpy's
# fixed cost per call is paid once per group, not once per text, and a group's arrays stay small.
_GROUP_CODES = 8192


def featurize_many(
    texts: list[str],
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
    """``[featurize(text) for text in texts]``, bit for bit, with numpy's work done per group.

    Each text's code points are padded with spaces (``_codes``), so laid end to end no word runs
    from one text into the next; the n-grams and word bigrams that would are dropped, and each
    text's buckets are counted apart (its row in the high bits of one sort key). Each text's
    weights are then normalised as ``featurize`` does, on an array of its own.
    """
    out: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = []
    group: list[npt.NDArray[np.uint64]] = []
    size = 0
    for text in texts:
        codes = _codes(text)
        if group and size + codes.shape[0] > _GROUP_CODES:
            out.extend(_featurize_group(group))
            group, size = [], 0
        group.append(codes)
        size += codes.shape[0]
    if group:
        out.extend(_featurize_group(group))
    return out


def _featurize_group(
    group: list[npt.NDArray[np.uint64]],
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
    """``featurize`` of each text of ``group`` (their ``_codes``), hashed as one array."""
    lengths = np.fromiter((c.shape[0] for c in group), dtype=np.intp, count=len(group))
    codes = np.concatenate(group)
    total = codes.shape[0]
    rows = np.arange(len(group), dtype=np.uint64)
    row_of = np.repeat(rows << np.uint64(DIM_BITS), lengths)  # each code's text, as a key part
    # The characters from each one to the end of its text: an n-gram starting there lies in
    # that text when at least n are left.
    left = np.repeat(np.cumsum(lengths), lengths) - np.arange(total, dtype=np.intp)
    keys: list[npt.NDArray[np.uint64]] = []
    for n, h in _ngrams(codes):
        inside = left[: total - n + 1] >= n
        keys.append(row_of[: total - n + 1][inside] | _bucket(h[inside], np.uint64(n)))
    is_word = _is_word(codes)
    starts = is_word & ~np.concatenate(([False], is_word[:-1]))
    word_codes = codes[is_word]
    first = np.flatnonzero(starts[is_word])
    if first.shape[0]:
        word_lengths = np.diff(np.append(first, word_codes.shape[0]))
        position = np.arange(word_codes.shape[0]) - np.repeat(first, word_lengths)
        words = np.add.reduceat(word_codes * _POS[np.minimum(position, 63)], first)
        # Every text starts and ends with a space, so each word lies in one text.
        word_row = row_of[starts]
        keys.append(word_row | _bucket(words, _SEED_WORD))
        same = word_row[:-1] == word_row[1:]
        bigrams = (words[:-1] * _P + words[1:])[same]
        keys.append(word_row[:-1][same] | _bucket(bigrams, _SEED_BIGRAM))
    unique, counts = np.unique(np.concatenate(keys), return_counts=True)
    bounds = np.searchsorted(unique >> np.uint64(DIM_BITS), np.arange(len(group) + 1))
    buckets = (unique & np.uint64((1 << DIM_BITS) - 1)).astype(np.int64)
    weights = 1.0 + np.log(counts)
    out = []
    for row in range(len(group)):
        start, end = bounds[row], bounds[row + 1]
        values = weights[start:end].astype(np.float32)
        values /= float(np.sqrt(np.dot(values, values)))
        out.append((buckets[start:end].copy(), values))
    return out


def pack(
    features: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Pad a batch of sparse vectors into the ``[batch, width]`` index and value arrays the model takes.

    Padding uses bucket 0 with weight 0, which adds nothing to the model's sum.
    """
    width = max((idx.shape[0] for idx, _ in features), default=1) or 1
    indices = np.zeros((len(features), width), dtype=np.int64)
    values = np.zeros((len(features), width), dtype=np.float32)
    for row, (idx, val) in enumerate(features):
        indices[row, : idx.shape[0]] = idx
        values[row, : val.shape[0]] = val
    return indices, values


def chunks(text: str) -> list[str]:
    """Split ``text`` into overlapping pieces of at most ``CHUNK_CHARS``, cut at whitespace.

    A short injection buried in a long document would be diluted in one vector for the whole
    text; scored per chunk, the worst chunk speaks for the document.
    """
    if len(text) <= CHUNK_CHARS:
        return [text]
    pieces: list[str] = []
    start = 0
    while True:
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind(" ", start + CHUNK_CHARS // 2, end)
            end = cut if cut > 0 else end
        pieces.append(text[start:end])
        if end >= len(text):
            break
        start = max(end - _CHUNK_OVERLAP, start + 1)
        space = text.find(" ", start, end)
        start = space + 1 if 0 <= space < end else start
    return pieces

"""Which text of a run's result came from outside the sandbox: decided by the host, never the worker.

Only text from outside (answers of SDK calls and extensions, Klaviyo's words in its error answers,
the session store an earlier run wrote) can carry a prompt injection. The script's own literals,
numbers and ids, and the host's own messages, cannot: they are never scanned. The worker runs
hostile code and could lie about where a string came from, so the host keeps what it delivered
in this run (:meth:`Provenance.add`) and finds it again in the result (:meth:`Provenance.find`).

Matching is by word trigrams, casefolded: letters and digits make tokens (scripts written without
spaces give one token per character), everything else separates them. An output token is outside
text when a trigram through it occurs, in that order, in the delivered text and is not one the
script's own source contains. Trigrams survive what scripts do with data (slicing, changing case,
joining fields, wrapping, quoting, tabulating) and do not arise from a script's own words by chance.
Two-word outside text has no trigram of its own ("Ignore instructions" in a name field, printed
after a label the script wrote), so word pairs are matched the same way: a pair the script's
source does not contain, found in that order in the delivered text.
Neighbouring strings of a document are read as one text, so an instruction split across fields or
list items and printed together is still found. Both sides fold what a model reads as the same
letters (NFKC, look-alikes of other scripts), and the output is also read with words split by
invisible characters joined, with digits inside words read as letters (leetspeak), and with words
skipped (numbers and the script's own words, or every other word), so that data the script
rewrote into look-alikes or interleaved with numbering or fillers is still found. Words glued or
cut into fragments, cut by a line break, disguised letter by letter or printed backwards are read
as the delivered words they spell (red team rounds 13 to 15).

Time and memory are bounded: up to ``budget_chars`` bytes of delivered text (in memory: one,
two or four per character) is kept. Past that the host
cannot tell, and falls back to scanning: every word the script never wrote (numbers aside) counts
as outside text. The search itself is host CPU the run is charged for: given a CPU deadline, it
stops between delivered texts once past it (:attr:`Provenance.cut`), and reads the result as it
reads one past the budget, every word the script never wrote being outside text.

Across runs: a run's delivered text is gone when the next run starts, and only the store it kept
is delivered again. When that store holds text the script computed (rewritten beyond what these
shingles find, reversed say), the host records the shingles of the run's delivered text
(:meth:`Provenance.delivered_tokens`) in the session's :class:`~codemode.sandbox.sketch.Sketch`;
a later run given that sketch treats an output trigram or pair that its own delivered text lacks
but the sketch holds as outside text (labelled :data:`~codemode.sandbox.computed.SOURCE`), and
a sketch that overflowed as this run's own overflow. Text rewritten beyond recognition that
reaches the model only in that form (never printed back as it was) matches no shingle:
:meth:`Provenance.computed` marks it as what it is, words neither delivered nor the script's,
for the screen to read with the patterns.
"""

from __future__ import annotations

import bisect
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

from codemode.sandbox.computed import SOURCE as SKETCH_SOURCE
from codemode.scanner import ANNOTATE_END, ANNOTATE_START, REDACTED
from codemode.scanner.normalize import COMMON_WORDS, INVISIBLE, fold_lookalikes, stream_safe

if TYPE_CHECKING:  # numpy: loaded only where a session has a sketch
    from codemode.sandbox.sketch import Sketch

__all__ = [
    "COMPUTED",
    "GLUE",
    "UNCHECKED",
    "UNINDEXED",
    "Provenance",
    "Span",
    "letters_of_symbols",
    "readable",
    "tokens",
    "undigited",
    "unescape",
    "union",
]

UNINDEXED = "data the host could not index"
UNCHECKED = "data left unchecked"
COMPUTED = "text the script computed from what it read"
_NOSPACE = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
_TOKEN = re.compile(rf"[{_NOSPACE}]|[^\W_{_NOSPACE}]+")
# JSON escapes (\n, \", \u00e9 ...) become separators: the dump is read as text, not decoded.
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
# An object key in a JSON dump: taken out of the values' stream (so that neighbouring values
# read as one text) and read as a stream of its own.
_KEY = re.compile(r'"(?:[^"\\]|\\.)*"\s*:')
# The scanner's own marks inside delivered data are the host's words, not the data's.
_HOST_MARKS = (REDACTED, ANNOTATE_START, ANNOTATE_END)
_N = 3

Gram = tuple[str, str, str]
Pair = tuple[str, str]
_S = TypeVar("_S", Gram, Pair)


@dataclass(frozen=True, slots=True)
class Span:
    """A run of outside text in a result string: ``text[start:end]``, first seen in ``source``."""

    start: int
    end: int
    source: str


# Escapes a script's output may re-encode outside text with: json.dumps (ensure_ascii), ascii(),
# repr() of bytes (UTF-8 as \\xNN runs). Read back as the characters they stand for, else
# "\\u0418\\u0433..." or "\\xd0\\x98..." would carry an instruction past every trigram. An escape
# that stands for a character may carry more than one backslash: text escaped twice (JSON inside
# JSON, the repr of a list or dict holding a json.dumps string) doubles them, and reads as the
# same characters. Such an escape starts only where a run of backslashes starts: tried from inside
# a run, each try rescanned the rest of it (a script printing 40,000 backslashes cost 1.5 s of the
# host's CPU under the GIL, growing with the square of the run).
_OUT_ESCAPE = re.compile(
    r"(?<!\\)(?:\\+x[0-9a-fA-F]{2})+"
    r"|(?<!\\)\\+u[dD][89abAB][0-9a-fA-F]{2}\\+u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|(?<!\\)\\+u[0-9a-fA-F]{4}|(?<!\\)\\+U[0-9a-fA-F]{8}|(?<!\\)\\[0-3][0-7]{2}"
    r"|\\[nrtbfv0\"'\\/]"
)
_BYTE_ESCAPE = re.compile(r"\\+x([0-9a-fA-F]{2})")
# The escapes of the web, read as a second reading of the output (never instead of the first:
# data delivered with them, printed as it was, is matched as it was): URL escapes ("%20" between
# words, or every character as %XX) and numeric HTML entities ("&#73;&#103;..."), which a model
# reads through as easily as the text itself.
_WEB_ESCAPE = re.compile(r"(?:%[0-9a-fA-F]{2})+|&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});")
_PERCENT = re.compile(r"%([0-9a-fA-F]{2})")
# What a text must hold for each pattern to find an escape in it.
_ESCAPE_MARKS = {_OUT_ESCAPE: ("\\",), _WEB_ESCAPE: ("%", "&#")}
_UNIT_ESCAPE = re.compile(r"\\+[uU]([0-9a-fA-F]+)")


def _decode_escape(escape: str) -> list[tuple[str, int]]:
    """The characters an escape stands for, each with the length of source text it takes."""
    kind = escape.lstrip("\\")[:1]
    if kind == "&":
        digits = escape[2:-1]
        code = int(digits[1:], 16) if digits[:1] in "xX" else int(digits)
        return [(chr(code) if code <= 0x10FFFF else " ", len(escape))]
    if kind in ("x", "%"):
        found = (_PERCENT if kind == "%" else _BYTE_ESCAPE).finditer(escape)
        pieces = [(int(m.group(1), 16), len(m.group())) for m in found]
        raw = bytes(byte for byte, _ in pieces)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return [(chr(byte), width) for byte, width in pieces]
        out: list[tuple[str, int]] = []
        at = 0
        for char in text:
            size = len(char.encode("utf-8"))
            out.append((char, sum(width for _, width in pieces[at : at + size])))
            at += size
        return out
    if kind in "0123" and len(escape) == 4 and escape[1:].isdigit():  # an octal escape, \\111
        return [(chr(int(escape[1:], 8)), len(escape))]
    units = [int(m.group(1), 16) for m in _UNIT_ESCAPE.finditer(escape)]
    if len(units) == 2:  # a surrogate pair
        high, low = units
        return [(chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), len(escape))]
    if len(units) == 1:
        return [(chr(units[0]) if units[0] <= 0x10FFFF else " ", len(escape))]
    return [(" ", len(escape))]  # \n, \t, \" ...: a separator, as on the delivered side


def _unescaped(
    text: str, pattern: re.Pattern[str] = _OUT_ESCAPE
) -> tuple[str, list[int], list[int]] | None:
    """``text`` with escapes decoded, and each decoded character's start and end in ``text``.

    ``pattern``: the escapes to read (:data:`_OUT_ESCAPE`, or :data:`_WEB_ESCAPE`).
    """
    if not any(mark in text for mark in _ESCAPE_MARKS[pattern]):
        return None
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for match in pattern.finditer(text):
        for i in range(pos, match.start()):
            chars.append(text[i])
            starts.append(i)
            ends.append(i + 1)
        at = match.start()
        for char, width in _decode_escape(match.group()):
            chars.append(char)
            starts.append(at)
            ends.append(at + width)
            at += width
        pos = match.end()
    for i in range(pos, len(text)):
        chars.append(text[i])
        starts.append(i)
        ends.append(i + 1)
    return "".join(chars), starts, ends


_SPACED = re.compile(rf"[^\W\d_{_NOSPACE}]")


def _letterlike_table() -> dict[int, str]:
    """Symbols a model reads as the Latin letter or digit they enclose: circled, parenthesised
    and squared letters (NFKC folds them, but they are symbols, not letters, so no word is made
    of them before it would), and the regional indicators and negative circled or squared letters
    (no fold at all): 🇮🇬🇳🇴🇷🇪, 🅸🅶🅽🅾🆁🅴."""
    table: dict[int, str] = {}
    for code in (*range(0x2460, 0x2500), *range(0x1F100, 0x1F200)):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded.isascii() and folded.isalnum():
            table[code] = folded
    for offset in range(26):
        table[0x1F1E6 + offset] = chr(ord("a") + offset)  # regional indicators
        table[0x1F150 + offset] = chr(ord("A") + offset)  # negative circled
        table[0x1F170 + offset] = chr(ord("A") + offset)  # negative squared
    return table


_LETTERLIKE = _letterlike_table()
_LETTERLIKE_RUN = re.compile("[\u2460-\u24ff\U0001f100-\U0001f1ff]+")


def letters_of_symbols(text: str) -> str:
    """``text`` with letter-like symbols as their letters, one character for one (positions
    are kept)."""
    if text.isascii():
        return text
    return _LETTERLIKE_RUN.sub(lambda m: m.group().translate(_LETTERLIKE), text)


# The widest separator between the letters of a spelled-out word (``'  '.join(note)``,
# ``' | '.join(note)``); words stay apart because the gap between them is wider.
_SPELL_GAP = 3


# A wider separator between the letters of a spelled-out word, when it is the same each time
# once numbers are read as one mark: ``list(note)`` prints "'I', 'g', 'n'", a numbered listing
# "0 I\n1 g\n2 n", ``dict(enumerate(note))`` "0: 'I', 1: 'g'"; the gap at a word end differs.
_SPELL_SAME = 10
_NUMBER = re.compile(r"\d+")


def _letter(tok: tuple[int, int, str]) -> bool:
    return len(tok[2]) == 1 and _SPACED.match(tok[2]) is not None


def _spelled_runs(
    toks: list[tuple[int, int, str]], text: str | None = None
) -> list[tuple[int, int]]:
    """``(i, j)``: the indexes of the first and last token of each run of three or more
    one-letter tokens of ``toks``, evenly spaced at most ``_SPELL_GAP`` characters apart; or,
    given the ``text`` the tokens are of, set apart by the same separator each time (numbers in
    it read as one mark, number tokens skipped) of at most ``_SPELL_SAME`` characters (two
    letters are enough when that separator is two characters or more, not all blank)."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        j = i
        if _letter(toks[i]) and i + 1 < len(toks):
            gap = toks[i + 1][0] - toks[i][1]
            while (
                gap <= _SPELL_GAP
                and j + 1 < len(toks)
                and _letter(toks[j + 1])
                and toks[j + 1][0] - toks[j][1] == gap
            ):
                j += 1
            if j - i < 2 and text is not None:
                j = _same_separator_run(toks, text, i)
        if j - i >= 2 or (j > i and text is not None):
            runs.append((i, j))
        i = j + 1
    return runs


def _next_word(toks: list[tuple[int, int, str]], k: int) -> int:
    """The index of the first token after ``k`` that is not a number (``len(toks)`` if none)."""
    k += 1
    while k < len(toks) and toks[k][2].isdigit():
        k += 1
    return k


def _separator_run(
    toks: list[tuple[int, int, str]], text: str, i: int, period: int
) -> tuple[int, int, list[str]]:
    """From the one-letter token ``i``: the index of the last one-letter token of the run whose
    separators (numbers read as one mark) repeat with ``period``, how many letters it has, and
    the separators of one period."""
    shapes: list[str] = []
    last, count = i, 1
    while True:
        k = _next_word(toks, last)
        if k >= len(toks) or not _letter(toks[k]) or toks[k][0] - toks[last][1] > 4 * _SPELL_SAME:
            break
        shape = _NUMBER.sub("#", text[toks[last][1] : toks[k][0]])
        if not shape or len(shape) > _SPELL_SAME:
            break
        if len(shapes) < period:
            shapes.append(shape)
        elif shape != shapes[(count - 1) % period]:
            break
        last, count = k, count + 1
    return last, count, shapes


def _same_separator_run(toks: list[tuple[int, int, str]], text: str, i: int) -> int:
    """The index of the last one-letter token of the run from ``i`` whose letters are set apart
    by one separator (numbers read as one mark), or by two visible ones in turn
    (``list(zip(text[::2], text[1::2]))`` prints "('I', 'g'), ('n', 'o')"); ``i`` when there is
    no such run."""
    last, count, shapes = _separator_run(toks, text, i, 1)
    if count < 3:
        turn, letters, pair = _separator_run(toks, text, i, 2)
        # Neither holding the other: "', ' ', '" (a word gap of list(text)) holds "', '".
        if letters >= 3 and all(x.strip() and x not in y for x, y in (pair, pair[::-1])):
            return turn
    # A separator of two characters or more, not all blank ("', '"), is no gap of prose: a word
    # of two letters ("to") is spelled out too.
    if count >= 3 or (count == 2 and len(shapes[0]) >= 2 and shapes[0].strip()):
        return last
    return i


def _spelled(
    toks: list[tuple[int, int, str]], text: str | None = None
) -> list[tuple[int, int, str]]:
    """``toks`` with each run of three or more one-letter tokens, evenly spaced at most
    ``_SPELL_GAP`` characters apart (or, given ``text``, set apart by one separator: see
    :func:`_spelled_runs`), joined: ``' '.join(note)`` or ``'-'.join(note)`` spells a
    word out letter by letter."""
    out: list[tuple[int, int, str]] = []
    done = 0
    for i, j in _spelled_runs(toks, text):
        out.extend(toks[done:i])
        word = "".join(t[2] for t in toks[i : j + 1] if not t[2].isdigit())
        out.append((toks[i][0], toks[j][1], word))
        done = j + 1
    out.extend(toks[done:])
    return out


def readable(text: str) -> str:
    """``text`` as the scanner should read it: escapes decoded (those of the web too), letter-like
    symbols read as letters, spelled-out words joined.

    Only the runs ``_spelled`` joins are rewritten, in one pass. (Every token longer than its
    own letters used to be: the pieces NFKC makes of one U+FDFA all span the whole run of them,
    so 5,000 of them in the output were 20,000 rewrites of the run, 20-60 s of host CPU.)
    """
    text = letters_of_symbols(unescape(text))
    web = _unescaped(text, _WEB_ESCAPE)  # "%69gn%6Fre", "&#73;&#103;..."
    if web is not None:
        text = web[0]
    toks = tokens(text)
    kept: list[str] = []
    done = 0
    for i, j in _spelled_runs(toks, text):
        start, end = toks[i][0], toks[j][1]
        if start < done:
            continue
        kept.append(text[done:start])
        kept.append("".join(char for char in text[start:end] if _SPACED.match(char)))
        done = end
    kept.append(text[done:])
    return "".join(kept)


# Letters each followed by a number ("i1g2n3o4r5e6"): read again with the numbers dropped.
_ALTERNATING = re.compile(r"(?:[^\W\d_]\d+){3,}")
_AFTER_LETTER = re.compile(r"(?<=[^\W\d_])\d+")


def undigited(text: str) -> str | None:
    """``text`` with the numbers after letters dropped, when some word alternates letters and
    numbers (a model reads "i1g2n3o4r5e6" as "ignore"); None when none does. A reading for the
    patterns only: ids alternate letters and digits too, and read so they sway the classifier."""
    if _ALTERNATING.search(text) is None:
        return None
    return _AFTER_LETTER.sub("", text)


def unescape(text: str) -> str:
    """``text`` with the escapes of JSON, ``ascii()`` and bytes reprs read as characters."""
    decoded = _unescaped(text)
    return text if decoded is None else decoded[0]


def tokens(text: str, pattern: re.Pattern[str] = _OUT_ESCAPE) -> list[tuple[int, int, str]]:
    """``(start, end, casefolded token)`` for each token of ``text``, in order.

    Escapes (``\\u0418``, ``\\xe9``, ``\\n``; or those of ``pattern``) are read as what they
    stand for; positions stay those of ``text``.
    """
    decoded = _unescaped(text, pattern)
    source = letters_of_symbols(text if decoded is None else decoded[0])
    found: list[tuple[int, int, str]] = []
    for match in _TOKEN.finditer(source):
        folded = _canon(match.group())
        start, end = match.start(), match.end()
        if decoded is not None:
            start, end = decoded[1][start], decoded[2][end - 1]
        # Casefolding can split a token (a dotted capital I gains a combining mark): keep the
        # pieces the delivered side would see, all at the original token's place.
        parts = _TOKEN.findall(folded) if not folded.isalnum() else [folded]
        found.extend((start, end, part) for part in parts)
    return found


def _canon(text: str) -> str:
    """``text`` casefolded and, when it is not ASCII, with the forms a model reads as the same
    letters made the same: NFKC (full-width and mathematical letters), look-alikes of other
    scripts as Latin (a Cyrillic o, U+043E, inside "Ignore"). Both sides of a match read text this way,
    so data a script rewrote into look-alikes is still found."""
    if text.isascii():
        return text.casefold()
    # Casefolded before the look-alikes are folded, so that a capital Cyrillic
    # word and its lower case read the same (the look-alike table maps lower case to lower case).
    # Runs of combining marks cut first (stream_safe): NFKC reorders a long run quadratically.
    return fold_lookalikes(unicodedata.normalize("NFKC", stream_safe(text)).casefold())


_LEET_DIGITS = str.maketrans("01345789", "oieastbg")


def _leet(token: str) -> str:
    """A token mixing letters and digits with the digits read as the letters they imitate
    ("pr3v10us" -> "previous"); numbers and plain words stay. Output side only (a reading of
    its own): delivered text is matched as it is."""
    if token.isdigit() or not any(char.isdigit() for char in token):
        return token
    return token.translate(_LEET_DIGITS)


# Glued runs a script disguised letter by letter: digits for letters ("pr3v10us1nstruct10ns"),
# every letter doubled ("iiggnnoorree"), a junk letter after (or before) every letter
# ("ixgxnxoxrxex"). Read back (:func:`_deshaped`) only in tokens as long as a glued run, and
# read as delivered words only when words of at least _DESHAPED_WORD letters take
# _SPELLED_SHARE of the letters (an id read through the leetspeak table is letters at random,
# which one- and two-letter words of the data could otherwise cover).
_DESHAPED_WORD = 3


def _deshaped(token: str) -> str | None:
    """``token``, a glued run disguised letter by letter, read back; None when it is not one."""
    if len(token) < _GLUED_MIN or not token.isalnum() or token.isdigit():
        return None
    word = token.translate(_LEET_DIGITS) if not token.isalpha() else token
    if not word.isalpha():
        return None
    doubled = len(word) % 2 == 0 and word[0::2] == word[1::2]
    if doubled or (len(set(word[1::2])) == 1 and len(set(word[0::2])) > 2):
        word = word[0::2]
    elif len(set(word[0::2])) == 1 and len(set(word[1::2])) > 2:
        word = word[1::2]
    return word if word != token and len(set(word)) > 3 else None


# A hyphen or a middle dot inside a word ("Ig-nore al-l pr-evious"): a reader reads through it.
_INNER_MARKS = frozenset("-\u2010\u2011\u00b7")


def _glued(text: str, toks: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """``toks`` with neighbours separated only by invisible characters joined: a script that
    puts a zero-width space inside each word ("Ig\u200bnore") shows the model the words whole;
    and so with neighbours separated by one hyphen or middle dot between letters ("Ig-nore")."""
    out: list[tuple[int, int, list[str]]] = []  # each token's pieces, joined once at the end
    for start, end, word in toks:
        if out:
            gap = text[out[-1][1] : start]
            if (gap and all(char in INVISIBLE for char in gap)) or (
                gap in _INNER_MARKS and text[out[-1][1] - 1].isalpha() and text[start].isalpha()
            ):
                out[-1][2].append(word)
                out[-1] = (out[-1][0], end, out[-1][2])
                continue
        out.append((start, end, [word]))
    return [(start, end, "".join(words)) for start, end, words in out]


# Glued words: one token this long, nearly all letters ("ignoreallpreviousinstructions", camel
# case or spaces taken out; Klaviyo's ids are a third digits), or a run of this many short
# fragments close together, one a lone letter ("Ign|ore| al|l p", one character a line). Read
# again as the delivered words they spell (:func:`_segment`), so that data whose word boundaries
# a script changed is still found (red team round 13); the scanner reads them spaced
# (:meth:`Provenance.respaced`). The words of the delivered text are gathered for it once per run
# that prints such a stretch: about 60 ms of host CPU per 600 KB delivered, charged to the run.
_GLUED_MIN = 16
_GLUED_LETTERS = 0.85
_FRAGMENT = 3
_FRAGMENTS_MIN = 6
_WORD_MAX = 24
# Words glued or cut up are looked for in the scripts that space their words with ASCII letters
# only: Chinese, Japanese or Thai text is one long token as written (read as it was, it is found
# as it was), and Devanagari's marks cut its words into short tokens; spaced out, such text read
# as words the data never had, and the scanner flagged the product copy it made.
# At least this share of a stretch's letters must be delivered words, so that a long identifier
# of the host's ("AuthenticationError") is not read as two short words of the data ("en", "ca")
# with the rest of its letters stray.
_SPELLED_SHARE = 0.75
# Letters of one stretch segmented at once (the search is linear in them, times _WORD_MAX).
_STRETCH_MAX = 4096


def _latin(word: str) -> str | None:
    """``word`` in ASCII letters with the marks of its accented Latin letters dropped
    ("ignôréàll" -> "ignoreall": a script that accents the data's vowels keeps the words
    readable, red team round 14), one letter for each; ``None`` when it has letters of another
    script (or a letter that is not one character without its marks)."""
    if word.isascii():
        return word
    bare = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return bare if bare.isascii() and len(bare) == len(word) else None


def _stretches(toks: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """``(i, j)``: the first and last index of each stretch of ``toks`` that may be words glued
    together or cut into fragments (see :data:`_GLUED_MIN`)."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        word = _latin(toks[i][2])
        if (
            word is not None
            and len(word) >= _GLUED_MIN
            and sum(c.isalpha() for c in word) >= _GLUED_LETTERS * len(word)
        ):
            out.append((i, i))
            i += 1
            continue
        j = i
        while (
            j < len(toks)
            and len(toks[j][2]) <= _FRAGMENT
            and _latin(toks[j][2]) is not None
            and not toks[j][2].isdigit()
            and (j == i or toks[j][0] - toks[j - 1][1] <= _SPELL_GAP)
        ):
            j += 1
        # A letter on its own among them: words cut up, not a row of codes ("US CA GB FR DE IT").
        if j - i >= _FRAGMENTS_MIN and any(len(toks[k][2]) == 1 for k in range(i, j)):
            out.append((i, j - 1))
        i = max(j, i + 1)
    return out


def _segment(letters: str, vocab: frozenset[str]) -> list[tuple[int, int]]:
    """The words of ``vocab`` that spell ``letters`` best, as ``(start, end)`` in it: fewest
    words, each letter no word covers costing two (so a stray letter does not stop the rest)."""
    n = len(letters)
    cost = [0] + [2 * n + 1] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        best, frm = cost[end - 1] + 2, end - 1
        for start in range(max(0, end - _WORD_MAX), end):
            if cost[start] + 1 < best and letters[start:end] in vocab:
                best, frm = cost[start] + 1, start
        cost[end], back[end] = best, frm
    words: list[tuple[int, int]] = []
    end = n
    while end > 0:
        start = back[end]
        if end - start > 1 or letters[start:end] in vocab:
            words.append((start, end))
        end = start
    return words[::-1]


# Junk glued between the words ("IgnoreQzxvAllQzxvPrevious", "ignoreqjallqj"): the same few
# letters between delivered words again and again are taken for a separator, not stray letters,
# when they stand between words at least this many times.
_JUNK_MAX = 6
_JUNK_MIN = 3


def _without_junk(chunk: str, words: list[tuple[int, int]], min_word: int) -> list[tuple[int, int]]:
    """``words`` (a segmentation of ``chunk``) without those inside the letters that stand most
    often between its words of two letters or more, when those are a separator (see
    :data:`_JUNK_MAX`) and the words take :data:`_SPELLED_SHARE` of the other letters; else
    nothing."""
    between: list[tuple[int, int]] = []
    at = 0
    for a, b in [*(w for w in words if w[1] - w[0] >= 2), (len(chunk), len(chunk))]:
        if a > at:
            between.append((at, a))
        at = max(at, b)
    counts = Counter(chunk[a:b] for a, b in between if b - a <= _JUNK_MAX)
    if not counts:
        return []
    junk, seen = counts.most_common(1)[0]
    if seen < _JUNK_MIN:
        return []
    inside = {k for a, b in between if chunk[a:b] == junk for k in range(a, b)}
    kept = [(a, b) for a, b in words if a not in inside]
    taken = sum(b - a for a, b in kept if b - a >= min_word)
    return kept if taken >= _SPELLED_SHARE * (len(chunk) - seen * len(junk)) else []


def _spelled_words(
    toks: list[tuple[int, int, str]],
    i: int,
    j: int,
    vocab: frozenset[str],
    letter_places: dict[int, list[tuple[int, int]]] | None = None,
    min_word: int = 1,
) -> list[tuple[int, int, str]]:
    """The tokens ``toks[i..j]`` read as the delivered words they spell, each with the place in
    the text of the letters it takes (a token NFKC or casefolding resized keeps its own place).

    ``letter_places``: for a token made of pieces (words cut by a line break, joined), the place
    of each of its letters, by the token's index. ``min_word``: only words this long count
    towards the share of the letters delivered words must take (:data:`_SPELLED_SHARE`)."""
    letters: list[str] = []
    places: list[tuple[int, int]] = []
    for index in range(i, j + 1):
        start, end, token = toks[index]
        word = _latin(token) or token
        given = letter_places.get(index) if letter_places else None
        if given is not None and len(given) == len(word):
            letters.extend(word)
            places.extend(given)
            continue
        exact = len(word) == end - start
        for k, char in enumerate(word):
            letters.append(char)
            places.append((start + k, start + k + 1) if exact else (start, end))
    out: list[tuple[int, int, str]] = []
    for at in range(0, len(letters), _STRETCH_MAX):
        chunk = "".join(letters[at : at + _STRETCH_MAX])
        words = _segment(chunk, vocab)
        if sum(b - a for a, b in words if b - a >= min_word) < _SPELLED_SHARE * len(chunk):
            words = _without_junk(chunk, words, min_word)
            if not words:
                continue  # mostly stray letters: not delivered words glued together
        for a, b in words:
            out.append((places[at + a][0], places[at + b - 1][1], chunk[a:b]))
    return out


# A word cut by a line break: a hyphen (or a soft hyphen) at the end of the line, or a bare line
# break after a line cut at a fixed width (textwrap of a glued run, cells of seven characters a
# line: see _full_line). The output is also read with the pieces on both sides joined
# (:func:`_wrapped`), in ASCII (or accented Latin) letters only; where a delivered word found in
# that reading spans a break, the screen scans the lines as one (:attr:`Provenance.joins`).
_BREAK = re.compile(r"[-\u00ad\u2010]?\r?\n")
_WRAP_MIN = 5
# (tokens with the pieces of cut words joined, the pieces of each joined token by its index, the
# breaks joined, the joined tokens with a bare line break among them): see _wrapped.
_Wrapped = tuple[
    list[tuple[int, int, str]],
    dict[int, list[tuple[int, int, str]]],
    list[tuple[int, int]],
    set[int],
]


def _line_len(text: str, end: int) -> int:
    """The length of the line that ends at ``end`` (a line break's place), a carriage return
    before it not counted."""
    start = text.rfind("\n", 0, end) + 1
    return end - start - (1 if end > start and text[end - 1] == "\r" else 0)


def _full_line(text: str, newline: int) -> bool:
    """The line ending at ``newline`` is cut at a width: at least :data:`_WRAP_MIN` long, no
    shorter than the next line, and one of three lines in a row of its length (prose wrapped at
    word ends has lines of ragged lengths; a text cut every so many characters does not)."""
    here = _line_len(text, newline)
    if here < _WRAP_MIN:
        return False
    before: list[int] = []
    start = text.rfind("\n", 0, newline) + 1
    while start > 0 and len(before) < 2:
        before.append(_line_len(text, start - 1))
        start = text.rfind("\n", 0, start - 1) + 1
    after: list[int] = []
    at = newline
    while at < len(text) and len(after) < 2:
        at = text.find("\n", at + 1)
        at = len(text) if at < 0 else at
        after.append(_line_len(text, at))
    if after and after[0] > here:
        return False
    row = [*before[::-1], here, *after]
    mine = len(before)
    return any(
        row[k : k + 3] == [here] * 3 for k in range(max(mine - 2, 0), mine + 1) if k + 3 <= len(row)
    )


def _wrapped(text: str, toks: list[tuple[int, int, str]]) -> _Wrapped:
    """``toks`` with the pieces of words cut by a line break joined (see :data:`_BREAK`), the
    pieces of each joined token (by its index), and the place of every break joined. ``toks``
    itself (and nothing else) when there is none."""
    out: list[tuple[int, int, str]] = []
    members: dict[int, list[tuple[int, int, str]]] = {}
    letters = 0
    gaps: list[tuple[int, int]] = []
    bare: set[int] = set()
    for tok in toks:
        if out:
            last = out[-1]
            index = len(out) - 1
            gap = text[last[1] : tok[0]]
            if (
                _BREAK.fullmatch(gap)
                and text[last[1] - 1].isalpha()
                and text[tok[0]].isalpha()
                and _latin(tok[2]) is not None
                and (index in members or _latin(last[2]) is not None)
                and (letters if index in members else len(last[2])) + len(tok[2]) <= _STRETCH_MAX
                and (gap[0] not in "\r\n" or _full_line(text, tok[0] - 1))
            ):
                if gap[0] in "\r\n":
                    bare.add(index)
                if index not in members:
                    members[index] = [last]
                    letters = len(last[2])
                members[index].append(tok)
                letters += len(tok[2])
                out[-1] = (last[0], tok[1], "")  # its word: its pieces', joined once below
                gaps.append((last[1], tok[0]))
                continue
        out.append(tok)
    if not gaps:
        return toks, {}, [], set()
    for index, pieces in members.items():
        out[index] = (out[index][0], out[index][1], "".join(piece[2] for piece in pieces))
    return out, members, gaps, bare


def _letter_places(tok: tuple[int, int, str]) -> list[tuple[int, int]]:
    start, end, token = tok
    word = _latin(token) or token
    if len(word) == end - start:
        return [(start + k, start + k + 1) for k in range(len(word))]
    return [(start, end)] * len(word)


def _width(text: str) -> int:
    """Bytes per character of ``text`` in memory (CPython's compact strings: 1, 2 or 4)."""
    top = max(map(ord, text), default=0) if not text.isascii() else 0
    return 1 if top < 0x100 else 2 if top < 0x10000 else 4


def _fold(text: str) -> list[str]:
    return _TOKEN.findall(_canon(text))


# Delivered text is folded and tokenised in pieces of at most this many characters: NFKC expands
# some characters eighteen-fold (U+FDFA), and one call on a whole answer of them held the GIL,
# so the event loop every session shares, for 1.5 s and took some 90 MB at once (round 8).
_PIECE = 1 << 15
# How far back from a piece's end a cut looks for a character that is no part of a token, when
# the piece's second half has no space or newline.
_CUT_LOOKBACK = 256


def _pieces(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` in pieces of at most :data:`_PIECE` characters, each with whether it ends
    inside a token.

    A piece ends before a space or a newline of its second half, else before the nearest
    character that is neither alphanumeric nor combining and that NFKC leaves as it is ("℡"
    folds to letters): folding and tokenising the pieces one
    by one then gives the tokens of the whole (NFKC composes a character only with the marks
    after it, and casefolding and look-alikes go by character). A text with no such character
    for that long is cut where the piece ends, inside a token (the only place the pieces'
    tokens differ from the whole's).
    """
    start, end = 0, len(text)
    while end - start > _PIECE:
        hi = start + _PIECE
        lo = hi - _PIECE // 2
        cut = max(text.rfind(" ", lo, hi), text.rfind("\n", lo, hi))
        inside = False
        if cut < lo:
            cut = hi
            for at in range(hi - 1, hi - 1 - _CUT_LOOKBACK, -1):
                char = text[at]
                if (
                    not char.isalnum()
                    and not unicodedata.combining(char)
                    and unicodedata.is_normalized("NFKC", char)
                ):
                    cut = at
                    break
            else:
                inside = True
        yield text[start:cut], inside
        start = cut
    yield text[start:], False


def _folded_pieces(text: str) -> Iterator[list[str]]:
    """The tokens of ``_fold(text)``, a piece at a time (see :func:`_pieces`): each list after
    the first starts with the last two tokens of the one before, so that their grams and pairs
    together are the whole text's."""
    tail: list[str] = []
    for piece, _ in _pieces(text):
        toks = tail + _fold(piece)
        yield toks
        tail = toks[-2:]


def _grams(toks: Sequence[str]) -> zip[Gram]:
    return zip(toks, toks[1:], toks[2:], strict=False)


def _pairs(toks: Sequence[str]) -> Iterator[Pair]:
    return pairwise(toks)


def _delivered(value: Any, dump: str | None = None) -> tuple[str, bool]:
    """What was delivered as one string, and whether it is a JSON dump (rendered when read).

    ``dump``: ``value`` already encoded as JSON (not ASCII-escaped), to keep instead.
    """
    if isinstance(value, str):
        return value, False
    if dump is None:
        try:
            dump = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            return str(value), True
    return dump, True


def _as_text(raw: str, is_dump: bool) -> str:
    """Values in document order, then the keys: neighbouring strings read as one text."""
    text = raw
    if is_dump:
        keys = " ".join(_KEY.findall(raw))
        text = _ESCAPE.sub(" ", _KEY.sub(" ", raw) + " | " + keys)
    for mark in _HOST_MARKS:
        text = text.replace(mark, " | ")
    return text


# Characters the token-boundary pre-check reads per delivered text, counted once per word found
# in it: past this it keeps the substring answer (the text is rendered, as before). Data chosen
# to hold a word after a letter everywhere ("xa xa xa ...") makes each place a candidate, about
# 0.4 us each: the bound keeps that under 0.1 s per delivered text.
_BOUNDED_CHARS = 512 * 1024


def _present(words: Iterable[str], folded: str) -> set[str]:
    """The ``words`` that may be tokens of ``folded`` (a delivered string, casefolded) once it is
    rendered: never fewer than are.

    Rendering ASCII text only splits it (a dump's keys and escapes become separators), so a
    token there is a run of letters and digits with no letter or digit on its right, and on its
    left none, or the end of an escape (``\\n``, ``\\u00e9``): "12" inside "2012" or "t12:04"
    is not one, so a number an output shares with every page no longer has each page rendered.
    Other text is matched as a substring (NFKC and look-alike folding can join characters), and
    so is a text too long for the words found in it (:data:`_BOUNDED_CHARS`).
    """
    found = {word for word in words if word in folded}
    if not folded.isascii() or len(found) * len(folded) > _BOUNDED_CHARS:
        return found
    return {word for word in found if re.search(_bounded(word), folded)}


def _bounded(word: str) -> str:
    """A pattern for ``word`` where rendering ASCII text could make it a token: the word first
    (the regex engine looks for it as a literal), then what must stand on each side of it. A
    backslash and one character, or ``\\u`` and four hex digits, before it may end an escape:
    taken as one (a word kept that is not there costs a rendering, never a miss)."""
    w = re.escape(word)
    return (
        rf"{w}(?![0-9a-z])"
        rf"(?:(?<=\A{w})|(?<=[^0-9a-z]{w})|(?<=\\.{w})|(?<=\\u[0-9a-f]{{4}}{w}))"
    )


# Outputs with more distinct words than this skip the pre-check (each word is looked for in
# each delivered text): every delivered text is tokenised, as it would be without it.
_PRECHECK_WORDS = 64


# Words that only join others: a pair with one of them ("in store", "of the") says nothing on
# its own, and the host's messages are full of them; longer outside text keeps its trigrams.
_GLUE = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "on",
        "at",
        "of",
        "to",
        "for",
        "with",
        "by",
        "from",
        "into",
        "onto",
        "and",
        "or",
        "nor",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "as",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
    ]
)


GLUE = _GLUE
"""Words a pair with one of them is never outside text for (see :meth:`Provenance.find`)."""


def name_pairs(names: Iterable[str]) -> frozenset[Pair]:
    """The word pairs inside snake_case names (``page_cursor`` -> ``("page", "cursor")``).

    The host's messages print the SDK's names (operations, groups, parameters: "valid: filter,
    page_size, page_cursor"), and Klaviyo's answers hold the same words ("page[cursor]" in every
    ``links.next``), so without this a host message would read as two-word outside text. A pair
    of the SDK's own vocabulary cannot carry an instruction of its own; longer outside text is
    still found by its trigrams.
    """
    out: set[Pair] = set()
    for name in names:
        out.update(_pairs(_fold(name)))
    return frozenset(out)


def union(spans: list[Span]) -> list[Span]:
    """Overlapping spans merged (the first one's source kept), in order."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda x: (x.start, -x.end)):
        if out and span.start <= out[-1].end:
            last = out[-1]
            out[-1] = Span(last.start, max(last.end, span.end), last.source)
        else:
            out.append(span)
    return out


class Provenance:
    """The outside text delivered to one run's worker, and where a result repeats it."""

    def __init__(
        self,
        script: str = "",
        *,
        budget_chars: int = 8_000_000,
        host_pairs: frozenset[Pair] = frozenset(),
        sketch: Sketch | None = None,
    ) -> None:
        """Start empty.

        Args:
            script: the script's source: trigrams it contains are the script's own words.
            budget_chars: how much delivered text to keep, in bytes of memory (a character takes
                1, 2 or 4); past it, :attr:`overflow` is set.
            host_pairs: word pairs of the names the host's own messages print (see
                :func:`name_pairs`): never two-word outside text on their own.
            sketch: the session's record of what its earlier runs that kept computed text were
                delivered: shingles it holds are outside text too; one that overflowed makes
                this run read as one past its budget.
        """
        script_tokens = _fold(script)
        self._script_grams: set[Gram] = set(_grams(script_tokens))
        self._script_pairs: set[Pair] = set(_pairs(script_tokens)) | host_pairs
        self._script_words = frozenset(script_tokens)
        # (source, delivered string, whether it is a JSON dump still to render): rendering and
        # tokenising wait for find(), which most runs need for a few words or not at all.
        self._sources: list[tuple[str, str, bool]] = []
        self._left = budget_chars
        self._sketch = sketch if sketch is not None and not sketch.empty else None
        self.overflow = sketch is not None and sketch.overflow
        # Set by find() when its CPU deadline passed before it had read every delivered text.
        self.cut = False
        # The delivered words, once glued words or fragments had to be read as them.
        self._vocab: frozenset[str] | None = None
        # Set by find(): for each text, the line breaks inside a word of outside text (a word
        # the script cut across lines), as (start, end) of the hyphen and line break: the
        # screen reads the lines on both sides as one.
        self.joins: list[list[tuple[int, int]]] = []
        # Set by find(): for each text, the words of outside text a backward reading found, as
        # (start, end, how: "text" reversed, each word's "words" reversed, words in reverse
        # "order"): the screen has the scanner read them forwards too.
        self.turned: list[list[tuple[int, int, str]]] = []
        # Set by find(): for each text, the line breaks between two words of outside text that
        # stand next to each other in the delivered text (prose a script wrapped at word ends,
        # textwrap.fill of a description): the screen reads the lines on both sides as one
        # piece, break kept, as it reads the same prose printed on one line.
        self.wraps: list[list[int]] = []
        # Set by find(): for each text, the markdown link seams ("](") the script put between
        # two words of outside text that do not stand together in the delivered text (a title
        # and a URL of one record, ``f"![{title}]({url})"``): the screen ends a piece there,
        # so each value is read as itself, not as one made-up link.
        self.seams: list[list[int]] = []
        # Set by find(): words of outside text in leetspeak, and the letters they stand for.
        self._leet_read: dict[str, str] = {}

    @property
    def delivered(self) -> bool:
        """True when some outside text reached the worker in this run (the store included)."""
        return bool(self._sources)

    @property
    def empty(self) -> bool:
        """True when nothing from outside reached the worker (nothing in a result can be data)."""
        return not self._sources and not self.overflow and self._sketch is None

    def add(self, source: str, value: Any, *, dump: str | None = None) -> None:
        """Record ``value`` (a string or a JSON document) as delivered, labelled ``source``.

        ``dump``: the document as JSON (``ensure_ascii=False``) when the caller has it already.
        """
        if value is None or value == "" or value == {} or value == []:
            return
        if self._left <= 0:  # spent: do not even render it (this runs on the event loop)
            self.overflow = True
            return
        text, is_dump = _delivered(value, dump)
        # Charged by memory, not length: a character may take 1, 2 or 4 bytes (emoji text held
        # 4x the budget when it was counted in characters).
        width = _width(text)
        if len(text) * width > self._left:
            self.overflow = True
            text = text[: max(self._left // width, 0)]
        self._left -= len(text) * width
        if text:
            self._sources.append((source, text, is_dump))

    def find(self, texts: Sequence[str], *, cpu_until: float | None = None) -> list[list[Span]]:
        """For each text, the runs of outside text in it (one pass over the delivered text).

        Args:
            texts: the result's strings.
            cpu_until: a ``time.thread_time()`` value: past it no further delivered text is read
                (one already begun is finished: an answer is at most the scanner's size limit),
                :attr:`cut` is set, and every word the script never wrote counts as outside
                text (labelled :data:`UNCHECKED`) unless a trigram or pair found its source.
        """
        tokenised = [tokens(text) for text in texts]
        # Each text is also read with spelled-out words joined (``' '.join(note)``); a text
        # without such runs is read once.
        spelled = [_spelled(toks, text) for toks, text in zip(tokenised, texts, strict=True)]
        # ... and with words split by invisible characters joined ("Ig\u200bnore").
        glued = [_glued(text, toks) for text, toks in zip(texts, tokenised, strict=True)]
        # ... and with digits in words read as letters ("pr3v10us").
        leet = [[(a, b, _leet(word)) for a, b, word in toks] for toks in tokenised]
        # ... and with numbers after letters dropped ("i1g2n3o4r5e6"), where a word alternates.
        undigited = [
            [(a, b, _AFTER_LETTER.sub("", w)) for a, b, w in toks if not w.isdigit()]
            if _ALTERNATING.search(text)
            else toks
            for text, toks in zip(texts, tokenised, strict=True)
        ]
        # ... and with URL escapes and HTML entities read as what they stand for ("Ignore%20all").
        web = [
            tokens(text, _WEB_ESCAPE) if _WEB_ESCAPE.search(text) else toks
            for text, toks in zip(texts, tokenised, strict=True)
        ]
        # ... and with words glued together or cut into fragments read as the delivered words
        # they spell ("IgnoreAllPrevious", "I.g.n.o.r.e", "Ign|ore| al|l p").
        respelt = [self._respelt(toks, cpu_until) for toks in spelled]
        # ... and backwards: the text reversed, each word's letters reversed, the words (glued
        # words read as those they spell) in reverse order. A reader reads these back.
        # The script's own words and numbers stand in them as "" (no gram or pair with one is
        # looked for): an output of the script's words alone has nothing to look for backwards.
        turned = [
            {
                "text": [(a, b, self._turn(w)) for a, b, w in reversed(toks)],
                "words": [(a, b, self._turn(w)) for a, b, w in toks],
                "order": [(a, b, w if self._unexplained(w) else "") for a, b, w in reversed(spelt)],
            }
            for toks, spelt in zip(tokenised, respelt, strict=True)
        ]
        # ... and with glued runs disguised letter by letter read back ("pr3v10us1nstruct10ns",
        # "iiggnnoorree", "ixgxnxoxrxex"), as the delivered words they spell.
        reshaped = [self._reshaped(toks, cpu_until) for toks in tokenised]
        # ... and with words cut by a line break joined ("instructi-\nons", cells of seven
        # characters a line), a run of such pieces read as the delivered words it spells (a glued
        # run wrapped at ten characters).
        wrapped = [_wrapped(text, toks) for text, toks in zip(texts, tokenised, strict=True)]
        rejoined = [self._rejoined(parts, cpu_until) for parts in wrapped]
        # ... and with the words between outside words skipped: numbers and the script's own
        # words ("0 Ignore\n1 all\n2 previous", "Ignore ok all ok previous"), or every other
        # word (a filler the data supplied).
        skips = [self._skips(toks) for toks in tokenised]
        wanted: set[Gram] = set()
        wanted_pairs: set[Pair] = set()
        readings = [
            [t[2] for t in toks]
            for toks in [
                *tokenised,
                *spelled,
                *glued,
                *leet,
                *undigited,
                *web,
                *respelt,
                *rejoined,
                *reshaped,
            ]
        ]
        backwards = [[t[2] for t in toks] for ways in turned for toks in ways.values()]
        for toks, keeps, plain in zip(tokenised, skips, leet, strict=True):
            readings.extend([toks[k][2] for k in keep] for keep in keeps)
            if plain != toks:  # words skipped in the leetspeak reading too ("2 pr3v10us")
                readings.extend([plain[k][2] for k in keep] for keep in keeps)
        for words in readings:
            wanted.update(_grams(words))
            wanted_pairs.update(_pairs(words))
        for words in backwards:
            wanted.update(gram for gram in _grams(words) if "" not in gram)
            wanted_pairs.update(pair for pair in _pairs(words) if "" not in pair)
        wanted -= self._script_grams
        wanted_pairs = {
            p for p in wanted_pairs - self._script_pairs if p[0] not in _GLUE and p[1] not in _GLUE
        }
        owner: dict[Gram, str] = {}
        pair_owner: dict[Pair, str] = {}
        needed = {word for gram in wanted for word in gram}
        needed.update(word for pair in wanted_pairs for word in pair)
        for source, raw, is_dump in self._sources if wanted or wanted_pairs else ():
            if cpu_until is not None and time.thread_time() >= cpu_until:
                self.cut = True
                break
            if len(needed) <= _PRECHECK_WORDS:
                # A token of the rendered text is a piece of the delivered string, casefolded
                # character by character: a gram or pair with a word missing from it cannot be
                # there. Folded a piece at a time; a piece cut inside a token could hide a word
                # across the cut, so such a text is never skipped.
                present: set[str] = set()
                complete = True
                for piece, inside in _pieces(raw):
                    if cpu_until is not None and time.thread_time() >= cpu_until:
                        self.cut = True
                        break
                    folded = _canon(piece)
                    present.update(_present(needed, folded))
                    complete = complete and not inside
                if self.cut:
                    break
                has_gram = any(all(word in present for word in gram) for gram in wanted)
                has_pair = any(all(word in present for word in pair) for pair in wanted_pairs)
                if complete and not has_gram and not has_pair:
                    continue
            for tokens_of in _folded_pieces(_as_text(raw, is_dump)):
                if cpu_until is not None and time.thread_time() >= cpu_until:
                    self.cut = True
                    break
                for gram in wanted.intersection(_grams(tokens_of)):
                    owner.setdefault(gram, source)
                for pair in wanted_pairs.intersection(_pairs(tokens_of)):
                    pair_owner.setdefault(pair, source)
            if self.cut:
                break
            if len(owner) == len(wanted) and len(pair_owner) == len(wanted_pairs):
                break
        if self._sketch is not None and not self.cut:
            # What no delivered text of this run holds but an earlier run's did: looked up at
            # once (as many as the output has shingles).
            if cpu_until is not None and time.thread_time() >= cpu_until:
                self.cut = True
            else:
                self._from_sketch(self._sketch, wanted, owner)
                self._from_sketch(self._sketch, wanted_pairs, pair_owner)
        found = []
        # Past the budget or the deadline the host cannot tell: every word the script never
        # wrote is data (one word too); the cut is named, as its fix differs.
        unknown = UNCHECKED if self.cut else UNINDEXED if self.overflow else None
        for toks, joined, whole, plain, keeps, decoded, spelt, lines, shaped in zip(
            tokenised, spelled, glued, leet, skips, web, respelt, rejoined, reshaped, strict=True
        ):
            spans = self._runs(toks, owner, pair_owner, unknown)
            for other in (decoded, spelt, lines, shaped):
                if other is not toks and other is not joined:
                    spans = union(spans + self._runs(other, owner, pair_owner, unknown))
            for keep in keeps:
                spans = union(spans + self._runs(toks, owner, pair_owner, None, keep))
            leet_spans: list[Span] = []
            if plain != toks:
                leet_spans = self._runs(plain, owner, pair_owner, unknown)
                for keep in keeps:
                    leet_spans = union(
                        leet_spans + self._runs(plain, owner, pair_owner, None, keep)
                    )
            if leet_spans:
                # Leetspeak words of outside text: the scanner reads them as letters too, but only
                # those the leetspeak reading alone found. A word found as it is was delivered so
                # (an id's "4b7c" is data, not "abtc"): the scanner reads it as it is.
                self._note_leet(toks, plain, leet_spans, spans)
                spans = union(spans + leet_spans)
            if len(joined) != len(toks):
                spans = union(spans + self._runs(joined, owner, pair_owner, unknown))
            if len(whole) != len(toks):
                spans = union(spans + self._runs(whole, owner, pair_owner, unknown))
            found.append(spans)
        # Where only a backward reading finds outside text: the scanner reads it forwards too.
        self.turned = []
        for index, ways in enumerate(turned):
            backward: list[tuple[int, int, str]] = []
            extra: list[Span] = []
            for way, toks in ways.items():
                labels = self._labels([t[2] for t in toks], owner, pair_owner, None)
                for (start, end, word), label in zip(toks, labels, strict=True):
                    # A word that reads the same both ways says nothing of the way it was read.
                    if label is not None and (way == "order" or word != word[::-1]):
                        backward.append((start, end, way))
                        extra.append(Span(start, end, label))
            self.turned.append(sorted(backward))
            if extra:
                found[index] = union(found[index] + extra)
        self.joins = [
            self._joins(lines, parts[2], owner, pair_owner)
            for lines, parts in zip(rejoined, wrapped, strict=True)
        ]
        breaks = [
            self._breaks(text, toks, owner, pair_owner)
            for text, toks in zip(texts, tokenised, strict=True)
        ]
        self.wraps = [wraps for wraps, _ in breaks]
        self.seams = [seams for _, seams in breaks]
        if any(self.joins) and not self.cut:
            # The screen hands the scanner the lines a cut word spans as one, which respaced()
            # reads with the delivered words: gathered here, in this thread, within the deadline.
            self._vocabulary(cpu_until)
        return found

    def computed(
        self, texts: Sequence[str], outside: Sequence[Sequence[Span]] = ()
    ) -> list[list[Span]]:
        """For each text, the stretches of words that are neither numbers nor words of the
        script's source, nor in ``outside`` (the text's spans :meth:`find` placed): from the
        first such word to the last, cut at line ends and at outside text (labelled
        :data:`COMPUTED`).

        Text a script decoded, reversed or wove together from what it read (base64 of reversed
        bytes, octal codes, two fields each holding every other letter) shares no shingle with
        the delivered text, so :meth:`find` cannot place it, yet it is no word the script wrote
        (red team round 15). Only a run that was delivered something has such text: without
        outside text, words the script never wrote are made from its own literals.
        """
        if not self._sources and self._sketch is None:
            return [[] for _ in texts]
        found: list[list[Span]] = []
        for index, text in enumerate(texts):
            placed = union(list(outside[index])) if index < len(outside) else []
            ends = [span.end for span in placed]
            spans: list[Span] = []
            first = last = -1
            previous = 0
            toks = tokens(text)
            if _WEB_ESCAPE.search(text):  # "&#73;&#103;..." is numbers only until it is read
                toks = sorted({*toks, *tokens(text, _WEB_ESCAPE)})
            for start, end, word in toks:
                at = bisect.bisect_right(ends, start)
                inside = at < len(placed) and placed[at].start <= start
                if first >= 0 and (inside or "\n" in text[previous:start]):
                    spans.append(Span(first, last, COMPUTED))
                    first = last = -1
                previous = end
                if inside or not self._unexplained(word):
                    continue
                if first < 0:
                    first = start
                last = end
            if first >= 0:
                spans.append(Span(first, last, COMPUTED))
            found.append(spans)
        return found

    def _rejoined(self, parts: _Wrapped, cpu_until: float | None) -> list[tuple[int, int, str]]:
        """The tokens of :func:`_wrapped`, each joined across a bare line break read as the
        delivered words it spells (its pieces as they were when it spells none); the tokens as
        they were when no word was cut."""
        toks, members, gaps, bare = parts
        if not gaps:
            return toks
        out: list[tuple[int, int, str]] = []
        for index, tok in enumerate(toks):
            pieces = members.get(index)
            if pieces is None or index not in bare:
                # A word hyphenated at a line's end is one word: read as it is, no segmenting.
                out.append(tok)
                continue
            if cpu_until is not None and time.thread_time() >= cpu_until:
                self.cut = True
                out.extend(pieces)
                continue
            places = [place for piece in pieces for place in _letter_places(piece)]
            words = _spelled_words([tok], 0, 0, self._vocabulary(cpu_until), {0: places})
            if not words:
                out.extend(pieces)
                continue
            # Letters no word takes stay, as tokens of their own: dropped, the words on both
            # sides of them ("Ignore\nb) all") would read as neighbours and be one run.
            stray: list[tuple[int, int, str, int]] = []
            k = 0
            letters = _latin(tok[2]) or tok[2]
            for at, (start, end) in enumerate(places):
                while k < len(words) and words[k][1] <= start:
                    k += 1
                if k < len(words) and words[k][0] <= start:
                    continue
                if stray and stray[-1][1] == start and stray[-1][3] == at - 1:
                    stray[-1] = (stray[-1][0], end, stray[-1][2] + letters[at], at)
                else:
                    stray.append((start, end, letters[at], at))
            out.extend(sorted(words + [(a, b, w) for a, b, w, _ in stray]))
        return out

    def _joins(
        self,
        toks: list[tuple[int, int, str]],
        gaps: list[tuple[int, int]],
        owner: dict[Gram, str],
        pair_owner: dict[Pair, str],
    ) -> list[tuple[int, int]]:
        """The line breaks of ``gaps`` inside a word of ``toks`` that outside text labels."""
        if not gaps:
            return []
        labels = self._labels([t[2] for t in toks], owner, pair_owner, None)
        starts = [start for start, _ in gaps]
        found: list[tuple[int, int]] = []
        for (start, end, _), label in zip(toks, labels, strict=True):
            if label is None:
                continue
            k = bisect.bisect_right(starts, start)
            while k < len(gaps) and gaps[k][1] < end:
                found.append(gaps[k])
                k += 1
        return found

    def _breaks(
        self,
        text: str,
        toks: list[tuple[int, int, str]],
        owner: dict[Gram, str],
        pair_owner: dict[Pair, str],
    ) -> tuple[list[int], list[int]]:
        """Where ``text`` joins or parts two neighbouring tokens, by whether they stand next to
        each other in the delivered text (a pair, or a trigram across them, outside text
        labels): the line breaks (one, among blanks only) between two that do (prose wrapped
        at word ends; a break between two values, names one a line, is not one), and the
        markdown link seams ("](") between two that do not (a link the script made of two
        values)."""
        wraps: list[int] = []
        seams: list[int] = []
        words = [t[2] for t in toks]
        for i in range(len(toks) - 1):
            gap = text[toks[i][1] : toks[i + 1][0]]
            wrap = gap.count("\n") == 1 and not gap.strip()
            seam = "](" in gap and "\n" not in gap
            if not wrap and not seam:
                continue
            pair = (words[i], words[i + 1])
            grams: list[Gram] = [
                (words[k], words[k + 1], words[k + 2])
                for k in (i - 1, i)
                if k >= 0 and k + _N <= len(words)
            ]
            together = pair_owner.get(pair) is not None or any(
                gram not in self._script_grams and owner.get(gram) is not None for gram in grams
            )
            if wrap and together:
                wraps.append(toks[i][1] + gap.index("\n"))
            elif seam and not together:
                seams.append(toks[i][1] + gap.index("]("))
        return wraps, seams

    def _reshaped(
        self, toks: list[tuple[int, int, str]], cpu_until: float | None
    ) -> list[tuple[int, int, str]]:
        """``toks`` with each glued run disguised letter by letter (:func:`_deshaped`) read as the
        delivered words it spells; ``toks`` itself when it has none."""
        out: list[tuple[int, int, str]] = []
        found = False
        for start, end, word in toks:
            bare = _deshaped(word)
            if bare is None:
                out.append((start, end, word))
                continue
            if cpu_until is not None and time.thread_time() >= cpu_until:
                self.cut = True
                return toks
            words = _spelled_words(
                [(start, end, bare)], 0, 0, self._vocabulary(cpu_until), min_word=_DESHAPED_WORD
            )
            out.extend(words or [(start, end, word)])
            found = found or bool(words)
        return out if found else toks

    def _respelt(
        self, toks: list[tuple[int, int, str]], cpu_until: float | None
    ) -> list[tuple[int, int, str]]:
        """``toks`` with each stretch of glued words or fragments read as the delivered words it
        spells; ``toks`` itself when it has none."""
        stretches = _stretches(toks)
        if not stretches:
            return toks
        vocab = self._vocabulary(cpu_until)
        out: list[tuple[int, int, str]] = []
        done = 0
        for i, j in stretches:
            if cpu_until is not None and time.thread_time() >= cpu_until:
                self.cut = True
                break
            out.extend(toks[done:i])
            out.extend(_spelled_words(toks, i, j, vocab))
            done = j + 1
        out.extend(toks[done:])
        return out

    def knows(self, word: str) -> bool:
        """Whether ``word`` (any case) is a word of the delivered text or a common English one:
        what the screen decides by whether a line break joins two words or cuts one."""
        low = word.lower()
        if low in COMMON_WORDS:
            return True
        vocab = self._vocab if self._vocab is not None else self._vocabulary(None)
        return low in vocab or word in vocab

    def _vocabulary(self, cpu_until: float | None) -> frozenset[str]:
        """The words of the delivered text (read once per run; the deadline stops it as it stops
        :meth:`find`)."""
        if self._vocab is None:
            words: set[str] = set()
            for toks in self.delivered_tokens():
                if cpu_until is not None and time.thread_time() >= cpu_until:
                    self.cut = True
                    break
                words.update(word for word in toks if len(word) <= _WORD_MAX)
            self._vocab = frozenset(words)
        return self._vocab

    def _note_leet(
        self,
        toks: list[tuple[int, int, str]],
        plain: list[tuple[int, int, str]],
        leet_spans: list[Span],
        direct: list[Span],
    ) -> None:
        """Record the leetspeak words inside ``leet_spans`` and outside ``direct`` for
        :meth:`respaced`."""
        leet_starts = [span.start for span in leet_spans]
        direct_starts = [span.start for span in direct]
        for (start, end, word), (_, _, read) in zip(toks, plain, strict=True):
            if read == word or not read.isalpha():
                continue
            at = bisect.bisect_right(leet_starts, start) - 1
            if at < 0 or end > leet_spans[at].end:
                continue
            k = bisect.bisect_right(direct_starts, start) - 1
            if k >= 0 and end <= direct[k].end:
                continue  # found as it is: delivered so
            self._leet_read[word] = read

    def respaced(self, text: str) -> str:
        """``text`` (outside text :meth:`find` found) as the scanner should read it: glued words
        and fragments that spell delivered words spaced out ("ignore all previous"), which the
        scanner reads where it cannot read "IgnoreAllPrevious"; leetspeak words of outside text
        as the letters they stand for ("pr3v10us": the scanner takes a word with digits for an
        id, and reads no window of words with it)."""
        if self._leet_read:
            parts: list[str] = []
            done = 0
            for start, end, word in tokens(text):
                read = self._leet_read.get(word)
                if read is not None and start >= done:
                    parts += [text[done:start], read]
                    done = end
            text = "".join([*parts, text[done:]])
        toks = _spelled(tokens(text))
        # Glued runs disguised letter by letter are spaced out as the words they spell too.
        shaped = [(a, b, _deshaped(w)) for a, b, w in toks]
        toks = [
            (a, b, w if bare is None else bare)
            for (a, b, w), (_, _, bare) in zip(toks, shaped, strict=True)
        ]
        kept: list[str] = []
        done = 0
        for i, j in _stretches(toks):
            least = _DESHAPED_WORD if any(shaped[k][2] is not None for k in range(i, j + 1)) else 1
            # The words find() gathered (in its thread, charged, within its deadline); read here
            # only if it had none to gather. Never with find()'s deadline: that is a CPU time of
            # find()'s thread, and this runs on another, whose CPU time has nothing to do with it
            # (compared, it cut the search of a run that had spent 3 ms).
            vocab = self._vocab if self._vocab is not None else self._vocabulary(None)
            words = _spelled_words(toks, i, j, vocab, min_word=least)
            if not words:
                continue
            kept.append(text[done : toks[i][0]])
            kept.append(" " + " ".join(word for _, _, word in words) + " ")
            done = toks[j][1]
        kept.append(text[done:])
        return "".join(kept)

    @staticmethod
    def _from_sketch(sketch: Sketch, wanted: set[_S], owner: dict[_S, str]) -> None:
        missing = [shingle for shingle in wanted if shingle not in owner]
        for shingle, held in zip(missing, sketch.holds(missing), strict=True):
            if held:
                owner[shingle] = SKETCH_SOURCE

    def delivered_tokens(self) -> Iterator[list[str]]:
        """The tokens of each delivered text, as :meth:`find` reads them (tokenised as taken),
        a piece at a time (each list after a text's first repeats the two tokens before it).

        With :data:`GLUE`, what a :class:`~codemode.sandbox.sketch.Sketch` records of a run;
        a run whose delivered text overflowed its budget has :attr:`overflow` set.
        """
        for _, raw, is_dump in self._sources:
            yield from _folded_pieces(_as_text(raw, is_dump))

    def _runs(
        self,
        toks: list[tuple[int, int, str]],
        owner: dict[Gram, str],
        pair_owner: dict[Pair, str],
        unknown: str | None,
        keep: Sequence[int] | None = None,
    ) -> list[Span]:
        """The runs of ``toks`` outside text labels. ``keep``: read only the tokens at these
        places (words between them skipped, and left out of the runs)."""
        if keep is not None:
            kept = self._labels([toks[k][2] for k in keep], owner, pair_owner, None)
            # Each labelled token of the reading alone, so the words skipped stay out of it.
            return [
                Span(toks[k][0], toks[k][1], label)
                for k, label in zip(keep, kept, strict=True)
                if label is not None
            ]
        labels = self._labels([t[2] for t in toks], owner, pair_owner, unknown)
        spans: list[Span] = []
        i = 0
        while i < len(toks):
            if labels[i] is None:
                i += 1
                continue
            j = i
            while j + 1 < len(toks) and labels[j + 1] is not None:
                j += 1
            votes = Counter(label for label in labels[i : j + 1] if label is not None)
            spans.append(Span(toks[i][0], toks[j][1], votes.most_common(1)[0][0]))
            i = j + 1
        return spans

    def _labels(
        self,
        words: list[str],
        owner: dict[Gram, str],
        pair_owner: dict[Pair, str],
        unknown: str | None,
    ) -> list[str | None]:
        """For each word, the source of the outside text it belongs to, or None."""
        labels: list[str | None] = [None] * len(words)
        # A pair marks its two words (two-word outside text has no trigram); trigrams then
        # label what they cover, and stand for the data when the index overflowed.
        for i, pair in enumerate(_pairs(words)):
            pair_source = pair_owner.get(pair)
            if pair_source is not None:
                labels[i] = labels[i] or pair_source
                labels[i + 1] = labels[i + 1] or pair_source
        for i, gram in enumerate(_grams(words)):
            if gram in self._script_grams:
                continue
            source = owner.get(gram)
            if source is not None:
                for j in range(i, i + _N):
                    labels[j] = labels[j] or source
        if unknown is not None:
            for j, word in enumerate(words):
                if labels[j] is None and self._unexplained(word):
                    labels[j] = unknown
        return labels

    def _skips(self, toks: list[tuple[int, int, str]]) -> list[list[int]]:
        """Readings of ``toks`` that skip words: the places each keeps (see :meth:`find`)."""
        if len(toks) < 4:
            return []
        own = [
            k for k, t in enumerate(toks) if not t[2].isdigit() and t[2] not in self._script_words
        ]
        keeps = [own] if 2 <= len(own) < len(toks) else []
        keeps += [list(range(0, len(toks), 2)), list(range(1, len(toks), 2))]
        return keeps

    def _turn(self, word: str) -> str:
        """``word`` reversed, or "" for a word of the script's or a number (see :meth:`find`)."""
        return word[::-1] if self._unexplained(word) else ""

    def _unexplained(self, word: str) -> bool:
        return not word.isdigit() and word not in self._script_words

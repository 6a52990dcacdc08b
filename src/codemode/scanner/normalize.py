"""Tier-1 normalisation: undo the tricks that hide an instruction from a pattern or a classifier.

``views(text)`` returns the texts the patterns run on: the canonical form of the input (NFKC,
invisible and bidi characters removed, homoglyphs and leetspeak folded inside words that mix
scripts or digits, letter-spacing closed up, HTML and markdown flattened), plus every hidden or
encoded payload found in it (HTML comments and hidden elements, Unicode tag characters, bytes in
variation selectors, base64, base32, hex and ``0x`` bytes, binary octets, quoted-printable,
decimal character codes, ``\\u`` escapes, percent-encoding, rot13 or text written backwards when
its words are mostly unknown and the turn makes them common English), and the text with the
look-alikes of Cherokee, Armenian, small capitals, Lisu and Canadian syllabics folded in every
word, or with the combining marks stacked on most letters dropped. ``canonical(text)`` is the first view
alone, which is also what the classifier's features are computed from, so training and scanning
see the same string.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass
from itertools import islice
from urllib.parse import unquote

__all__ = [
    "INVISIBLE",
    "View",
    "canonical",
    "fold_lookalikes",
    "numbers_spell_text",
    "plain_words",
    "short_token",
    "spaced_without_spaces",
    "stream_safe",
    "views",
]


@dataclass(frozen=True, slots=True)
class View:
    """One text the patterns run on, and how it was obtained (``text``, ``base64``, ...)."""

    kind: str
    text: str


# Zero-width, joiners, soft hyphen, word joiners, BOM and the bidi controls: none of them is visible,
# all of them split a word so that "ig\u200bnore" no longer matches "ignore".
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,
        0x034F,
        0x061C,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180E,
        0x3164,
        0xFEFF,
        0xFFA0,
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2070),
        *range(0xFE00, 0xFE10),
    ],
    None,
)

# Latin look-alikes from Cyrillic, Greek and other scripts, folded only inside words that also
# contain a Latin letter, so genuine Russian or Greek text is left alone.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁɡӏԛԝАВЕКМНОРСТХІЈЅԌαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧΖｏ",
    "aeopcyxijsdglqwABEKMHOPCTXIJSGabeikvoptuxABEHIKMNOPTYXZo",
)
_CONFUSABLE_SET = "[аеорсухіјѕԁɡӏԛԝАВЕКМНОРСТХІЈЅԌαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧΖｏ]"
_CONFUSABLE_CHAR = re.compile(_CONFUSABLE_SET)
_WORD_RUN = re.compile(r"\w+")
_LEET = str.maketrans("01345789@$!|", "oieastbgasii")
# Leetspeak is only worth a second pass when a folded word is one an attack needs.
_LEET_TARGETS = frozenset(
    [
        "ignore",
        "ignores",
        "disregard",
        "forget",
        "previous",
        "prior",
        "instructions",
        "instruction",
        "system",
        "prompt",
        "reveal",
        "password",
        "passwords",
        "assistant",
        "override",
        "bypass",
        "jailbreak",
        "secret",
        "secrets",
        "token",
        "send",
        "admin",
        "rules",
        "print",
        "output",
        "delete",
        "export",
        "leak",
        "exfiltrate",
        "credentials",
        "key",
        "keys",
        "developer",
        "mode",
        "above",
        "earlier",
        "user",
        "users",
        "agent",
        "execute",
        "command",
        "commands",
        "unrestricted",
        "hacked",
        "pwned",
        "api",
        "apikey",
        "env",
        "config",
        "configuration",
        "passcode",
        "pin",
        "login",
        "transfer",
        "wire",
        "forward",
        "everything",
        "all",
        "now",
        "tell",
        "show",
        "say",
        "reply",
        "your",
        "new",
        "task",
        "tasks",
        "account",
        "suspended",
        "urgent",
        "verify",
        "immediately",
        "unlock",
        "access",
        "grant",
        "discount",
        "free",
    ]
)

# Blank characters that render as a gap but are not whitespace to ``str.split`` or ``\s``: the
# Braille pattern blank and the Hangul fillers. They separate words, so they become spaces.
_BLANKS = {0x2800: " ", 0x3164: " ", 0x115F: " ", 0x1160: " ", 0xFFA0: " "}
for _code in _BLANKS:
    _INVISIBLE.pop(_code, None)
_INVISIBLE.update(_BLANKS)
# The characters ``canonical`` drops as invisible (blanks excepted).
INVISIBLE = frozenset(chr(code) for code, to in _INVISIBLE.items() if to is None)
# The same invisible characters read as word gaps instead (see ``views``); a regular expression,
# as ``str.translate`` of a long non-ASCII text is slow and most texts hold none of them.
# With them: control characters that are not whitespace (NUL, ESC, DEL, C1), the other format
# characters (Arabic number signs, interlinear annotation, musical formatting) and tag characters.
_GAPS = (
    "\x00-\x08\x0e-\x1b\x7f-\x9f\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# The ASCII characters among them (an ASCII text has no other).
_ASCII_GAP = re.compile("[\x00-\x08\x0e-\x1b\x7f]")
_INVISIBLE_RUN = re.compile(
    "[" + "".join(re.escape(char) for char in sorted(INVISIBLE)) + _GAPS + "]+"
)

_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]+")
_WORD = re.compile(r"\w+", re.UNICODE)
_LATIN = re.compile(r"[A-Za-z]")
_NON_ASCII_LETTER = re.compile(r"[^\x00-\x7f]")
# What a _LEET_WORD holds (a letter beside a leet character), searched first: _LEET_WORD starts
# with a lookbehind, tried at every position of a text that mostly holds none. The gate starts at
# the leet character (a class the regex engine skips to in C), then looks for the letter beside it.
_LEET_GATE = re.compile(r"[01345789@$!|](?:(?<=[A-Za-z][01345789@$!|])|(?=[A-Za-z]))")
_LEET_WORD = re.compile(
    r"(?<![\w@$!|])(?:[A-Za-z]+[01345789@$!|]|[01345789@$!|]+[A-Za-z])[A-Za-z01345789@$!|]*"
)
# The characters of the run a _LEET_WORD lies in: it starts where such a run starts (its
# lookbehind) and holds only such characters, so a run holds at most one, and only a run that
# holds a _LEET_GATE match (a letter beside a leet character) holds one.
_LEET_RUN_CHAR = re.compile(r"[\w@$!|]")
_LEET_RUN = re.compile(r"[\w@$!|]*")


def _leet_words(text: str) -> list[str]:
    """``_LEET_WORD.findall(text)``, tried only at the start of each run with a gate's match:
    ``_LEET_WORD`` begins with a lookbehind, tried at every position of the text."""
    words: list[str] = []
    done = 0  # where the last run read ends
    for hit in _LEET_GATE.finditer(text):
        at = hit.start()
        if at < done:
            continue
        start = at
        while start > done and _LEET_RUN_CHAR.match(text, start - 1):
            start -= 1
        found = _LEET_WORD.match(text, start)
        if found is not None:
            words.append(found.group(0))
        run = _LEET_RUN.match(text, at)
        assert run is not None  # a starred class matches everywhere, if only the empty string
        done = run.end()
    return words


# "i g n o r e" / "i.g.n.o.r.e" / "i-g-n-o-r-e" / "i/g/n/o/r/e": five or more single letters, each
# joined to the next by one to three separators; a wider gap (two or more separators, or one with
# spaces around it: "I G N O R E  A L L", "i-g-n-o-r-e / a-l-l") stays a gap between words.
_SPACED = re.compile(r"\b(?:[A-Za-z](?:[ .\-_*/]|  {1,2}| [/|.\-] )){4,}[A-Za-z]\b")
# What any _SPACED match holds around its second and third letters (the end of a separator, a
# letter, a separator, a letter, the start of a separator): a search that starts at a character
# class, which the regex engine skips to in C, where _SPACED (a word boundary first) is tried at
# every position. Most texts have no such run, and _SPACED is then not searched at all.
_SPACED_GATE = re.compile(r"[ .\-_*/][A-Za-z][ .\-_*/][ .\-_*/|]{0,2}[A-Za-z][ .\-_*/]")
_SPACED_SEP = re.compile(r"[ .\-_*/]")
_SPACED_GAP = re.compile(r"  +| [/|.\-] ")

_HIDDEN_ELEMENT = re.compile(
    r"<(\w+)[^<>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\b"
    r"|opacity\s*:\s*0(?:\.0+)?\b|\bhidden\b|aria-hidden=[\"']true)[^>]{0,300}>(.{0,3000}?)</\1\s*>",
    re.DOTALL | re.IGNORECASE,
)
# A script or style element, dropped whole: its opening tag (attributes bounded, as in _TAG) and
# the first closing tag of the same name after it, found by position (see _drop_script_style).
_SCRIPT_STYLE_OPEN = re.compile(r"<(script|style)\b[^>]{0,1000}>", re.IGNORECASE)
_SCRIPT_STYLE_CLOSE = re.compile(r"</(script|style)\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,300}>")
_ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_MD_MARKUP = re.compile(r"(\*{1,3}|_{2,3}|~~|`{1,3}|^#{1,6}\s+|^>\s+)", re.MULTILINE)
# What any _MD_MARKUP match holds (a lone "_" or "~", as in "Los_Angeles", matches nothing).
_MD_MARKS = ("*", "__", "~~", "`", "#", ">")
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{20,}={0,2}(?![A-Za-z0-9+/=])")
_BASE64_URLSAFE = re.compile(r"(?<![A-Za-z0-9_\-=])[A-Za-z0-9_\-]{24,}={0,2}(?![A-Za-z0-9_\-=])")
_HEX = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{24,}|(?:[0-9A-Fa-f]{2}[ :]){11,}[0-9A-Fa-f]{2})(?![0-9A-Fa-f])"
)
# What any match of _HEX's second form holds (a pair between separators, twice): a search the
# regex engine skips through in C.
_HEX_SPACED_GATE = re.compile(r"[ :][0-9A-Fa-f]{2}[ :][0-9A-Fa-f]{2}[ :]")
# What any _HEX match holds (24 hex digits, or the first twelve pairs of its second form), as a
# search that starts at a character class: _HEX starts with a lookbehind, tried at every position.
_HEX_GATE = re.compile(
    r"[0-9A-Fa-f](?:[0-9A-Fa-f]{23}|[0-9A-Fa-f][ :](?:[0-9A-Fa-f]{2}[ :]){10}[0-9A-Fa-f]{2})"
)
_HEX_ESCAPES = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){6,}")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}[^%]*){3}")
# Base32 (RFC 4648 alphabet, upper case, as encoders write it); tried only where a run of its
# alphabet holds one of the digits 2-7, so plain upper-case words are not decoded.
_BASE32 = re.compile(r"(?<![A-Z2-7=])[A-Z2-7]{24,}={0,6}(?![A-Z2-7=])")
_BASE32_HINT = re.compile(r"[A-Z]{3}[2-7]|[2-7][A-Z]{3}")
_BASE32_GATE = re.compile(r"[A-Z2-7][A-Z2-7]{23}")  # what any _BASE32 match holds (as _HEX_GATE)
# Quoted-printable: "=53=59=53..." (six or more escaped bytes in a row).
_QUOTED_PRINTABLE = re.compile(r"(?:=[0-9A-Fa-f]{2}){6,}")
# Printable ASCII written as decimal codes: "83 89 83 84 69 77 32 ..." (twelve or more).
_CODE = r"(?:3[2-9]|[4-9]\d|1[01]\d|12[0-6])"
_CHAR_CODES = re.compile(rf"(?<![\d.])(?:{_CODE}[ ,;]{{1,2}}){{11,}}{_CODE}(?![\d.])")
# What any run of three codes holds (a digit, a separator, a code, a separator, a digit): the
# run's regex starts with a lookbehind, tried at every position; this one is skipped to in C.
_CHAR_CODES_GATE = re.compile(r"\d[ ,;]{1,2}\d{2,3}[ ,;]{1,2}\d")
_DIGITS = re.compile(r"\d+")
# Bytes written "0x44 0x69 ..." or "0x44,0x69", eight or more.
_PREFIXED_HEX = re.compile(r"(?:0[xX][0-9A-Fa-f]{2}[\s,;]{0,2}){8,}")
_PREFIXED_BYTE = re.compile(r"0[xX]([0-9A-Fa-f]{2})")
# Bytes written in binary, "01000100 01101001 ...", eight or more.
_BINARY = re.compile(r"(?<![01])(?:[01]{8}\s){7,}[01]{8}(?![01])")
# Characters written as escapes in the stored text itself ("\u0044\u0069..."), six or more.
# A match starts at the first backslash of a run, whose backslashes are taken whole: a run of
# n backslashes and no escape costs O(n), not O(n^2) (every start inside it tried again).
_UNICODE_ESCAPES = re.compile(r"(?<!\\)(?:\\++[uU]\+?[0-9A-Fa-f]{4,8}){6,}")
_UNICODE_ESCAPE = re.compile(r"\\+[uU]\+?([0-9A-Fa-f]{4,8})")


def _code_point(digits: str) -> str:
    value = int(digits[:8], 16)
    return chr(value) if value <= 0x10FFFF else " "


_ROT13_HINT = re.compile(r"rot[\s\-_]?13|caesar|cipher|decode this", re.IGNORECASE)

# Words joined by something other than a space: "ignore.all.previous.instructions",
# "ignore_all_previous", "ignore|all|previous", "ignore+all+previous". Three or more words.
_JOINED = re.compile(
    r"(?<![^\W\d_])[^\W\d_]{2,}+(?:(?:[._|/+~*•·,;:=\\`-]++|[^\S ]++)[^\W\d_]{2,}+){2,}"
)
# The same on an ASCII text, where [^\W\d_] is a letter and [^\S ] a whitespace character other
# than the space (\t \n \v \f \r and the separators \x1c-\x1f): an ASCII class is a bitmap test,
# a Unicode category a table lookup per character (about half the time on an answer's texts).
_JOINED_ASCII = re.compile(
    r"(?<![A-Za-z])[A-Za-z]{2,}+(?:(?:[._|/+~*,;:=\\`-]++|[\t\n\x0b\x0c\r\x1c-\x1f]++)[A-Za-z]{2,}+){2,}"
)
_JOINERS = re.compile(r"(?:[._|/+~*•·,;:=\\`-]+|[^\S ]+)")
_ENCODED_LAYER = re.compile(r"[A-Za-z0-9+/_\-]{20,}={0,2}|[0-9A-Fa-f]{24,}")
_MAX_NESTING = 3  # an encoded payload inside an encoded payload, up to three levels


_CONFUSABLE_RUN = re.compile(_CONFUSABLE_SET + "+")

# Latin look-alikes from scripts a text in Latin letters has no reason to use (Cherokee, Armenian,
# Latin small capitals and IPA letters, Lisu, Canadian syllabics): a word written wholly in them
# reads as English to a model, so unlike the Cyrillic and Greek ones above they are folded in
# every word, in a view of their own (``lookalikes``); genuine Armenian or Cherokee text folds to
# letter salad that no pattern matches.
# fmt: off
_FAR_LOOKALIKES: dict[int, str] = {
    # Cherokee
    0x13AA: "A", 0x13F4: "B", 0x13DF: "C", 0x13A0: "D", 0x13AC: "E", 0x13C0: "G", 0x13BB: "H",
    0x13A5: "i", 0x13C6: "J", 0x13E6: "K", 0x13DE: "L", 0x13B7: "M", 0x13E2: "P", 0x13A1: "R",
    0x13DA: "S", 0x13A2: "T", 0x13D9: "V", 0x13D4: "W", 0x13B3: "W", 0x13C3: "Z", 0x13D2: "R",
    0x13CF: "b", 0x13C2: "h",
    # Armenian
    0x0585: "o", 0x057D: "u", 0x0578: "n", 0x0570: "h", 0x0581: "g", 0x0566: "q", 0x0561: "w",
    0x057C: "n", 0x0582: "L", 0x054D: "U", 0x0555: "O", 0x054F: "S", 0x053C: "L", 0x0533: "q",
    # Latin small capitals and IPA
    0x1D00: "a", 0x0299: "b", 0x1D04: "c", 0x1D05: "d", 0x1D07: "e", 0xA730: "f", 0x0262: "g",
    0x029C: "h", 0x026A: "i", 0x1D0A: "j", 0x1D0B: "k", 0x029F: "l", 0x1D0D: "m", 0x0274: "n",
    0x1D0F: "o", 0x1D18: "p", 0x0280: "r", 0xA731: "s", 0x1D1B: "t", 0x1D1C: "u", 0x1D20: "v",
    0x1D21: "w", 0x028F: "y", 0x1D22: "z",
    # Canadian syllabics
    0x15C5: "A", 0x15F7: "B", 0x1455: "C", 0x15DE: "D", 0x15F4: "E", 0x15B4: "F", 0x157C: "H",
    0x148D: "J", 0x14AA: "L", 0x15F0: "M", 0x144E: "N", 0x146D: "P", 0x1587: "R", 0x1515: "S",
    0x144C: "U", 0x142F: "V", 0x15EF: "W",
    # Lisu
    0xA4EE: "A", 0xA4D0: "B", 0xA4DA: "C", 0xA4D3: "D", 0xA4F0: "E", 0xA4DD: "F", 0xA4D6: "G",
    0xA4E7: "H", 0xA4F2: "I", 0xA4D9: "J", 0xA4D7: "K", 0xA4E1: "L", 0xA4DF: "M", 0xA4E0: "N",
    0xA4F3: "O", 0xA4D1: "P", 0xA4E3: "R", 0xA4E2: "S", 0xA4D4: "T", 0xA4F4: "U", 0xA4E6: "V",
    0xA4EA: "W", 0xA4EB: "X", 0xA4EC: "Y", 0xA4DC: "Z",
}
# fmt: on
_FAR_LOOKALIKE_SET = re.compile(
    "[" + "".join(re.escape(chr(code)) for code in _FAR_LOOKALIKES) + "]"
)


def fold_lookalikes(text: str) -> str:
    """``text`` with the Latin look-alikes of other scripts replaced by the Latin letters (every
    word, not only mixed ones: for matching a text against a rewritten copy of itself). Only the
    runs of look-alikes are translated (``str.translate`` of a whole non-ASCII text is slow)."""
    return _CONFUSABLE_RUN.sub(lambda m: m.group().translate(_CONFUSABLES), text)


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if _LATIN.search(word) and _CONFUSABLE_CHAR.search(word):
        return word.translate(_CONFUSABLES)
    return word


def _unspace(match: re.Match[str]) -> str:
    return " ".join(_SPACED_SEP.sub("", word) for word in _SPACED_GAP.split(match.group(0)))


def _entity(match: re.Match[str]) -> str:
    body = match.group(1)
    try:
        if body.startswith("#x"):
            return chr(int(body[2:], 16))
        if body.startswith("#"):
            return chr(int(body[1:]))
    except (ValueError, OverflowError):
        return " "
    return {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}.get(body, " ")


# UAX #15's stream-safe limit: at most this many non-starters in a row. Normalisation reorders a
# run of combining marks by insertion sort (CPython's unicodedata), so one field of 80k marks of
# two classes in descending order held the scanning thread, and the GIL, for ten seconds and
# more. No writing system needs more; a longer run is cut to its first marks before any
# normalisation (it spells no letters: the scanner's readings drop such marks anyway).
MAX_NON_STARTERS = 30


@functools.cache
def _non_starters() -> frozenset[str]:
    """Characters that normalise to non-starters: combining marks (canonical combining class
    above 0) and the few starters whose decompositions are non-starters only (U+0F73, U+0F75,
    U+0F81, U+FF9E, U+FF9F), from this Python's Unicode tables (all are below U+20000). Built on
    first use, in a few hundredths of a second."""
    return frozenset(
        ch
        for ch in map(chr, range(0x300, 0x20000))
        if unicodedata.combining(ch)
        or (
            unicodedata.decomposition(ch)
            and unicodedata.combining(unicodedata.normalize("NFKD", ch)[0])
        )
    )


def stream_safe(text: str) -> str:
    """``text`` with every run of non-starters cut to its first :data:`MAX_NON_STARTERS`, so that
    NFKC and NFD of it cost time linear in its length (call before ``unicodedata.normalize``).

    A run longer than the limit covers a position that is a multiple of the limit plus one, so
    only those positions are looked up first (in C); a text with no mark at any of them, almost
    every text, is returned as it is after one pass over a thirty-first of its characters.
    """
    if len(text) <= MAX_NON_STARTERS or text.isascii():
        return text
    marks = _non_starters()
    step = MAX_NON_STARTERS + 1
    if marks.isdisjoint(text[::step]):
        return text
    cuts: list[tuple[int, int]] = []
    seen = 0  # every position before this one belongs to a run already measured
    for at in range(0, len(text), step):
        if at < seen or text[at] not in marks:
            continue
        start = at
        while start > seen and text[start - 1] in marks:
            start -= 1
        seen = at + 1
        while seen < len(text) and text[seen] in marks:
            seen += 1
        if seen - start > MAX_NON_STARTERS:
            cuts.append((start + MAX_NON_STARTERS, seen))
    if not cuts:
        return text
    kept: list[str] = []
    done = 0
    for cut, resume in cuts:
        kept.append(text[done:cut])
        done = resume
    kept.append(text[done:])
    return "".join(kept)


def _clean(text: str) -> str:
    """NFKC, drop invisibles, fold mixed-script homoglyphs and close up letter-spacing."""
    # ASCII is its own NFKC form and holds no tag, invisible or look-alike character (all of
    # them are above U+007F): only the letter-spacing can change it.
    if not text.isascii():
        text = stream_safe(text)
        text = _TAG_CHARS.sub("", unicodedata.normalize("NFKC", text)).translate(_INVISIBLE)
        if _CONFUSABLE_CHAR.search(text):
            text = _WORD_RUN.sub(_fold_word, text)
    if _SPACED_GATE.search(text) and _SPACED.search(text):
        text = _SPACED.sub(_unspace, text)
    return text


def _drop_script_style(text: str) -> str:
    r"""``text`` with each ``<script ...>...</script>`` (or style) element replaced by a space.

    The pattern ``<(script|style)\b[^>]*>.*?</\1\s*>`` did this, but with no closing tag its
    lazy body rescanned the rest of the text from every opening tag: 100k characters of
    ``<script>`` held the scanning thread, and with it the GIL, for seconds. Here each closing tag
    is found once and an element ends at the first one of its name after its opening tag.
    """
    closes: dict[str, list[int]] = {"script": [], "style": []}
    ends: dict[int, int] = {}
    for found in _SCRIPT_STYLE_CLOSE.finditer(text):
        closes[found.group(1).lower()].append(found.start())
        ends[found.start()] = found.end()
    if not closes["script"] and not closes["style"]:
        return text
    kept: list[str] = []
    done = 0
    start = 0
    while (opening := _SCRIPT_STYLE_OPEN.search(text, start)) is not None:
        starts = closes[opening.group(1).lower()]
        at = bisect.bisect_left(starts, opening.end())
        if at == len(starts):
            start = opening.start() + 1
            continue
        kept.append(text[done : opening.start()])
        kept.append(" ")
        done = start = ends[starts[at]]
    kept.append(text[done:])
    return "".join(kept)


def _flatten_markup(text: str) -> str:
    """Drop HTML tags, scripts, styles and markdown emphasis so the words run together again."""
    if "<" in text:
        text = _drop_script_style(text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    if any(mark in text for mark in _MD_MARKS):
        text = _MD_MARKUP.sub("", text)
    text = _collapse_spaces(text)
    return _BLANK_LINES.sub("\n", text).strip()


def _collapse_spaces(text: str) -> str:
    """``_SPACES.sub(" ", text)``: each run of blanks one space. A text whose runs are all one
    space (most of them) is returned as it is: the regex would replace every space by itself."""
    if "  " in text or "\t" in text or "\f" in text or "\v" in text:
        return _SPACES.sub(" ", text)
    return text


def canonical(text: str) -> str:
    """Return the canonical form the patterns and the classifier read (see the module docstring)."""
    return _flatten_markup(_clean(text))


def _printable_ratio(text: str) -> float:
    good = sum(1 for ch in text if ch.isprintable() or ch in "\n\t")
    return good / len(text)


def _decode_bytes(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # A decoded payload is only worth reading when it is mostly text with some words in it, or
    # when it is itself encoded (the next layer of a nested payload).
    if len(decoded) < 8 or _printable_ratio(decoded) < 0.9:
        return None
    if " " not in decoded.strip() and not _ENCODED_LAYER.fullmatch(decoded.strip()):
        return None
    return decoded


def _long_tokens(text: str) -> str:
    """The whitespace-free tokens of ``text`` long enough to hold an encoded form (see below),
    one a line: no form's match holds a line break or looks past one (their lookarounds read a
    character of their own alphabet, never whitespace), so each pattern finds in it, in one
    pass, what it finds in each token alone."""
    return "\n".join(token for token in text.split() if len(token) >= 18)


def _decoded_payloads(text: str) -> list[View]:
    found: list[View] = []
    # The forms whose alphabets hold no whitespace (base64, hex digits, base32, escapes) lie
    # inside one whitespace-free token, which their lookarounds read the same alone: they are
    # looked for in the tokens long enough to hold one (18 characters: six escaped bytes, the
    # shortest match of any of them), in order, not across the whole text (most of an answer's
    # text is short words).
    tokens = _long_tokens(text)
    for match in _BASE64.finditer(tokens):
        chunk = match.group(0)
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _decode_bytes(raw)
        if decoded:
            found.append(View("base64", decoded))
    for match in _BASE64_URLSAFE.finditer(tokens):
        chunk = match.group(0)
        if "-" not in chunk and "_" not in chunk:
            continue  # already tried as standard base64
        try:
            raw = base64.urlsafe_b64decode(chunk + "=" * (-len(chunk) % 4))
        except (binascii.Error, ValueError):
            continue
        decoded = _decode_bytes(raw)
        if decoded:
            found.append(View("base64", decoded))
    # _HEX's second form (pairs between separators) spans tokens; where it cannot occur, the
    # first (24 hex digits or more) is all _HEX finds, token by token.
    hexes = text if _HEX_SPACED_GATE.search(text) else tokens
    for match in _HEX.finditer(hexes) if _HEX_GATE.search(hexes) else ():
        digits = re.sub(r"[ :]", "", match.group(0))
        if len(digits) % 2:
            digits = digits[:-1]
        decoded = _decode_bytes(bytes.fromhex(digits))
        if decoded:
            found.append(View("hex", decoded))
    for match in _HEX_ESCAPES.finditer(tokens) if "\\x" in text else ():
        decoded = _decode_bytes(bytes.fromhex(match.group(0).replace("\\x", "")))
        if decoded:
            found.append(View("hex", decoded))
    # The forms below need at least this many characters (six escaped bytes, twelve codes...):
    # most strings of an answer (names, cities, statuses) are shorter and skip them all.
    long_enough = len(text) >= 18
    # The hint is looked for in the whole text, and only once a token holds a run to decode.
    base32 = list(_BASE32.finditer(tokens)) if long_enough and _BASE32_GATE.search(tokens) else []
    for match in base32 if base32 and _BASE32_HINT.search(text) else ():
        chunk = match.group(0).rstrip("=")
        try:
            raw = base64.b32decode(chunk + "=" * (-len(chunk) % 8))
        except (binascii.Error, ValueError):
            continue
        decoded = _decode_bytes(raw)
        if decoded:
            found.append(View("base32", decoded))
    for match in _QUOTED_PRINTABLE.finditer(tokens) if "=" in text else ():
        decoded = _decode_bytes(bytes.fromhex(match.group(0).replace("=", "")))
        if decoded:
            found.append(View("quoted-printable", decoded))
    for match in _PREFIXED_HEX.finditer(text) if long_enough and "0x" in text.lower() else ():
        decoded = _decode_bytes(bytes(int(b, 16) for b in _PREFIXED_BYTE.findall(match.group(0))))
        if decoded:
            found.append(View("hex", decoded))
    for match in (
        _BINARY.finditer(text) if len(text) >= 71 and ("0 0" in text or "1 0" in text) else ()
    ):
        decoded = _decode_bytes(bytes(int(b, 2) for b in match.group(0).split()))
        if decoded:
            found.append(View("binary", decoded))
    for match in _UNICODE_ESCAPES.finditer(tokens) if "\\" in text else ():
        decoded = _UNICODE_ESCAPE.sub(lambda m: _code_point(m.group(1)), match.group(0))
        if " " in decoded:
            found.append(View("unicode-escapes", decoded))
    for match in (
        _CHAR_CODES.finditer(text) if len(text) >= 35 and _CHAR_CODES_GATE.search(text) else ()
    ):
        codes = [int(code) for code in _DIGITS.findall(match.group(0))]
        decoded = "".join(chr(code) for code in codes)
        letters = sum(ch.isalpha() or ch == " " for ch in decoded)
        if decoded.count(" ") >= 2 and letters * 5 >= len(decoded) * 4:
            found.append(View("char-codes", decoded))
    # Token by token: a regex over the whole text backtracks quadratically on "20% off" copy.
    for token in text.split() if "%" in text else ():
        if token.count("%") >= 3 and _PERCENT.search(token):
            unquoted = unquote(token.replace("+", " "))
            if " " in unquoted:
                found.append(View("url-encoded", unquoted))
    return found


def _decoded_views(text: str) -> list[View]:
    """Every encoded payload in ``text``, decoded (nested ones too), one view per encoding.

    There is no cap on how many payloads are decoded, so a real one cannot hide behind decoys;
    the work stays linear because decoding shrinks the text (base64 by a quarter, hex by half)
    and the payloads of one kind are read as one joined text.
    """
    merged: dict[str, list[str]] = {}
    layer = [text]
    for _ in range(_MAX_NESTING):
        found = [view for piece in layer for view in _decoded_payloads(piece)]
        if not found:
            break
        for view in found:
            merged.setdefault(view.kind, []).append(view.text)
        layer = [view.text for view in found]
    return [View(kind, "\n".join(texts)) for kind, texts in merged.items()]


def _html_comments(text: str) -> list[str]:
    """The bodies of ``<!-- ... -->`` comments (an unclosed one runs to the end), in one pass."""
    bodies: list[str] = []
    at = text.find("<!--")
    while at >= 0:
        end = text.find("-->", at + 4)
        bodies.append(text[at + 4 : len(text) if end < 0 else end])
        if end < 0:
            break
        at = text.find("<!--", end + 3)
    return bodies


_URL_START = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|@", re.IGNORECASE)


def spaced_without_spaces(token: str) -> bool:
    """Whether a token with no whitespace still holds words: joined by a blank character that is
    not whitespace (Braille blank, Hangul filler) or by dots, underscores, pipes and the like
    (three or more words; URLs and e-mail addresses excepted)."""
    if any(ch in token for ch in "\u2800\u3164\u115f\u1160\uffa0"):
        return True
    return not _URL_START.search(token) and _JOINED.search(token) is not None


def _unjoined(text: str) -> str | None:
    """The text with word-joining separators turned into spaces, when it has such runs."""
    out, runs = (_JOINED_ASCII if text.isascii() else _JOINED).subn(_spaced_run, text)
    return out if runs else None


def _spaced_run(match: re.Match[str]) -> str:
    return _JOINERS.sub(" ", match.group(0))


def views(text: str) -> list[View]:
    """Return the canonical view of ``text`` followed by every hidden or decoded payload in it."""
    cleaned = _clean(text)
    flat = _flatten_markup(cleaned)
    result = [View("text", flat)]
    # Tag characters, invisibles, look-alikes, combining marks and variation selectors are all
    # above U+007F: an ASCII text has none of them (its control characters are looked for).
    ascii_only = text.isascii()
    if "<" in cleaned and len(flat) < len(cleaned.strip()):
        # Flattening drops tags, and with them "<|im_start|>", "<system>" or "<tool_call>":
        # the markup rules also read the text before flattening.
        result.append(View("markup", cleaned))
    if any(w.lower().translate(_LEET) in _LEET_TARGETS for w in _leet_words(cleaned)):
        deleeted = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), cleaned)
        result.append(View("leetspeak", _flatten_markup(deleeted)))
    tags = (
        () if ascii_only else _TAG_CHARS.findall(unicodedata.normalize("NFKC", stream_safe(text)))
    )
    if tags:
        smuggled = "".join(chr(ord(ch) - 0xE0000) for run in tags for ch in run)
        result.append(View("unicode-tags", smuggled))
    if "<" in cleaned:
        for body in _html_comments(cleaned):
            if body.strip():
                result.append(View("html-comment", _flatten_markup(body)))
        for match in _HIDDEN_ELEMENT.finditer(cleaned):
            if match.group(2).strip():
                result.append(View("hidden-html", _flatten_markup(match.group(2))))
    joined = _unjoined(flat)
    if joined is not None:
        result.append(View("joined-words", joined))
    if any(mark in cleaned for mark in "*_~`"):
        # Markdown emphasis is dropped from the text view ("**Ignore** all"), and with it the
        # only gaps of words joined by it ("Ignore*all*previous", "Ignore__all__previous"),
        # which then ran together: those words are also read apart before it is dropped.
        # (flattening often leaves the text as it was: then so is what unjoining it gives)
        before = joined if cleaned == flat else _unjoined(cleaned)
        if before is not None and (apart := _flatten_markup(before)) != joined:
            result.append(View("joined-words", apart))
    if ascii_only:
        spaced = _INVISIBLE_RUN.sub(" ", text) if _ASCII_GAP.search(text) else text
    else:
        spaced = _INVISIBLE_RUN.sub(" ", text)
    if spaced != text:
        # Invisible characters used as the only gaps between words ("Ignore\u200ball\u200b
        # previous ...") read as spaces to a model, while the text view, which drops them to
        # undo "ig\u200bnore", runs the words together: the patterns read this view too.
        result.append(View("invisible-gaps", _flatten_markup(_clean(spaced))))
    if not ascii_only and _FAR_LOOKALIKE_SET.search(cleaned):
        folded = _WORD_RUN.sub(_fold_word, cleaned.translate(_FAR_LOOKALIKES))
        result.append(View("lookalikes", _flatten_markup(folded)))
    stacked = None if ascii_only else _without_stacked_marks(text)
    if stacked is not None:
        result.append(View("stacked-marks", _flatten_markup(_clean(stacked))))
    smuggled_bytes = None if ascii_only else _variation_selector_bytes(text)
    if smuggled_bytes is not None:
        result.append(View("variation-selectors", smuggled_bytes))
    unknown = _unknown_words(flat)
    if _reads_as(unknown, _REVERSED_COMMON):
        # Written backwards, whole or word by word (also behind a right-to-left override).
        result.append(View("reversed", flat[::-1]))
        result.append(View("reversed-words", _WORD.sub(lambda m: m.group(0)[::-1], flat)))
    result.extend(_decoded_views(cleaned))
    lowered = cleaned.lower()
    if (
        ("rot" in lowered or "caesar" in lowered or "cipher" in lowered or "decode" in lowered)
        and _ROT13_HINT.search(cleaned)
    ) or _reads_as(unknown, _ROT13_COMMON):
        result.append(View("rot13", codecs.decode(cleaned, "rot13")))
    return result


# The commonest English words (and a few an attack needs): a text whose Latin words are mostly
# none of these, but whose rot13 is mostly these, is English written in rot13.
_COMMON_WORDS = """
the be to of and a in that have i it for not on with he as you do at this but his by from
they we say her she or an will my one all would there their what so up out if about who get
which go me when make can like no just him know take into your some could them see other
than then now look only come its over think also back after use two how our first way even
new want because any these give most us is are was were been has had did said please send
tell show print ignore previous instructions instruction above system prompt reveal
password secret key forget disregard rules everything every email data export delete
assistant user users agent must should instead task here below following reply answer
output write list account admin access token
"""
_COMMON = frozenset(_COMMON_WORDS.split())
COMMON_WORDS = _COMMON
"""Common English words, and the words instructions are written with (lower case)."""
_ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
_ROT13 = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm"
)  # words are lowered first
_REVERSED_COMMON = frozenset(word[::-1] for word in _COMMON)
_ROT13_COMMON = frozenset(word.translate(_ROT13) for word in _COMMON)


def numbers_spell_text(text: str) -> bool:
    """Whether ``text`` holds a run of characters written as decimal codes or binary octets."""
    return _CHAR_CODES.search(text) is not None or _BINARY.search(text) is not None


def _unknown_words(text: str) -> list[str] | None:
    """The Latin words of ``text`` (lower case) when it has four or more and at most a quarter
    of them are common English: a text that may be English rewritten (rot13, backwards)."""
    if len(text) < 16:
        return None
    words = list(map(str.lower, _ASCII_WORD.findall(text[:2000])))
    if len(words) < 4 or sum(map(_COMMON.__contains__, words)) * 4 > len(words):
        return None
    return words


def _reads_as(words: list[str] | None, turned_common: frozenset[str]) -> bool:
    """Whether ``words`` (see ``_unknown_words``) are mostly common English once turned:
    ``turned_common`` is the common words turned (reversal and rot13 are their own inverses,
    so a word turns into a common one exactly when it is one of these)."""
    if words is None:
        return False
    turned = sum(map(turned_common.__contains__, words))
    return turned * 5 >= len(words) * 2 and turned >= 3


_VARIATION_SELECTOR = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def _variation_selector_bytes(text: str) -> str | None:
    """Bytes smuggled as variation selectors (VS1-VS16 for 0-15, VS17-VS256 for 16-255), one
    selector per byte after a carrier character: a model can be told to decode them."""
    if len(_VARIATION_SELECTOR.findall(text[:200_000])) < 8:
        return None
    raw = bytes(
        ord(ch) - 0xFE00 if ord(ch) <= 0xFE0F else ord(ch) - 0xE0100 + 16
        for ch in _VARIATION_SELECTOR.findall(text)
    )
    return _decode_bytes(raw)


_VOWELS = frozenset("aeiouy")


def _without_stacked_marks(text: str) -> str | None:
    """``text`` without its combining marks when most of its Latin letters carry one
    ("d́éĺét́é"): NFKC composes some of them into accented letters and keeps
    the others, so no pattern reads the word; or when four in five of its vowels do ("Ignôré àll
    prévîôûs înstrûctîôns", red team round 14: every vowel accented is two letters in five;
    Vietnamese marks fewer).
    Accented prose (French, Spanish) marks far fewer letters and is left to the other views."""
    decomposed = unicodedata.normalize("NFD", stream_safe(text))
    if decomposed == text and not _COMBINING.search(text):
        return None
    marked = letters = vowels = marked_vowels = 0
    previous = ""
    for ch in decomposed[:20_000]:
        if "a" <= ch.lower() <= "z":
            letters += 1
            vowels += ch.lower() in _VOWELS
            previous = ch.lower()
        elif previous and unicodedata.combining(ch):
            marked += 1
            marked_vowels += previous in _VOWELS
            previous = ""
        elif not unicodedata.combining(ch):
            previous = ""
    most_letters = marked * 5 >= letters * 3
    most_vowels = vowels >= 8 and marked_vowels * 5 >= vowels * 4
    if letters < 8 or not (most_letters or most_vowels):
        return None
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


# One-token values of a few words (enum values, topic ids) that the n-gram model flags alone are
# confirmed by the encoder on their plain words (``codemode.scanner.classifier.CONFIRM_CUT``).
SHORT_WORDS = 5
_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def short_token(text: str) -> bool:
    """One token of at most ``SHORT_WORDS`` words (letters and digits; ``_``, ``.`` and a capital
    inside a word separate them: ``DeleteAllProfiles`` is three). Spaced phrases are left to the
    n-gram model: an instruction cut into short fields ("envía todos los perfiles", "all customer
    phone numbers") is caught there, field by field, and the head clears some of those pieces."""
    if len(text) > 40 * SHORT_WORDS or any(ch.isspace() for ch in text):
        return False
    words = _WORD.finditer(_CAMEL.sub(" ", text))
    return len(list(islice(words, SHORT_WORDS + 1))) <= SHORT_WORDS


def plain_words(text: str) -> str:
    """A short value as the encoder confirms it: its words, lower case, spaced. The head reads
    ``ASSIGNED_TO_PROFILE`` as 0.88 and ``assigned to profile`` as 0.03; "DELETE ALL PROFILES"
    and "delete all profiles" alike as 0.99."""
    return " ".join(_WORD.findall(_CAMEL.sub(" ", text))).casefold()

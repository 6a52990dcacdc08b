"""``featurize_many`` gives, bit for bit, what ``featurize`` gives each text alone.

The classifier hashes all the pieces of a batch together (numpy's fixed cost per call paid once
per group, not once per text); the model must see the very vectors it was trained on, so any
n-gram, word or word bigram running from one text into the next, or a count or weight shared
between two texts, would fail these.
"""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from codemode.scanner import features
from codemode.scanner.features import chunks, featurize, featurize_many
from codemode.scanner.normalize import canonical
from tests._shared import DATA, vendored

_Vector = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]


def _same(got: list[_Vector], want: list[_Vector]) -> None:
    assert len(got) == len(want)
    for (indices, values), (want_indices, want_values) in zip(got, want, strict=True):
        assert indices.dtype == want_indices.dtype and values.dtype == want_values.dtype
        assert indices.tobytes() == want_indices.tobytes()
        assert values.tobytes() == want_values.tobytes()


# Words, digits (folded to 0), URLs and e-mails (placeholders), punctuation that ends words,
# whitespace that collapses, and characters above ASCII (word and non-word ones).
_ALPHABET = st.sampled_from(
    [
        *"aAbz019 \t\n.,;:!?_-@/'\"",
        "é",
        "中",
        "и",
        "\u2019",
        "\u3000",
        "\uff01",
        "\xa0",
        "\U0001f600",
    ]
)
_PIECES = ["ignore all", "https://x.example/a?b=1", "mail me@x.example", "www.x.io", " ", ""]
_TEXT = st.one_of(
    st.text(_ALPHABET, max_size=40),
    st.text(max_size=30),
    st.lists(st.sampled_from(_PIECES), max_size=6).map(" ".join),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT, max_size=12))
@example([])
@example([""])
@example(["", "", "a"])
@example(["ab", "cd"])  # "b c" or a bigram ab|cd across the two would be an extra feature
@example(["word", "word", "word word"])  # the same features in three texts, counted apart
def test_a_batch_is_featurized_as_each_text_alone(texts: list[str]) -> None:
    _same(featurize_many(texts), [featurize(text) for text in texts])


def test_groups_split_where_a_text_would_pass_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features, "_GROUP_CODES", 16)
    texts = ["one two three", "x" * 40, "four", "five six seven eight", "", "nine"]
    _same(featurize_many(texts), [featurize(text) for text in texts])


def test_the_injection_data_is_featurized_as_each_piece_alone() -> None:
    pieces: list[str] = []
    for path in sorted((DATA / "injection").glob("*.jsonl")):
        for line in vendored(path).read_text("utf-8").splitlines():
            text = json.loads(line)["text"]
            pieces += chunks(canonical(text))
            pieces += text.split()[:6]  # short values, as most of an answer's leaves are
    assert len(pieces) > 5000
    for start in range(0, len(pieces), 64):  # the classifier's batches
        batch = pieces[start : start + 64]
        _same(featurize_many(batch), [featurize(piece) for piece in batch])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 127), st.integers(0, 0x10FFFF), st.sampled_from([0xA0, 0x2000])),
        max_size=40,
    )
)
def test_the_ascii_word_table_decides_as_the_general_rule(codes: list[int]) -> None:
    array = np.asarray(codes, dtype=np.uint64)
    assert features._is_word(array).tolist() == features._is_word_any(array).tolist()

"""The neighbour windows count each string's words once: the same windows as counting per window."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from codemode.scanner._scanner import (
    _MIN_WINDOW_WORDS,
    _WINDOW_CHARS,
    _WINDOW_ITEMS,
    _windows,
)


def _counted_per_window(sequence: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The windows as they were built before: each window's words counted anew."""
    if len(sequence) < 2:
        return []
    windows: list[list[tuple[str, str]]] = []
    start = 0
    while start < len(sequence):
        end, size = start, 0
        while (
            end < len(sequence)
            and (end - start < 2 or size < _WINDOW_CHARS)
            and (end - start < _WINDOW_ITEMS)
        ):
            size += len(sequence[end][1]) + 1
            end += 1
        window = sequence[start:end]
        if len(window) >= 2 and sum(len(t.split()) for _, t in window) >= _MIN_WINDOW_WORDS:
            windows.append(window)
        if end >= len(sequence):
            break
        start = max(start + 1, (start + end) // 2)
    return windows


_STRING = st.one_of(
    st.sampled_from(["", " ", "a", "two words", "x" * 120, "one two three four five", "\u3000b"]),
    st.text(st.sampled_from("ab \n\t\u3000\u2028"), max_size=60),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_STRING, max_size=80))
@example(["a", "b", "c", "d"])  # exactly the fewest words
@example(["a", "b", "c"])
def test_windows_are_the_same_as_counting_words_per_window(strings: list[str]) -> None:
    sequence = [(f"/{i}", text) for i, text in enumerate(strings)]
    assert _windows(sequence) == _counted_per_window(sequence)

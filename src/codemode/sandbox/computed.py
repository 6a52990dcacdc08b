"""Whether a run's store may carry text its script computed, and how the screen names such text.

The output screen finds outside text in a result by the shingles it shares with what the run
was delivered (:mod:`codemode.sandbox.provenance`). Text a script rewrote before keeping it in
the session store (reversed, encoded, spread over numbers) is delivered to the next run only in
that rewritten form; when such a run prints it back in its first form nothing matches. So a run
whose store may hold computed text records what it read in the session's sketch
(:mod:`codemode.sandbox.sketch`), and later runs match against that too. This module holds the
test that decides it (cheap, no numpy: every run with a store pays it) and the sketch's label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SOURCE", "keeps_computed_text"]

SOURCE = "data an earlier run of this session read"
"""How the screen names text the session's sketch placed."""

# Bits a store may hold in numbers, booleans, nulls and container sizes before they could carry
# text (8 bytes: one short word); a counter or two stays under it.
_NUMBER_BITS = 64
# New strings looked for in the script's source, at most: past them a store counts as computed
# (sound; a script that keeps many literals of its own pays for a sketch it did not need).
_SOURCE_CHECKS = 32


def _leaves(value: Any) -> tuple[set[str], int]:
    """The strings of a JSON value (keys included), and the bits its other parts can carry.

    Walked without recursion: a store nested deeper than the interpreter's stack is still read.
    """
    strings: set[str] = set()
    bits = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.add(item)
        elif isinstance(item, dict):
            bits += max(len(item).bit_length(), 1)  # what its size can tell
            strings.update(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            bits += max(len(item).bit_length(), 1)
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            bits += 1
        elif isinstance(item, int):
            bits += max(item.bit_length(), 1)
        elif isinstance(item, float):
            bits += max(int(item).bit_length(), 1) if item.is_integer() else 64
        else:
            strings.add(str(item))
    return strings, bits


def keeps_computed_text(new: Mapping[str, Any], old: Mapping[str, Any], code: str) -> bool:
    """Whether a run's new store may carry text the script derived from what it read.

    True when it holds a string (value or key) that is neither in the store the run loaded nor
    part of the script's source (more than 32 new strings count as computed, whatever they are:
    each look reads the script), or when it changed and its numbers, booleans, nulls and
    container sizes hold more than 64 bits (text spread over numbers). Sound, not exact: a
    string of the script's own, built at run time, counts too. A run whose store kept only what
    it loaded, the script's own literals and a few small numbers (``store['n'] += 1``) answers
    False after one walk of each store, and pays nothing more.
    """
    if not new or new == old:
        return False
    strings, bits = _leaves(dict(new))
    old_strings, _ = _leaves(dict(old))
    novel = (s for s in strings if s not in old_strings)
    for checked, string in enumerate(novel):
        # Each check reads the script (64 KiB at most): past a few, the rest count as computed.
        if checked >= _SOURCE_CHECKS or string not in code:
            return True
    return bits > _NUMBER_BITS

"""A static (per-token) embedding distilled from the scanner's encoder, cheap enough for any query.

``tools/gen_search_static.py`` runs the shipped encoder (``codemode/scanner/model``) once over
every lowercase ASCII piece of its tokenizer, each piece alone, whitens the vectors (PCA to
``DIMENSIONS``, each component divided by its spread, so the common direction that every
one-piece text shares does not dominate) and stores them as int8 rows in ``static.npz``, with each
piece's weight ``a / (a + p)`` (``p`` the piece's unigram probability in the tokenizer: frequent
pieces such as "the" or "s" weigh little). A text's vector is the weighted mean of its pieces'
vectors (model2vec style): tokenising and summing a few rows costs microseconds, not an encoder
pass. An unknown word still splits into pieces the table has, so a typo or a jargon word lands
near its sense.

The search uses it in the same place as the encoder tie-breaker: when the first two operations are
closer than ``Weights.semantic_margin``, ``Weights.static`` times its z-scored cosine similarity is
added to the top ``Weights.semantic_top`` beside the encoder's (``SearchIndex._order``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from io import BytesIO
from typing import Any

import numpy as np

from codemode.catalog import Action
from codemode.search._semantic import operation_text

__all__ = ["DIMENSIONS", "STATIC_FILE", "StaticVectors", "piece_text", "static_text"]

STATIC_FILE = "static.npz"
DIMENSIONS = 256
_TOKENIZER = "tokenizer.json"

Vector = np.ndarray[Any, np.dtype[np.float32]]


def static_text(action: Action) -> str:
    """What the static embedding reads for one operation: the encoder's text plus its route words."""
    words = [
        seg.replace("-", " ")
        for seg in action.path.split("/")
        if seg and seg != "api" and not seg.startswith("{")
    ]
    return f"{operation_text(action)} {' '.join(words)}"


def piece_text(text: str) -> str:
    """The form a text is tokenised in: lowercase (the table holds lowercase pieces only)."""
    return text.lower()


def tokenizer_digest(text: str) -> str:
    """A short digest of the tokenizer file, so a table built for another tokenizer is refused."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def _table() -> tuple[Any, np.ndarray[Any, np.dtype[np.intp]], Vector, Vector] | None:
    """The tokenizer, each tokenizer id's row in the table (-1: none), the int8 rows as stored
    (about 5 MB resident) and each row's factor (its scale times its piece's weight)."""
    try:
        vocab = resources.files("codemode.scanner").joinpath("model", _TOKENIZER).read_text("utf-8")
        data = resources.files(__package__).joinpath(STATIC_FILE).read_bytes()
    except OSError:
        return None
    from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

    with np.load(BytesIO(data), allow_pickle=False) as npz:
        if str(npz["tokenizer"]) != tokenizer_digest(vocab):
            return None
        pieces = npz["pieces"].astype(np.intp)
        rows = npz["vectors"]
        factors = npz["scales"].astype(np.float32) * npz["weights"].astype(np.float32)
    tokenizer = Tokenizer.from_str(vocab)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    row_of = np.full(int(tokenizer.get_vocab_size()), -1, dtype=np.intp)
    row_of[pieces] = np.arange(len(pieces))
    return tokenizer, row_of, rows, factors


_LOCK = threading.Lock()


def _embed(
    table: tuple[Any, np.ndarray[Any, np.dtype[np.intp]], Vector, Vector], text: str
) -> Vector:
    """The weighted mean of ``text``'s pieces' vectors, L2-normalised (zero when none is known)."""
    tokenizer, row_of, rows, factors = table
    found = row_of[tokenizer.encode(piece_text(text), add_special_tokens=False).ids]
    found = found[found >= 0]
    out: Vector = factors[found] @ rows[found].astype(np.float32)
    norm = float(np.linalg.norm(out))
    return out / norm if norm else out


class StaticVectors:
    """Every operation's static vector, in the index's action order, built on first use.

    Without the shipped table (or with a table built for another tokenizer) it gives no opinion,
    and the ranking is what it would be with ``Weights.static`` at 0.
    """

    def __init__(self, actions: Sequence[Action]) -> None:
        """Keep the operations; their vectors are built on the first unsure query (or :meth:`warm`)."""
        self._texts = [static_text(a) for a in actions]
        self._matrix: Vector | None = None

    def warm(self) -> bool:
        """Load the table and embed the operations now; False when there is no table."""
        return self._operations() is not None

    def _operations(self) -> Vector | None:
        if self._matrix is None:
            table = _table()
            if table is None:
                return None
            with _LOCK:
                if self._matrix is None:
                    self._matrix = np.stack([_embed(table, t) for t in self._texts])
        return self._matrix

    def zscores(self, query: str) -> np.ndarray[Any, np.dtype[np.float64]] | None:
        """How much closer than average each operation's static vector is to ``query``'s."""
        matrix = self._operations()
        table = _table()
        if matrix is None or table is None:
            return None
        cos = (matrix @ _embed(table, query)).astype(np.float64)
        spread = float(cos.std()) or 1.0
        z: np.ndarray[Any, np.dtype[np.float64]] = (cos - float(cos.mean())) / spread
        return z

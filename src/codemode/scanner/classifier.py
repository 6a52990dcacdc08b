"""Tier 2: the hashed n-gram classifier, an ONNX graph run with onnxruntime on one CPU thread.

The model ships inside the package (``codemode/scanner/model/``): ``scanner.onnx`` takes a batch of
padded sparse vectors (``indices`` int64 and ``values`` float32, both ``[batch, width]``) and returns
``probability`` ``[batch, 1]``; ``scanner.json`` records the feature version, the decision
threshold and how the model was trained. Nothing is downloaded. Any problem loading or running it
raises ``ScannerError`` so the scanner can fall back to tier 1 and say so.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._types import ScannerError
from .features import DIM_BITS, FEATURE_VERSION, chunks, featurize, pack

__all__ = ["MODEL_FILE", "Classifier"]

MODEL_FILE = "scanner.onnx"
META_FILE = "scanner.json"
_MAX_BATCH = 64


class Classifier:
    """Load the ONNX model once and score texts in batches (thread-safe: onnxruntime sessions are)."""

    def __init__(self, model: bytes, meta: dict[str, Any]) -> None:
        """Build an inference session from the model bytes and its metadata.

        Raises:
            ScannerError: the metadata does not match this code's features, or onnxruntime
                rejects the model.
        """
        if meta.get("feature_version") != FEATURE_VERSION or meta.get("dim_bits") != DIM_BITS:
            raise ScannerError(
                f"scanner model was trained for features v{meta.get('feature_version')} / "
                f"{meta.get('dim_bits')} bits, this code computes v{FEATURE_VERSION} / {DIM_BITS}; "
                "retrain it with `python tools/train_scanner.py`"
            )
        threshold = float(meta.get("threshold", 0.5))
        if not 0.0 < threshold < 1.0:
            raise ScannerError(f"scanner model threshold {threshold} is outside (0, 1); retrain it")
        self.threshold = threshold
        self.meta = meta
        try:
            import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

            options = ort.SessionOptions()
            # One thread: the scanner must fit the 1-core budget and not fight the sandbox for CPUs.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad model
            raise ScannerError(f"cannot load the scanner model: {exc}") from exc

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> Classifier:
        """Load ``scanner.onnx`` and ``scanner.json`` from ``directory`` (default: the package).

        Raises:
            ScannerError: a file is missing or unreadable.
        """
        try:
            if directory is None:
                base = resources.files("codemode.scanner").joinpath("model")
                model = base.joinpath(MODEL_FILE).read_bytes()
                meta = json.loads(base.joinpath(META_FILE).read_text(encoding="utf-8"))
            else:
                model = (directory / MODEL_FILE).read_bytes()
                meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScannerError(
                f"scanner model not available ({exc}); reinstall codemode or run "
                "`python tools/train_scanner.py`"
            ) from exc
        return cls(model, meta)

    def calibrate(self, probability: float) -> float:
        """Map a raw probability so that the trained threshold lands on 0.5, the scanner's cut."""
        t = self.threshold
        if probability < t:
            return 0.5 * probability / t
        return 0.5 + 0.5 * (probability - t) / (1.0 - t)

    def raw_scores(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Return the raw probability of each text; a long text scores as its worst chunk.

        Raises:
            ScannerError: onnxruntime failed.
        """
        owners: list[int] = []
        features = []
        for i, text in enumerate(texts):
            for piece in chunks(text):
                owners.append(i)
                features.append(featurize(piece))
        result = np.zeros(len(texts), dtype=np.float32)
        if not features:
            return result
        probabilities = np.empty(len(features), dtype=np.float32)
        for start in range(0, len(features), _MAX_BATCH):
            indices, values = pack(features[start : start + _MAX_BATCH])
            try:
                out = self._session.run(["probability"], {"indices": indices, "values": values})
            except Exception as exc:  # onnxruntime raises untyped errors
                raise ScannerError(f"scanner model failed to run: {exc}") from exc
            probabilities[start : start + indices.shape[0]] = np.asarray(out[0]).reshape(-1)
        np.maximum.at(result, np.asarray(owners, dtype=np.intp), probabilities)
        return result

    def scores(self, texts: list[str]) -> list[float]:
        """Return the calibrated score (0..1, 0.5 = the decision threshold) of each text."""
        return [self.calibrate(float(p)) for p in self.raw_scores(texts)]

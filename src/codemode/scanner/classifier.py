"""Tier 2: the hashed n-gram classifier, then the encoder for the texts it is unsure of.

Tier 2a is an ONNX graph run with onnxruntime on one CPU thread (below). Tier 2b
(``encoder.py``) is a frozen sentence encoder with a trained head; it reads only the texts whose
n-gram probability falls in the band ``[low, high)`` recorded in ``scanner.json`` under
``cascade``, or whose words the n-gram model mostly never saw in training (``cover``: a language
or vocabulary it has no evidence about, looked up in ``seen_words.bin``), so the common, clear-cut
text costs the n-gram model alone. With an ``exit`` entry (its cuts and a head on the encoder's
lower slice), the encoder exits early: a window that head is sure of is decided after the lower
slice, and only the unsure ones run the upper slice to the whole model's head, which decides them
against ``cut`` or ``novel_cut`` as without the exit. Without the encoder files (or the
``cascade`` entry) the classifier is the n-gram model with its own threshold.

The model ships inside the package (``codemode/scanner/model/``): ``scanner.onnx`` takes a batch of
padded sparse vectors (``indices`` int64 and ``values`` float32, both ``[batch, width]``) and returns
``probability`` ``[batch, 1]``; ``scanner.json`` records the feature version, the decision
threshold and how the model was trained. Nothing is downloaded. Any problem loading or running it
raises ``ScannerError`` so the scanner can fall back to tier 1 and say so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._types import ScannerError
from .encoder import Encoder, Head, _check, one_thread_session, read_pair, shared_encoder
from .features import (
    DIM_BITS,
    FEATURE_VERSION,
    WORD_BITS,
    asks_reader,
    chunks,
    coverage,
    featurize_many,
    foreign,
    pack,
)
from .normalize import plain_words, short_token

__all__ = ["MODEL_FILE", "SEEN_FILE", "Classifier"]

MODEL_FILE = "scanner.onnx"
META_FILE = "scanner.json"
SEEN_FILE = "seen_words.bin"  # the n-gram model's training words: 2**WORD_BITS bits, packed
_MAX_BATCH = 64
# Below the band the n-gram model clears a text, and it clears confidently the injections written
# as ordinary messages: polite asks, authority claims, role-play, a tool call put first (red team
# round 16, ``benchmarks/scan.md``). A text below ``low`` that asks its reader for something
# (``asks_reader``) goes to the encoder, judged against ``cut`` like the band, unless the n-gram
# model clears it outright (probability under ``ASK_FLOOR``: most marketing copy that says
# "please" sits there).
ASK_FLOOR = 0.02
# ``asks_reader`` reads English grammar only, so a request in another language that the n-gram
# model scores between ``ASK_FLOOR`` and ``low`` (a polite ask, an authority claim, a role-play
# written as an ordinary message) was cleared without the encoder: most of the non-English misses
# of the outsider sets (round 17, ``tests/data/injection/OUTSIDER6.md``). Such a text that is not
# English (``foreign``: few English function words, a mechanism, not a word list per language)
# goes to the encoder too, but routing every one of them raised false positives, so it is flagged
# only when the two heads agree: the exit's lower head flags a window (``exit`` high or above) and
# the 12-layer head scores that window at ``FOREIGN_CUT`` or above. A window the lower head does
# not flag is cleared there, so the upper slice runs only for the few it flags.
FOREIGN_CUT = 0.8
# A one-token value of five words or fewer that the n-gram model flags on its own (a coupon code's
# status ASSIGNED_TO_PROFILE, a webhook topic event:klaviyo.subscribed_to_list) is
# confirmed by the encoder head before it is removed: with so few words the n-gram score rests on
# one or two of them, and the API's own enum values and ids read like commands. The head must
# score it at ``CONFIRM_CUT`` or above (it scores such values at 0.01-0.03 and short commands such
# as "delete all profiles" at 0.99); the patterns of tier 1 read it whatever the classifier says.
CONFIRM_CUT = 0.5


class Classifier:
    """Load the ONNX model once and score texts in batches (thread-safe: onnxruntime sessions are)."""

    def __init__(
        self,
        model: bytes,
        meta: dict[str, Any],
        encoder: Encoder | None = None,
        seen: bytes | None = None,
    ) -> None:
        """Build an inference session from the model bytes and its metadata.

        ``encoder`` (with ``cascade`` and ``head`` in ``meta``) adds tier 2b; ``seen`` (the
        packed ``seen_words.bin``) lets it read the units the n-gram model knows little about.

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
        self.encoder: Encoder | None = None
        self.head: Head | None = None
        try:
            self._session = one_thread_session(model)
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad model
            raise ScannerError(f"cannot load the scanner model: {exc}") from exc
        if encoder is not None:
            self.attach(encoder, seen)

    def attach(self, encoder: Encoder, seen: bytes | None = None) -> None:
        """Add tier 2b: ``encoder`` with the ``head`` and ``cascade`` recorded in the metadata.

        Raises:
            ScannerError: the metadata has no usable head or cascade, or the cascade has a
                novelty gate and ``seen`` is not a bitmap of ``2**WORD_BITS`` bits.
        """
        cascade = self.meta.get("cascade")
        head = self.meta.get("head")
        if not isinstance(cascade, dict) or not isinstance(head, dict):
            raise ScannerError("scanner.json has no cascade or head for the encoder; retrain it")
        self.low = float(cascade["low"])
        self.high = float(cascade["high"])
        self.cut = float(cascade["cut"])
        # Texts with few words the n-gram model saw in training reach the encoder at any score.
        self.cover = float(cascade.get("cover", 0.0))
        self.novel_cut = float(cascade.get("novel_cut", 1.0))
        if not (0.0 <= self.low < self.high < 1.0 and 0.0 < self.cut < 1.0):
            raise ScannerError(f"scanner cascade {cascade} is out of range; retrain it")
        self.seen: npt.NDArray[np.bool_] | None = None
        if self.cover > 0.0:
            if seen is None or len(seen) * 8 != 2**WORD_BITS:
                raise ScannerError(
                    f"scanner cascade needs {SEEN_FILE} ({2**WORD_BITS // 8} bytes); retrain it "
                    "with `python tools/train_scanner.py`"
                )
            self.seen = np.unpackbits(np.frombuffer(seen, dtype=np.uint8)).astype(bool)
        self.head = Head.from_dict(head)
        self.encoder = encoder
        # The early exit needs the encoder's slices; without them every window runs the whole
        # model, which gives the verdicts the exit was chosen to keep.
        exit_ = self.meta.get("exit")
        self.exit: tuple[float, float] | None = None
        self.lower_head: Head | None = None
        if isinstance(exit_, dict) and encoder.split:
            low, high = float(exit_["low"]), float(exit_["high"])
            if not 0.0 <= low < high <= 1.0:
                raise ScannerError(f"scanner exit {low}, {high} is out of range; retrain it")
            self.exit = (low, high)
            self.lower_head = Head.from_dict(exit_["head"])

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> Classifier:
        """Load ``scanner.onnx``, ``scanner.json`` and, for the novelty gate, ``seen_words.bin``
        from ``directory`` (default: the package).

        Raises:
            ScannerError: a file is missing or unreadable.
        """
        try:
            model, text = read_pair(directory, MODEL_FILE, META_FILE)
            meta = json.loads(text)
            cascade = meta.get("cascade")
            gated = isinstance(cascade, dict) and float(cascade.get("cover", 0.0)) > 0.0
            seen = read_pair(directory, SEEN_FILE, META_FILE)[0] if gated else None
        except (OSError, ValueError) as exc:
            raise ScannerError(
                f"scanner model not available ({exc}); reinstall codemode or run "
                "`python tools/train_scanner.py`"
            ) from exc
        classifier = cls(model, meta)
        if "cascade" in meta:
            encoder = shared_encoder() if directory is None else Encoder.from_directory(directory)
            classifier.attach(encoder, seen)
        return classifier

    def calibrate(self, probability: float) -> float:
        """Map a raw probability so that the trained threshold lands on 0.5, the scanner's cut."""
        return _scale(probability, self.threshold)

    def raw_scores(
        self, texts: list[str], deadline: float | None = None
    ) -> npt.NDArray[np.float32]:
        """Return the raw probability of each text; a long text scores as its worst chunk.

        Raises:
            ScannerError: onnxruntime failed.
        """
        owners: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            _check(deadline)
            for piece in chunks(text):
                owners.append(i)
                pieces.append(piece)
        result = np.zeros(len(texts), dtype=np.float32)
        if not pieces:
            return result
        probabilities = np.empty(len(pieces), dtype=np.float32)
        # Hashed a batch at a time, so the deadline is checked between batches of the hashing too.
        for start in range(0, len(pieces), _MAX_BATCH):
            _check(deadline)
            indices, values = pack(featurize_many(pieces[start : start + _MAX_BATCH]))
            try:
                out = self._session.run(["probability"], {"indices": indices, "values": values})
            except Exception as exc:  # onnxruntime raises untyped errors
                raise ScannerError(f"scanner model failed to run: {exc}") from exc
            probabilities[start : start + indices.shape[0]] = np.asarray(out[0]).reshape(-1)
        np.maximum.at(result, np.asarray(owners, dtype=np.intp), probabilities)
        return result

    def scores(self, texts: list[str], deadline: float | None = None) -> list[float]:
        """Return the calibrated score (0..1, 0.5 = the decision threshold) of each text.

        With the encoder: a text at or above ``high`` keeps its n-gram score, one below ``low``
        stays under the cut, one in between takes the encoder head's score against ``cut``. A text
        below ``low`` with less than ``cover`` of its words seen in training (the n-gram score is
        then a guess, not evidence) takes the head's score against ``novel_cut``; one below
        ``low`` but at ``ASK_FLOOR`` or above that asks its reader for something
        (``asks_reader``) takes it against ``cut``; with the early exit, one such that is not
        English (``foreign``) is flagged only when both heads flag it (``FOREIGN_CUT``).

        Raises:
            ScannerError: onnxruntime failed.
            DeadlinePassed: ``deadline`` (``time.monotonic()``) passed before every text was read.
        """
        hashed = self.raw_scores(texts, deadline)
        if self.encoder is None or self.head is None:
            return [self.calibrate(float(p)) for p in hashed]
        result = [_scale(float(p), self.high) for p in hashed]
        band = [i for i, p in enumerate(hashed) if self.low <= p < self.high]
        seen = self.seen
        gate = (
            []
            if seen is None
            else [
                i
                for i, p in enumerate(hashed)
                if p < self.low and coverage(texts[i], seen) < self.cover
            ]
        )
        gated = set(gate)
        asked = [
            i
            for i, p in enumerate(hashed)
            if ASK_FLOOR <= p < self.low and i not in gated and asks_reader(texts[i])
        ]
        skip = gated.union(asked)
        others = (
            []
            if self.exit is None
            else [
                i
                for i, p in enumerate(hashed)
                if ASK_FLOOR <= p < self.low and i not in skip and foreign(texts[i])
            ]
        )
        confirm = [i for i, p in enumerate(hashed) if p >= self.high and short_token(texts[i])]
        if confirm:  # the 12-layer head itself: the early exit was not fitted on such values
            confirmed = self.encoder.scores([plain_words(texts[i]) for i in confirm], self.head)
            for i, p in zip(confirm, confirmed, strict=True):
                result[i] = _scale(float(p), CONFIRM_CUT)
        cuts = {
            **dict.fromkeys(asked, self.cut),
            **dict.fromkeys(gate, self.novel_cut),
            **dict.fromkeys(band, self.cut),
        }
        if cuts:
            order = list(cuts)
            chosen = [texts[i] for i in order]
            if self.exit is None or self.lower_head is None:
                encoded = self.encoder.scores(chosen, self.head)
                for i, p in zip(order, encoded, strict=True):
                    result[i] = _scale(float(p), cuts[i])
            else:
                staged = self._staged(chosen, [cuts[i] for i in order], self.exit, deadline)
                for i, score in zip(order, staged, strict=True):
                    result[i] = score
        if others:  # only the windows the lower head flags continue; the rest are cleared there
            assert self.exit is not None
            chosen = [texts[i] for i in others]
            both = (self.exit[1], 2.0)  # nothing stops as flagged: the 12-layer head must agree
            agreed = self._staged(chosen, [FOREIGN_CUT] * len(others), both, deadline)
            for i, score in zip(others, agreed, strict=True):
                result[i] = score
        return result

    def _staged(
        self,
        texts: list[str],
        cuts: list[float],
        exit_band: tuple[float, float],
        deadline: float | None = None,
    ) -> list[float]:
        """Calibrated scores through the early exit: a window the lower head scores under
        ``exit_band``'s low is cleared (scaled against it), one at its high or above flagged
        (scaled against that), one in between takes the 12-layer head's probability against the
        text's cut; a text scores as its worst window."""
        assert self.encoder is not None and self.head is not None
        assert self.lower_head is not None
        low, high = exit_band
        owners, p_lower, p_full = self.encoder.staged_scores(
            texts, self.lower_head, exit_band, self.head, deadline
        )
        cut = np.asarray(cuts, dtype=np.float64)[owners]
        window = np.where(
            p_lower < low,
            _scale_array(p_lower, low),
            np.where(p_lower >= high, _scale_array(p_lower, high), _scale_array(p_full, cut)),
        )
        out = np.zeros(len(texts), dtype=np.float64)
        np.maximum.at(out, owners, window)
        return [float(v) for v in out]


def _scale_array(
    probability: npt.NDArray[np.float64], cut: float | npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``_scale`` for arrays (NaN where ``probability`` is NaN; any ``cut`` of 0 or 1 safe)."""
    below = 0.5 * probability / np.maximum(cut, 1e-12)
    above = 0.5 + 0.5 * (probability - cut) / np.maximum(1.0 - np.asarray(cut), 1e-12)
    result: npt.NDArray[np.float64] = np.where(probability < cut, below, above)
    return result


def _scale(probability: float, cut: float) -> float:
    """Map ``probability`` so that ``cut`` lands on 0.5."""
    if probability < cut:
        return 0.5 * probability / cut
    return 0.5 + 0.5 * (probability - cut) / (1.0 - cut)

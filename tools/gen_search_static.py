"""Distil the scanner's encoder into a static piece table for search_api's static embedding.

Every lowercase ASCII piece of the encoder's tokenizer is embedded alone by the shipped encoder
(``codemode/scanner/model``; no download), the vectors are centred, reduced by PCA to
``DIMENSIONS`` components each divided by its spread (whitening), L2-normalised and stored as int8
rows with one scale each; a piece's weight is ``A / (A + p)``, ``p`` its unigram probability in the
tokenizer. Output: src/codemode/search/static.npz, read by codemode.search._static. Rerun after the
encoder or its tokenizer change (about a minute and a half on two cores).

Usage:
  python tools/gen_search_static.py          write the file
  python tools/gen_search_static.py --check  exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from codemode.scanner.encoder import Encoder  # noqa: E402
from codemode.search._static import DIMENSIONS, STATIC_FILE, tokenizer_digest  # noqa: E402

OUTPUT = ROOT / "src" / "codemode" / "search" / STATIC_FILE
TOKENIZER = ROOT / "src" / "codemode" / "scanner" / "model" / "tokenizer.json"
# SIF smoothing: pieces more frequent than about 1 in 10,000 are damped.
A = 1e-4
_SPECIAL = 4  # <s>, <pad>, </s>, <unk>
_WORD_START = "\u2581"
# --check compares the pieces' cosine similarities on a fixed sample, which neither a sign flip of
# a PCA component nor onnxruntime's last digits move by this much; a real change moves far more.
TOLERANCE = 0.05
_SAMPLE = 600


def kept_pieces(vocab: list[list[Any]]) -> list[int]:
    """Tokenizer ids of the pieces a lowercased text can produce: ASCII, no capitals."""
    return [
        i
        for i, (piece, _) in enumerate(vocab)
        if i >= _SPECIAL
        and all((ord(c) < 128 and not c.isupper()) or c == _WORD_START for c in piece)
    ]


def generate() -> dict[str, np.ndarray]:
    text = TOKENIZER.read_text(encoding="utf-8")
    vocab: list[list[Any]] = json.loads(text)["model"]["vocab"]
    pieces = kept_pieces(vocab)
    encoder = Encoder.from_directory()
    cls, sep, prefix = encoder._cls, encoder._sep, encoder._prefix
    raw = encoder.embed_windows([[cls, *prefix, i, sep] for i in pieces]).astype(np.float64)
    centred = raw - raw.mean(axis=0)
    _, spread, components = np.linalg.svd(centred, full_matrices=False)
    # A component's sign is arbitrary: fix it so the file does not flip between LAPACK builds.
    signs = np.sign(components[:DIMENSIONS, np.abs(components[:DIMENSIONS]).argmax(axis=1)])
    basis = components[:DIMENSIONS] * signs.diagonal()[:, None]
    reduced = centred @ basis.T / spread[:DIMENSIONS]
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True)
    scales = np.abs(reduced).max(axis=1) / 127.0
    quantised = np.round(reduced / scales[:, None]).astype(np.int8)
    probability = np.exp(np.array([vocab[i][1] for i in pieces], dtype=np.float64))
    return {
        "pieces": np.array(pieces, dtype=np.int32),
        "vectors": quantised,
        "scales": scales.astype(np.float16),
        "weights": (A / (A + probability)).astype(np.float16),
        "tokenizer": np.array(tokenizer_digest(text)),
    }


def _sample_cosines(data: dict[str, np.ndarray]) -> np.ndarray:
    rows = data["vectors"].astype(np.float64) * data["scales"].astype(np.float64)[:, None]
    pick = np.random.default_rng(17).choice(len(rows), size=min(_SAMPLE, len(rows)), replace=False)
    sample = rows[np.sort(pick)]
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    result: np.ndarray = sample @ sample.T
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args()
    data = generate()
    if args.check:
        if not OUTPUT.is_file():
            print(f"{OUTPUT.relative_to(ROOT)} is missing: run python tools/{Path(__file__).name}")
            return 1
        with np.load(OUTPUT, allow_pickle=False) as npz:
            old = {key: npz[key] for key in npz.files}
        same = (
            str(old["tokenizer"]) == str(data["tokenizer"])
            and np.array_equal(old["pieces"], data["pieces"])
            and old["vectors"].shape == data["vectors"].shape
            and np.allclose(old["weights"], data["weights"], rtol=1e-2)
            and float(np.abs(_sample_cosines(old) - _sample_cosines(data)).max()) <= TOLERANCE
        )
        if not same:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python tools/{Path(__file__).name}")
            return 1
        return 0
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **data)  # type: ignore[arg-type]
    OUTPUT.write_bytes(buffer.getvalue())
    print(
        f"wrote {OUTPUT.relative_to(ROOT)} ({len(data['pieces'])} pieces, {DIMENSIONS} dimensions)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

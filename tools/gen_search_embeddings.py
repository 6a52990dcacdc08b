"""Embed every operation's text with the scanner's encoder for search_api's semantic tie-breaker.

Output: src/codemode/search/embeddings.npz (ids, float16 vectors, a digest of the texts), read by
codemode.search._semantic. Rerun after the catalog, its keywords or the encoder change.

Usage:
  python tools/gen_search_embeddings.py          write the file
  python tools/gen_search_embeddings.py --check  exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from codemode.catalog import load_catalog  # noqa: E402
from codemode.scanner.encoder import Encoder  # noqa: E402
from codemode.search._semantic import embed_texts, operation_text, text_digest  # noqa: E402

OUTPUT = ROOT / "src" / "codemode" / "search" / "embeddings.npz"
# float16 storage and onnxruntime builds differ in the last digits; a real change moves far more.
TOLERANCE = 2e-3


def generate() -> tuple[list[str], np.ndarray, str]:
    actions = list(load_catalog().values())
    texts = [operation_text(a) for a in actions]
    vectors = embed_texts(Encoder.from_directory(), texts).astype(np.float16)
    return [a.id for a in actions], vectors, text_digest(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args()
    ids, vectors, digest = generate()
    if args.check:
        if not OUTPUT.is_file():
            print(f"{OUTPUT.relative_to(ROOT)} is missing: run python {Path(__file__).name}")
            return 1
        with np.load(OUTPUT, allow_pickle=False) as old:
            same = (
                [str(i) for i in old["ids"]] == ids
                and str(old["digest"]) == digest
                and old["vectors"].shape == vectors.shape
                and float(np.abs(old["vectors"].astype(np.float32) - vectors).max()) <= TOLERANCE
            )
        if not same:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python tools/{Path(__file__).name}")
            return 1
        return 0
    buffer = io.BytesIO()
    np.savez_compressed(buffer, ids=np.array(ids), vectors=vectors, digest=np.array(digest))
    OUTPUT.write_bytes(buffer.getvalue())
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(ids)} operations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

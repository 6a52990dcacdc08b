"""Train the scanner's tier-2 classifier and write it into the package (not run in CI).

    pip install -e ".[train]"
    python tools/train_scanner.py            # 2 to 10 minutes on 2 (shared) CPU cores

Data: ``../shared/data/injection/train.jsonl`` (dev.jsonl is never used: it is the benchmark's)
plus the project's own synthetic rows (``codemode.scanner.training.synth``: injections and benign
copy in twelve languages, new attack shapes, e-commerce emails, HTML, SMS, notes, reviews, and
Faker word lists in twelve languages). The recipe is in ``codemode.scanner.training.train``.

The decision threshold is chosen on leave-source-out predictions: for each family of sources,
a model trained without it scores it; the threshold is the best F1 over all of them with at most
2% false positives (``--max-fpr``). The final model is then trained on everything. Output:
``src/codemode/scanner/model/scanner.onnx`` and ``scanner.json`` (threshold, data, LSO figures).
Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from codemode.scanner.normalize import views  # noqa: E402
from codemode.scanner.patterns import match_views  # noqa: E402
from codemode.scanner.training.synth import all_synthetic  # noqa: E402
from codemode.scanner.training.train import (  # noqa: E402
    DEFAULT_C,
    FAMILIES,
    build_corpus,
    fit,
    pick_threshold,
    row_probabilities,
    to_onnx,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "injection")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "codemode" / "scanner" / "model")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-fpr", type=float, default=0.02)
    parser.add_argument(
        "--c", type=float, default=DEFAULT_C, help="inverse regularisation strength"
    )
    parser.add_argument(
        "--dump", type=Path, help="also write the leave-source-out scores here (.npz)"
    )
    args = parser.parse_args()

    train_file = args.data / "train.jsonl"
    if not train_file.is_file():
        print(f"no {train_file}: pass --data pointing at shared/data/injection", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with train_file.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    synthetic = all_synthetic(args.seed)
    every = rows + synthetic
    print(f"{len(rows)} shared rows + {len(synthetic)} synthetic rows", flush=True)
    corpus = build_corpus(every)
    print(
        f"{len(corpus.indices)} units featurised in {time.perf_counter() - started:.0f}s",
        flush=True,
    )

    labels = np.array([int(r["label"]) for r in every], dtype=np.int64)
    family = np.array([FAMILIES.get(r["source"], "synthetic") for r in every])
    strong = np.array([any(m.weight >= 0.5 for m in match_views(views(r["text"]))) for r in every])
    held_probabilities = np.zeros(len(every))
    held = np.zeros(len(every), dtype=bool)
    for name in sorted(set(FAMILIES.values())):
        model = fit(corpus, family != name, seed=args.seed, c=args.c)
        out_rows = np.flatnonzero(family == name)
        held_probabilities[out_rows] = row_probabilities(model, corpus, out_rows)
        held[out_rows] = True
        print(f"  left out {name}: {len(out_rows)} rows", flush=True)
    threshold, figures = pick_threshold(
        held_probabilities[held], labels[held], strong[held], max_fpr=args.max_fpr
    )
    print(f"threshold {threshold} on leave-source-out predictions: {figures}", flush=True)
    curve = {}
    for cut in np.arange(0.5, 0.96, 0.05):
        _, at = pick_threshold(
            held_probabilities[held], labels[held], strong[held], max_fpr=1.0, grid=[float(cut)]
        )
        curve[f"{cut:.2f}"] = {k: round(v, 4) for k, v in at.items()}
        print(f"  at {cut:.2f}: {curve[f'{cut:.2f}']}", flush=True)
    if args.dump:
        np.savez(
            args.dump, p=held_probabilities, strong=strong, labels=labels, family=family, held=held
        )

    final = fit(corpus, seed=args.seed, threshold=threshold, c=args.c)
    final.info.update(
        {
            "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
            "seed": args.seed,
            "data": {"shared_train_rows": len(rows), "synthetic_rows": len(synthetic)},
            "leave_source_out_at_threshold": {k: round(v, 4) for k, v in figures.items()},
            "leave_source_out_curve": curve,
            "max_fpr": args.max_fpr,
            "script": "tools/train_scanner.py",
        }
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scanner.onnx").write_bytes(to_onnx(final))
    (args.out / "scanner.json").write_text(
        json.dumps(final.meta(), indent=2, sort_keys=True) + "\n"
    )
    size = (args.out / "scanner.onnx").stat().st_size / 1e6
    print(f"wrote {args.out}/scanner.onnx ({size:.1f} MB) in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Leave-one-family-out folds of ``codemode bench scan`` for some families and several heads (not run in CI).

    .venv/bin/python tools/scan_folds.py --kinds language --names fa,he,th \\
        --variant base= --variant lda16=language_method:lda,language_dims:16 [--json out.json]

The same rows, embeddings (``.scan-cache/``) and fold recipe as the bench (``training.folds``),
restricted to ``--kinds`` (and ``--names``), with each ``--variant NAME=key:value,...`` passing
those keyword arguments to ``cascade.fit_head`` (an empty list is the shipped recipe; ``band_cut``
goes to ``cascade.pick`` and ``exit_budget`` to ``cascade.pick_exit``). With the early exit on,
each fold is also scored without it on the same heads (``no exit``). Each
fold's n-gram model is fitted once and shared by the variants. Prints, per variant and kind, the
pooled model F1 and recall and how many splits meet the bench's targets (F1 >= 0.90 and recall >=
0.85), and writes the per-fold figures with ``--json``. The full bench stays the reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from codemode.scanner.encoder import Encoder  # noqa: E402
from codemode.scanner.training.folds import (  # noqa: E402
    Prepared,
    evaluate_variants,
    fit_shipped,
    prepare,
)

KINDS = ("intent", "framing", "language", "source", "domain")
TARGET_F1, TARGET_RECALL = 0.90, 0.85


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_variant(spec: str) -> tuple[str, dict[str, Any]]:
    """``"lda16=language_method:lda,language_dims:16"`` -> ``("lda16", {...})``."""
    name, _, options = spec.partition("=")
    pairs = [item.split(":", 1) for item in options.split(",") if item]
    return name, {key: _value(value) for key, value in pairs}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Per kind: pooled model F1 and recall, splits with injections, splits meeting targets."""
    out: dict[str, Any] = {}
    for kind, block in result.items():
        splits = [f["model"] for f in block["folds"].values() if f["model"]["injections"]]
        met = sum(m["f1"] >= TARGET_F1 and m["recall"] >= TARGET_RECALL for m in splits)
        pooled = block["pooled"]["model"]
        out[kind] = {
            "f1": pooled["f1"],
            "recall": pooled["recall"],
            "fpr": pooled["fpr"],
            "splits": len(splits),
            "meeting": met,
        }
        whole = block["pooled"].get("model_no_exit")
        if whole is not None:  # the same folds without the early exit
            out[kind]["no_exit"] = {key: whole[key] for key in ("f1", "recall", "fpr")}
            out[kind]["continued_share_test"] = round(
                sum(f["continued_share_test"] for f in block["folds"].values())
                / max(1, len(block["folds"])),
                4,
            )
    return out


def shipped(
    prep: Prepared, variants: dict[str, dict[str, Any]], data: Path
) -> dict[str, dict[str, Any]]:
    """Each variant's shipped model (one n-gram model for all) on the held-out styles and dev."""
    from codemode.bench import scan as bench
    from codemode.scanner import Scanner
    from codemode.scanner.training.heldout import heldout_rows
    from codemode.scanner.training.train import fit

    with (data / "dev.jsonl").open(encoding="utf-8") as handle:
        dev = [json.loads(line) for line in handle if line.strip()]
    styles = heldout_rows()
    encoder = Encoder.from_directory()
    model = fit(prep.corpus, prep.bucket != 0)
    out: dict[str, dict[str, Any]] = {}
    for variant, options in variants.items():
        fitted = fit_shipped(prep, head_options=options, model=model)
        scanner = Scanner(classifier=fitted.classifier(encoder))
        scored: dict[str, Any] = {}
        for name, rows in (("dev", dev), ("heldout", styles)):
            into = bench._Scored(name)
            bench._score_ours(scanner, rows, into)
            scored[name] = bench._metrics(into.rows, into.flagged)
            if name == "heldout":
                scored["styles"] = {
                    style: bench._metrics(
                        [r for r in into.rows if r["style"] == style],
                        [
                            f
                            for r, f in zip(into.rows, into.flagged, strict=True)
                            if r["style"] == style
                        ],
                    )["f1"]
                    for style in sorted({str(r["style"]) for r in into.rows})
                }
        out[variant] = {"cascade": fitted.cascade.as_dict(), "validation": fitted.tuned, **scored}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "injection")
    parser.add_argument("--cache", type=Path, default=ROOT / ".scan-cache")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--names", default="", help="only these family names (comma-separated)")
    parser.add_argument("--variant", action="append", default=[], help="NAME=key:value,...")
    parser.add_argument("--json", type=Path, help="write the per-fold figures here")
    parser.add_argument(
        "--shipped",
        action="store_true",
        help="also train each variant's shipped model (tools/train_scanner.py's recipe) and score "
        "the held-out styles and dev (false positives on marketing and command-sounding text)",
    )
    args = parser.parse_args()

    from codemode.scanner.training.families import generate
    from codemode.scanner.training.synth import all_synthetic

    variants = dict(parse_variant(v) for v in args.variant) or {"base": {}}
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")
    started = time.perf_counter()
    with (args.data / "train.jsonl").open(encoding="utf-8") as handle:
        shared = [json.loads(line) for line in handle if line.strip()]
    prep = prepare(shared + all_synthetic() + generate(), Encoder.from_directory(), args.cache)
    print(f"prepared {len(prep.rows)} rows in {time.perf_counter() - started:.0f}s", flush=True)
    results = evaluate_variants(
        prep,
        variants,
        kinds=kinds,
        names={n for n in args.names.split(",") if n} or None,
        log=lambda line: print(line, flush=True),
    )
    table = {variant: summary(result) for variant, result in results.items()}
    if args.shipped:
        for variant, figures in shipped(prep, variants, args.data).items():
            table[variant]["shipped"] = figures
    for variant, kinds_ in table.items():
        folds = {kind: k for kind, k in kinds_.items() if kind != "shipped"}
        total = sum(k["meeting"] for k in folds.values())
        splits = sum(k["splits"] for k in folds.values())
        cells = "; ".join(
            f"{kind} F1 {k['f1']:.3f} R {k['recall']:.3f} FP {k['fpr']} {k['meeting']}/{k['splits']}"
            + (
                f" (no exit: F1 {k['no_exit']['f1']:.3f} R {k['no_exit']['recall']:.3f} FP "
                f"{k['no_exit']['fpr']}; continued {k['continued_share_test']:.1%})"
                if "no_exit" in k
                else ""
            )
            for kind, k in folds.items()
        )
        print(f"{variant}: {total}/{splits} splits meet targets | {cells}", flush=True)
        if "shipped" in kinds_:
            print(f"{variant} shipped: {json.dumps(kinds_['shipped'])}", flush=True)
    if args.json:
        args.json.write_text(
            json.dumps({"variants": variants, "summary": table, "results": results}, indent=1)
        )
    print(f"done in {time.perf_counter() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

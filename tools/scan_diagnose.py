"""Where does the cascade lose an injection? Per item: tier 1, n-gram, routing, encoder heads.

    .venv/bin/python tools/scan_diagnose.py tests/data/injection/outsider5.jsonl --split tuning \
        --out diag.jsonl

Scans each row cold with the shipped ``Scanner()`` (as ``tools/eval_outsider.py`` does) while
recording every classifier input of that scan (the canonical text, decoded views and JSON fields):
its n-gram probability, its share of seen words, whether the band, the novelty gate, the ask route
(``asks_reader``) or the foreign route (``english_share``) sent it to the encoder, and - for every
input, routed or not - the exit head's and the 12-layer head's probabilities on its worst window,
and the calibrated score the encoder would give it if routed (against ``cut``). Nothing is tuned;
the encoder counterfactual costs every input a full pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--split", default=None, help="only rows whose `split` is this")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, one per row")
    args = parser.parse_args(argv)

    from codemode.scanner import Scanner
    from codemode.scanner.classifier import ASK_FLOOR, Classifier, _scale
    from codemode.scanner.features import (
        FOREIGN_SHARE,
        asks_reader,
        coverage,
        english_share,
        long_enough,
    )

    rows = [json.loads(line) for line in args.path.read_text(encoding="utf-8").splitlines() if line]
    if args.split:
        rows = [r for r in rows if r.get("split") == args.split]
    scanner = Scanner()
    scanner.scan_text("warm up the patterns and load the model")
    clf = scanner.classifier
    assert clf is not None and clf.encoder is not None and clf.exit is not None
    original = Classifier.scores
    calls: list[dict[str, Any]] = []

    def recording(self: Classifier, texts: list[str], deadline: float | None = None) -> list[float]:
        out = original(self, texts, deadline)
        hashed = self.raw_scores(texts)
        assert self.encoder is not None and self.exit is not None and self.lower_head is not None
        assert self.head is not None
        owners, p_low, p_full = self.encoder.staged_scores(
            texts, self.lower_head, (0.0, 2.0), self.head
        )
        lo, hi = self.exit
        for i, text in enumerate(texts):
            mine = owners == i
            cov = coverage(text, self.seen) if self.seen is not None else 1.0
            p = float(hashed[i])
            route = (
                "band"
                if self.low <= p < self.high
                else (
                    "gate"
                    if p < self.low and cov < self.cover
                    else ("high" if p >= self.high else "cleared")
                )
            )
            if route == "cleared" and p >= ASK_FLOOR and asks_reader(text):
                route = "asked"
            elif (
                route == "cleared"
                and p >= ASK_FLOOR
                and long_enough(text)
                and english_share(text) < FOREIGN_SHARE
            ):
                route = "foreign"  # flagged only where both heads agree (classifier.FOREIGN_CUT)
            if mine.any():
                pl, pf = p_low[mine], p_full[mine]
                win = [
                    _scale(float(a), lo)
                    if a < lo
                    else (_scale(float(a), hi) if a >= hi else _scale(float(b), self.cut))
                    for a, b in zip(pl, pf, strict=True)
                ]
                enc = max(win)
                lower_max, full_max = float(pl.max()), float(np.nanmax(pf))
            else:
                enc, lower_max, full_max = 0.0, 0.0, 0.0
            calls.append(
                {
                    "text": text[:4000],
                    "ngram": round(p, 4),
                    "cover": round(cov, 3),
                    "route": route,
                    "score": round(out[i], 4),
                    "exit_head": round(lower_max, 4),
                    "full_head": round(full_max, 4),
                    "enc_if_routed": round(enc, 4),
                }
            )
        return out

    Classifier.scores = recording  # type: ignore[method-assign]
    with args.out.open("w", encoding="utf-8") as sink:
        for row in rows:
            calls.clear()
            scanner.clear_cache()
            verdict = scanner.scan_text(row["text"])
            tier1 = [(f.rule, round(f.score, 2)) for f in verdict.findings if f.tier == 1]
            sink.write(
                json.dumps(
                    {
                        **row,
                        "flagged": verdict.injection,
                        "verdict_score": round(verdict.score, 4),
                        "tier1": tier1,
                        "inputs": list(calls),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Totals of the shipped ranker on the untouched search sets, and nothing else.

    .venv/bin/python tools/eval_untouched.py                        # every *_untouched set
    .venv/bin/python tools/eval_untouched.py --weights '{"asks": true}'
    .venv/bin/python tools/eval_untouched.py --json outsider5_untouched

An untouched set is read only as a total: this prints, per set, how many answerable queries
there are, how many have an answer first (top-1) and in the first five (top-5), how many of the
requests no operation serves ``serves`` refuses, and how many answerable ones it refuses. It
never prints a query, an answer or a miss, so a round can score its untouched sets without
reading them (``tests/data/search/README.md``). ``--weights`` takes ``Weights`` fields as JSON,
so an opt-in reading (``asks``) can be scored beside the default in the same run. To score
another build, run it with that build's ``src`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEARCH = ROOT / "tests" / "data" / "search"


def untouched_sets(folder: Path = SEARCH) -> list[str]:
    """The names of the untouched sets in ``folder``, in name order."""
    return sorted(p.stem for p in folder.glob("*_untouched.jsonl"))


def totals(index: Any, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Counts only: answerable n, top-1 and top-5 hits, unserved refused, answerable refused."""
    out = {"n": 0, "top1": 0, "top5": 0, "unserved": 0, "refused": 0, "answerable_refused": 0}
    for row in rows:
        if not row["answers"]:
            out["unserved"] += 1
            out["refused"] += not index.serves(row["query"])
            continue
        order = index.rank(row["query"])
        pos = min((order.index(a) for a in row["answers"] if a in order), default=len(order))
        out["n"] += 1
        out["top1"] += pos < 1
        out["top5"] += pos < 5
        out["answerable_refused"] += not index.serves(row["query"])
    return out


def _pct(hits: int, n: int) -> str:
    return f"{100 * hits / n:5.1f}%" if n else "  n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", help="set names (default: every *_untouched set)")
    parser.add_argument("--weights", default="{}", help="Weights fields as JSON")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    from codemode.catalog import load_catalog
    from codemode.search import SearchIndex, Weights

    names = args.sets or untouched_sets()
    weights = dataclasses.replace(Weights(), **json.loads(args.weights))
    index = SearchIndex(load_catalog(), weights=weights)
    result: dict[str, dict[str, int]] = {}
    for name in names:
        path = SEARCH / f"{name}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        result[name] = totals(index, [json.loads(line) for line in lines if line.strip()])
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    for name, t in result.items():
        print(
            f"{name:<22} n={t['n']:<5} top-1 {_pct(t['top1'], t['n'])}  "
            f"top-5 {_pct(t['top5'], t['n'])}  unserved refused {t['refused']}/{t['unserved']}  "
            f"answerable refused {t['answerable_refused']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

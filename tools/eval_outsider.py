"""Score the shipped scanner and search on the outsider sets, which neither was tuned on.

    .venv/bin/python tools/eval_outsider.py                    # tables
    .venv/bin/python tools/eval_outsider.py --json             # one JSON object on stdout
    .venv/bin/python tools/eval_outsider.py --set outsider2    # the second outsider's sets
    .venv/bin/python tools/eval_outsider.py --set outsider3    # the third outsider's sets
    .venv/bin/python tools/eval_outsider.py --set outsider4    # the fourth outsider's (small) sets

Reads ``tests/data/injection/outsider.jsonl`` and ``tests/data/search/outsider_untouched.jsonl``
(how they were written: ``tests/data/injection/OUTSIDER.md``), or with ``--set outsider2``
``outsider2.jsonl`` and ``outsider2_untouched.jsonl`` (``tests/data/injection/OUTSIDER2.md``),
or with ``--set outsider3`` ``outsider3.jsonl`` and ``outsider3_untouched.jsonl``
(``tests/data/injection/OUTSIDER3.md``), or with ``--set outsider4`` the small ``outsider4.jsonl``
and ``outsider4_untouched.jsonl`` (``tests/data/injection/OUTSIDER4.md``). The texts of the
second and third also name the ``domain`` an agent read them in; precision, recall, F1 and the
false-positive rate are then reported per domain and per language too. The scanner is the package's
``Scanner()`` with its shipped model, each item scanned cold through ``scan_text`` as
``codemode bench scan`` does; search is ``SearchIndex(load_catalog())`` as ``codemode bench search``
builds it, graded with ``rank`` and, for requests no operation serves, ``serves``. Nothing here
changes or tunes either: the figures are for comparing builds, measured in one run on one machine.
Latency is CPU time of this process per item (``time.process_time``), with wall-clock beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INJECTION = ROOT / "tests" / "data" / "injection" / "outsider.jsonl"
SEARCH = ROOT / "tests" / "data" / "search" / "outsider_untouched.jsonl"
SETS = {  # --set name -> (injection set, search set)
    "outsider": (INJECTION, SEARCH),
    "outsider2": (
        INJECTION.with_name("outsider2.jsonl"),
        SEARCH.with_name("outsider2_untouched.jsonl"),
    ),
    "outsider3": (
        INJECTION.with_name("outsider3.jsonl"),
        SEARCH.with_name("outsider3_untouched.jsonl"),
    ),
    "outsider4": (
        INJECTION.with_name("outsider4.jsonl"),
        SEARCH.with_name("outsider4_untouched.jsonl"),
    ),
}


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a missing file is an error that names it."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: run this from a checkout of the repository")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * (len(ordered) - 1) + 0.5))], 3)


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def _group(rows: Iterable[tuple[str, bool]]) -> dict[str, dict[str, Any]]:
    """Per key: n and the share of True."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, hit in rows:
        counts[key][0] += 1
        counts[key][1] += int(hit)
    return {k: {"n": n, "rate": _rate(h, n)} for k, (n, h) in sorted(counts.items())}


def _confusion(pairs: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Precision, recall, F1 and false-positive rate of (flagged, label) pairs."""
    tp = fp = fn = tn = 0
    for flagged, label in pairs:
        tp += flagged and label
        fp += flagged and not label
        fn += label and not flagged
        tn += not (flagged or label)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "injections": tp + fn,
        "benign": fp + tn,
        "precision": round(precision, 4) if tp + fp else None,
        "recall": _rate(tp, tp + fn),
        "f1": round(f1, 4) if tp + fn else None,
        "fpr": _rate(fp, fp + tn),
    }


def _confusion_by(
    key: str, rows: Sequence[dict[str, Any]], flagged: Sequence[bool]
) -> dict[str, dict[str, Any]]:
    """``_confusion`` per value of ``key``; empty when the rows do not carry ``key``."""
    groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for row, f in zip(rows, flagged, strict=True):
        if key in row:
            groups[str(row[key])].append((f, bool(row["label"])))
    return {k: _confusion(v) for k, v in sorted(groups.items())}


# -- scanner ------------------------------------------------------------------------------------


def score_scanner(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Precision, recall, F1, false-positive rates and latency of the shipped scanner."""
    from codemode.scanner import Scanner

    scanner = Scanner()
    scanner.scan_text("warm up the patterns and load the model")
    flagged: list[bool] = []
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    for row in rows:
        scanner.clear_cache()  # every item cold, as the benchmark measures it
        cpu, wall = time.process_time(), time.perf_counter()
        verdict = scanner.scan_text(row["text"])
        cpu_ms.append((time.process_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
        flagged.append(verdict.injection)

    overall = _confusion(zip(flagged, (bool(r["label"]) for r in rows), strict=True))
    pos = [(r, f) for r, f in zip(rows, flagged, strict=True) if r["label"]]
    neg = [(r, f) for r, f in zip(rows, flagged, strict=True) if not r["label"]]
    return {
        "items": len(rows),
        "injections": len(pos),
        "benign": len(neg),
        "tier2_available": scanner.classifier is not None,
        "precision": overall["precision"] or 0.0,
        "recall": overall["recall"] or 0.0,
        "f1": overall["f1"] or 0.0,
        "fpr_benign": overall["fpr"],
        "by_domain": _confusion_by("domain", rows, flagged),
        "by_language": _confusion_by("language", rows, flagged),
        "by_source": _confusion_by("source", rows, flagged),
        "recall_by_style": _group((_family(r["style"]), f) for r, f in pos),
        "recall_by_obfuscation": _group(
            (r["style"], f) for r, f in pos if r["style"].startswith("obfuscated_")
        ),
        "recall_by_language": _group((r["language"], f) for r, f in pos),
        "recall_by_carrier": _group((r["carrier"], f) for r, f in pos),
        "fpr_by_style": _group((r["style"], f) for r, f in neg),
        "fpr_by_language": _group((r["language"], f) for r, f in neg),
        "fpr_by_carrier": _group((r["carrier"], f) for r, f in neg),
        "recall_english": _rate(
            sum(f for r, f in pos if r["language"] == "en"),
            sum(1 for r, _ in pos if r["language"] == "en"),
        ),
        "recall_other_languages": _rate(
            sum(f for r, f in pos if r["language"] != "en"),
            sum(1 for r, _ in pos if r["language"] != "en"),
        ),
        "cpu_p50_ms": _percentile(cpu_ms, 50),
        "cpu_p95_ms": _percentile(cpu_ms, 95),
        "wall_p50_ms": _percentile(wall_ms, 50),
        "wall_p95_ms": _percentile(wall_ms, 95),
        "missed": [r["text"][:120] for r, f in pos if not f],
        "false_positives": [r["text"][:120] for r, f in neg if f],
    }


def _family(style: str) -> str:
    """Obfuscated variants pool under one style; their split is reported on its own."""
    return "obfuscated" if style.startswith("obfuscated") else style


# -- search -------------------------------------------------------------------------------------


def score_search(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Top-1/top-5/MRR of the shipped ranker, and how often unserved requests get 'none'."""
    from codemode.catalog import load_catalog
    from codemode.search import SearchIndex

    catalog = load_catalog()
    index = SearchIndex(catalog)
    graded: list[tuple[str, bool, int]] = []
    wrong: list[dict[str, Any]] = []
    for row in rows:
        if not row["answers"]:
            continue
        order = index.rank(row["query"])
        pos = min((order.index(a) for a in row["answers"] if a in order), default=len(order))
        graded.append((row["style"], catalog[row["answers"][0]].core, pos))
        if pos:
            wrong.append({"query": row["query"], "want": row["answers"], "got": order[:3]})
    unserved = [r["query"] for r in rows if not r["answers"]]
    said_none = [q for q in unserved if not index.serves(q)]
    answerable_none = sum(1 for r in rows if r["answers"] and not index.serves(r["query"]))

    queries = [r["query"] for r in rows]
    for q in queries:  # warm the typo and stem caches as a long-lived server has them
        index.search(q)
    wall_ms: list[float] = []
    cpu_ms: list[float] = []
    for q in queries:
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        index.search(q)
        wall_ms.append((time.perf_counter_ns() - wall) / 1e6)
        cpu_ms.append((time.thread_time_ns() - cpu) / 1e6)

    said = len(said_none) + answerable_none
    return {
        **_ranks([p for _, _, p in graded]),
        "core": _ranks([p for _, core, p in graded if core]),
        "other": _ranks([p for _, core, p in graded if not core]),
        "by_style": {
            s: _ranks([p for st, _, p in graded if st == s])
            for s in sorted({s for s, _, _ in graded})
        },
        "unserved": {
            "n": len(unserved),
            "said_no_operation": len(said_none),
            "answerable_wrongly_said_none": answerable_none,
            "precision": round(len(said_none) / said, 4) if said else None,
            "recall": _rate(len(said_none), len(unserved)),
            "missed": [q for q in unserved if q not in said_none],
        },
        "cpu_p50_ms": round(statistics.median(cpu_ms), 4) if cpu_ms else None,
        "wall_p50_ms": round(statistics.median(wall_ms), 4) if wall_ms else None,
        "not_top1": wrong,
    }


def _ranks(positions: Sequence[int]) -> dict[str, Any]:
    n = len(positions)
    return {
        "n": n,
        "top1": _rate(sum(p < 1 for p in positions), n),
        "top5": _rate(sum(p < 5 for p in positions), n),
        "mrr": round(sum(1 / (p + 1) for p in positions) / n, 4) if n else None,
    }


# -- output -------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:5.1f}%"


def _print_groups(
    title: str, groups: dict[str, dict[str, Any]], out: Callable[[str], None]
) -> None:
    out(f"  {title}:")
    for key, g in groups.items():
        out(f"    {key:<28} n={g['n']:<4} {_pct(g['rate'])}")


def _print_confusion(
    title: str, groups: dict[str, dict[str, Any]], out: Callable[[str], None]
) -> None:
    out(f"  {title} (P / R / F1 over its injections and benign texts, FP rate on its benign):")
    for key, g in groups.items():
        f1 = "  n/a" if g["f1"] is None else f"{g['f1']:.3f}"
        out(
            f"    {key:<16} inj={g['injections']:<4} ben={g['benign']:<4} "
            f"P {_pct(g['precision'])}  R {_pct(g['recall'])}  F1 {f1}  FP {_pct(g['fpr'])}"
        )


def _print_list(title: str, items: Sequence[str], out: Callable[[str], None]) -> None:
    out(f"  {title}:")
    for item in items:
        out(f"    - {item}")


def print_report(result: dict[str, Any], *, details: bool, out: Callable[[str], None]) -> None:
    """Human-readable tables of ``result`` (the ``--json`` object)."""
    scan = result.get("scanner")
    if scan:
        out(
            f"scanner on {scan['items']} items ({scan['injections']} injections, "
            f"{scan['benign']} benign), tier 2 {'on' if scan['tier2_available'] else 'OFF'}"
        )
        out(
            f"  precision {scan['precision']:.3f}  recall {scan['recall']:.3f}  F1 {scan['f1']:.3f}"
            f"  FP rate on benign {_pct(scan['fpr_benign'])}"
        )
        out(
            f"  recall English {_pct(scan['recall_english'])}, other languages "
            f"{_pct(scan['recall_other_languages'])}"
        )
        out(
            f"  CPU p50 {scan['cpu_p50_ms']} ms, p95 {scan['cpu_p95_ms']} ms "
            f"(wall p50 {scan['wall_p50_ms']} ms, p95 {scan['wall_p95_ms']} ms)"
        )
        _print_groups("recall by style", scan["recall_by_style"], out)
        _print_groups("recall by obfuscation", scan["recall_by_obfuscation"], out)
        _print_groups("recall by carrier", scan["recall_by_carrier"], out)
        _print_groups("recall by language", scan["recall_by_language"], out)
        _print_groups("false-positive rate by benign style", scan["fpr_by_style"], out)
        _print_groups("false-positive rate by carrier", scan["fpr_by_carrier"], out)
        _print_groups("false-positive rate by language", scan["fpr_by_language"], out)
        for key in ("domain", "language", "source"):
            if scan[f"by_{key}"] and any(
                r["injections"] and r["benign"] for r in scan[f"by_{key}"].values()
            ):
                _print_confusion(f"by {key}", scan[f"by_{key}"], out)
        if details:
            _print_list("missed injections", [repr(t) for t in scan["missed"]], out)
            _print_list("false positives", [repr(t) for t in scan["false_positives"]], out)
    search = result.get("search")
    if search:
        out(
            f"search on {search['n']} answerable queries: top-1 {_pct(search['top1'])}, "
            f"top-5 {_pct(search['top5'])}, MRR {search['mrr']:.3f}; "
            f"p50 {search['wall_p50_ms']} ms wall, {search['cpu_p50_ms']} ms CPU"
        )
        slices = {"core": search["core"], "other": search["other"], **search["by_style"]}
        for name, r in slices.items():
            if r["n"]:
                out(
                    f"  {name:<14} n={r['n']:<4} top-1 {_pct(r['top1'])}  "
                    f"top-5 {_pct(r['top5'])}  MRR {r['mrr']:.3f}"
                )
        u = search["unserved"]
        out(
            f"  unserved: 'no operation does this' on {u['said_no_operation']}/{u['n']}; said "
            f"wrongly on {u['answerable_wrongly_said_none']} answerable queries "
            f"(precision {u['precision']}, recall {u['recall']})"
        )
        if details:
            wrong = [
                f"{w['query']!r}: want {w['want']}, got {w['got']}" for w in search["not_top1"]
            ]
            _print_list("not ranked first", wrong, out)
            _print_list("unserved requests answered with an operation", u["missed"], out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; print tables, or JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--only", choices=("scanner", "search"), help="evaluate one of the two systems"
    )
    parser.add_argument("--limit", type=int, help="first N rows of each set (a quick check)")
    parser.add_argument("--details", action="store_true", help="list misses and false positives")
    parser.add_argument(
        "--set", choices=sorted(SETS), default="outsider", help="which outsider's two sets to score"
    )
    parser.add_argument("--injection", type=Path, help="injection set (overrides --set)")
    parser.add_argument("--search", type=Path, help="search query set (overrides --set)")
    args = parser.parse_args(argv)
    injection_set, search_set = SETS[args.set]

    result: dict[str, Any] = {}
    if args.only in (None, "scanner"):
        rows = load_jsonl(args.injection or injection_set)[: args.limit]
        result["scanner"] = score_scanner(rows)
    if args.only in (None, "search"):
        rows = load_jsonl(args.search or search_set)[: args.limit]
        result["search"] = score_search(rows)
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        print_report(result, details=args.details, out=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Held-out figures for ``codemode bench search``: the whole API, unserved requests, agent tasks.

``heldout_untouched.jsonl`` was written and committed before any tuning on the 345 operations
and is never read while tuning; ``heldout_tuning.jsonl`` is the set tuning looked at. Both name
answers by operation id; lines with no answer are requests no operation serves.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codemode.catalog import Catalog
from codemode.search import SearchIndex

__all__ = ["SETS", "WRAPPERS", "agent_tasks", "heldout", "wrapped"]

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "search"
SETS = {
    "untouched": "heldout_untouched.jsonl",
    "tuning": "heldout_tuning.jsonl",
    "untouched2": "heldout2_untouched.jsonl",
    "tuning2": "heldout2_tuning.jsonl",
    "untouched3": "heldout3_untouched.jsonl",
    "untouched4": "heldout4_untouched.jsonl",
    # Written in the same round, after the untouched fifth set, to tune on (issue #17, round 3).
    "tuning4": "heldout4_tuning.jsonl",
    # Written by an outside writer and merged after this round's tuning (tools/eval_outsider.py).
    "outsider": "outsider_untouched.jsonl",
    # Written later by other writers, each before the ranking it measures was tuned (rounds 4-6).
    "outsider2": "outsider2_untouched.jsonl",
    "outsider3": "outsider3_untouched.jsonl",
    "outsider4": "outsider4_untouched.jsonl",
    "outsider5": "outsider5_untouched.jsonl",
    # Written before rounds 9 and 11 (shorthand, second-language word order, UI screen names; an
    # agent's planning step, code comments, concrete values, negation, ops lingo, regional).
    "untouched5": "heldout5_untouched.jsonl",
    "untouched6": "heldout6_untouched.jsonl",
}

# Context a marketer wraps around a request; each tuning query is put inside one (drawn with a
# fixed seed). Written before the clause reading of long requests was built and never tuned on
# (the four it was tuned on live only in that round's notes), so ``wrapped`` measures how much a
# request's context costs the ranking.
WRAPPERS = (
    "Hey there, hope your week is going well. Our agency manages this account for a client and "
    "they want us to {q}; what's the right way to do that in Klaviyo?",
    "I run a small candle shop and honestly I'm not technical at all. My developer left last "
    "month. I'm trying to {q}. Any pointers would be appreciated, cheers.",
    "Ok so context: we migrated from Mailchimp in spring and a few things are still messy. Right "
    "now the priority is to {q}, then we can clean up the rest later.",
    "Before our holiday sale starts on Monday I'd really like to {q} -- can the API do that, and "
    "which call should I make?",
)
_TUNING = ("tuning", "tuning2")  # the wrapped figure stays comparable across rounds


def _stats(positions: list[int]) -> dict[str, float]:
    n = len(positions) or 1
    return {
        "n": len(positions),
        "top1": round(sum(p < 1 for p in positions) / n, 4),
        "top5": round(sum(p < 5 for p in positions) / n, 4),
        "mrr": round(sum(1 / (p + 1) for p in positions) / n, 4),
    }


def _evaluate(index: SearchIndex, rows: list[dict[str, Any]], catalog: Catalog) -> dict[str, Any]:
    graded: list[tuple[str, bool, int]] = []
    unserved = [r["query"] for r in rows if not r["answers"]]
    for r in rows:
        if not r["answers"]:
            continue
        order = index.rank(r["query"])
        pos = min((order.index(a) for a in r["answers"] if a in order), default=len(order))
        graded.append((r["style"], catalog[r["answers"][0]].core, pos))
    styles = sorted({s for s, _, _ in graded})
    flagged = [q for q in unserved if not index.serves(q)]
    false_flags = sum(1 for r in rows if r["answers"] and not index.serves(r["query"]))
    said = len(flagged) + false_flags
    return {
        **_stats([p for _, _, p in graded]),
        "core": _stats([p for _, c, p in graded if c]),
        "other": _stats([p for _, c, p in graded if not c]),
        "by_style": {s: _stats([p for st, _, p in graded if st == s]) for s in styles},
        "unserved": {
            "n": len(unserved),
            "said_no_operation": len(flagged),
            "answerable_wrongly_said_none": false_flags,
            "precision": round(len(flagged) / said, 4) if said else None,
            "recall": round(len(flagged) / len(unserved), 4) if unserved else None,
        },
    }


def heldout(index: SearchIndex, catalog: Catalog) -> dict[str, Any]:
    """Top-1/top-5/MRR on each held-out set, split core / other operations and by style."""
    out: dict[str, Any] = {}
    for name, file in SETS.items():
        path = DATA / file
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        out[name] = _evaluate(index, rows, catalog)
    return out


def wrapped(index: SearchIndex, catalog: Catalog) -> dict[str, Any]:
    """The tuning sets with every query wrapped in one of ``WRAPPERS``: top-1/top-5 and unserved."""
    rnd = random.Random(17)
    rows: list[dict[str, Any]] = []
    for name in _TUNING:
        lines = (DATA / SETS[name]).read_text(encoding="utf-8").splitlines()
        for line in lines:
            if line.strip():
                row = json.loads(line)
                query = rnd.choice(WRAPPERS).format(q=row["query"].rstrip("?.! "))
                rows.append({**row, "query": query})
    return _evaluate(index, rows, catalog)


def agent_tasks(runner: Callable[[], list[dict[str, Any]]]) -> dict[str, Any]:
    """Summary of the agent-style tasks (``codemode.bench.agent``) that ``runner`` ran."""
    rows = runner()
    n = len(rows) or 1
    return {
        "tasks": len(rows),
        "first_scripts_ok": sum(r["first_script_ok"] for r in rows),
        "first_script_rate": round(sum(r["first_script_ok"] for r in rows) / n, 4),
        "found_in_search": sum(r["found_in_search"] for r in rows),
        # Answers held to the simulator's store (writes: the state left); None rows have no check.
        "answers_checked": sum(r.get("checked") is not None for r in rows),
        "answers_right": sum(bool(r.get("checked")) for r in rows),
        "round_trips_per_task": sum(r["round_trips"] for r in rows) / n,
        "median_result_tokens": sorted(r["result_tokens"] for r in rows)[len(rows) // 2],
        "rows": rows,
    }

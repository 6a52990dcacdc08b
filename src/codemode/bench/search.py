"""``codemode bench search``: ranking quality and latency of ``search_api`` on the dev queries.

Measured in one run, on the same machine: the shipped ranker, the lexical floor from
``../shared/data/search/README.md`` (rank_bm25 over the seed descriptions) and rank_bm25 over the
project's own summaries, plus ablations that switch one signal off at a time so every signal shows
what it earns. Figures are split by query style and by half: the weights were tuned on the even
lines (half A) and the odd lines (half B) were held out.
"""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from codemode.bench._heldout import agent_tasks, heldout, wrapped
from codemode.catalog import Catalog, load_catalog
from codemode.errors import ConfigError
from codemode.search import SearchIndex, Weights, get_signatures, render_signatures
from codemode.search._documents import own_summary
from codemode.search._index import learned_weights
from codemode.search._semantic import query_vector

__all__ = ["evaluate", "load_dev_queries", "run", "shared_dir"]

Ranker = Callable[[str], list[str]]


REPO = Path(__file__).resolve().parents[3]
DEV_QUERIES = REPO / "tests" / "data" / "search" / "dev_queries.jsonl"


def shared_dir() -> Path:
    """``../shared`` beside the repository: only the optional seed-text baseline reads it."""
    return REPO.parent / "shared"


def load_dev_queries(path: Path | None = None) -> list[dict[str, Any]]:
    """The dev queries (vendored in ``tests/data/search/``), each with its line index (``i``).

    Raises:
        ConfigError: the file is missing (an installed package has no ``tests/``: run the
            benchmark from a checkout).
    """
    path = path or DEV_QUERIES
    if not path.is_file():
        raise ConfigError(
            f"{path.name} not found: the search benchmark reads tests/data/search/ of a checkout; "
            "run it from the repository (`make bench`)"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    return [dict(json.loads(line), i=i) for i, line in enumerate(lines) if line.strip()]


def _answers(catalog: Catalog) -> dict[int, str]:
    return {a.n: a.id for a in catalog.values() if a.n is not None}


def evaluate(
    rank: Ranker, queries: Sequence[dict[str, Any]], by_n: dict[int, str]
) -> dict[str, Any]:
    """Top-1/3/5 and MRR of ``rank`` over ``queries``, overall, by style and by half."""
    rows: list[tuple[str, str, int]] = []
    for q in queries:
        order = rank(q["query"])
        wanted = {by_n[n] for n in q["answers"]}
        pos = min((order.index(a) for a in wanted if a in order), default=len(order))
        rows.append((q["style"], "A" if q["i"] % 2 == 0 else "B", pos))

    def stats(sel: list[int]) -> dict[str, float]:
        n = len(sel) or 1
        return {
            "n": len(sel),
            "top1": round(sum(p < 1 for p in sel) / n, 4),
            "top3": round(sum(p < 3 for p in sel) / n, 4),
            "top5": round(sum(p < 5 for p in sel) / n, 4),
            "mrr": round(sum(1 / (p + 1) for p in sel) / n, 4),
        }

    styles = sorted({s for s, _, _ in rows})
    return {
        **stats([p for _, _, p in rows]),
        "by_style": {s: stats([p for st, _, p in rows if st == s]) for s in styles},
        "by_half": {h: stats([p for _, hh, p in rows if hh == h]) for h in ("A", "B")},
    }


def _latency(
    call: Callable[[str], object], queries: Sequence[str], repeat: int
) -> dict[str, float]:
    """Wall and CPU (thread) time per call; on a shared machine the CPU figure is the steadier one."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        for q in queries:
            c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
            call(q)
            wall.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
    wall.sort()
    cpu.sort()
    return {
        "p50_ms": round(statistics.median(wall), 4),
        "p95_ms": round(wall[int(0.95 * (len(wall) - 1))], 4),
        "cpu_p50_ms": round(statistics.median(cpu), 4),
        "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 4),
    }


def _uncached(index: SearchIndex) -> Callable[[str], object]:
    def call(query: str) -> object:
        query_vector.cache_clear()
        return index.search(query)

    return call


def _bm25_ranker(ids: list[str], texts: list[str]) -> Ranker:
    """rank_bm25 BM25Okapi over ``texts`` with lowercase word tokens (the README's floor)."""
    from rank_bm25 import BM25Okapi  # type: ignore[import-untyped]

    def tok(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    bm25 = BM25Okapi([tok(t) for t in texts])

    def rank(query: str) -> list[str]:
        scores = bm25.get_scores(tok(query))
        return [ids[j] for j in sorted(range(len(ids)), key=lambda j: -scores[j])]

    return rank


def _seed_texts(catalog: Catalog) -> tuple[list[str], list[str]] | None:
    path = shared_dir() / "spec" / "actions.json"
    if not path.is_file():
        return None
    seeds = {a["id"]: a["seed"] for a in json.loads(path.read_text(encoding="utf-8"))["actions"]}
    ids = [a.id for a in catalog.core() if a.id in seeds]
    return ids, [seeds[i] for i in ids]


def _ablations(weights: Weights) -> dict[str, Weights]:
    """The shipped weights with one signal switched off."""
    no_facets = tuple((f, 0.0) for f, _ in weights.facets)
    return {
        "without intent (facets, heads)": dataclasses.replace(weights, facets=no_facets, head=0.0),
        "without domain concepts": dataclasses.replace(weights, concept=0.0),
        "without exact id/route": dataclasses.replace(
            weights, exact_id=0.0, exact_route=0.0, route_method=0.0, method_word=0.0
        ),
        "without typo repair": dataclasses.replace(weights, typos=False),
        "without semantic tie-breaker": dataclasses.replace(weights, semantic=0.0),
        "without static embedding": dataclasses.replace(weights, static=0.0),
        "without name coverage": dataclasses.replace(weights, coverage=0.0),
        "without denied-word terms": dataclasses.replace(weights, negated=0.0),
        "summary+keywords fields only": dataclasses.replace(
            weights,
            fields=tuple(
                (f, w if f in ("summary", "keywords") else 0.0) for f, w in weights.fields
            ),
        ),
    }


def _signature_sizes(catalog: Catalog) -> dict[str, Any]:
    """Size of what get_signature returns per action (characters; about 4 per token)."""
    sigs, _ = get_signatures(list(catalog), catalog)
    sizes = sorted(len(render_signatures([s], [])) for s in sigs)
    return {
        "actions": len(sizes),
        "median_chars": statistics.median(sizes),
        "p95_chars": sizes[int(0.95 * (len(sizes) - 1))],
        "max_chars": sizes[-1],
        "median_tokens_est": round(statistics.median(sizes) / 4),
    }


def _reachability(index: SearchIndex, catalog: Catalog) -> dict[str, Any]:
    """Each core action is found by what its summary says of it: the summary without its
    pointers to other operations ("...; to halt a scheduled send use cancel_campaign_send"),
    which name the other operation outright."""
    ids = frozenset(catalog)
    misses = [a.id for a in catalog.core() if a.id not in index.rank(own_summary(a, ids))[:3]]
    return {
        "actions": len(catalog.core()),
        "summary_in_top3": len(catalog.core()) - len(misses),
        "misses": misses,
    }


def run(*, quick: bool, console: Console) -> dict[str, Any]:
    """Run the benchmark, print its tables and return the JSON-serialisable result."""
    catalog = load_catalog()
    queries = load_dev_queries()
    if quick:
        queries = queries[::3]  # both halves stay represented
    by_n = _answers(catalog)
    texts = [q["query"] for q in queries]

    # The first build also fills the process-wide stem cache; later ones show a warm process.
    builds: list[float] = []
    cpu_builds: list[float] = []
    for _ in range(3 if quick else 7):
        c0, t0 = time.process_time(), time.perf_counter()
        index = SearchIndex(catalog)
        builds.append((time.perf_counter() - t0) * 1000)
        cpu_builds.append((time.process_time() - c0) * 1000)
    build = {
        "first_ms": round(builds[0], 2),
        "median_ms": round(statistics.median(builds), 2),
        "cpu_first_ms": round(cpu_builds[0], 2),
        "cpu_median_ms": round(statistics.median(cpu_builds), 2),
    }

    for q in texts:  # warm the typo and stem caches as a long-lived server would have them
        index.search(q)
    results: dict[str, Any] = {"codemode": evaluate(index.rank, queries, by_n)}
    # A server rarely sees the same query twice: the encoder's query cache is emptied before each
    # timed call, so an unsure query pays its encoder pass (the typo and stem caches stay warm).
    latency = {"codemode": _latency(_uncached(index), texts, 1 if quick else 5)}

    baselines: dict[str, tuple[list[str], list[str]]] = {}
    seeds = _seed_texts(catalog)
    if seeds:
        baselines["bm25 seeds (README floor)"] = seeds
    else:
        console.print(
            "[dim]bm25 seeds baseline left out: the listing's seed sentences live in "
            "../shared/spec/actions.json, which is not beside this checkout[/dim]"
        )
    builtin = catalog.core()
    baselines["bm25 summaries only"] = (
        [a.id for a in builtin],
        [a.summary for a in builtin],
    )
    for name, (ids, docs) in baselines.items():
        ranker = _bm25_ranker(ids, docs)
        results[name] = evaluate(ranker, queries, by_n)
        latency[name] = _latency(ranker, texts, 1)

    ablations: dict[str, Any] = {}
    if not quick:
        for name, weights in _ablations(index.weights).items():
            ablations[name] = evaluate(SearchIndex(catalog, weights=weights).rank, queries, by_n)

    reach = _reachability(index, catalog)
    signatures = _signature_sizes(catalog)
    held = heldout(index, catalog)
    # Held-out figures of two variants: no semantic tie-breaker (the lexical ranking alone), and
    # the same signals weighted as learned from structure-generated queries (not shipped).
    variants = {
        "without semantic tie-breaker": heldout(
            SearchIndex(catalog, weights=dataclasses.replace(index.weights, semantic=0.0)), catalog
        ),
        "learned weights": heldout(SearchIndex(catalog, weights=learned_weights()), catalog),
        "without clause reading": heldout(
            SearchIndex(catalog, weights=dataclasses.replace(index.weights, clauses=False)), catalog
        ),
    }
    # Tuning queries wrapped in a marketer's context, read by clause and whole (same run).
    context = {
        "shipped": wrapped(index, catalog),
        "without clause reading": wrapped(
            SearchIndex(catalog, weights=dataclasses.replace(index.weights, clauses=False)), catalog
        ),
    }
    agent: dict[str, Any] = {}
    if not quick:
        import tempfile

        from codemode.bench.agent import run_on_demo

        with tempfile.TemporaryDirectory() as tmp:
            agent = agent_tasks(lambda: run_on_demo(Path(tmp)))
    _print_heldout(console, held, agent)
    _print_variants(console, held, variants)
    console.print(
        "tuning queries wrapped in context (top-1 / top-5; unserved said none): "
        + "; ".join(
            f"{label} {_pct(c['top1'])} / {_pct(c['top5'])}; "
            f"{c['unserved']['said_no_operation']}/{c['unserved']['n']}"
            for label, c in context.items()
        ),
        highlight=False,
    )
    _print(console, results, latency, build, ablations, reach)
    console.print(
        f"get_signature size: median {signatures['median_chars']} chars (~{signatures['median_tokens_est']} tokens), "
        f"p95 {signatures['p95_chars']}, max {signatures['max_chars']} over {signatures['actions']} actions",
        highlight=False,
    )
    main = results["codemode"]
    summary = {
        "top1": main["top1"],
        "top3": main["top3"],
        "top5": main["top5"],
        "mrr": main["mrr"],
        "half_A_tuned_top1": main["by_half"]["A"]["top1"],
        "half_B_heldout_top1": main["by_half"]["B"]["top1"],
        "p50_ms": latency["codemode"]["p50_ms"],
        "p95_ms": latency["codemode"]["p95_ms"],
        "cpu_p50_ms": latency["codemode"]["cpu_p50_ms"],
        "build_ms": build["median_ms"],
        "build_cpu_ms": build["cpu_median_ms"],
        "baseline_bm25_top1": results.get(
            "bm25 seeds (README floor)", results["bm25 summaries only"]
        )["top1"],
        "summary_reachability_top3": f"{reach['summary_in_top3']}/{reach['actions']}",
        "queries": len(queries),
        "signature_median_chars": signatures["median_chars"],
        "operations": len(catalog),
        **{f"{name}_{k}": held[name][k] for name in held for k in ("top1", "top5", "mrr", "n")},
        **{
            f"{name}_{part}_top1": held[name][part]["top1"]
            for name in held
            if name.startswith("untouched")
            for part in ("core", "other")
        },
        **{
            f"{name}_unserved_said_none": (
                f"{held[name]['unserved']['said_no_operation']}/{held[name]['unserved']['n']}"
            )
            for name in held
            if name.startswith("untouched")
        },
        **{
            f"{name}_unserved_{k}": held[name]["unserved"][k]
            for name in held
            if name.startswith("untouched")
            for k in ("precision", "recall")
        },
        **{
            f"{label.replace(' ', '_')}_{name}_top1": figures[name]["top1"]
            for label, figures in variants.items()
            for name in figures
        },
        **{
            f"wrapped_{label.replace(' ', '_')}_{k}": figures[k]
            for label, figures in context.items()
            for k in ("top1", "top5")
        },
        "agent_first_scripts_ok": (
            f"{agent['first_scripts_ok']}/{agent['tasks']}" if agent else None
        ),
    }
    return {
        "summary": summary,
        "results": results,
        "latency": latency,
        "build": build,
        "ablations": ablations,
        "reachability": reach,
        "signatures": signatures,
        "heldout": held,
        "heldout_variants": variants,
        "wrapped_in_context": context,
        "agent_tasks": agent,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _print(
    console: Console,
    results: dict[str, Any],
    latency: dict[str, Any],
    build: dict[str, float],
    ablations: dict[str, Any],
    reach: dict[str, Any],
) -> None:
    table = Table(title="search_api on the dev queries")
    for col in (
        "ranker",
        "top-1",
        "top-3",
        "top-5",
        "MRR",
        "p50 ms",
        "p95 ms",
        "CPU p50",
        "CPU p95",
    ):
        table.add_column(col, justify="left" if col == "ranker" else "right")
    for name, r in results.items():
        lat = latency[name]
        table.add_row(
            name,
            _pct(r["top1"]),
            _pct(r["top3"]),
            _pct(r["top5"]),
            f"{r['mrr']:.3f}",
            *(f"{lat[k]:.3f}" for k in ("p50_ms", "p95_ms", "cpu_p50_ms", "cpu_p95_ms")),
        )
    console.print(table)
    main = results["codemode"]
    split = Table(title="codemode by query style and half (A tuned, B held out)")
    for col in ("slice", "n", "top-1", "top-3", "top-5", "MRR"):
        split.add_column(col, justify="left" if col == "slice" else "right")
    slices = {**main["by_style"], **{f"half {h}": v for h, v in main["by_half"].items()}}
    for name, r in slices.items():
        split.add_row(
            name, str(r["n"]), _pct(r["top1"]), _pct(r["top3"]), _pct(r["top5"]), f"{r['mrr']:.3f}"
        )
    console.print(split)
    if ablations:
        abl = Table(title="ablations: one signal off at a time")
        for col in ("variant", "top-1", "top-5", "MRR"):
            abl.add_column(col, justify="left" if col == "variant" else "right")
        abl.add_row("shipped", _pct(main["top1"]), _pct(main["top5"]), f"{main['mrr']:.3f}")
        for name, r in ablations.items():
            abl.add_row(name, _pct(r["top1"]), _pct(r["top5"]), f"{r['mrr']:.3f}")
        console.print(abl)
    console.print(
        f"index build {build['median_ms']:.1f} ms wall / {build['cpu_median_ms']:.1f} ms CPU (median), "
        f"first in process {build['first_ms']:.1f} ms wall / {build['cpu_first_ms']:.1f} ms CPU; "
        f"own summary ranks its action in the top 3 for {reach['summary_in_top3']}/{reach['actions']} actions",
        highlight=False,
    )


def _print_heldout(console: Console, held: dict[str, Any], agent: dict[str, Any]) -> None:
    table = Table(
        title="search_api over all operations: held-out sets (untouched = never tuned on)"
    )
    for col in ("set / slice", "n", "top-1", "top-5", "MRR"):
        table.add_column(col, justify="left" if col == "set / slice" else "right")
    for name, r in held.items():
        slices = {name: r, f"{name} core": r["core"], f"{name} other": r["other"]}
        slices.update({f"{name} {s}": v for s, v in r["by_style"].items()})
        for label, v in slices.items():
            table.add_row(label, str(v["n"]), _pct(v["top1"]), _pct(v["top5"]), f"{v['mrr']:.3f}")
    console.print(table)
    for name, r in held.items():
        u = r["unserved"]
        console.print(
            f"{name}: 'no operation does this' on {u['said_no_operation']}/{u['n']} unserved "
            f"requests; said wrongly on {u['answerable_wrongly_said_none']} answerable ones "
            f"(precision {u['precision']}, recall {u['recall']})",
            highlight=False,
        )
    if agent:
        console.print(
            f"agent tasks: {agent['first_scripts_ok']}/{agent['tasks']} first scripts ran; "
            f"{agent['found_in_search']} found by their first search; "
            f"{agent.get('answers_right', 0)}/{agent.get('answers_checked', 0)} answers right "
            "against the store; median "
            f"{agent['median_result_tokens']} result tokens over {agent['round_trips_per_task']:.0f} round trips",
            highlight=False,
        )


def _print_variants(
    console: Console, held: dict[str, Any], variants: dict[str, dict[str, Any]]
) -> None:
    table = Table(
        title="held-out top-1 / MRR: shipped vs variants (learned weights: "
        "tools/gen_search_weights.py, from structure-generated queries)"
    )
    table.add_column("set")
    for label in ("shipped", *variants):
        table.add_column(label, justify="right")
    for name, r in held.items():
        cells = [r, *(v[name] for v in variants.values())]
        table.add_row(name, *(f"{_pct(c['top1'])} / {c['mrr']:.3f}" for c in cells))
    console.print(table)

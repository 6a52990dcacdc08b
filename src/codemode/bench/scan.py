"""``codemode bench scan``: scanner quality and latency, with StackOne Defender measured alongside.

Two evaluations, pooled for the headline:

- **dev**: ``../shared/data/injection/dev.jsonl`` scored by the shipped model. In-distribution
  (same sources and templates as train), so it flatters any model.
- **leave-source-out**: for each family of sources (``training.train.FAMILIES``), a model is
  retrained with the training script's own ``fit`` on every other family plus the synthetic data,
  and scores the left-out family. This is the figure that says something about new sources.

Reported: precision, recall, F1, false-positive rate on benign marketing (``klaviyo-synth`` and
``klaviyo-synth-json``) and on command-sounding marketing (``klaviyo-synth-hardneg``), and latency
per item (p50/p95, cold cache) for plain text and for whole JSON responses. Latency is the
process's CPU time per item (``time.process_time``: the cost on one core, which stays honest on a
shared, loaded machine; for a multi-threaded peer it adds up all its threads); wall-clock
percentiles are reported beside it. StackOne
Defender (``stackone-defender[onnx]``, the ``bench`` extra) runs on a sample of the same items in the
same run; its figures and ours on that sample give the ratios. When it cannot run, the row stays
with the reason.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from codemode.errors import ConfigError
from codemode.scanner import Scanner

__all__ = ["run"]

_SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "injection"
_MARKETING = frozenset({"klaviyo-synth", "klaviyo-synth-json"})
_HARDNEG = frozenset({"klaviyo-synth-hardneg"})
_TARGETS = {"f1": 0.90, "fpr_marketing": 0.02, "p50_ms": 5.0, "p95_ms": 20.0}


@dataclass
class _Scored:
    """Per-item results of one system on a list of rows."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)  # CPU time of the process: cost on one core
    wall_ms: list[float] = field(default_factory=list)
    error: str | None = None

    def add(
        self, row: dict[str, Any], flagged: bool, ms: float, wall_ms: float | None = None
    ) -> None:
        self.rows.append(row)
        self.flagged.append(flagged)
        self.ms.append(ms)
        self.wall_ms.append(ms if wall_ms is None else wall_ms)

    def extend(self, other: _Scored) -> None:
        self.rows += other.rows
        self.flagged += other.flagged
        self.ms += other.ms
        self.wall_ms += other.wall_ms


def _load(name: str) -> list[dict[str, Any]]:
    path = _SHARED / name
    if not path.is_file():
        raise ConfigError(
            f"the scanner benchmark needs {path.name} in ../shared/data/injection beside the checkout"
        )
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _is_json(text: str) -> bool:
    stripped = text.strip()
    return stripped[:1] in "{[" and stripped[-1:] in "}]"


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _metrics(rows: Sequence[dict[str, Any]], flagged: Sequence[bool]) -> dict[str, Any]:
    labels = np.array([int(r["label"]) for r in rows], dtype=bool)
    pred = np.array(flagged, dtype=bool)
    tp = int((labels & pred).sum())
    fp = int((~labels & pred).sum())
    fn = int((labels & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def fpr(sources: frozenset[str]) -> float | None:
        picked = [
            p
            for r, p in zip(rows, flagged, strict=True)
            if r["source"] in sources and not r["label"]
        ]
        return sum(picked) / len(picked) if picked else None

    return {
        "items": len(rows),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "fpr_benign": round(fp / max(1, int((~labels).sum())), 4),
        "fpr_marketing": None if (v := fpr(_MARKETING)) is None else round(v, 4),
        "fpr_hardneg": None if (v := fpr(_HARDNEG)) is None else round(v, 4),
    }


def _latency(scored: _Scored) -> dict[str, Any]:
    plain = [ms for r, ms in zip(scored.rows, scored.ms, strict=True) if not _is_json(r["text"])]
    whole = [ms for r, ms in zip(scored.rows, scored.ms, strict=True) if _is_json(r["text"])]
    return {
        "text_p50_ms": round(_percentile(plain, 50), 3),
        "text_p95_ms": round(_percentile(plain, 95), 3),
        "json_p50_ms": round(_percentile(whole, 50), 3),
        "json_p95_ms": round(_percentile(whole, 95), 3),
        "all_p50_ms": round(_percentile(scored.ms, 50), 3),
        "all_p95_ms": round(_percentile(scored.ms, 95), 3),
        "wall_p50_ms": round(_percentile(scored.wall_ms, 50), 3),
        "wall_p95_ms": round(_percentile(scored.wall_ms, 95), 3),
    }


def _score_ours(scanner: Scanner, rows: Sequence[dict[str, Any]], into: _Scored) -> None:
    for row in rows:
        scanner.clear_cache()  # every item cold: a fair per-item latency
        cpu, wall = time.process_time(), time.perf_counter()
        verdict = scanner.scan_text(row["text"])
        into.add(
            row,
            verdict.injection,
            (time.process_time() - cpu) * 1000.0,
            (time.perf_counter() - wall) * 1000.0,
        )


def _defender() -> tuple[Callable[[str], bool] | None, str | None]:
    try:
        from stackone_defender import create_prompt_defense  # type: ignore[import-not-found,import-untyped,unused-ignore]

        defense = create_prompt_defense()
        defense.defend_tool_result("warm-up: load the model", "bench")
    except Exception as exc:  # an optional peer: any failure becomes the row's reason
        return (
            None,
            f"StackOne Defender unavailable ({type(exc).__name__}: {exc}); pip install 'stackone-defender[onnx]'",
        )

    def flag(text: str) -> bool:
        value: Any = text
        if _is_json(text):
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        result = defense.defend_tool_result(value, "klaviyo_api")
        # With default settings `allowed` is always true; high or critical risk counts as flagged.
        return str(result.risk_level) in ("high", "critical")

    return flag, None


def _score_defender(
    flag: Callable[[str], bool] | None,
    error: str | None,
    rows: Sequence[dict[str, Any]],
    budget_s: float,
    into: _Scored,
) -> None:
    into.error = error
    if flag is None:
        return
    deadline = time.perf_counter() + budget_s
    for row in rows:
        if time.perf_counter() > deadline:
            into.error = f"time budget of {budget_s:.0f}s spent after {len(into.rows)} items"
            break
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            flagged = flag(row["text"])
        except Exception as exc:  # a peer's crash on one item must not end the benchmark
            into.error = f"failed on an item: {type(exc).__name__}: {exc}"
            break
        into.add(
            row,
            flagged,
            (time.process_time() - cpu) * 1000.0,
            (time.perf_counter() - wall) * 1000.0,
        )


def _leave_source_out(
    train_rows: list[dict[str, Any]],
    *,
    quick: bool,
    console: Console,
    rng: random.Random,
    threshold: float,
    c: float,
) -> tuple[_Scored, dict[str, dict[str, Any]]]:
    from codemode.scanner.training.synth import all_synthetic
    from codemode.scanner.training.train import FAMILIES, build_corpus, fit

    synthetic = all_synthetic()
    families = sorted(set(FAMILIES.values()))
    if quick:
        train_rows = rng.sample(train_rows, len(train_rows) // 8)
        synthetic = rng.sample(synthetic, len(synthetic) // 8)
        families = ["klaviyo-benign", "agentdojo"]
    every = train_rows + synthetic
    started = time.perf_counter()
    corpus = build_corpus(every)
    console.print(
        f"leave-source-out: {len(corpus.indices)} units featurised in {time.perf_counter() - started:.0f}s"
    )
    family_of = np.array([FAMILIES.get(r["source"], "synthetic") for r in every])
    pooled = _Scored("ours")
    per_family: dict[str, dict[str, Any]] = {}
    for name in families:
        started = time.perf_counter()
        # The shipped recipe, threshold included: only the left-out family is missing.
        model = fit(corpus, family_of != name, threshold=threshold, c=c)
        scanner = Scanner(classifier=model.classifier())
        held = [every[i] for i in np.flatnonzero(family_of == name)]
        scored = _Scored("ours")
        _score_ours(scanner, held, scored)
        pooled.extend(scored)
        per_family[name] = _metrics(scored.rows, scored.flagged)
        console.print(
            f"  {name}: retrained and scored {len(held)} rows in {time.perf_counter() - started:.0f}s"
        )
    return pooled, per_family


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or ours == 0:
        return None
    return round(theirs / ours, 2)


def run(*, quick: bool, console: Console) -> dict[str, Any]:
    """Run the benchmark (``quick``: a sample, two families, under about a minute)."""
    rng = random.Random(20261126)
    dev = _load("dev.jsonl")
    train_rows = _load("train.jsonl")
    if quick:
        dev = rng.sample(dev, 200)

    shipped = Scanner()
    if shipped.classifier is None:
        console.print(f"[yellow]shipped model unavailable: {shipped.tier2_error}[/yellow]")
    shipped.scan_text("warm up the regexes and the model")
    ours_dev = _Scored("ours")
    _score_ours(shipped, dev, ours_dev)
    from codemode.scanner.training.train import DEFAULT_C

    meta = shipped.classifier.meta if shipped.classifier is not None else {}
    threshold = float(meta.get("threshold", 0.5))
    pooled, per_family = _leave_source_out(
        train_rows,
        quick=quick,
        console=console,
        rng=rng,
        threshold=threshold,
        c=float(meta.get("c", DEFAULT_C)),
    )

    combined = _Scored("ours")
    combined.extend(ours_dev)
    combined.extend(pooled)
    # Defender on a sample of the same items (it is slow), ours re-read on exactly that sample.
    sample = rng.sample(combined.rows, min(len(combined.rows), 60 if quick else 400))
    flag, error = _defender()
    theirs = _Scored("stackone-defender")
    _score_defender(flag, error, sample, 30.0 if quick else 300.0, theirs)
    # On the paired sample our verdicts are the ones already counted above (the left-out
    # family's model for a leave-source-out item, never a model that trained on it); only the
    # latency is measured again, with the shipped model, next to Defender's.
    verdict_of = {id(r): f for r, f in zip(combined.rows, combined.flagged, strict=True)}
    timed = _Scored("ours")
    _score_ours(shipped, theirs.rows or sample, timed)
    ours_paired = _Scored("ours")
    for row, cpu, wall in zip(timed.rows, timed.ms, timed.wall_ms, strict=True):
        ours_paired.add(row, verdict_of[id(row)], cpu, wall)

    results: dict[str, Any] = {
        "dev": {**_metrics(ours_dev.rows, ours_dev.flagged), **_latency(ours_dev)},
        "leave_source_out": {**_metrics(pooled.rows, pooled.flagged), "families": per_family},
        "dev_and_leave_source_out": {
            **_metrics(combined.rows, combined.flagged),
            **_latency(combined),
        },
        "paired_sample": {
            "items": len(theirs.rows),
            "ours": {**_metrics(ours_paired.rows, ours_paired.flagged), **_latency(ours_paired)},
            "stackone_defender": (
                {**_metrics(theirs.rows, theirs.flagged), **_latency(theirs)}
                if theirs.rows
                else None
            ),
            "stackone_defender_error": theirs.error,
        },
        "tier2_available": shipped.classifier is not None,
        "quick": quick,
    }
    head = results["dev_and_leave_source_out"]
    ours_p = results["paired_sample"]["ours"]
    their_p = results["paired_sample"]["stackone_defender"] or {}
    results["summary"] = {
        "f1": head["f1"],
        "precision": head["precision"],
        "recall": head["recall"],
        "fpr_marketing": head["fpr_marketing"],
        "fpr_hardneg": head["fpr_hardneg"],
        "p50_ms": head["all_p50_ms"],
        "p95_ms": head["all_p95_ms"],
        "f1_dev": results["dev"]["f1"],
        "f1_leave_source_out": results["leave_source_out"]["f1"],
        "targets": _TARGETS,
        "targets_met": {
            "f1": head["f1"] >= _TARGETS["f1"],
            "fpr_marketing": (head["fpr_marketing"] or 0.0) <= _TARGETS["fpr_marketing"],
            "p50_ms": head["all_p50_ms"] <= _TARGETS["p50_ms"],
            "p95_ms": head["all_p95_ms"] <= _TARGETS["p95_ms"],
        },
        "defender_f1_same_items": their_p.get("f1"),
        "f1_same_items": ours_p["f1"],
        "defender_p50_ratio": _ratio(ours_p["all_p50_ms"], their_p.get("all_p50_ms")),
        "defender_p95_ratio": _ratio(ours_p["all_p95_ms"], their_p.get("all_p95_ms")),
        "defender_wall_p50_ratio": _ratio(ours_p["wall_p50_ms"], their_p.get("wall_p50_ms")),
        "defender_wall_p95_ratio": _ratio(ours_p["wall_p95_ms"], their_p.get("wall_p95_ms")),
        "defender_fpr_hardneg_same_items": their_p.get("fpr_hardneg"),
        "fpr_hardneg_same_items": ours_p["fpr_hardneg"],
        "threshold": threshold,
        "defender_error": theirs.error,
    }
    _print(console, results)
    return results


def _print(console: Console, results: dict[str, Any]) -> None:
    table = Table(title="scanner: quality and latency (per item, one core, cold cache)")
    for column in (
        "set",
        "system",
        "items",
        "P",
        "R",
        "F1",
        "FP mkt",
        "FP hardneg",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(column, justify="right" if column not in ("set", "system") else "left")

    def row(name: str, system: str, m: dict[str, Any] | None) -> None:
        if m is None:
            table.add_row(name, system, "-", "-", "-", "-", "-", "-", "-", "-")
            return

        def f(key: str) -> str:
            v = m.get(key)
            return (
                "-"
                if v is None or (isinstance(v, float) and v != v)
                else f"{v:.3f}"
                if key not in ("items",)
                else str(v)
            )

        table.add_row(
            name,
            system,
            str(m["items"]),
            f("precision"),
            f("recall"),
            f("f1"),
            f("fpr_marketing"),
            f("fpr_hardneg"),
            f("all_p50_ms"),
            f("all_p95_ms"),
        )

    row("dev", "codemode", results["dev"])
    row("leave-source-out", "codemode", results["leave_source_out"])
    row("dev + LSO", "codemode", results["dev_and_leave_source_out"])
    row("paired sample", "codemode", results["paired_sample"]["ours"])
    row("paired sample", "stackone-defender", results["paired_sample"]["stackone_defender"])
    console.print(table)
    fams = Table(title="leave-source-out, per held-out family")
    for column in ("family", "items", "P", "R", "F1", "FP benign"):
        fams.add_column(column)
    for name, m in results["leave_source_out"]["families"].items():
        fams.add_row(
            name,
            str(m["items"]),
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            f"{m['fpr_benign']:.3f}",
        )
    console.print(fams)
    if results["paired_sample"]["stackone_defender_error"]:
        console.print(
            f"stackone-defender: {results['paired_sample']['stackone_defender_error']}",
            highlight=False,
        )
    s = results["summary"]
    console.print(
        f"headline (dev + LSO): F1 {s['f1']:.3f}, FP marketing {s['fpr_marketing']}, p50 {s['p50_ms']} ms, "
        f"p95 {s['p95_ms']} ms; Defender slower by x{s['defender_p50_ratio']} (p50), x{s['defender_p95_ratio']} (p95)",
        highlight=False,
    )

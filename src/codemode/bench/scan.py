"""``codemode bench scan``: scanner quality and latency, with StackOne Defender measured alongside.

Three evaluations:

- **dev**: ``../shared/data/injection/dev.jsonl`` scored by the shipped model. In-distribution
  (same sources and templates as train), so it flatters any model.
- **leave-source-out**: for each family of sources (``training.train.FAMILIES``), a model is
  retrained with the training script's own ``fit`` on every other family plus the synthetic data,
  and scores the left-out family. This is the figure that says something about new sources.
- **held-out styles**: ``training.heldout``, styles and languages no training bank uses, written
  to be reported and never tuned on; the shipped model and Defender score the same rows.

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
_CACHE: Path | None = Path(__file__).resolve().parents[3] / ".scan-cache"  # embeddings by text
_MARKETING = frozenset({"klaviyo-synth", "klaviyo-synth-json"})
_HARDNEG = frozenset({"klaviyo-synth-hardneg"})
_TARGETS = {
    "f1": 0.90,
    "recall": 0.85,
    "fpr_marketing": 0.02,
    "fpr_hardneg": 0.10,
    "p50_ms": 5.0,
    "p95_ms": 25.0,
}


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


def _leave_family_out(
    train_rows: list[dict[str, Any]], *, quick: bool, console: Console, rng: random.Random
) -> dict[str, Any]:
    """Retrain and retune per held-out family (``training.folds``); nothing saw the family."""
    from codemode.scanner.encoder import Encoder
    from codemode.scanner.training import synth
    from codemode.scanner.training.families import generate
    from codemode.scanner.training.folds import evaluate, prepare

    synthetic = synth.all_synthetic()
    generated = generate()
    kinds: tuple[str, ...] = ("intent", "framing", "language", "source", "domain")
    if quick:
        train_rows = rng.sample(train_rows, len(train_rows) // 8)
        synthetic = rng.sample(synthetic, len(synthetic) // 8)
        generated = generate(per_combo=1, benign_per_language=12)
        kinds = ("framing",)
    started = time.perf_counter()
    prep = prepare(train_rows + synthetic + generated, Encoder.from_directory(), _CACHE)
    console.print(
        f"leave-one-family-out: {len(prep.corpus.indices)} units featurised, embedded and "
        f"rule-checked in {time.perf_counter() - started:.0f}s",
        highlight=False,
    )
    return evaluate(prep, kinds=kinds, log=lambda line: console.print(line, highlight=False))


def _heldout(
    shipped: Scanner, flag: Callable[[str], bool] | None, error: str | None, *, quick: bool
) -> dict[str, Any]:
    """The shipped scanner and Defender on ``training.heldout`` (never trained or tuned on)."""
    from codemode.scanner.training.heldout import heldout_rows

    rows = heldout_rows()
    ours, theirs = _Scored("ours"), _Scored("stackone-defender")
    _score_ours(shipped, rows, ours)
    _score_defender(flag, error, rows, 30.0 if quick else 120.0, theirs)
    result: dict[str, Any] = {}
    for name, scored in (("ours", ours), ("stackone_defender", theirs)):
        if not scored.rows:
            result[name] = None
            continue
        styles = sorted({str(r["style"]) for r in scored.rows})
        per_style = {
            style: _metrics(
                [r for r in scored.rows if r["style"] == style],
                [
                    f
                    for r, f in zip(scored.rows, scored.flagged, strict=True)
                    if r["style"] == style
                ],
            )
            for style in styles
        }
        result[name] = {**_metrics(scored.rows, scored.flagged), "styles": per_style}
    result["stackone_defender_error"] = theirs.error
    return result


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or ours == 0:
        return None
    return round(theirs / ours, 2)


def run(*, quick: bool, console: Console) -> dict[str, Any]:
    """Run the benchmark (``quick``: a sample and the framing folds only, a minute or two)."""
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
    rules_only = Scanner(tier2=False)
    rules_dev = _Scored("rules")
    _score_ours(rules_only, dev, rules_dev)
    families = _leave_family_out(train_rows, quick=quick, console=console, rng=rng)

    # Defender on a sample of dev (it is slow), ours timed again on exactly that sample.
    sample = rng.sample(dev, min(len(dev), 60 if quick else 400))
    flag, error = _defender()
    theirs = _Scored("stackone-defender")
    _score_defender(flag, error, sample, 30.0 if quick else 300.0, theirs)
    ours_paired = _Scored("ours")
    _score_ours(shipped, theirs.rows or sample, ours_paired)
    heldout = _heldout(shipped, flag, error, quick=quick)

    results: dict[str, Any] = {
        "dev": {**_metrics(ours_dev.rows, ours_dev.flagged), **_latency(ours_dev)},
        "dev_rules_only": _metrics(rules_dev.rows, rules_dev.flagged),
        "leave_one_family_out": families,
        "heldout_styles": heldout,
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
        "encoder_available": shipped.classifier is not None
        and shipped.classifier.encoder is not None,
        "quick": quick,
    }
    results["summary"] = _summary(results)
    _print(console, results)
    return results


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    dev = results["dev"]
    ours_p = results["paired_sample"]["ours"]
    their_p = results["paired_sample"]["stackone_defender"] or {}
    splits = {
        f"{kind}={name}": figures["model"]
        for kind, block in results["leave_one_family_out"].items()
        for name, figures in block["folds"].items()
        if figures["model"]["injections"]  # a benign-only family is read by its FP rate
    }
    missed = {
        split: {"f1": m["f1"], "recall": m["recall"]}
        for split, m in splits.items()
        if m["f1"] < _TARGETS["f1"] or m["recall"] < _TARGETS["recall"]
    }
    pooled = {
        f"{part}_{kind}_{key}": block["pooled"][part][key]
        for kind, block in results["leave_one_family_out"].items()
        for part in ("model", "rules", "combined")
        for key in ("f1", "recall")
    }
    return {
        **pooled,
        "f1_dev": dev["f1"],
        "fpr_marketing": dev["fpr_marketing"],
        "fpr_hardneg": dev["fpr_hardneg"],
        "p50_ms": dev["all_p50_ms"],
        "p95_ms": dev["all_p95_ms"],
        "splits": len(splits),
        "splits_meeting_targets": len(splits) - len(missed),
        "splits_missing_targets": missed,
        "targets": _TARGETS,
        "targets_met": {
            "every_split": not missed,
            "fpr_marketing": (dev["fpr_marketing"] or 0.0) <= _TARGETS["fpr_marketing"],
            "fpr_hardneg": (dev["fpr_hardneg"] or 0.0) <= _TARGETS["fpr_hardneg"],
            "p50_ms": dev["all_p50_ms"] <= _TARGETS["p50_ms"],
            "p95_ms": dev["all_p95_ms"] <= _TARGETS["p95_ms"],
        },
        "heldout_f1": (results["heldout_styles"]["ours"] or {}).get("f1"),
        "heldout_recall": (results["heldout_styles"]["ours"] or {}).get("recall"),
        "heldout_fpr": (results["heldout_styles"]["ours"] or {}).get("fpr_benign"),
        "defender_heldout_f1": (results["heldout_styles"]["stackone_defender"] or {}).get("f1"),
        "defender_f1_same_items": their_p.get("f1"),
        "f1_same_items": ours_p["f1"],
        "defender_p50_ratio": _ratio(ours_p["all_p50_ms"], their_p.get("all_p50_ms")),
        "defender_p95_ratio": _ratio(ours_p["all_p95_ms"], their_p.get("all_p95_ms")),
        "defender_wall_p50_ratio": _ratio(ours_p["wall_p50_ms"], their_p.get("wall_p50_ms")),
        "defender_error": results["paired_sample"]["stackone_defender_error"],
    }


def _cell(m: dict[str, Any] | None, key: str) -> str:
    v = None if m is None else m.get(key)
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return str(v) if key in ("items",) else f"{v:.3f}"


def _print(console: Console, results: dict[str, Any]) -> None:
    table = Table(title="scanner on dev (shipped model; per item, one core, cold cache)")
    columns = ("set", "system", "items", "P", "R", "F1", "FP mkt", "FP hardneg", "p50", "p95")
    for column in columns:
        table.add_column(column, justify="right" if column not in ("set", "system") else "left")
    keys = ("items", "precision", "recall", "f1", "fpr_marketing", "fpr_hardneg")
    for name, system, m in (
        ("dev", "codemode", results["dev"]),
        ("dev", "rules only", results["dev_rules_only"]),
        ("paired sample", "codemode", results["paired_sample"]["ours"]),
        ("paired sample", "stackone-defender", results["paired_sample"]["stackone_defender"]),
    ):
        lat = (_cell(m, "all_p50_ms"), _cell(m, "all_p95_ms"))
        table.add_row(name, system, *(_cell(m, k) for k in keys), *lat)
    console.print(table)
    for kind, block in results["leave_one_family_out"].items():
        fams = Table(title=f"leave-one-{kind}-out (retrained and retuned per fold)")
        for column in ("held out", "items", "model P", "R", "F1", "FP", "rules F1", "comb. F1"):
            fams.add_column(column)
        rows = [*block["folds"].items(), ("(pooled)", block["pooled"])]
        for name, f in rows:
            fams.add_row(
                name,
                str(f["model"]["items"]),
                _cell(f["model"], "precision"),
                _cell(f["model"], "recall"),
                _cell(f["model"], "f1"),
                _cell(f["model"], "fpr"),
                _cell(f["rules"], "f1"),
                _cell(f["combined"], "f1"),
            )
        console.print(fams)
    styles = Table(title="held-out styles (never trained or tuned on; shipped model)")
    for column in ("style", "items", "R ours", "FP ours", "R Defender", "FP Defender"):
        styles.add_column(column)
    ours_h = results["heldout_styles"]["ours"] or {"styles": {}}
    theirs_h = results["heldout_styles"]["stackone_defender"] or {"styles": {}}
    for style, m in [*ours_h["styles"].items(), ("(all)", ours_h)]:
        t = theirs_h if style == "(all)" else theirs_h["styles"].get(style)
        styles.add_row(
            style,
            _cell(m, "items"),
            _cell(m, "recall"),
            _cell(m, "fpr_benign"),
            _cell(t, "recall"),
            _cell(t, "fpr_benign"),
        )
    console.print(styles)
    if results["paired_sample"]["stackone_defender_error"]:
        console.print(
            f"stackone-defender: {results['paired_sample']['stackone_defender_error']}",
            highlight=False,
        )
    s = results["summary"]
    console.print(
        f"dev F1 {s['f1_dev']:.3f}, FP marketing {s['fpr_marketing']}, FP hardneg "
        f"{s['fpr_hardneg']}, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms; leave-one-out splits "
        f"meeting F1>=0.90 and R>=0.85: {s['splits_meeting_targets']}/{s['splits']}; Defender "
        f"F1 {s['defender_f1_same_items']} vs ours {s['f1_same_items']} on the same items, slower "
        f"by x{s['defender_p50_ratio']} (p50)",
        highlight=False,
    )

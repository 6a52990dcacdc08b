"""The scanner benchmark's metric helpers count what they claim to count."""

from __future__ import annotations

from codemode.bench import scan as bench


def test_metrics_count_precision_recall_and_false_positives_per_group() -> None:
    rows = [
        {"label": 1, "source": "x", "text": "a"},
        {"label": 1, "source": "x", "text": "b"},
        {"label": 0, "source": "klaviyo-synth", "text": "c"},
        {"label": 0, "source": "klaviyo-synth-hardneg", "text": "d"},
    ]
    m = bench._metrics(rows, [True, False, True, False])
    assert (m["precision"], m["recall"]) == (0.5, 0.5)
    assert m["fpr_marketing"] == 1.0 and m["fpr_hardneg"] == 0.0 and m["fpr_benign"] == 0.5


def test_latency_splits_plain_text_from_json_responses() -> None:
    scored = bench._Scored("ours")
    scored.add({"text": "plain"}, False, 1.0)
    scored.add({"text": '{"a": 1}'}, False, 9.0)
    lat = bench._latency(scored)
    assert lat["text_p50_ms"] == 1.0 and lat["json_p50_ms"] == 9.0


def test_defender_that_cannot_run_keeps_its_row_with_the_reason() -> None:
    scored = bench._Scored("stackone-defender")
    bench._score_defender(None, "not installed", [{"text": "x"}], 1.0, scored)
    assert scored.error == "not installed" and scored.rows == []
    assert bench._ratio(2.0, 10.0) == 5.0 and bench._ratio(0.0, 1.0) is None


def test_quick_run_reports_every_section_and_the_defender_ratio(monkeypatch: object) -> None:
    import pytest
    from rich.console import Console

    from codemode.scanner.training import synth

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    pytest.importorskip("sklearn", reason="the bench/train extra (scikit-learn) is not installed")
    rows = synth.generate(seed=9, per_language=6, english=30)
    shared = [
        {**r, "source": source}
        for r, source in zip(
            rows, ["klaviyo-synth", "agentdojo", "klaviyo-synth-hardneg"] * len(rows), strict=False
        )
    ]
    for r in shared:  # keep labels coherent with the family they pretend to be
        r["source"] = (
            "agentdojo" if r["label"] else r["source"].replace("agentdojo", "klaviyo-synth")
        )
    monkeypatch.setattr(bench, "_load", lambda name: shared * (30 if name == "dev.jsonl" else 8))
    monkeypatch.setattr(synth, "all_synthetic", lambda seed=7: rows)

    def fake_defender() -> tuple[object, None]:
        return (lambda text: "ignore" in text.lower()), None

    monkeypatch.setattr(bench, "_defender", fake_defender)
    monkeypatch.setattr(bench, "_CACHE", None)  # no embedding cache written by a test
    result = bench.run(quick=True, console=Console(quiet=True))
    summary = result["summary"]
    assert set(result) >= {
        "dev",
        "dev_rules_only",
        "leave_one_family_out",
        "paired_sample",
        "summary",
    }
    framing = result["leave_one_family_out"]["framing"]
    assert set(framing["folds"]) == {
        "direct",
        "polite",
        "authority",
        "roleplay",
        "hypothetical",
        "quoted_mail",
        "plain",
    }
    for figures in framing["folds"].values():
        assert set(figures) >= {"model", "model_earlier_rows", "rules", "combined", "cascade"}
    # model_no_exit: the same folds' heads without the encoder's early exit (the package's encoder
    # has its two slices and cascade.EXIT_BUDGET is set).
    assert set(framing["pooled"]) == {
        "model",
        "rules",
        "combined",
        "model_earlier_rows",
        "model_no_exit",
    }
    assert summary["splits"] == 7 and summary["defender_p50_ratio"] is not None
    assert summary["targets_met"].keys() == {
        "every_split",
        "fpr_marketing",
        "fpr_hardneg",
        "p50_ms",
        "p95_ms",
    }


def test_missing_shared_data_names_the_fix(monkeypatch: object, tmp_path: object) -> None:
    import pytest

    from codemode.errors import ConfigError

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(bench, "_SHARED", tmp_path)
    with pytest.raises(ConfigError, match="shared/data/injection"):
        bench._load("dev.jsonl")

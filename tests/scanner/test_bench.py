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

"""The family generator: every intent x framing, every carrier, deterministic, passes kept apart."""

from __future__ import annotations

from collections import Counter

from codemode.scanner.training.families import (
    CARRIERS,
    DOMAIN_NAMES,
    FOLD_FRAMINGS,
    FRAMINGS,
    INTENTS,
    LANGUAGES,
    MORE_CARRIERS,
    PLAIN,
    _domains,
    _fragments,
    _listings,
    _plain,
    _weak_languages,
    _wider,
    generate,
)
from codemode.scanner.training.phrases_plain import BENIGN_ACTS, NOT_BENIGN, PLAIN_FRAMES


def test_rows_are_deterministic_and_cover_every_intent_framing_and_language() -> None:
    rows = generate(3, per_combo=1, benign_per_language=4)
    assert rows == generate(3, per_combo=1, benign_per_language=4)
    attacks = [r for r in rows if r["label"] == 1]
    pairs = Counter((r["intent"], r["framing"]) for r in attacks)
    assert set(pairs) == {(i, f) for i in INTENTS for f in FOLD_FRAMINGS}
    assert {r["lang"] for r in rows} == set(LANGUAGES)
    assert len(LANGUAGES) >= 30


def test_the_wider_pass_uses_new_carriers_and_leaves_the_first_pass_unchanged() -> None:
    rows = generate(3, per_combo=1, benign_per_language=4)
    wider = _wider(3, 2, 8)
    later = (
        [
            r
            for r in wider + _domains(3, 1, 4) + _weak_languages(3, 1, 1)
            if r["label"] or not any(s in r["text"] for s in NOT_BENIGN)
        ]
        + _plain(3, 10, 1, 12)
        + _listings(3, 8)
        + _fragments(3, 4)
    )
    assert rows[-len(later) :] == later  # appended after the first pass, own random streams
    assert {r["carrier"] for r in wider} & set(MORE_CARRIERS)
    assert {r["carrier"] for r in rows[: -len(later)]} <= set(CARRIERS)
    assert {r["label"] for r in wider} == {0, 1}
    assert all(r["lang"] == "en" for r in wider)
    # Payloads are filled: no template slot is left in any text.
    assert not any("{act}" in r["text"] or "{email}" in r["text"] for r in rows)


def test_the_heldout_styles_share_no_sentence_with_the_training_generators() -> None:
    import json

    from codemode.scanner.training import synth
    from codemode.scanner.training.heldout import heldout_rows

    rows = heldout_rows()
    assert rows == heldout_rows()
    styles = {
        "help",
        "checklist",
        "narrated",
        "conditional",
        "unseen_language",
        "tool_result",
        "obfuscated",
        "ordinary_task",
    }
    for label in (0, 1):
        assert {r["style"] for r in rows if r["label"] == label} == styles
    assert not any("{email}" in r["text"] or "{url}" in r["text"] for r in rows)
    for r in rows:
        if r["text"].startswith("{"):
            json.loads(r["text"])  # the JSON shape stays valid JSON
    training = {r["text"] for r in generate(per_combo=1, benign_per_language=4)}
    training |= {r["text"] for r in synth.generate(seed=7, per_language=4, english=10)}
    assert not {r["text"] for r in rows} & training
    # The ordinary-task sentences (written before the plain pass) are inside no training text.
    everything = "\n".join(r["text"] for r in generate())
    bare = [r["text"] for r in rows if r["style"] == "ordinary_task" and r["text"][0] not in "{C"]
    assert len(bare) >= 50
    assert not [t for t in bare if t in everything]


def test_the_plain_pass_asks_without_a_word_of_an_ai_and_its_benign_twins_use_the_same_frames() -> (
    None
):
    rows = _plain(5, 4, 1, 40)
    attacks = [r for r in rows if r["label"] == 1]
    assert {r["intent"] for r in attacks} == set(INTENTS)
    assert {r["framing"] for r in attacks} == {PLAIN}
    assert {r["domain"] for r in attacks if "domain" in r} == set(DOMAIN_NAMES)
    words = ("assistant", " ai ", "agent", "model", "instruction", "bot")
    assert not [f for f in PLAIN_FRAMES if any(w in f" {f.lower()} " for w in words)]
    benign = [r for r in rows if r["label"] == 0]
    assert len(benign) == 40 and not any("framing" in r for r in benign)
    # Every benign row carries one of the benign acts, framed the way the attacks are.
    assert all(
        any(a in r["text"] or a[:1].upper() + a[1:] in r["text"] for a in BENIGN_ACTS)
        for r in benign
    )
    assert not any("{act}" in r["text"] or "{sign}" in r["text"] for r in rows)


def test_requests_for_what_an_attack_asks_are_no_longer_benign_rows() -> None:
    rows = generate(per_combo=1, benign_per_language=40)
    benign = [r["text"] for r in rows if r["label"] == 0]
    assert not [t for t in benign if any(s in t for s in NOT_BENIGN)]
    # ... and the older banks do hold them, so the filter has something to do.
    from codemode.scanner.training.phrases_domains import DOMAINS
    from codemode.scanner.training.phrases_english import ENGLISH
    from codemode.scanner.training.phrases_more import MORE

    banks = ENGLISH.benign + MORE.benign + [b for d in DOMAINS.values() for b in d.benign]
    assert set(NOT_BENIGN) <= set(banks)


def test_every_domain_has_every_intent_and_framing_and_benign_twins_in_its_carriers() -> None:
    rows = _domains(5, 1, 6)
    assert {r["domain"] for r in rows} == set(DOMAIN_NAMES) and len(DOMAIN_NAMES) >= 10
    for name in DOMAIN_NAMES:
        own = [r for r in rows if r["domain"] == name]
        attacks = [r for r in own if r["label"] == 1]
        assert {(r["intent"], r["framing"]) for r in attacks} == {
            (i, f) for i in INTENTS for f in FRAMINGS
        }, name
        benign = {r["carrier"] for r in own if r["label"] == 0}
        assert benign & {r["carrier"] for r in attacks}, name  # the same carriers on both sides
    assert not any("{act}" in r["text"] or "{email}" in r["text"] for r in rows)

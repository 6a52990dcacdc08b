"""The offline o200k_base tokenizer: tiktoken's encoder over the vocabulary quicktok-v1 ships."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("tiktoken", reason="the bench extra is not installed")

from codemode.bench import _tokens


def test_count_tokens_matches_known_o200k_ids() -> None:
    # Reference ids published for o200k_base (GPT-4o): "hello world" -> [24912, 2375].
    assert _tokens.encoding().encode_ordinary("hello world") == [24912, 2375]
    assert _tokens.count_tokens("hello world") == 2
    assert _tokens.count_tokens("") == 0


def test_encoding_keeps_tiktokens_special_tokens_and_name() -> None:
    enc = _tokens.encoding()
    assert enc.name == "o200k_base"
    assert enc.n_vocab == 200019
    assert enc.encode("<|endoftext|>", allowed_special="all") == [199999]


def test_special_token_text_counts_as_plain_text() -> None:
    assert _tokens.count_tokens("<|endoftext|>") > 1


def test_count_json_uses_compact_separators() -> None:
    value = {"a": [1, 2], "b": "é"}
    assert _tokens.dumps(value) == '{"a":[1,2],"b":"é"}'
    assert _tokens.count_json(value) == _tokens.count_tokens('{"a":[1,2],"b":"é"}')


def test_parse_vocab_reads_length_prefixed_records() -> None:
    data = struct.pack("<I", 2) + struct.pack("<H", 1) + b"a" + struct.pack("<I", 0)
    data += struct.pack("<H", 2) + b"bc" + struct.pack("<I", 1)
    assert _tokens.parse_vocab(data) == {b"a": 0, b"bc": 1}
    assert _tokens.tiktoken_file({b"bc": 1, b"a": 0}) == b"YQ== 0\nYmM= 1\n"


def test_parse_vocab_rejects_truncated_or_padded_data() -> None:
    good = struct.pack("<I", 1) + struct.pack("<H", 1) + b"a" + struct.pack("<I", 0)
    with pytest.raises(_tokens.TokenizerUnavailable, match="truncated"):
        _tokens.parse_vocab(good[:-1])
    with pytest.raises(_tokens.TokenizerUnavailable, match="trailing"):
        _tokens.parse_vocab(good + b"x")


def test_a_vocabulary_that_is_not_o200k_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = struct.pack("<I", 1) + struct.pack("<H", 1) + b"a" + struct.pack("<I", 0)
    monkeypatch.setattr(_tokens, "_vocab_bytes", lambda: fake)
    _tokens.encoding.cache_clear()
    try:
        with pytest.raises(_tokens.TokenizerUnavailable, match="not OpenAI's o200k_base"):
            _tokens.encoding()
    finally:
        _tokens.encoding.cache_clear()

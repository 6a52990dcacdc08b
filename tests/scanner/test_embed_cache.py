"""The training embedding cache: written as the embedding goes, so a crash loses little."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from codemode.scanner.training.cascade import embed_missing, load_cache, text_key


class _Encoder:
    """One window per text, its vector the text's length; fails on call ``fail_on``."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def windows(self, texts: list[str]) -> tuple[list[int], list[list[int]]]:
        return list(range(len(texts))), [[1] * len(t) for t in texts]

    def embed_windows(self, pieces: list[list[int]]) -> npt.NDArray[np.float32]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("killed")
        return np.array([[float(len(p))] * 384 for p in pieces], dtype=np.float32)


TEXTS = ["x" * (1 + k % 3000) for k in range(3000)]  # 3 slices of 1,024 windows


def test_a_crash_keeps_the_slices_already_saved_and_a_rerun_embeds_only_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "embeddings-test.npz"
    with pytest.raises(RuntimeError):
        embed_missing(TEXTS, _Encoder(fail_on=3), {}, path, save_every_s=0.0)  # type: ignore[arg-type]
    saved = load_cache(path)
    assert len(saved) == 2048  # the two slices done before the crash, shortest texts first
    assert all(float(saved[text_key(t)][0, 0]) == len(t) for t in TEXTS[:2048])
    again = _Encoder()
    assert embed_missing(TEXTS, again, saved, path, save_every_s=0.0) == 3000 - 2048  # type: ignore[arg-type]
    assert again.calls == 1
    assert len(load_cache(path)) == 3000


def test_without_a_path_nothing_is_written_and_every_text_is_embedded(tmp_path: Path) -> None:
    known: dict[str, npt.NDArray[np.float32]] = {}
    assert embed_missing(TEXTS[:10] * 2, _Encoder(), known) == 10  # type: ignore[arg-type]
    assert sorted(known) == sorted(text_key(t) for t in TEXTS[:10])
    assert not list(tmp_path.iterdir())

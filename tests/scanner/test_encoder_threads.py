"""The encoder tokenizes on the scanning thread, where the run's host-CPU budget sees it.

A run's scanning is charged with ``time.thread_time()`` of the thread that scans. The tokenizers
package's ``encode_batch`` does its work on its own thread pool: the charge saw about 3 % of it,
and one scan spread over every core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from codemode.scanner.encoder import Encoder

TEXTS = [
    json.loads(line)["text"]
    for line in (Path(__file__).parents[1] / "data/injection/outsider3.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
][:400]


def test_tokenizing_runs_on_the_calling_thread_and_gives_the_batch_ids() -> None:
    encoder = Encoder.from_directory()
    encoder.windows(TEXTS[:8])  # warm
    process, thread = time.process_time(), time.thread_time()
    for _ in range(5):
        owners, pieces = encoder.windows(TEXTS)
    process, thread = time.process_time() - process, time.thread_time() - thread
    assert thread >= 0.8 * process, (thread, process)
    # The same word pieces as the batch call gives (in the same order).
    batch = encoder._tokenizer.encode_batch(TEXTS, add_special_tokens=False)
    single = [encoder._tokenizer.encode(t, add_special_tokens=False).ids for t in TEXTS]
    assert [e.ids for e in batch] == single
    assert sorted(set(owners)) == list(range(len(TEXTS))) and len(pieces) >= len(TEXTS)

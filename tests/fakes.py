"""Models for the fast unit layer, registered through the provider registry like any provider:
a chat model that plays a script, and a deterministic embedder. They drive orchestration branches
(a tool-call sequence, an error mid-stream, a blocked input); every capability is also tested on
the real bundled models in the integration tests."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from fmstack.errors import ModelError
from fmstack.knowledge.text import terms
from fmstack.models.base import ChatModel, EmbeddingModel, ModelInfo
from fmstack.models.registry import ModelSpec, chat_provider, embedding_provider
from fmstack.models.types import Event, Finish, GenerationParams, Message, TextDelta, ToolCallDelta, Usage, UsageEvent

Reply = str | list[Event] | Callable[[list[Message]], "str | list[Event]"] | Exception


class ScriptedChatModel(ChatModel):
    """Answers each call with the next reply of its script: a text (streamed word by word), a
    list of events, a function of the prompt, or an exception (raised after `fail_after` words
    when it is a ModelError given as ("text", error)). Every prompt it was sent is in `prompts`."""

    def __init__(self, info: ModelInfo):
        self.info = info
        self.replies: list[Reply | tuple[str, Exception]] = []
        self.prompts: list[list[Message]] = []
        self.params: list[GenerationParams] = []

    def script(self, *replies: Reply | tuple[str, Exception]) -> ScriptedChatModel:
        self.replies = list(replies)
        self.prompts.clear()
        self.params.clear()
        return self

    def count_tokens(self, text: str) -> int:
        return len((text or "").split()) + len(text or "") // 16

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        self.prompts.append(copy.deepcopy(list(messages)))
        self.params.append(params)
        if not self.replies:
            raise AssertionError(f"the script of {self.name} has no reply left for: {messages[-1].content!r}")
        reply = self.replies.pop(0)
        failure = None
        if isinstance(reply, tuple):
            reply, failure = reply
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(list(messages))
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            words = reply.split(" ")
            events: list[Event] = [TextDelta(w if i == 0 else " " + w) for i, w in enumerate(words)]
            prompt = self.count_message_tokens(messages)
            events += [UsageEvent(Usage(prompt, len(words))), Finish("stop")]
        else:
            events = list(reply)
            if not any(isinstance(e, Finish) for e in events):
                reason = "tool_calls" if any(isinstance(e, ToolCallDelta) for e in events) else "stop"
                events.append(Finish(reason))
        for ev in events:
            if failure is not None and isinstance(ev, (UsageEvent, Finish)):
                raise failure
            yield ev


class HashEmbedding(EmbeddingModel):
    """Bag of hashed words (jieba terms for Chinese), L2-normalised: texts that share words are
    near, others far. Deterministic and instant."""

    def __init__(self, info: ModelInfo):
        self.info = info

    def count_tokens(self, text: str) -> int:
        return len(terms(text))

    def embed(self, texts: Sequence[str], input_type: str = "query") -> np.ndarray:
        dims = self.dimensions
        out = np.zeros((len(texts), dims), dtype=np.float32)
        for i, text in enumerate(texts):
            for t in terms(text) or [text]:
                h = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=4).digest(), "little")
                out[i, h % dims] += 1.0
            out[i, 0] += 0.05  # no text is the zero vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@chat_provider("scripted")
def _scripted(info: ModelInfo, spec: ModelSpec, settings) -> ChatModel:
    info.supports_tools = True
    return ScriptedChatModel(info)


@embedding_provider("hashing")
def _hashing(info: ModelInfo, spec: ModelSpec, settings) -> EmbeddingModel:
    return HashEmbedding(info)


UNIT_CONFIG = {
    "models": {"scripted": {"provider": "scripted", "context_window": 2048}},
    "embeddings": {"hashing": {"provider": "hashing", "dimensions": 256}},
    "aliases": {"default": "scripted", "embedding": "hashing"},
}


def raises(error: str) -> ModelError:
    return ModelError(error)

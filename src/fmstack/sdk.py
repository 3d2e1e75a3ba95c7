"""The Python SDK: every capability in-process, no server. The server and the CLI call this too."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from .chat import ChatService, ConversationStore, TurnSaved
from .config import Settings
from .errors import InvalidInput
from .keys import KeyStore
from .knowledge import KnowledgeService, RagAnswer, rag
from .models import ChatResult, Event, GenerationParams, Message, ModelRegistry
from .store import Database


def as_messages(prompt: str | Sequence[Message | dict], system: str | None = None) -> list[Message]:
    if isinstance(prompt, str):
        messages = [Message("user", prompt)]
    else:
        messages = [m if isinstance(m, Message) else Message.from_openai(m) for m in prompt]
    if system:
        messages.insert(0, Message("system", system))
    if not messages:
        raise InvalidInput("messages must not be empty", param="messages")
    return messages


def as_params(params: GenerationParams | None, kwargs: dict[str, Any]) -> GenerationParams:
    unknown = set(kwargs) - set(GenerationParams.names())
    if unknown:
        raise InvalidInput(f"unknown parameters: {', '.join(sorted(unknown))}; known: {', '.join(GenerationParams.names())}")
    return GenerationParams(**kwargs).merged_over(params) if params else GenerationParams(**kwargs)


class Fmstack:
    """
    >>> fm = Fmstack()
    >>> fm.generate("Say hi", max_tokens=8).text
    >>> conv = fm.conversations.create(system_prompt="Be brief.")
    >>> fm.chat.reply(conv.id, "Hello").assistant_message.content
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any):
        self.settings = settings or Settings.from_env(**overrides)
        self.models = ModelRegistry(self.settings)
        self.db = Database(self.settings.db_url)
        self.conversations = ConversationStore(self.db)
        self.chat = ChatService(self.conversations, self.models)
        self.keys = KeyStore(self.db, self.settings.api_keys)
        self.knowledge = KnowledgeService(self.db, self.models)

    # -- models ---------------------------------------------------------------------------------
    def stream(self, prompt: str | Sequence[Message | dict], *, model: str | None = None, system: str | None = None,
               params: GenerationParams | None = None, **kwargs: Any) -> Iterator[Event]:
        return self.models.chat(model).stream(as_messages(prompt, system), as_params(params, kwargs))

    def generate(self, prompt: str | Sequence[Message | dict], *, model: str | None = None, system: str | None = None,
                 params: GenerationParams | None = None, **kwargs: Any) -> ChatResult:
        return self.models.chat(model).generate(as_messages(prompt, system), as_params(params, kwargs))

    def embed(self, texts: str | Sequence[str], *, model: str | None = None,
              input_type: Literal["query", "document"] = "query") -> np.ndarray:
        single = isinstance(texts, str)
        vecs = self.models.embedding(model).embed([texts] if single else list(texts), input_type=input_type)
        return vecs[0] if single else vecs

    def count_tokens(self, text: str | Sequence[Message | dict], *, model: str | None = None) -> int:
        if isinstance(text, str):
            return self.models.chat(model).count_tokens(text)
        return self.models.chat(model).count_message_tokens(as_messages(text))

    # -- knowledge bases ------------------------------------------------------------------------
    def kb_passages(self, kb: str, question: str, *, top_k: int | None = None, mode: str | None = None,
                    filters: dict | None = None) -> list:
        """The retrieved passages that can ground an answer (empty: the answer is "I don't know")."""
        found = self.knowledge.retrieve(kb, question, top_k=top_k, mode=mode, filters=filters)
        return self.knowledge.relevant(kb, question, found)

    def stream_kb_answer(self, kb: str, question: str, *, model: str | None = None, top_k: int | None = None,
                         mode: str | None = None, filters: dict | None = None, params: GenerationParams | None = None,
                         **kwargs: Any) -> Iterator[Any]:
        """Retrieve, then stream the answer; the last event lists the citations it uses."""
        passages = self.kb_passages(kb, question, top_k=top_k, mode=mode, filters=filters)
        return rag.stream_answer(self.models.chat(model), question, passages, as_params(params, kwargs))

    def ask_kb(self, kb: str, question: str, *, model: str | None = None, top_k: int | None = None,
               mode: str | None = None, filters: dict | None = None, params: GenerationParams | None = None,
               **kwargs: Any) -> RagAnswer:
        """retrieve_and_generate: an answer grounded in the knowledge base, with citations."""
        passages = self.kb_passages(kb, question, top_k=top_k, mode=mode, filters=filters)
        return rag.answer(self.models.chat(model), question, passages, as_params(params, kwargs))

    # -- chat -----------------------------------------------------------------------------------
    def say(self, conversation_id: str, content: str, **kwargs: Any) -> TurnSaved:
        """One non-streaming chat turn in a stored conversation."""
        params = kwargs.pop("params", None)
        model = kwargs.pop("model", None)
        summarize = kwargs.pop("summarize", None)
        return self.chat.reply(conversation_id, content, model=model, params=as_params(params, kwargs), summarize=summarize)

    def close(self) -> None:
        self.models.close()
        self.db.close()

    def __enter__(self) -> "Fmstack":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

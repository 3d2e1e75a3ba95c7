"""A chat turn: load the conversation, fit it to the model's window, stream the answer, save both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from ..errors import ContextLengthExceeded, FmstackError, InvalidInput
from ..guardrails import GuardrailService, guard_stream
from ..guardrails.engine import screen_passages
from ..knowledge import rag
from ..knowledge.rewrite import standalone_question
from ..knowledge.service import RETRIEVE_OPTIONS, KnowledgeService
from ..models.registry import ModelRegistry
from ..models.types import (
    ErrorEvent,
    Event,
    Finish,
    GenerationParams,
    Message,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
    collect,
)
from .conversations import ConversationStore, MessageRecord
from .memory import fit_to_context, reserve_for

SUMMARY_PROMPT = (
    "Summarize the conversation below in at most five sentences. Keep names, numbers, decisions and open "
    "questions. Write only the summary.\n\n{transcript}"
)


@dataclass
class TurnSaved:
    """Last event of a chat turn: what was stored."""

    user_message: MessageRecord
    assistant_message: MessageRecord
    dropped_messages: int = 0
    kind: Literal["saved"] = "saved"


class ChatService:
    def __init__(
        self,
        store: ConversationStore,
        registry: ModelRegistry,
        knowledge: KnowledgeService | None = None,
        guardrails: GuardrailService | None = None,
    ):
        self.store = store
        self.registry = registry
        self.knowledge = knowledge
        self.guardrails = guardrails

    def send(
        self,
        conversation_id: str,
        content: str,
        *,
        model: str | None = None,
        params: GenerationParams | None = None,
        summarize: bool | None = None,
        knowledge_base: str | None = None,
        retrieval: dict | None = None,
        guardrail: str | None = None,
    ) -> Iterator[Event | TurnSaved]:
        """Stream one turn. The user message and the answer (complete, cut short or failed part way)
        are stored together when the stream ends, also when the consumer stops reading.

        With a knowledge base (this turn's, or the conversation's `meta.knowledge_base`), the
        question is first rewritten to stand alone from the conversation ("how tall is it?" after
        talking about a tower), passages are retrieved for it, and the answer cites them; a
        CitationsEvent precedes TurnSaved and the citations are stored with the answer.

        With a guardrail (this turn's, or `meta.guardrail`), the message is checked before the
        model sees it (blocked: the model is not asked; masked: the model and the store get the
        masked text), retrieved passages carrying instructions are dropped, and the answer is checked
        as it streams. What fired is stored with the answer (`meta.guardrail`)."""
        if not content or not content.strip():
            raise InvalidInput("message content must not be empty", param="content")
        params = params or GenerationParams()
        conv = self.store.get(conversation_id)
        chat_model = self.registry.chat(model or conv.model)
        history = [m.to_message() for m in conv.messages or [] if m.finish_reason != "error" or m.content]
        system = [Message("system", conv.system_prompt)] if conv.system_prompt else []
        guard_ref = guardrail or conv.meta.get("guardrail")
        guard = self.guardrails.load(guard_ref) if guard_ref and self.guardrails is not None else None
        if guard_ref and guard is None:
            raise InvalidInput("guardrails are not available here", param="guardrail")
        trace: list = []
        refused = None
        if guard is not None:
            verdict = guard.check(content, "input")
            if verdict.findings:
                trace.append(verdict)
            if verdict.blocked:
                refused = verdict.text
            elif verdict.action == "masked":
                content = verdict.text
        new = Message("user", content)
        reserve = reserve_for(chat_model, params.max_tokens)
        kb = knowledge_base or conv.meta.get("knowledge_base")
        grounding = self._ground(kb, chat_model, history, content, retrieval or {}) if kb and refused is None else None
        if grounding is not None and guard is not None:
            grounding["passages"] = screen_passages(guard, grounding["passages"], trace)
        if grounding is not None:
            system, passages = self._fit_passages(chat_model, system, history, new, grounding, reserve)
            grounding["passages"] = passages
        fitted = fit_to_context(chat_model, system, history, new, reserve=reserve)
        if fitted.dropped and (summarize if summarize is not None else conv.meta.get("summarize", False)):
            summary = self._summary(conv, [conv.messages[i] for i in fitted.dropped], chat_model)
            system = system + [Message("system", f"Summary of the earlier part of this conversation: {summary}")]
            fitted = fit_to_context(chat_model, system, history, new, reserve=reserve)

        started = time.perf_counter()
        events: list[Event] = []
        if refused is not None:
            stream = iter([TextDelta(refused), Finish("content_filter")])  # the model is not asked
        elif grounding is not None and not grounding["passages"]:
            stream = iter(
                [TextDelta(rag.dont_know(content)), Finish("stop")]
            )  # nothing relevant: the model is not asked
        else:
            stream = chat_model.stream(fitted.messages, params)
            if guard is not None:
                stream = guard_stream(stream, guard, trace)
        status: str | None = None
        error: str | None = None
        try:
            for ev in stream:
                events.append(ev)
                yield ev
            status = "done"
        except Exception as e:
            if not any(isinstance(ev, (TextDelta, ToolCallDelta)) for ev in events):
                raise  # nothing was said yet: the caller gets the error and nothing is stored
            status = "error"
            error = e.message if isinstance(e, FmstackError) else f"{type(e).__name__}: {e}"
        except GeneratorExit:
            status = "cancelled"
            raise
        finally:
            if hasattr(stream, "close"):
                stream.close()
            meta = None
            if status is not None and grounding is not None:
                text = "".join(e.text for e in events if isinstance(e, TextDelta))
                cites = rag.citations_for(text, grounding["passages"]) if grounding["passages"] else []
                meta = {"knowledge_base": kb, "query": grounding["query"], "citations": [c.to_dict() for c in cites]}
            if status is not None and guard is not None:
                meta = {
                    **(meta or {}),
                    "guardrail": {
                        "name": guard.name,
                        "version": guard.version,
                        "assessments": [a.to_dict() for a in trace],
                    },
                }
            if status is not None:
                saved = self._save(conversation_id, new, chat_model.name, params, events, started, status, error, meta)
        if status == "error":
            yield ErrorEvent(error or "the model failed")
            yield Finish("error")
        if meta is not None and grounding is not None:
            yield rag.CitationsEvent(cites)
        yield TurnSaved(saved[0], saved[1], dropped_messages=len(fitted.dropped))

    def _ground(self, kb: str, chat_model, history: list[Message], question: str, retrieval: dict) -> dict:
        if self.knowledge is None:
            raise InvalidInput("knowledge bases are not available here", param="knowledge_base")
        unknown = set(retrieval) - RETRIEVE_OPTIONS
        if unknown:
            raise InvalidInput(
                f"unknown retrieval options: {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(RETRIEVE_OPTIONS))}",
                param="retrieval",
            )
        query = standalone_question(chat_model, history, question) if history else question
        found = self.knowledge.retrieve(kb, query, **retrieval)
        return {"query": query, "passages": self.knowledge.relevant(kb, query, found)}

    @staticmethod
    def _fit_passages(chat_model, system, history, new, grounding, reserve) -> tuple[list[Message], list]:
        """The conversation's system prompt plus the numbered passages; passages are dropped from the
        end (the least relevant) until the prompt fits the model's window with the new message."""
        passages = list(grounding["passages"])
        while passages:
            rag_system = rag.prompt(grounding["query"], passages)[0]
            candidate = [*system, rag_system]
            try:
                fit_to_context(chat_model, candidate, [], new, reserve=reserve)
                return candidate, passages
            except ContextLengthExceeded:
                passages.pop()
        return system, []

    def _save(self, conversation_id, new, model_name, params, events, started, status, error, meta=None):
        res = collect(model_name, events)
        finish = {"cancelled": "cancelled", "error": "error"}.get(status, res.finish_reason)
        if not any(isinstance(e, UsageEvent) for e in events):
            res.usage.completion_tokens = len([e for e in events if isinstance(e, TextDelta)])
        user, assistant = self.store.append(
            conversation_id,
            [
                {"role": "user", "content": new.content},
                {
                    "role": "assistant",
                    "content": res.text,
                    "tool_calls": [c.to_openai() for c in res.tool_calls] or None,
                    "model": model_name,
                    "params": params.set_values() or None,
                    "prompt_tokens": res.usage.prompt_tokens or None,
                    "completion_tokens": res.usage.completion_tokens,
                    "latency_ms": int((time.perf_counter() - started) * 1000),
                    "finish_reason": finish,
                    "error": error,
                    "meta": meta,
                },
            ],
        )
        return user, assistant

    def reply(self, conversation_id: str, content: str, **kwargs) -> TurnSaved:
        """Non-streaming turn: the stored pair."""
        last = None
        for ev in self.send(conversation_id, content, **kwargs):
            last = ev
        assert isinstance(last, TurnSaved)
        return last

    def _summary(self, conv, dropped: list[MessageRecord], chat_model) -> str:
        through = max(m.seq for m in dropped)
        if conv.summary and conv.summary_through is not None and conv.summary_through >= through:
            return conv.summary
        fresh = [m for m in dropped if conv.summary_through is None or m.seq > conv.summary_through]
        transcript = "\n".join(f"{m.role}: {m.content}" for m in fresh)
        if conv.summary:
            transcript = f"(summary so far) {conv.summary}\n{transcript}"
        # The transcript itself must fit: keep its newest part.
        limit = chat_model.context_window // 2
        while chat_model.count_tokens(transcript) > limit and len(transcript) > 200:
            transcript = transcript[len(transcript) // 4 :]
        result = chat_model.generate(
            [Message("user", SUMMARY_PROMPT.format(transcript=transcript))],
            GenerationParams(max_tokens=min(200, chat_model.context_window // 8), temperature=0.2),
        )
        summary = result.text.strip()
        self.store.set_summary(conv.id, summary, through)
        return summary

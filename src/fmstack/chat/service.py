"""A chat turn: load the conversation, fit it to the model's window, stream the answer, save both."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

from ..errors import FmstackError, InvalidInput
from ..knowledge import rag
from ..knowledge.options import Retrieval
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
from ..turns import Turn, TurnEvent, TurnPipeline
from .conversations import ConversationStore, MessageRecord

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


class TurnOptions(TypedDict, total=False):
    """What a chat turn may set; a conversation's `meta` gives the knowledge base, guardrail and
    summarize defaults."""

    model: str | None
    params: GenerationParams | None
    summarize: bool | None
    knowledge_base: str | None
    retrieval: Retrieval | dict | None
    guardrail: str | None


class ChatService:
    """Chat turns in stored conversations: prepare (the conversation as messages, through the turn
    pipeline), stream, save."""

    def __init__(self, store: ConversationStore, turns: TurnPipeline):
        self.store = store
        self.turns = turns

    def send(
        self, conversation_id: str, content: str, **options: Unpack[TurnOptions]
    ) -> Iterator[Event | rag.CitationsEvent | TurnSaved]:
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
        turn = self.prepare(conversation_id, content, **options)
        return self._stream(conversation_id, turn)

    def prepare(
        self,
        conversation_id: str,
        content: str,
        *,
        model: str | None = None,
        params: GenerationParams | None = None,
        summarize: bool | None = None,
        knowledge_base: str | None = None,
        retrieval: Retrieval | dict | None = None,
        guardrail: str | None = None,
    ) -> Turn:
        """The turn as the model will get it: the conversation fitted to the window (the oldest
        turns dropped, or summarised), grounded and guarded as the turn or the conversation says."""
        if not content or not content.strip():
            raise InvalidInput("message content must not be empty", param="content")
        conv = self.store.get(conversation_id)
        history = [m.to_message() for m in conv.messages or [] if m.finish_reason != "error" or m.content]
        system = [Message("system", conv.system_prompt)] if conv.system_prompt else []
        wants_summary = summarize if summarize is not None else conv.meta.get("summarize", False)
        chat_model = self.turns.models.chat(model or conv.model)

        def summary_of(dropped: list[int]) -> str:
            return self._summary(conv, [(conv.messages or [])[i] for i in dropped], chat_model)

        return self.turns.prepare(
            [*system, *history, Message("user", content)],
            model=chat_model,
            params=params,
            guardrail=guardrail or conv.meta.get("guardrail"),
            knowledge_base=knowledge_base or conv.meta.get("knowledge_base"),
            retrieval=retrieval,
            trim_history=True,
            summarize=summary_of if wants_summary else None,
        )

    def _stream(self, conversation_id: str, turn: Turn) -> Iterator[Event | rag.CitationsEvent | TurnSaved]:
        started = time.perf_counter()
        events: list[Event] = []
        citations: list[rag.Citation] = []
        checked: dict = {}
        stream: Generator[TurnEvent, None, None] = turn.stream()
        status: str | None = None
        error: str | None = None
        try:
            for ev in stream:
                if isinstance(ev, rag.CitationsEvent):
                    citations = ev.citations  # sent after the turn is saved, with what was stored
                    checked = ev.to_dict()
                    continue
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
            stream.close()
            if status is not None:
                meta: dict | None = None
                if turn.grounded:
                    meta = {
                        "knowledge_base": turn.knowledge_base,
                        "query": turn.query,
                        "answer_mode": turn.mode,
                        "answerability": turn.evidence.answerability if turn.evidence is not None else None,
                        "citations": [c.to_dict() for c in citations],
                        "sentences": checked.get("sentences", []),
                        "unsupported": checked.get("unsupported", []),
                    }
                report = turn.guardrail_report()
                if report is not None:
                    meta = {**(meta or {}), "guardrail": report}
                saved = self._save(
                    conversation_id,
                    Message("user", turn.question),
                    turn.model.name,
                    turn.params,
                    events,
                    started,
                    status,
                    error,
                    meta,
                )
        if status == "error":
            yield ErrorEvent(error or "the model failed")
            yield Finish("error")
        if turn.grounded:
            yield rag.CitationsEvent(citations, turn.sentences)
        yield TurnSaved(saved[0], saved[1], dropped_messages=len(turn.dropped))

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

    def reply(self, conversation_id: str, content: str, **options: Unpack[TurnOptions]) -> TurnSaved:
        """Non-streaming turn: the stored pair."""
        last = None
        for ev in self.send(conversation_id, content, **options):
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

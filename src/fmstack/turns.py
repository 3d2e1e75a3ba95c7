"""One guarded, grounded turn: the path every answer takes, whoever asks — a chat turn, a
`/v1/chat/completions` request, `ask_kb`, an agent's task and answer, an evaluation example:

    check the input → mask or block → retrieve (the follow-up made to stand alone, relevant
    passages only, those carrying instructions dropped) → build the prompt → stream → check the
    output as it streams → trace

`TurnPipeline.prepare()` does everything up to the model call and returns a `Turn`: its `prompt`
is the final prompt (inspectable), `stream()` yields the answer's events (a CitationsEvent last
when the turn is grounded in a knowledge base), `trace` collects what the guardrail found.
Callers adapt a Turn to their shape (stored messages, OpenAI chunks, a RagAnswer) and add nothing
to the path itself.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidInput
from .guardrails import Assessment, Guardrail, GuardrailService, guard_stream
from .guardrails.engine import screen_passages
from .knowledge import rag
from .knowledge.answers import DEFAULT_THRESHOLD, Evidence
from .knowledge.options import Retrieval
from .knowledge.rewrite import standalone_question
from .knowledge.service import KnowledgeService, Retrieved
from .models.base import ChatModel
from .models.context import fit_to_context, reserve_for
from .models.decoding import stop_loops
from .models.registry import ModelRegistry
from .models.types import ChatResult, Event, Finish, GenerationParams, Message, TextDelta, UsageEvent, collect
from .observability import tracer

TurnEvent = Event | rag.CitationsEvent
Summarize = Callable[[list[int]], "str | None"]


@dataclass
class Turn:
    """A prepared turn. Nothing has been generated yet; `stream()` does that, once."""

    model: ChatModel
    params: GenerationParams
    question: str  # the user's message as the model gets it (masked where a guardrail masks)
    prompt: list[Message]  # the final prompt; empty when the model is not asked
    guard: Guardrail | None = None
    trace: list[Assessment] = field(default_factory=list)
    knowledge_base: str | None = None
    query: str | None = None  # what was searched (a follow-up rewritten to stand alone)
    passages: list[Retrieved] | None = None  # None: not grounded; []: nothing relevant was found
    refusal: str | None = None  # the guardrail's message when the input was blocked
    dropped: list[int] = field(default_factory=list)  # history messages left out to fit the window
    mode: str = "generate"  # grounded turns: generate | extract | auto (knowledge/options.py)
    evidence: Evidence | None = None  # the passages read sentence by sentence against the question
    abstained: bool = False  # the passages do not answer the question: "I don't know"
    sentences: list = field(default_factory=list)  # the answer's sentences and what supports each
    completion: str | None = None  # legacy completions: the model continues this text (no chat template)

    @property
    def grounded(self) -> bool:
        return self.passages is not None

    @property
    def blocked(self) -> bool:
        return self.refusal is not None

    def stream(self) -> Generator[TurnEvent, None, None]:
        """The answer's events. A blocked input, or a grounded turn whose passages do not answer
        the question, does not ask the model (the refusal, or "I don't know" in the question's
        language); an extractive turn quotes the passages; the others stream the model's answer,
        stopped if it loops or leaves the question's language. A grounded turn ends with the
        citations: for each sentence, the passages that support it."""
        if self.refusal is not None:
            yield TextDelta(self.refusal)
            yield Finish("content_filter")
            return
        if self.passages is not None and (not self.passages or self.abstained):
            yield TextDelta(rag.dont_know(self.question))
            yield Finish("stop")
            yield rag.CitationsEvent([])
            return
        span = None
        if self.mode == "extract" and self.evidence is not None:
            text, _ = self.evidence.extract()
            events: Iterator[Event] = iter([TextDelta(text), Finish("stop")])
        else:
            # not made current: the stream may be read from another thread than the one that began it
            span = tracer.start_span("fmstack.model", attributes={"fmstack.model": self.model.name})
            if self.completion is not None:
                events = self.model.complete(self.completion, self.params)
            else:
                events = self.model.stream(self.prompt, self.params)
            if not (self.params.response_format or self.params.tools):  # prose: stop loops and language switches
                events = stop_loops(events, question=self.question)
            if self.mode == "auto" and self.evidence is not None:
                events = _keep_supported(events, self.evidence)
        if self.guard is not None:
            events = guard_stream(events, self.guard, self.trace)
        parts: list[str] = []
        try:
            for ev in events:
                if isinstance(ev, TextDelta):
                    parts.append(ev.text)
                elif span is not None and isinstance(ev, UsageEvent):
                    span.set_attribute("fmstack.prompt_tokens", ev.usage.prompt_tokens)
                    span.set_attribute("fmstack.completion_tokens", ev.usage.completion_tokens)
                elif span is not None and isinstance(ev, Finish):
                    span.set_attribute("fmstack.finish_reason", ev.reason)
                yield ev
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # also when the consumer stops reading: frees the model now
            if span is not None:
                span.end()
        if self.passages is not None:
            cites, self.sentences = rag.checked_citations("".join(parts), self.passages, self.evidence)
            yield rag.CitationsEvent(cites, self.sentences)

    def check_grounding(self, answer: str) -> tuple[str, dict[str, Any]]:
        """The guardrail's grounding policy on the whole answer: (the answer or the blocked
        message, the grounding and relevance scores). Without such a policy: (answer, {})."""
        guard = self.guard
        if guard is None or guard.config.grounding is None or not self.passages:
            return answer, {}
        texts = [p.text for p in self.passages]
        verdict = guard.check(answer, "output", question=self.question, passages=texts)  # scores computed once
        if verdict.findings:
            self.trace.append(verdict)
        scores = {**verdict.scores, "sentences": verdict.sentence_scores}
        return (verdict.text if verdict.blocked else answer), scores

    def guardrail_report(self, **extra: Any) -> dict[str, Any] | None:
        """What the guardrail found in this turn, as stored with answers and returned by the APIs."""
        if self.guard is None:
            return None
        return {
            "name": self.guard.name,
            "version": self.guard.version,
            **extra,
            "assessments": [a.to_dict() for a in self.trace],
        }


@dataclass
class Answer:
    """A turn streamed to its end: the non-streaming form every caller folds into its own shape."""

    text: str
    finish_reason: str
    events: list[TurnEvent]
    citations: list[rag.Citation]
    turn: Turn

    @property
    def filtered(self) -> bool:
        return self.finish_reason == "content_filter"

    def result(self) -> ChatResult:
        """The model's events folded (text, usage, tool calls, finish reason)."""
        return collect(self.turn.model.name, [e for e in self.events if not isinstance(e, rag.CitationsEvent)])


class TurnPipeline:
    """Prepares turns. Holds the services the path uses and nothing else."""

    def __init__(self, models: ModelRegistry, knowledge: KnowledgeService | None, guardrails: GuardrailService | None):
        self.models = models
        self.knowledge = knowledge
        self.guardrails = guardrails

    # -- the steps, usable on their own (agents check a task and tool outputs) ---------------------
    def guardrail(self, ref: str | Guardrail | None) -> Guardrail | None:
        if ref is None or isinstance(ref, Guardrail):
            return ref
        if self.guardrails is None:
            raise InvalidInput("guardrails are not available here", param="guardrail")
        return self.guardrails.load(ref)

    @staticmethod
    def check_input(guard: Guardrail | None, text: str, trace: list[Assessment]) -> tuple[str, str | None]:
        """(the text the model may see — masked where a policy masks, the refusal or None)."""
        if guard is None:
            return text, None
        verdict = guard.check(text, "input")
        if verdict.findings:
            trace.append(verdict)
        if verdict.blocked:
            return text, verdict.text
        return (verdict.text if verdict.action == "masked" else text), None

    @staticmethod
    def check_output(guard: Guardrail | None, text: str, trace: list[Assessment]) -> Assessment | None:
        """A whole output checked at once (where nothing streams, as an agent's final answer)."""
        if guard is None:
            return None
        verdict = guard.check(text, "output")
        if verdict.findings:
            trace.append(verdict)
        return verdict

    @staticmethod
    def screen(guard: Guardrail | None, passages: list, trace: list[Assessment], vectors: Any = None) -> list:
        """Context the model will read (passages, tool outputs) without what carries instructions
        (`vectors`: the passages' stored embeddings, read instead of embedding them again)."""
        return screen_passages(guard, passages, trace, vectors) if guard is not None else passages

    def retrieve(
        self,
        kb: str,
        question: str,
        *,
        retrieval: Retrieval | dict | None = None,
        model: ChatModel | None = None,
        history: Sequence[Message] = (),
        guard: Guardrail | None = None,
        trace: list[Assessment] | None = None,
    ) -> tuple[str, list[Retrieved]]:
        """(the query searched, the passages that can ground an answer). A follow-up ("and how
        tall is it?") is searched as a question that stands alone; passages too far from the
        question are left out (none left: the answer is "I don't know"); with a guardrail,
        passages carrying instructions for the model are dropped."""
        if self.knowledge is None:
            raise InvalidInput("knowledge bases are not available here", param="knowledge_base")
        options = Retrieval.parse(retrieval)
        turns = [m for m in history if m.role in ("user", "assistant") and m.content]
        query = standalone_question(model, turns, question) if turns and model is not None else question
        if model is not None:
            options = options.with_defaults(rewrite_model=model.name)
        with tracer.start_as_current_span("fmstack.retrieve", attributes={"fmstack.knowledge_base": kb}) as span:
            found = self.knowledge.retrieve(kb, query, **options.overrides())
            passages = self.knowledge.relevant(kb, query, found)
            span.set_attribute("fmstack.passages", len(passages))
            vectors = self.knowledge.stored_vectors(kb, passages, guard.embedder) if guard is not None else None
            return query, self.screen(guard, passages, trace if trace is not None else [], vectors)

    def _answering(self, kb: str, options: Retrieval, model: ChatModel) -> tuple[str, float]:
        """(answer mode, abstain threshold): the request's, else the knowledge base's, else the
        model's mode (the bundled model's is extract) and the default threshold."""
        assert self.knowledge is not None
        own = self.knowledge.settings(kb).retrieval or {}
        mode = options.answer_mode or own.get("answer_mode") or getattr(model.info, "answer_mode", None) or "generate"
        threshold = options.abstain_threshold
        if threshold is None:
            threshold = own.get("abstain_threshold")
        return mode, float(DEFAULT_THRESHOLD if threshold is None else threshold)

    # -- the whole path --------------------------------------------------------------------------
    def prepare(
        self,
        messages: Sequence[Message],
        *,
        model: str | ChatModel | None = None,
        params: GenerationParams | None = None,
        guardrail: str | Guardrail | None = None,
        knowledge_base: str | None = None,
        retrieval: Retrieval | dict | None = None,
        check_input: bool = True,
        trim_history: bool = False,
        summarize: Summarize | None = None,
    ) -> Turn:
        """Everything before the model is asked (traced as the span fmstack.prepare).

        `messages`: leading system messages, the conversation so far, the new message last.
        `trim_history`: drop the oldest turns that do not fit the window (a stored chat) instead
        of failing with a context-length error (an API request: the caller chose what to send);
        `summarize(dropped)` may then return a summary of what was dropped, sent in their place.
        `check_input=False`: the caller checked its input already (an evaluation checks the
        example's question before rendering it into a prompt)."""
        with tracer.start_as_current_span("fmstack.prepare") as span:
            turn = self._prepare(
                messages,
                model=model,
                params=params,
                guardrail=guardrail,
                knowledge_base=knowledge_base,
                retrieval=retrieval,
                check_input=check_input,
                trim_history=trim_history,
                summarize=summarize,
            )
            span.set_attribute("fmstack.model", turn.model.name)
            if knowledge_base:
                span.set_attribute("fmstack.knowledge_base", knowledge_base)
                span.set_attribute("fmstack.answer_mode", turn.mode)
            return turn

    def _prepare(
        self,
        messages: Sequence[Message],
        *,
        model: str | ChatModel | None,
        params: GenerationParams | None,
        guardrail: str | Guardrail | None,
        knowledge_base: str | None,
        retrieval: Retrieval | dict | None,
        check_input: bool,
        trim_history: bool,
        summarize: Summarize | None,
    ) -> Turn:
        if not messages:
            raise InvalidInput("messages must not be empty", param="messages")
        chat = self.models.chat(model) if model is None or isinstance(model, str) else model
        if not chat.info.supports_images and any(m.parts for m in messages):
            raise InvalidInput(
                f"model {chat.name!r} does not accept image input (supports_images is off for it); send text",
                param="messages",
            )
        params = params or GenerationParams()
        guard = self.guardrail(guardrail)
        n_system = next((i for i, m in enumerate(messages) if m.role != "system"), len(messages))
        system, history, new = list(messages[:n_system]), list(messages[n_system:-1]), messages[-1]
        if n_system == len(messages):  # only system messages: the last one is what is answered
            system, new = system[:-1], messages[-1]
        turn = Turn(chat, params, new.content or "", [], guard=guard, knowledge_base=knowledge_base)
        if check_input and guard is not None:
            checked, turn.refusal = self.check_input(guard, turn.question, turn.trace)
            if checked != turn.question:
                turn.question = checked
                new = replace(new, content=checked)
        if turn.blocked:
            return turn
        if knowledge_base:
            if new.role != "user":
                raise InvalidInput("with knowledge_base the last message must be the user's question", param="messages")
            options = Retrieval.parse(retrieval)
            turn.query, turn.passages = self.retrieve(
                knowledge_base,
                turn.question,
                retrieval=options,
                model=chat,
                history=history,
                guard=guard,
                trace=turn.trace,
            )
            if not turn.passages:
                return turn
            turn.mode, threshold = self._answering(knowledge_base, options, chat)
            assert self.knowledge is not None  # retrieve() checked
            turn.evidence = self.knowledge.evidence(knowledge_base, turn.query or turn.question, turn.passages)
            if turn.evidence.answerability < threshold:
                turn.abstained = True
                return turn
            if turn.mode == "extract":
                return turn  # the model is not asked
        reserve = reserve_for(chat, params.max_tokens)
        if turn.passages:
            system, turn.passages = _fit_passages(
                chat, system, history if not trim_history else [], new, turn.passages, reserve
            )
        if not trim_history:
            turn.prompt = [*system, *history, new] if turn.passages else list(messages[:-1]) + [new]
            return turn
        fitted = fit_to_context(chat, system, history, new, reserve=reserve)
        if fitted.dropped and summarize is not None:
            summary = summarize(fitted.dropped)
            if summary:
                system = [*system, Message("system", f"Summary of the earlier part of this conversation: {summary}")]
                fitted = fit_to_context(chat, system, history, new, reserve=reserve)
        turn.prompt, turn.dropped = fitted.messages, fitted.dropped
        return turn

    def answer(self, turn: Turn) -> Answer:
        """Stream a turn to its end."""
        events = list(turn.stream())
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        finish = next((e.reason for e in reversed(events) if isinstance(e, Finish)), "stop")
        cites = next((e.citations for e in events if isinstance(e, rag.CitationsEvent)), [])
        return Answer(text, finish, events, cites, turn)

    def ask(
        self,
        kb: str,
        question: str,
        *,
        model: str | ChatModel | None = None,
        params: GenerationParams | None = None,
        guardrail: str | None = None,
        retrieval: Retrieval | dict | None = None,
    ) -> rag.RagAnswer:
        """An answer grounded in a knowledge base, with citations; with a guardrail that has a
        grounding policy, grounding and relevance scores and the answer blocked below them."""
        turn = self.prepare(
            [Message("user", question)],
            model=model,
            params=params,
            guardrail=guardrail,
            knowledge_base=kb,
            retrieval=retrieval,
        )
        done = self.answer(turn)
        text, scores = done.text, dict[str, Any]()
        if not done.filtered:
            text, scores = turn.check_grounding(done.text)
        passages = turn.passages or []
        answered = bool(passages) and not done.filtered and text == done.text
        return rag.RagAnswer(
            text,
            done.citations,
            passages,
            answered=answered and not turn.abstained,
            guardrail=turn.guardrail_report(scores=scores),
            mode=turn.mode,
            answerability=turn.evidence.answerability if turn.evidence is not None else None,
            sentences=turn.sentences,
        )


def _fit_passages(
    chat: ChatModel,
    system: list[Message],
    history: list[Message],
    new: Message,
    passages: list[Retrieved],
    reserve: int,
) -> tuple[list[Message], list[Retrieved]]:
    """The system prompt plus the numbered passages; passages are dropped from the end (the least
    relevant) until the prompt with `history` and the new message fits the model's window."""
    budget = chat.context_window - reserve
    passages = list(passages)
    while passages:
        candidate = [*system, rag.context_message(passages, new.content or "")]
        if chat.count_message_tokens([*candidate, *history, new]) <= budget:
            return candidate, passages
        passages.pop()
    return system, []


def _keep_supported(events: Iterator[Event], evidence: Evidence) -> Iterator[Event]:
    """Auto mode: the model's whole answer, then only its sentences the passages support (cited
    by the passages that do); none left, the extractive answer instead."""
    parts: list[str] = []
    rest: list[Event] = []
    for ev in events:
        if isinstance(ev, TextDelta):
            parts.append(ev.text)
        else:
            rest.append(ev)
    kept = [s for s in evidence.support("".join(parts)) if s.supported]
    if kept:
        text = " ".join(f"{rag.strip_marks(s.text)} {''.join(f'[{n}]' for n in s.citations)}".strip() for s in kept)
    else:
        text, _ = evidence.extract()
    yield TextDelta(text)
    yield from rest

"""The Python SDK: every capability in-process, no server. The server and the CLI call this too."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .agents.service import AgentService
from .chat import ChatService, ConversationStore, TurnSaved
from .config import Settings
from .endpoints import EndpointStore
from .errors import InvalidInput
from .evaluation.runner import EvaluationService
from .guardrails import GuardrailService, guard_stream
from .guardrails.engine import screen_passages
from .jobs import JobContext, JobRecord, JobRunner
from .keys import KeyStore
from .knowledge import KnowledgeService, RagAnswer, rag
from .knowledge.service import Source
from .models import ChatResult, Event, GenerationParams, Message, ModelRegistry
from .models.types import Finish, TextDelta
from .prompts import PromptService
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
        raise InvalidInput(
            f"unknown parameters: {', '.join(sorted(unknown))}; known: {', '.join(GenerationParams.names())}"
        )
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
        self.keys = KeyStore(self.db, self.settings.api_keys)
        self.endpoints = EndpointStore(self.db, self.models)
        self.guardrails = GuardrailService(self.db, self.models)
        self.knowledge = KnowledgeService(self.db, self.models)
        self.chat = ChatService(self.conversations, self.models, self.knowledge, self.guardrails)
        self.jobs = JobRunner(self.db)
        self.agents = AgentService(self.db, self)
        self.prompts = PromptService(self.db)
        self.evaluations = EvaluationService(self.db, self)

    # -- models ---------------------------------------------------------------------------------
    def stream(
        self,
        prompt: str | Sequence[Message | dict],
        *,
        model: str | None = None,
        system: str | None = None,
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> Iterator[Event]:
        return self.models.chat(model).stream(as_messages(prompt, system), as_params(params, kwargs))

    def generate(
        self,
        prompt: str | Sequence[Message | dict],
        *,
        model: str | None = None,
        system: str | None = None,
        params: GenerationParams | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self.models.chat(model).generate(as_messages(prompt, system), as_params(params, kwargs))

    def embed(
        self,
        texts: str | Sequence[str],
        *,
        model: str | None = None,
        input_type: Literal["query", "document"] = "query",
    ) -> np.ndarray:
        single = isinstance(texts, str)
        vecs = self.models.embedding(model).embed([texts] if single else list(texts), input_type=input_type)
        return vecs[0] if single else vecs

    def count_tokens(self, text: str | Sequence[Message | dict], *, model: str | None = None) -> int:
        if isinstance(text, str):
            return self.models.chat(model).count_tokens(text)
        return self.models.chat(model).count_message_tokens(as_messages(text))

    # -- knowledge bases ------------------------------------------------------------------------
    def start_ingest(
        self,
        kb: str,
        paths: Sequence[str] = (),
        *,
        uploads: Sequence[tuple[str, bytes, dict]] = (),
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        sync: bool = False,
        options: dict | None = None,
    ) -> JobRecord:
        """Ingest in the background: files and folders on this machine, and/or uploaded files
        (name, bytes, metadata), which are staged on disk first so a resumed job still has them.
        Follow it with `jobs.get(id)`, stop it with `jobs.cancel(id)`."""
        record = self.knowledge.get(kb)
        if not paths and not uploads:
            raise InvalidInput("nothing to ingest: give paths or files", param="paths")
        staged = []
        if uploads:
            folder = self.settings.data_dir / "uploads" / uuid.uuid4().hex
            folder.mkdir(parents=True)
            for i, (name, data, meta) in enumerate(uploads):
                path = folder / f"{i:05d}"
                path.write_bytes(data)
                staged.append({"source": name, "path": str(path), "meta": meta})
        params = {
            "kb": record.id,
            "paths": [str(p) for p in paths],
            "uploads": staged,
            "include": include,
            "exclude": exclude,
            "sync": sync,
            "options": options or {},
        }
        return self.jobs.submit("ingest", record.id, params, lambda ctx: self._ingest_job(ctx, params))

    def _ingest_job(self, ctx: JobContext, params: dict) -> dict:
        def progress(state, result):
            snap = state.to_dict()
            if result is not None:
                files = ctx.progress.get("files", [])
                snap["files"] = [*files, vars(result)][-500:]  # per-file outcomes, newest last
            else:
                snap["files"] = ctx.progress.get("files", [])
            ctx.report(snap, force=result is not None and result.status == "failed")

        reports = []
        if params["uploads"]:
            items = [Source(u["source"], Path(u["path"]), u["meta"]) for u in params["uploads"]]
            reports.append(
                self.knowledge.ingest_sources(
                    params["kb"], items, options=params["options"], progress=progress, cancel=ctx.cancel_event
                )
            )
        if params["paths"] and not ctx.cancelled:
            reports.append(
                self.knowledge.ingest(
                    params["kb"],
                    params["paths"],
                    include=params["include"],
                    exclude=params["exclude"],
                    sync=params["sync"],
                    options=params["options"],
                    progress=progress,
                    cancel=ctx.cancel_event,
                )
            )
        if params["uploads"] and not ctx.cancelled:
            shutil.rmtree(Path(params["uploads"][0]["path"]).parent, ignore_errors=True)
        merged = reports[0]
        for r in reports[1:]:
            merged.files.extend(r.files)
            merged.seconds += r.seconds
            merged.cancelled |= r.cancelled
        return merged.to_dict()

    def resume_job(self, job_id: str) -> JobRecord:
        """Run an interrupted or cancelled ingestion again; files already stored are skipped."""
        old = self.jobs.get(job_id)
        if old.kind != "ingest" or old.status not in ("interrupted", "cancelled", "failed"):
            raise InvalidInput(f"job {job_id} ({old.kind}, {old.status}) cannot be resumed", param="job")
        params = dict(old.params)
        params["uploads"] = [u for u in params.get("uploads", []) if Path(u["path"]).exists()]
        return self.jobs.submit("ingest", old.target, params, lambda ctx: self._ingest_job(ctx, params))

    def kb_passages(self, kb: str, question: str, **retrieval: Any) -> list:
        """The retrieved passages that can ground an answer (empty: the answer is "I don't know").
        `retrieval`: mode, top_k, min_score, filters, mmr, multi_query, rewrite_model."""
        found = self.knowledge.retrieve(kb, question, **retrieval)
        return self.knowledge.relevant(kb, question, found)

    def stream_kb_answer(
        self,
        kb: str,
        question: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        filters: dict | None = None,
        mmr: bool | None = None,
        multi_query: int | None = None,
        params: GenerationParams | None = None,
        guardrail: str | None = None,
        trace: list | None = None,
        used: list | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Retrieve, then stream the answer; the last event lists the citations it uses. With a
        guardrail: the question is checked first, passages carrying instructions are dropped, the
        answer is checked as it streams; assessments are appended to `trace`."""
        trace = trace if trace is not None else []
        guard = self.guardrails.load(guardrail) if guardrail else None
        if guard is not None:
            verdict = guard.check(question, "input")
            if verdict.findings:
                trace.append(verdict)
            if verdict.blocked:
                return iter([TextDelta(verdict.text), Finish("content_filter"), rag.CitationsEvent([])])
            question = verdict.text
        passages = self.kb_passages(
            kb, question, top_k=top_k, mode=mode, filters=filters, mmr=mmr, multi_query=multi_query, rewrite_model=model
        )
        if guard is not None:
            passages = screen_passages(guard, passages, trace)
        if used is not None:
            used.extend(passages)
        events = rag.stream_answer(self.models.chat(model), question, passages, as_params(params, kwargs))
        return guard_stream(events, guard, trace) if guard is not None else events

    def ask_kb(
        self,
        kb: str,
        question: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        filters: dict | None = None,
        mmr: bool | None = None,
        multi_query: int | None = None,
        params: GenerationParams | None = None,
        guardrail: str | None = None,
        **kwargs: Any,
    ) -> RagAnswer:
        """retrieve_and_generate: an answer grounded in the knowledge base, with citations. With a
        guardrail that has a grounding policy, the answer gets grounding and relevance scores
        (per sentence too) and is flagged or blocked below the thresholds."""
        if guardrail is None:
            passages = self.kb_passages(
                kb,
                question,
                top_k=top_k,
                mode=mode,
                filters=filters,
                mmr=mmr,
                multi_query=multi_query,
                rewrite_model=model,
            )
            return rag.answer(self.models.chat(model), question, passages, as_params(params, kwargs))
        trace: list = []
        used: list = []
        events = list(
            self.stream_kb_answer(
                kb,
                question,
                model=model,
                top_k=top_k,
                mode=mode,
                filters=filters,
                mmr=mmr,
                multi_query=multi_query,
                params=params,
                guardrail=guardrail,
                trace=trace,
                used=used,
                **kwargs,
            )
        )
        cites = next((e.citations for e in events if isinstance(e, rag.CitationsEvent)), [])
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        guard = self.guardrails.load(guardrail)
        passages = [p.text for p in used]
        scores = {}
        if guard.config.grounding is not None and passages:
            verdict = guard.check(text, "output", question=question, passages=passages)
            scores = {k: v for k, v in guard.grounding_scores(text, question, passages).items()}
            if verdict.findings:
                trace.append(verdict)
            if verdict.blocked:
                text = verdict.text
        filtered = any(isinstance(e, Finish) and e.reason == "content_filter" for e in events)
        return RagAnswer(
            text,
            cites,
            used,
            answered=bool(used) and not filtered,
            guardrail={
                "name": guard.name,
                "version": guard.version,
                "scores": scores,
                "assessments": [a.to_dict() for a in trace],
            },
        )

    # -- chat -----------------------------------------------------------------------------------
    def say(self, conversation_id: str, content: str, **kwargs: Any) -> TurnSaved:
        """One non-streaming chat turn in a stored conversation."""
        params = kwargs.pop("params", None)
        model = kwargs.pop("model", None)
        summarize = kwargs.pop("summarize", None)
        kb = kwargs.pop("knowledge_base", None)
        retrieval = kwargs.pop("retrieval", None)
        guardrail = kwargs.pop("guardrail", None)
        return self.chat.reply(
            conversation_id,
            content,
            model=model,
            params=as_params(params, kwargs),
            summarize=summarize,
            knowledge_base=kb,
            retrieval=retrieval,
            guardrail=guardrail,
        )

    def close(self) -> None:
        self.jobs.close()
        self.models.close()
        self.db.close()

    def __enter__(self) -> Fmstack:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""The Python SDK: every capability in-process, no server. The server and the CLI call this too.

`Fmstack` composes the services and holds no logic of its own: each method is one call to the
service that owns it (a grounded answer is the turn pipeline's, ingestion jobs are the knowledge
base's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from . import plugins
from .access import Accounting, AuditLog
from .access.limits import KeyMeter
from .access.oidc import OidcConfig, OidcLogin
from .access.teams import Teams
from .agents.service import AgentService
from .batches import BatchService
from .chat import ChatService, ConversationStore, TurnSaved
from .config import Settings
from .endpoints import EndpointStore
from .errors import InvalidInput
from .evaluation.runner import EvaluationService
from .files import FileStore
from .guardrails import GuardrailService
from .jobs import JobRecord, JobRunner
from .keys import KeyStore
from .knowledge import KnowledgeService, RagAnswer
from .knowledge.index import search_index
from .knowledge.ingest_jobs import IngestionJobs, Upload
from .knowledge.options import Retrieval
from .knowledge.service import Retrieved
from .models import ChatResult, Event, GenerationParams, Message, ModelRegistry
from .models.aliases import AliasBook
from .models.metering import METER
from .prompts import PromptService
from .security import PathPolicy, SecretBox, UrlPolicy
from .store import Database
from .tuning.datasets import DatasetService
from .tuning.service import TuningService
from .turns import TurnEvent, TurnPipeline


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


def _kb_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A grounded answer's keyword arguments sorted out: model, guardrail, retrieval options
    (top_k=3, mode="bm25") and generation parameters (temperature=0, or params=…)."""
    kwargs = dict(kwargs)
    model, guardrail, params = kwargs.pop("model", None), kwargs.pop("guardrail", None), kwargs.pop("params", None)
    retrieval = Retrieval.parse({k: kwargs.pop(k) for k in list(kwargs) if k in Retrieval.model_fields})
    return {"model": model, "guardrail": guardrail, "retrieval": retrieval, "params": as_params(params, kwargs)}


class Fmstack:
    """
    >>> fm = Fmstack()
    >>> fm.generate("Say hi", max_tokens=8).text
    >>> conv = fm.conversations.create(system_prompt="Be brief.")
    >>> fm.chat.reply(conv.id, "Hello").assistant_message.content
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any):
        plugins.load()  # extensions register providers, loaders, policies, tool kinds and metrics first
        self.settings = settings or Settings.from_env(**overrides)
        self.models = ModelRegistry(self.settings)
        self.db = Database(self.settings.db_url)
        self.conversations = ConversationStore(self.db)
        self.secrets = SecretBox.for_data_dir(self.settings.data_dir, self.settings.secret_key)
        # URLs callers name (endpoints, OpenAPI and MCP tools) are checked; files over HTTP too (server.py)
        self.outbound = UrlPolicy.parse(self.settings.outbound_allow, self.settings.outbound_deny)
        self.paths = PathPolicy(None)  # files callers name: any for the SDK and CLI (see serve_callers)
        self.keys = KeyStore(self.db, self.settings.api_keys)
        self.accounting = Accounting(self.db, self.models)  # per-key limits and usage
        self.audit = AuditLog(self.db, self.settings.audit_retention_days)
        self.teams = Teams(self.db)  # workspaces, users, members, console sign-in
        self.oidc = (
            OidcLogin(
                OidcConfig(
                    self.settings.oidc_issuer,
                    self.settings.oidc_client_id or "",
                    self.settings.oidc_client_secret,
                    self.settings.oidc_create_users,
                ),
                self.secrets,
            )
            if self.settings.oidc_issuer
            else None
        )
        self.endpoints = EndpointStore(self.db, self.models, self.secrets, self.outbound)
        self.guardrails = GuardrailService(self.db, self.models)
        self.knowledge = KnowledgeService(
            self.db, self.models, search_index(self.db, self.settings.search_backend), outbound=self.outbound
        )
        self.turns = TurnPipeline(self.models, self.knowledge, self.guardrails)
        self.chat = ChatService(self.conversations, self.turns)
        self.jobs = JobRunner(self.db)
        self.ingestion = IngestionJobs(self.knowledge, self.jobs, self.settings.data_dir)
        self.prompts = PromptService(self.db)
        self.agents = AgentService(
            self.db,
            self.models,
            self.knowledge,
            self.turns,
            self.conversations,
            outbound=self.outbound,
            command_tools=self.settings.command_tools != "off",
        )
        self.evaluations = EvaluationService(
            self.db, self.models, self.turns, self.prompts, self.conversations, self.jobs
        )
        self.files = FileStore(self.db, self.settings.data_dir)
        self.batches = BatchService(self.db, self.files, self.jobs, self._batch_dispatch, self._concurrency)
        self.datasets = DatasetService(self.db, self.settings.data_dir, self._token_counter)
        self.tuning = TuningService(
            self.db,
            self.settings.data_dir,
            self.models,
            self.datasets,
            JobRunner(self.db),  # a runner of its own: a long tune does not hold up ingestion or batches
            self.settings.threads,
            self.evaluations,
        )
        self.tuning.load()  # tuned models are served like configured ones
        for runner in self.runners:
            runner.capture, runner.restore = self._job_caller, self._as_caller
        self.aliases = AliasBook(self.db, self.models)
        self.aliases.load()  # aliases a workspace pointed elsewhere (promotions)
        self.asgi_app: Any = None  # the server's application, when this Fmstack serves one

    def _batch_dispatch(self):
        """Batch lines go through the server's routes: on a Ray cluster (FMSTACK_RAY_ADDRESS) each
        node's own application; else the running server's application, or one made for this process
        (the CLI submitting a batch without a server)."""
        from .server.app import create_app
        from .server.internal import dispatcher, ray_dispatcher

        if (cluster := self.models.cluster()) is not None:  # lines answered on the cluster's nodes
            return ray_dispatcher(cluster, self.settings)
        if self.asgi_app is None:
            self.asgi_app = create_app(self)
        return dispatcher(self.asgi_app)

    def _token_counter(self, model: str | None) -> tuple[Callable[[dict], int], int | None]:
        """How a dataset counts an example's tokens (with the tokenizer of the model it is for),
        and that model's context window."""
        chat = self.models.chat(model)

        def count(example: dict) -> int:
            if "text" in example:
                return chat.count_tokens(example["text"])
            turns = [Message(role=m["role"], content=m["content"]) for m in example["messages"]]
            if "chosen" in example:
                longer = max(example["chosen"], example["rejected"], key=len)
                turns.append(Message(role="assistant", content=longer))
            return chat.count_message_tokens(turns)

        return count, chat.info.context_window

    def _concurrency(self, model: str | None) -> int:
        """How many batch lines for `model` run at once: a remote provider's REMOTE_CONCURRENCY, a
        local model's `parallel` (the requests it decodes together), else one at a time."""
        from .batches import REMOTE_CONCURRENCY

        try:
            info = self.models.info(model or "default")
            if info.provider == "openai":
                return REMOTE_CONCURRENCY
            each = int(getattr(self.models.chat(model), "parallel", 1)) if info.provider == "local" else 1
        except Exception:  # an unknown model: the line's request says so itself
            return 1
        cluster = self.models.cluster()
        return each * len(cluster.nodes()) if cluster is not None else each  # a copy of the model per node

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
        batch = [texts] if isinstance(texts, str) else list(texts)
        vecs = self.models.embedding(model).embed(batch, input_type=input_type)
        return vecs[0] if single else vecs

    def count_tokens(self, text: str | Sequence[Message | dict], *, model: str | None = None) -> int:
        if isinstance(text, str):
            return self.models.chat(model).count_tokens(text)
        return self.models.chat(model).count_message_tokens(as_messages(text))

    # -- knowledge bases ------------------------------------------------------------------------
    def start_ingest(
        self, kb: str, paths: Sequence[str] = (), *, uploads: Sequence[Upload] = (), **kw: Any
    ) -> JobRecord:
        """Ingest in the background (see IngestionJobs.start)."""
        return self.ingestion.start(kb, paths, uploads=uploads, **kw)

    def resume_job(self, job_id: str) -> JobRecord:
        """Run an interrupted or cancelled ingestion again; files already stored are skipped."""
        return self.ingestion.resume(job_id)

    def kb_passages(self, kb: str, question: str, **retrieval: Any) -> list[Retrieved]:
        """The retrieved passages that can ground an answer (empty: the answer is "I don't know").
        `retrieval`: mode, top_k, min_score, filters, mmr, multi_query, rewrite_model."""
        return self.turns.retrieve(kb, question, retrieval=Retrieval.parse(retrieval))[1]

    def stream_kb_answer(self, kb: str, question: str, **kwargs: Any) -> Iterator[TurnEvent]:
        """Retrieve, then stream the answer; the last event lists the citations it uses. Keyword
        arguments: model, guardrail, params, retrieval options (top_k, mode, filters, mmr,
        multi_query) and generation parameters. With a guardrail: the question is checked first,
        passages carrying instructions are dropped, the answer is checked as it streams."""
        options = _kb_options(kwargs)
        turn = self.turns.prepare([Message("user", question)], knowledge_base=kb, **options)
        return turn.stream()

    def ask_kb(self, kb: str, question: str, **kwargs: Any) -> RagAnswer:
        """retrieve_and_generate: an answer grounded in the knowledge base, with citations; the
        keyword arguments of stream_kb_answer. With a guardrail that has a grounding policy, the
        answer gets grounding and relevance scores (per sentence too) and is flagged or blocked
        below the thresholds."""
        return self.turns.ask(kb, question, **_kb_options(kwargs))

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

    @property
    def runners(self) -> tuple[JobRunner, ...]:
        """The job queues' runners: background work, and fine-tuning on its own."""
        return (self.jobs, self.tuning.jobs)

    def resume_unfinished(self) -> None:
        """Batches and fine-tuning jobs whose job ended before they did (a process stopped more
        often than the queue retries) start again where they were; once, however many processes ask."""
        self.batches.resume_unfinished()
        self.tuning.resume_unfinished()

    def serve_callers(self) -> None:
        """This process acts for callers over HTTP (the server, a worker running their jobs):
        files they name by path — paths to ingest, an evaluation's dataset, a cross-encoder
        reranker's folder — are read only under FMSTACK_INGEST_ROOTS (security/paths.py)."""
        self.paths = self.knowledge.paths = PathPolicy.under(self.settings.ingest_roots)

    def leave_jobs_to_workers(self) -> None:
        """Queue jobs without running them here (`fmstack serve --no-jobs`): `fmstack worker`s run them."""
        for runner in self.runners:
            runner.local = False

    def start_jobs(self) -> None:
        """Run queued jobs in this process (a server, `fmstack worker`): any process's, any workspace's."""
        for runner in self.runners:
            runner.start()

    @staticmethod
    def _job_caller() -> str | None:
        """The API key of the request queuing a job: the job is metered to it wherever it runs."""
        key = getattr(METER.get(), "key", None)
        return getattr(key, "id", None)

    @contextmanager
    def _as_caller(self, key_id: str | None) -> Iterator[None]:
        key = self.keys.by_id(key_id) if key_id else None
        token = METER.set(KeyMeter(self.accounting, key) if key is not None else None)
        try:
            yield
        finally:
            METER.reset(token)

    def close(self) -> None:
        for runner in self.runners:
            runner.close()
        self.models.close()
        self.db.close()

    def __enter__(self) -> Fmstack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

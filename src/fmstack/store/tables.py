"""ORM tables. Schema changes go through a new migration in migrations/versions/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .scope import WorkspaceScoped


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class Workspace(Base):
    """A team's space: its conversations, knowledge bases, agents, guardrails, prompts, evaluations,
    jobs and API keys, seen by no other workspace (scope.py)."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ws"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who signs in to the console; `is_admin`: manages workspaces and users."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("user"))
    name: Mapped[str] = mapped_column(String(200), unique=True)  # the login name (an e-mail address, say)
    password_hash: Mapped[str | None] = mapped_column(String(300))  # None: sign-in by OIDC only
    is_admin: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A user's role in a workspace."""

    __tablename__ = "memberships"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))  # owner | admin | member | viewer


class UserSession(Base):
    """A console sign-in: the cookie carries the token, the table its hash."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class Conversation(WorkspaceScoped, Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("conv"))
    title: Mapped[str] = mapped_column(String(300), default="New conversation")
    model: Mapped[str | None] = mapped_column(String(200))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    # Summary of turns dropped from the context window, and the last message it covers.
    summary: Mapped[str | None] = mapped_column(Text)
    summary_through: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    messages: Mapped[list[MessageRow]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True, order_by="MessageRow.seq"
    )


class MessageRow(WorkspaceScoped, Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"), Index("ix_messages_rating", "rating"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str | None] = mapped_column(String(200))
    tool_calls: Mapped[list | None] = mapped_column(JSON)
    tool_call_id: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    # Feedback lives with the message it judges: +1 (👍), -1 (👎) or NULL.
    rating: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[str | None] = mapped_column(Text)  # the answer the rater says it should have been
    feedback_at: Mapped[datetime | None] = mapped_column()
    # Anything else the turn produced: citations of a knowledge-base answer, the rewritten query.
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class ApiKey(WorkspaceScoped, Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    guardrail: Mapped[str | None] = mapped_column(String(120))  # applied to every request made with this key
    role: Mapped[str] = mapped_column(
        String(20), default="owner", server_default="owner"
    )  # owner | admin | member | viewer
    expires_at: Mapped[datetime | None] = mapped_column()
    allowed_models: Mapped[list | None] = mapped_column(JSON)  # None: every model
    rpm: Mapped[int | None] = mapped_column(Integer)  # requests per minute
    tpm: Mapped[int | None] = mapped_column(Integer)  # tokens per minute
    monthly_budget: Mapped[float | None] = mapped_column(Float)  # in the currency of the model prices


class UsageRow(WorkspaceScoped, Base):
    """Tokens and cost of one model call, with who made it (the API key; NULL: no key)."""

    __tablename__ = "usage"
    __table_args__ = (Index("ix_usage_key_at", "key_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    key_id: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)


class RateWindow(Base):
    """Requests and tokens one key used in one minute: counted in the database so that every
    server process sees the same limit."""

    __tablename__ = "rate_windows"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # unix time // 60
    requests: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)


class BudgetMonth(Base):
    """A key's spending in one month, and what calls in progress hold of it (access/limits.py)."""

    __tablename__ = "budget_months"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM (UTC)
    spent: Mapped[float] = mapped_column(Float, default=0.0)
    held: Mapped[float] = mapped_column(Float, default=0.0)


class AuditRow(WorkspaceScoped, Base):
    """One change made through the API: who, when, what, from where, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # key id and name, or "local" with no keys
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))  # the HTTP method
    target: Mapped[str] = mapped_column(String(1000))  # the path
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(100))  # the caller's address


class KnowledgeBase(WorkspaceScoped, Base):
    __tablename__ = "knowledge_bases"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("kb"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    embedding_model: Mapped[str] = mapped_column(String(200))
    chunking: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retrieval: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped on every change of its chunks: search indexes cached in memory are rebuilt when it moves.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KbDocument(WorkspaceScoped, Base):
    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("kb_id", "source"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("doc"))
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(500), default="")
    format: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready | error
    error: Mapped[str | None] = mapped_column(Text)
    n_chunks: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KbChunk(WorkspaceScoped, Base):
    __tablename__ = "kb_chunks"
    __table_args__ = (Index("ix_kb_chunks_kb_level", "kb_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    # 0: a searchable chunk; 1: a parent section returned in place of its children (small-to-big).
    level: Mapped[int] = mapped_column(Integer, default=0)
    parent_seq: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")
    start_char: Mapped[int] = mapped_column(Integer, default=0)
    end_char: Mapped[int] = mapped_column(Integer, default=0)
    terms: Mapped[str] = mapped_column(Text, default="")  # segmented words for keyword search
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Job(WorkspaceScoped, Base):
    """Long work run in the background (ingestion, evaluation…): its progress and outcome."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_kind_target", "kind", "target"), Index("ix_jobs_queue", "status", "created_at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("job"))
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))  # what it works on, e.g. a knowledge base id
    # queued | running | cancelling | succeeded | failed | cancelled | interrupted (the process stopped under it)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    owner: Mapped[str] = mapped_column(String(200), default="")  # host:pid of the process running it
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # runs started
    lease_until: Mapped[datetime | None] = mapped_column()  # its process renews this while it runs
    key_id: Mapped[str | None] = mapped_column(String(40))  # the API key that queued it (metered to it)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ResponseRow(WorkspaceScoped, Base):
    """A stored Responses API response: what it returned, and the conversation up to and including
    its output, which a later request continues with `previous_response_id`."""

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("resp"))
    model: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # the response object
    conversation: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # messages (OpenAI's chat shape)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FileRow(WorkspaceScoped, Base):
    """An uploaded file (OpenAI's Files API): batch input and output, fine-tuning data. The bytes
    live in the data directory (files/<id>); this row says what they are."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("file"))
    filename: Mapped[str] = mapped_column(String(500))
    purpose: Mapped[str] = mapped_column(String(40), index=True)
    bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BatchRow(WorkspaceScoped, Base):
    """A batch of requests run in the background (OpenAI's Batch API)."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("batch"))
    endpoint: Mapped[str] = mapped_column(String(100))
    input_file_id: Mapped[str] = mapped_column(String(40))
    output_file_id: Mapped[str | None] = mapped_column(String(40))
    error_file_id: Mapped[str | None] = mapped_column(String(40))
    # validating | failed | in_progress | finalizing | completed | expired | cancelling | cancelled
    status: Mapped[str] = mapped_column(String(20), default="validating", index=True)
    job_id: Mapped[str | None] = mapped_column(String(40))
    caller: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the API key (record) the lines are counted against
    completion_window: Mapped[str] = mapped_column(String(10), default="24h")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # total, completed, failed
    errors: Mapped[list | None] = mapped_column(JSON)  # why the input was refused
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    in_progress_at: Mapped[datetime | None] = mapped_column()
    finalizing_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()
    cancelling_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()


class BatchResult(WorkspaceScoped, Base):
    """One answered line of a batch, kept as it finishes: a restarted batch skips these, and the
    output file is written from them in input order."""

    __tablename__ = "batch_results"
    __table_args__ = (PrimaryKeyConstraint("batch_id", "line"),)

    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("batches.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    custom_id: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ModelEndpoint(Base):
    """A model served by an OpenAI-compatible endpoint, added from the console or the API."""

    __tablename__ = "model_endpoints"
    __table_args__ = (PrimaryKeyConstraint("scope", "name"),)

    # "" for the whole server (added by a server admin), else the workspace that added it and alone sees it
    scope: Mapped[str] = mapped_column(String(40), default="", server_default="")
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # chat | embedding
    base_url: Mapped[str] = mapped_column(String(1000))
    model: Mapped[str] = mapped_column(String(300))  # the provider's own model name
    api_key: Mapped[str | None] = mapped_column(Text)  # kept as given (never returned by the API)
    context_window: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GuardrailRow(WorkspaceScoped, Base):
    """One version of a guardrail; a change adds a version, old ones stay for traces and pinning."""

    __tablename__ = "guardrails"
    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptRow(WorkspaceScoped, Base):
    """One version of a prompt template: text, or chat messages whose contents are templates."""

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    template: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[list | None] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # what changed in this version
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvalRun(WorkspaceScoped, Base):
    """One configuration evaluated on one dataset: its spec, status and aggregate scores."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("eval"))
    name: Mapped[str] = mapped_column(String(200))  # the evaluation (spec) it belongs to
    config_name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # dataset, task, configuration, metrics
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | error | interrupted
    total: Mapped[int] = mapped_column(Integer, default=0)
    aggregates: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class EvalResult(WorkspaceScoped, Base):
    """One example of a run: the model's output, its scores, and a person's rating if given."""

    __tablename__ = "eval_results"
    __table_args__ = (UniqueConstraint("run_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("eval_runs.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    example: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text)
    contexts: Mapped[list | None] = mapped_column(JSON)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    tokens: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    human_rating: Mapped[int | None] = mapped_column(Integer)  # 1-5, from the review queue
    human_comment: Mapped[str | None] = mapped_column(Text)


class AgentRow(WorkspaceScoped, Base):
    """An agent definition: instructions, model, tools, knowledge bases, guardrail, limits."""

    __tablename__ = "agents"
    __table_args__ = (PrimaryKeyConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgentRun(WorkspaceScoped, Base):
    """One run of an agent and its trace (every step)."""

    __tablename__ = "agent_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("run"))
    agent: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | answer | max_steps | … | error
    input: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list | None] = mapped_column(JSON)
    # While waiting for a person's confirmation: the conversation and counters to resume from.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The conversation this run is a turn of (its earlier turns are the agent's memory).
    session_id: Mapped[str | None] = mapped_column(String(40), index=True)
    replay_of: Mapped[str | None] = mapped_column(String(40))  # the run whose recorded tool results it used
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class DatasetRow(WorkspaceScoped, Base):
    """One version of a dataset for tuning: its examples live in `data_dir/datasets/<id>.jsonl`
    (each with its split), the row says what they are, where they came from and what was dropped."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ds"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(20))  # chat | preference | text
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # file, feedback, evaluation, knowledge base
    rows: Mapped[int] = mapped_column(Integer, default=0)  # valid examples kept
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)  # rows dropped or changed, with reasons
    splits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # seed and fractions, counts per split
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TuningJobRow(WorkspaceScoped, Base):
    """A fine-tuning job (OpenAI's fine_tuning.job): what it tunes on, how, and what it made."""

    __tablename__ = "tuning_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ftjob"))
    base_model: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(20), default="supervised")  # supervised | dpo | pretraining
    dataset_id: Mapped[str] = mapped_column(String(40))
    training_file: Mapped[str | None] = mapped_column(String(40))
    validation_file: Mapped[str | None] = mapped_column(String(40))
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suffix: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer, default=0)
    # validating_files | queued | running | succeeded | failed | cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    job_id: Mapped[str | None] = mapped_column(String(40))  # the background job running it now
    fine_tuned_model: Mapped[str | None] = mapped_column(String(200))
    trained_tokens: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()
    estimated_finish: Mapped[datetime | None] = mapped_column()


class TuningEvent(WorkspaceScoped, Base):
    """What a fine-tuning job said as it ran: messages, metrics at each logged step, checkpoints."""

    __tablename__ = "tuning_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ftevent"))
    tuning_job_id: Mapped[str] = mapped_column(String(40), ForeignKey("tuning_jobs.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20), default="message")  # message | metrics | checkpoint
    level: Mapped[str] = mapped_column(String(10), default="info")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TunedModel(WorkspaceScoped, Base):
    """A model a tuning job made, served like any other: its base, its adapter and its lineage."""

    __tablename__ = "tuned_models"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    tuning_job_id: Mapped[str] = mapped_column(String(40))
    base_model: Mapped[str] = mapped_column(String(200))
    base_path: Mapped[str] = mapped_column(Text)  # the GGUF served: the merged model, or the base of the adapter
    adapter_path: Mapped[str] = mapped_column(Text)  # LoRA adapter in GGUF
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AliasChange(WorkspaceScoped, Base):
    """An alias pointed at a model (a promotion) or back (a roll-back); the newest row of an alias
    in a workspace is where it points there."""

    __tablename__ = "alias_changes"
    __table_args__ = (Index("ix_alias_changes_alias", "workspace_id", "alias", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("alias"))
    alias: Mapped[str] = mapped_column(String(200))
    target: Mapped[str | None] = mapped_column(String(200))  # None: back to the configuration's target
    previous: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

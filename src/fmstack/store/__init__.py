"""Storage: one database (SQLite file by default, any SQLAlchemy URL) with Alembic migrations."""

from .db import Database
from .tables import (
    AgentRow,
    AgentRun,
    ApiKey,
    Base,
    Conversation,
    EvalResult,
    EvalRun,
    GuardrailRow,
    Job,
    KbChunk,
    KbDocument,
    KnowledgeBase,
    MessageRow,
    ModelEndpoint,
    PromptRow,
)

__all__ = [
    "AgentRow",
    "AgentRun",
    "ApiKey",
    "Base",
    "Conversation",
    "Database",
    "EvalResult",
    "EvalRun",
    "GuardrailRow",
    "Job",
    "KbChunk",
    "KbDocument",
    "KnowledgeBase",
    "MessageRow",
    "ModelEndpoint",
    "PromptRow",
]

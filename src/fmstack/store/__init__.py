"""Storage: one database (SQLite file by default, any SQLAlchemy URL) with Alembic migrations."""

from .db import Database
from .tables import AgentRow, AgentRun, ApiKey, Base, Conversation, GuardrailRow, Job, KbChunk, KbDocument, KnowledgeBase, MessageRow, ModelEndpoint

__all__ = ["AgentRow", "AgentRun", "ApiKey", "Base", "Conversation", "Database", "GuardrailRow", "Job", "KbChunk", "KbDocument", "KnowledgeBase", "MessageRow", "ModelEndpoint"]

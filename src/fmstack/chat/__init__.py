"""Chat: conversations stored in the database, sent whole to the model each turn (trimmed to fit)."""

from ..models.context import fit_to_context
from .conversations import ConversationRecord, ConversationStore, MessageRecord
from .service import ChatService, TurnSaved

__all__ = ["ChatService", "ConversationRecord", "ConversationStore", "MessageRecord", "TurnSaved", "fit_to_context"]

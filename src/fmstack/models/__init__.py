"""The model layer: one interface over local and remote chat and embedding models."""

from .base import ChatModel, EmbeddingModel, ModelInfo
from .registry import ModelRegistry, chat_provider, embedding_provider
from .types import (
    ChatResult,
    ErrorEvent,
    Event,
    Finish,
    GenerationParams,
    Message,
    TextDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    ToolDecisionEvent,
    Usage,
    UsageEvent,
    collect,
)

__all__ = [
    "ChatModel",
    "ChatResult",
    "EmbeddingModel",
    "ErrorEvent",
    "Event",
    "Finish",
    "GenerationParams",
    "Message",
    "ModelInfo",
    "ModelRegistry",
    "TextDelta",
    "TokenLogprob",
    "ToolCall",
    "ToolCallDelta",
    "ToolDecisionEvent",
    "Usage",
    "UsageEvent",
    "chat_provider",
    "collect",
    "embedding_provider",
]

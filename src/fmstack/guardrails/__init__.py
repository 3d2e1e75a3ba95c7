"""Guardrails: policies checked on inputs, outputs (while streaming too) and retrieved context."""

from .engine import Assessment, Finding, Guardrail, GuardrailConfig, guard_stream, parse_config
from .service import GuardrailRecord, GuardrailService

__all__ = [
    "Assessment",
    "Finding",
    "Guardrail",
    "GuardrailConfig",
    "GuardrailRecord",
    "GuardrailService",
    "guard_stream",
    "parse_config",
]

"""Prompts: versioned templates (templates.py) and techniques (techniques.py)."""

from .templates import PromptRecord, PromptService, parse_ref

__all__ = ["PromptRecord", "PromptService", "parse_ref"]

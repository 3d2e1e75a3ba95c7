"""Agents: tools (functions, OpenAPI operations, knowledge bases) and, to come, the loop that calls them."""

from .tools import Observation, Tool, function_tool, knowledge_tool, openapi_tools

__all__ = ["Observation", "Tool", "function_tool", "knowledge_tool", "openapi_tools"]

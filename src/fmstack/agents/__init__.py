"""Agents: tools (functions, OpenAPI operations, knowledge bases) and the loop that calls them."""

from .loop import Agent, AgentResult, Limits, Step, parse_react
from .tools import Observation, Tool, function_tool, knowledge_tool, openapi_tools

__all__ = [
    "Agent",
    "AgentResult",
    "Limits",
    "Observation",
    "Step",
    "Tool",
    "function_tool",
    "knowledge_tool",
    "openapi_tools",
    "parse_react",
]

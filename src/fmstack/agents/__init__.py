"""Agents: tools (functions, OpenAPI operations, knowledge bases) and the loop that calls them."""

from .kinds import ToolEnv, ToolSpec, tool_kind
from .loop import Agent, AgentResult, Limits, Step, parse_react
from .tools import Observation, Tool, function_tool, knowledge_tool, openapi_tools

__all__ = [
    "Agent",
    "AgentResult",
    "Limits",
    "Observation",
    "Step",
    "Tool",
    "ToolEnv",
    "ToolSpec",
    "function_tool",
    "knowledge_tool",
    "openapi_tools",
    "parse_react",
    "tool_kind",
]

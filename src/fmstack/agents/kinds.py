"""Tool kinds: how an agent definition's `tools: [{type: …}]` entries become tools. Each kind is a
configuration model (its fields, validated when the agent is saved) and a builder; the built-in
kinds register the way another package's kind does:

    class WeatherTool(ToolSpec):
        type: Literal["weather"] = "weather"
        city: str

    @tool_kind("weather", WeatherTool)
    def weather(spec: WeatherTool, env: ToolEnv) -> list[Tool]:
        return [function_tool(...)]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import Forbidden, InvalidInput
from ..security import UrlPolicy
from .mcp import MCPConnection
from .tools import Tool, function_tool, openapi_tools


class ToolSpec(BaseModel):
    """The common part of every kind's configuration. `runs_code`: whether this entry makes the
    server run a command or import code (only admins may define those)."""

    model_config = ConfigDict(extra="forbid")
    type: str

    @property
    def runs_code(self) -> bool:
        return False


@dataclass
class ToolEnv:
    """What a builder may use: `stack` keeps connections (MCP servers) open for as long as the run
    needs them (None when the tools are only listed); `outbound` checks every URL a tool fetches
    (None: no check); `command_tools` False refuses tools that run commands or import code."""

    stack: ExitStack | None = None
    outbound: UrlPolicy | None = None
    command_tools: bool = True


@dataclass
class ToolKind:
    name: str
    spec: type[ToolSpec]
    build: Callable[[Any, ToolEnv], list[Tool]]


TOOL_KINDS: dict[str, ToolKind] = {}


def tool_kind(name: str, spec: type[ToolSpec]):
    def register(build: Callable[[Any, ToolEnv], list[Tool]]) -> Callable[[Any, ToolEnv], list[Tool]]:
        TOOL_KINDS[name] = ToolKind(name, spec, build)
        return build

    return register


def parse_tool_spec(data: Any) -> ToolSpec:
    """A `tools` entry as its kind's configuration (the `type` field picks the kind)."""
    if isinstance(data, ToolSpec):
        return data
    if not isinstance(data, dict):
        raise ValueError("a tool is an object with a type")
    kind = TOOL_KINDS.get(str(data.get("type")))
    if kind is None:
        raise ValueError(f"unknown tool type {data.get('type')!r}; known: {', '.join(sorted(TOOL_KINDS))}")
    return kind.spec.model_validate(data)


def build_tools(specs: list[ToolSpec], env: ToolEnv) -> list[Tool]:
    out: list[Tool] = []
    for spec in specs:
        out.extend(TOOL_KINDS[spec.type].build(spec, env))
    return out


# -- OpenAPI operations -----------------------------------------------------------------------------
class OpenAPITool(ToolSpec):
    type: Literal["openapi"] = "openapi"
    spec_url: str | None = None
    spec: dict | None = None
    base_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    confirm: list[str] = Field(default_factory=list)  # HTTP methods whose calls need a person's approval

    @model_validator(mode="after")
    def _complete(self) -> OpenAPITool:
        if not (self.spec or self.spec_url):
            raise ValueError("an openapi tool needs spec or spec_url")
        return self


@tool_kind("openapi", OpenAPITool)
def _openapi(spec: OpenAPITool, env: ToolEnv) -> list[Tool]:
    doc = spec.spec
    if doc is None:
        hooks = {"request": [env.outbound.hook]} if env.outbound is not None else {}
        try:
            with httpx.Client(event_hooks=hooks, timeout=15) as http:
                doc = http.get(spec.spec_url or "", headers=spec.headers).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as e:
            raise InvalidInput(f"cannot read the OpenAPI document at {spec.spec_url}: {e}", param="tools") from None
    methods = {m.upper() for m in spec.confirm}
    return openapi_tools(
        doc,
        base_url=spec.base_url,
        headers=spec.headers,
        confirm=lambda method, path: method in methods,
        outbound=env.outbound,
    )


# -- Python functions --------------------------------------------------------------------------------
class PythonTool(ToolSpec):
    type: Literal["python"] = "python"
    function: str = Field(description="package.module:function")
    needs_confirmation: bool = False  # a person approves each call

    @property
    def runs_code(self) -> bool:
        return True


@tool_kind("python", PythonTool)
def _python(spec: PythonTool, env: ToolEnv) -> list[Tool]:
    if not env.command_tools:
        raise Forbidden("Python tools are turned off on this server (FMSTACK_COMMAND_TOOLS=off)", param="tools")
    if ":" not in spec.function:
        raise InvalidInput("a python tool is 'package.module:function'", param="tools")
    module, _, attr = spec.function.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise InvalidInput(f"cannot import {spec.function}: {e}", param="tools") from None
    return [function_tool(fn, needs_confirmation=spec.needs_confirmation)]


# -- MCP servers ---------------------------------------------------------------------------------------
class MCPTool(ToolSpec):
    type: Literal["mcp"] = "mcp"
    command: list[str] | None = None  # over stdio: the server's command line
    url: str | None = None  # over streamable HTTP
    headers: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)  # stdio: extra environment
    include: list[str] | None = None  # only these of the server's tools
    confirm: list[str] = Field(default_factory=list)  # tool names whose calls need a person's approval

    @property
    def runs_code(self) -> bool:
        return bool(self.command)

    @model_validator(mode="after")
    def _complete(self) -> MCPTool:
        if bool(self.command) == bool(self.url):
            raise ValueError("an mcp tool needs either command (stdio) or url (streamable HTTP)")
        return self


@tool_kind("mcp", MCPTool)
def _mcp(spec: MCPTool, env: ToolEnv) -> list[Tool]:
    if env.stack is None:
        raise InvalidInput("MCP tools need a connection scope", param="tools")
    if spec.command and not env.command_tools:
        raise Forbidden(
            "MCP servers started by command are turned off on this server (FMSTACK_COMMAND_TOOLS=off)", param="tools"
        )
    if spec.url and env.outbound is not None:
        env.outbound.check(spec.url, param="tools")
    conn = env.stack.enter_context(
        MCPConnection(command=spec.command, url=spec.url, env=spec.env, headers=spec.headers)
    )
    return conn.tools(only=spec.include, confirm=spec.confirm)


__all__ = [
    "MCPTool",
    "OpenAPITool",
    "PythonTool",
    "TOOL_KINDS",
    "ToolEnv",
    "ToolKind",
    "ToolSpec",
    "build_tools",
    "parse_tool_spec",
    "tool_kind",
]

"""Tools from an MCP server (Model Context Protocol), through the official `mcp` SDK.

A server is reached over stdio (fmstack starts the command and talks over its stdin/stdout) or
over streamable HTTP (a URL). The agent loop is synchronous, the SDK is asyncio: a connection runs
its own event loop in a background thread and keeps one session open for the whole run, so a stdio
server is started once per run, not once per call.

    with MCPConnection(command=["python", "-m", "my_server"]) as conn:
        tools = conn.tools()          # one fmstack Tool per MCP tool, schemas as the server gives them
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from ..errors import InvalidInput
from .tools import Tool, schema_validator


class MCPConnection:
    """One open session with an MCP server, usable from synchronous code."""

    def __init__(
        self,
        *,
        command: Sequence[str] | None = None,
        url: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        timeout: float = 30.0,
        headers: dict[str, str] | None = None,
    ):
        if bool(command) == bool(url):
            raise InvalidInput("an MCP server is either a command (stdio) or a url (streamable HTTP)", param="tools")
        self.command, self.url, self.env, self.cwd = list(command or []), url, env, cwd
        self.timeout, self.headers = timeout, headers or {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    @property
    def label(self) -> str:
        return self.url or " ".join(self.command)

    # -- lifetime -------------------------------------------------------------------------------
    def open(self) -> MCPConnection:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fmstack-mcp", daemon=True)
        self._thread.start()
        try:
            self._run(self._connect())
        except Exception as e:
            self.close()
            raise InvalidInput(f"cannot connect to the MCP server {self.label}: {_reason(e)}", param="tools") from None
        return self

    async def _connect(self) -> None:
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        self._stack = AsyncExitStack()
        if self.url:
            target: Any = self.url
            if self.headers:
                import httpx2
                from mcp.client.streamable_http import streamable_http_client

                http = await self._stack.enter_async_context(
                    httpx2.AsyncClient(headers=self.headers, timeout=self.timeout)
                )
                target = streamable_http_client(self.url, http_client=http)  # a Transport: headers on every call
        else:
            target = StdioServerParameters(
                command=self.command[0], args=self.command[1:], env={**os.environ, **(self.env or {})}, cwd=self.cwd
            )
        self._client = await self._stack.enter_async_context(Client(target, read_timeout_seconds=self.timeout))

    def close(self) -> None:
        if self._loop is None:
            return
        if self._stack is not None:
            try:
                self._run(self._stack.aclose(), timeout=10)
            except Exception:  # a server that died already: nothing left to close
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop.close()
        self._loop = self._thread = self._stack = self._client = None

    def __enter__(self) -> MCPConnection:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, coro, timeout: float | None = None):
        assert self._loop is not None, "the MCP connection is not open"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout or self.timeout + 5)

    # -- tools ----------------------------------------------------------------------------------
    def tools(self, only: Sequence[str] | None = None, confirm: Sequence[str] = ()) -> list[Tool]:
        """The server's tools (all, or those named in `only`); `confirm` names the ones that need a
        person's approval before each call."""
        listed = self._run(self._client.list_tools()).tools
        names = {t.name for t in listed}
        missing = [n for n in (only or []) if n not in names]
        if missing:
            raise InvalidInput(
                f"the MCP server {self.label} has no tool {missing[0]!r} (it has: {sorted(names)})", param="tools"
            )
        out = []
        for t in listed:
            if only and t.name not in only:
                continue
            schema = dict(t.input_schema or {"type": "object", "properties": {}})
            out.append(
                Tool(
                    name=t.name,
                    description=(t.description or t.title or t.name).strip(),
                    parameters=schema,
                    run=self._caller(t.name),
                    validate=schema_validator(schema),
                    needs_confirmation=t.name in confirm,
                )
            )
        return out

    def _caller(self, name: str):
        def run(args: dict) -> Any:
            result = self._run(self._client.call_tool(name, args))
            text = "\n".join(getattr(c, "text", None) or f"[{getattr(c, 'type', 'content')}]" for c in result.content)
            if result.is_error:
                raise RuntimeError(text or "the MCP tool reported an error")
            if result.structured_content is not None and not text:
                return result.structured_content
            return text

        return run


def _reason(e: BaseException) -> str:
    """The first real cause inside an exception group (anyio wraps a failed start in one)."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__

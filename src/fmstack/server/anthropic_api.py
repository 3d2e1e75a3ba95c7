"""Anthropic's Messages API (`POST /v1/messages`), so Claude-ecosystem clients (the `anthropic` SDK)
work unchanged: system, multi-turn, tools (tool_use / tool_result), stop sequences, streaming
events, usage, the `x-api-key` header, and errors in Anthropic's shape (server/errors.py).

A request is translated to the platform's messages and parameters and goes through the same turn
pipeline as `/v1/chat/completions` (guardrails, the key's limits and usage, the model's queue).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Generator, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool

from ..errors import FmstackError, InvalidInput, ModelError
from ..models.types import (
    ErrorEvent,
    Event,
    Finish,
    GenerationParams,
    Message,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from ..turns import TurnEvent
from .deps import fm
from .openai_api import guardrail_for
from .schemas import FunctionIn
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread

router = APIRouter(prefix="/v1", tags=["Anthropic-compatible"])


# -- request ---------------------------------------------------------------------------------------
class TextBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class ImageSource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["base64", "url"]
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class ImageBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["image"]
    source: ImageSource

    def part(self) -> dict[str, Any]:
        """As an OpenAI image_url part (what providers that take images are sent)."""
        src = self.source
        url = src.url if src.type == "url" else f"data:{src.media_type or 'image/png'};base64,{src.data or ''}"
        if not url:
            raise InvalidInput("an image needs a url or base64 data", param="messages")
        return {"type": "image_url", "image_url": {"url": url}}


class DocumentBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["document"]


class ToolUseBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)


class ToolResultBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[TextBlock | ImageBlock] = ""
    is_error: bool = False

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(b.text for b in self.content if isinstance(b, TextBlock))


Block = Annotated[TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock, Field(discriminator="type")]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: str | list[Block]


class ToolIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str | None = None  # "custom" or left out: a tool the client runs, described by its input_schema
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})

    @field_validator("type")
    @classmethod
    def _custom_only(cls, v):
        # Anthropic's own tools (web_search_…, bash_…, text_editor_…) have no schema a model here knows
        if v not in (None, "custom"):
            raise ValueError(f"tools of type {v!r} are not supported; send custom tools with an input_schema")
        return v


class ToolChoiceIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MessagesRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    messages: list[MessageIn] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = Field(default=None, max_length=16)
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stream: bool = False
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    metadata: dict[str, Any] | None = None
    # fmstack extension, as on /v1/chat/completions
    guardrail: str | None = None

    @model_validator(mode="after")
    def _tools(self):
        names = [t.name for t in self.tools or []]
        if len(set(names)) != len(names):
            raise ValueError("tools must have distinct names")
        choice = self.tool_choice
        if choice is not None and choice.type == "tool" and not choice.name:
            raise ValueError("tool_choice of type 'tool' needs the tool's name")
        if choice is not None and choice.type == "tool" and choice.name not in names:
            raise ValueError(f"tool_choice names {choice.name!r}, which is not among the tools")
        if choice is not None and choice.type == "any" and not names:
            raise ValueError("tool_choice 'any' needs tools")
        return self

    def to_messages(self, model: str) -> list[Message]:
        out: list[Message] = []
        if self.system:
            system = self.system if isinstance(self.system, str) else "\n".join(b.text for b in self.system)
            out.append(Message("system", system))
        for i, m in enumerate(self.messages):
            if isinstance(m.content, str):
                out.append(Message(m.role, m.content))
                continue
            texts, calls, images = [], [], []
            for b in m.content:
                if isinstance(b, ImageBlock):
                    images.append(b.part())
                elif isinstance(b, DocumentBlock):
                    raise InvalidInput(
                        f"model {model!r} does not accept document input; send text", param=f"messages.{i}.content"
                    )
                if isinstance(b, ToolResultBlock):
                    if m.role != "user":
                        raise InvalidInput("tool_result blocks belong in user messages", param=f"messages.{i}")
                    result = b.text()
                    out.append(
                        Message("tool", f"Error: {result}" if b.is_error else result, tool_call_id=b.tool_use_id)
                    )
                elif isinstance(b, ToolUseBlock):
                    if m.role != "assistant":
                        raise InvalidInput("tool_use blocks belong in assistant messages", param=f"messages.{i}")
                    calls.append(ToolCall(b.id, b.name, json.dumps(b.input, ensure_ascii=False)))
                elif isinstance(b, TextBlock):
                    texts.append(b.text)
            if texts or calls or images:
                out.append(Message(m.role, "".join(texts), tool_calls=calls or None, parts=images or None))
        return out

    def params(self) -> GenerationParams:
        tools = None
        if self.tools:
            tools = [
                {
                    "type": "function",
                    "function": FunctionIn(
                        name=t.name, description=t.description, parameters=t.input_schema
                    ).model_dump(exclude_none=True),
                }
                for t in self.tools
            ]
        choice: Any = None
        if tools and self.tool_choice is not None:
            kind = self.tool_choice.type
            choice = {"auto": "auto", "any": "required", "none": "none"}.get(kind) or {
                "type": "function",
                "function": {"name": self.tool_choice.name},
            }
        return GenerationParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            tools=tools,
            tool_choice=choice,
            parallel_tool_calls=False if self.tool_choice and self.tool_choice.disable_parallel_tool_use else None,
        )


# -- stop sequences --------------------------------------------------------------------------------
class StopAt:
    """Ends a stream at the first of `stops` (which is not sent), remembering which one matched.
    Done here rather than by the model so that the response can say which sequence it was, the
    same for every provider."""

    def __init__(self, stops: list[str] | None):
        self.stops = [s for s in stops or [] if s]
        self.matched: str | None = None

    def __call__(self, events: Iterator[TurnEvent]) -> Generator[TurnEvent, None, None]:
        if not self.stops:
            yield from events
            return
        hold = max(len(s) for s in self.stops) - 1
        pending = ""
        try:
            for ev in events:
                if not isinstance(ev, TextDelta):
                    if isinstance(ev, Finish) and pending:
                        yield TextDelta(pending)
                        pending = ""
                    yield ev
                    continue
                pending += ev.text
                hits = [(pending.find(s), s) for s in self.stops if s in pending]
                if hits:
                    at, self.matched = min(hits)
                    if pending[:at]:
                        yield TextDelta(pending[:at])
                    yield Finish("stop")
                    return
                if len(pending) > hold:
                    cut = len(pending) - hold
                    yield TextDelta(pending[:cut])
                    pending = pending[cut:]
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a stop sequence ends the generation now


# -- response --------------------------------------------------------------------------------------
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def _stop_reason(finish: str, matched: str | None) -> str:
    return "stop_sequence" if matched is not None else STOP_REASONS.get(finish, "end_turn")


def _input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _usage(u: Usage) -> dict[str, int]:
    return {"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens}


def message_body(mid: str, model: str, events: list[TurnEvent], matched: str | None) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    if text:
        content.append({"type": "text", "text": text})
    calls: dict[int, dict[str, str]] = {}
    for e in events:
        if isinstance(e, ToolCallDelta):
            c = calls.setdefault(e.index, {"id": "", "name": "", "arguments": ""})
            c["id"] = e.id or c["id"]
            c["name"] = e.name or c["name"]
            c["arguments"] += e.arguments
    for c in calls.values():
        content.append(
            {"type": "tool_use", "id": _tool_id(c["id"]), "name": c["name"], "input": _input(c["arguments"])}
        )
    finish = next((e.reason for e in events if isinstance(e, Finish)), "stop")
    usage = next((e.usage for e in events if isinstance(e, UsageEvent)), Usage())
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _stop_reason(finish, matched),
        "stop_sequence": matched,
        "usage": _usage(usage),
    }


def _tool_id(call_id: str) -> str:
    return call_id if call_id.startswith("toolu_") else f"toolu_{call_id or uuid.uuid4().hex[:24]}"


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data}, ensure_ascii=False)}\n\n"


def stream_events(
    events: Iterator[Event | Any], mid: str, model: str, stop: StopAt, prompt_tokens: int
) -> Iterator[str]:
    """Anthropic's event sequence for a stream of events: message_start, then each content block
    (start, deltas, stop), message_delta with the stop reason and usage, message_stop. The first
    event is awaited before anything is written, so an error before any output is an HTTP error."""
    first = next(events)
    start: dict[str, Any] = {"id": mid, "type": "message", "role": "assistant", "model": model, "content": []}
    start |= {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": prompt_tokens, "output_tokens": 0}}
    yield _event("message_start", {"message": start})
    yield _event("ping", {})
    block = -1
    open_kind: str | None = None
    tool_index: dict[int, int] = {}
    finish, usage = "stop", Usage(prompt_tokens=prompt_tokens)

    def close() -> Iterator[str]:
        nonlocal open_kind
        if open_kind is not None:
            yield _event("content_block_stop", {"index": block})
            open_kind = None

    try:
        for ev in itertools.chain([first], events):
            if isinstance(ev, TextDelta) and ev.text:
                if open_kind != "text":
                    yield from close()
                    block += 1
                    open_kind = "text"
                    yield _event("content_block_start", {"index": block, "content_block": {"type": "text", "text": ""}})
                yield _event("content_block_delta", {"index": block, "delta": {"type": "text_delta", "text": ev.text}})
            elif isinstance(ev, ToolCallDelta):
                if ev.index not in tool_index:
                    yield from close()
                    block += 1
                    open_kind = "tool_use"
                    tool_index[ev.index] = block
                    head = {"type": "tool_use", "id": _tool_id(ev.id or ""), "name": ev.name or "", "input": {}}
                    yield _event("content_block_start", {"index": block, "content_block": head})
                if ev.arguments:
                    delta = {"type": "input_json_delta", "partial_json": ev.arguments}
                    yield _event("content_block_delta", {"index": tool_index[ev.index], "delta": delta})
            elif isinstance(ev, UsageEvent):
                usage = ev.usage
            elif isinstance(ev, Finish):
                finish = ev.reason
    except FmstackError as e:
        yield from close()
        yield _event("error", {"error": {"type": "api_error", "message": e.message}})
        return
    except Exception as e:  # the model broke mid-stream: say so in the stream
        yield from close()
        yield _event("error", {"error": {"type": "api_error", "message": f"generation failed: {e}"}})
        return
    finally:
        getattr(events, "close", lambda: None)()
    yield from close()
    end: dict[str, Any] = {"stop_reason": _stop_reason(finish, stop.matched), "stop_sequence": stop.matched}
    yield _event("message_delta", {"delta": end, "usage": {"output_tokens": usage.completion_tokens}})
    yield _event("message_stop", {})


# -- the endpoint ----------------------------------------------------------------------------------
@router.post("/messages")
async def create_message(body: MessagesRequest, request: Request):
    app = fm(request)
    model = app.models.chat(body.model)
    messages, params = body.to_messages(model.name), body.params()
    guardrail = await guardrail_for(request, body.guardrail, body.model)
    turn = await run_in_threadpool(lambda: app.turns.prepare(messages, model=model, params=params, guardrail=guardrail))
    mid = f"msg_{uuid.uuid4().hex[:24]}"
    stop = StopAt(body.stop_sequences)
    if body.stream:
        prompt_tokens = await run_in_threadpool(lambda: model.count_message_tokens(turn.prompt) if turn.prompt else 0)
        _, chunks = await first_then_rest(
            iterate_in_thread(lambda: stream_events(stop(turn.stream()), mid, model.name, stop, prompt_tokens))
        )
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    events = await run_in_threadpool(lambda: list(stop(turn.stream())))
    error = next((e for e in events if isinstance(e, ErrorEvent)), None)
    if error is not None:
        raise ModelError(f"generation failed: {error.message}")
    out = message_body(mid, model.name, events, stop.matched)
    report = turn.guardrail_report()
    if report is not None:
        out["guardrail"] = report
    return out

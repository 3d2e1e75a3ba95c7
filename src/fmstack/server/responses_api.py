"""OpenAI's Responses API (`/v1/responses`): text or item input, instructions, function tools and
their outputs, structured output, streaming with the typed event sequence, usage, and stored
responses (retrieve, delete, continue with `previous_response_id`).

A request becomes the platform's messages and parameters and goes through the same turn pipeline
as `/v1/chat/completions` (guardrails, the key's limits and usage, the model's queue).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool

from ..errors import FmstackError, InvalidInput, ModelError, NotFound
from ..models.types import (
    ErrorEvent,
    Finish,
    GenerationParams,
    Message,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from ..store.tables import ResponseRow
from .deps import fm
from .openai_api import guardrail_for
from .schemas import FunctionIn, tool_choice_shape
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


# -- request ---------------------------------------------------------------------------------------
class FunctionToolIn(FunctionIn):
    type: str = "function"

    @model_validator(mode="before")
    @classmethod
    def _function_only(cls, v):
        # a hosted tool (web_search, file_search, mcp …) has no name: say what is wrong with it
        if isinstance(v, dict) and v.get("type", "function") != "function":
            raise ValueError(f"tools of type {v.get('type')!r} are not supported; send function tools")
        return v


class NamedFunctionChoice(BaseModel):
    type: Literal["function"]
    name: str = Field(min_length=1)


class AllowedFunction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["function"] = "function"
    name: str = Field(min_length=1)


class AllowedToolsChoice(BaseModel):
    """The tools a turn may call, out of all those sent."""

    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: list[AllowedFunction] = Field(min_length=1)


TOOL_CHOICES = (
    "tool_choice must be 'none', 'auto', 'required', {'type': 'function', 'name': ...} or "
    "{'type': 'allowed_tools', 'mode': 'auto' or 'required', 'tools': [{'type': 'function', 'name': ...}]}"
)


class TextFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: TextFormat = Field(default_factory=TextFormat)


LOGPROBS = "message.output_text.logprobs"  # the `include` value that asks for token logprobs


class ResponseRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] = Field(min_length=1)
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool = False
    store: bool = True
    tools: list[FunctionToolIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedFunctionChoice | AllowedToolsChoice | None = None
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    text: TextOptions | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    include: list[str] | None = None  # "message.output_text.logprobs": the answer's token logprobs
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    guardrail: str | None = None  # fmstack extension, as on /v1/chat/completions

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice(cls, v):
        return tool_choice_shape(v, TOOL_CHOICES)

    @model_validator(mode="after")
    def _tools(self):
        names = [t.name for t in self.tools or []]
        if len(set(names)) != len(names):
            raise ValueError("tools must have distinct names")
        if isinstance(self.tool_choice, NamedFunctionChoice) and self.tool_choice.name not in names:
            raise ValueError(f"tool_choice names {self.tool_choice.name!r}, which is not among the tools")
        if isinstance(self.tool_choice, AllowedToolsChoice):
            for t in self.tool_choice.tools:
                if t.name not in names:
                    raise ValueError(f"tool_choice.tools names {t.name!r}, which is not among the tools")
        if self.tool_choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs tools")
        fmt = self.text.format if self.text else None
        if fmt is not None and fmt.type == "json_schema" and not isinstance(fmt.schema_, dict):
            raise ValueError("text.format.schema must be a JSON schema object")
        return self

    def items(self) -> list[Message]:
        """The input as messages (without the instructions)."""
        if isinstance(self.input, str):
            return [Message("user", self.input)]
        out: list[Message] = []
        for i, item in enumerate(self.input):
            kind = item.get("type", "message")
            where = f"input.{i}"
            if kind == "message":
                role = item.get("role")
                if role not in ("user", "assistant", "system", "developer"):
                    raise InvalidInput("role must be one of user, assistant, system, developer", param=f"{where}.role")
                text, images = _content(item.get("content"), where)
                out.append(Message("system" if role == "developer" else role, text, parts=images or None))
            elif kind == "function_call":
                call = ToolCall(_str(item, "call_id", where), _str(item, "name", where), _str(item, "arguments", where))
                if out and out[-1].role == "assistant" and out[-1].tool_calls and not out[-1].content:
                    out[-1].tool_calls = [*out[-1].tool_calls, call]  # parallel calls: one assistant turn
                else:
                    out.append(Message("assistant", "", tool_calls=[call]))
            elif kind == "function_call_output":
                output = item.get("output")
                text = output if isinstance(output, str) else _content(output, where)[0]
                out.append(Message("tool", text, tool_call_id=_str(item, "call_id", where)))
            elif kind == "reasoning":
                continue  # nothing to give a model that does not reason in items
            else:
                raise InvalidInput(f"input items of type {kind!r} are not supported", param=f"{where}.type")
        return out

    def params(self) -> GenerationParams:
        tools: list[dict[str, Any]] | None = None
        if self.tools:
            tools = [
                {
                    "type": "function",
                    "function": FunctionIn.model_validate(t.model_dump()).model_dump(exclude_none=True),
                }
                for t in self.tools
            ]
        choice: Any = self.tool_choice
        if isinstance(choice, NamedFunctionChoice):
            choice = {"type": "function", "function": {"name": choice.name}}
        elif isinstance(choice, AllowedToolsChoice):  # only the tools it names may be called
            names = {t.name for t in choice.tools}
            tools = [t for t in tools or [] if t["function"]["name"] in names]
            choice = choice.mode
        fmt = self.text.format if self.text else None
        response_format: dict[str, Any] | None = None
        if fmt is not None and fmt.type == "json_object":
            response_format = {"type": "json_object"}
        elif fmt is not None and fmt.type == "json_schema":
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": fmt.name or "output", "schema": fmt.schema_},
            }
        return GenerationParams(
            max_tokens=self.max_output_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            tools=tools if choice != "none" else None,
            tool_choice=choice if tools else None,
            parallel_tool_calls=None if self.parallel_tool_calls else False,
            response_format=response_format,
            logprobs=(self.top_logprobs or 0) if LOGPROBS in (self.include or []) else None,
        )


def _str(item: dict, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or (key != "arguments" and not value):
        raise InvalidInput(f"{key} must be a non-empty string", param=f"{where}.{key}")
    return value


def _content(content: Any, where: str) -> tuple[str, list[dict[str, Any]]]:
    """(the text parts joined, the image parts as OpenAI image_url parts)."""
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise InvalidInput("content must be a string or a list of content parts", param=f"{where}.content")
    texts, images = [], []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image: dict[str, Any] = {"url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            images.append({"type": "image_url", "image_url": image})
        else:
            raise InvalidInput(f"content parts of type {kind!r} are not supported", param=f"{where}.content")
    return "".join(texts), images


# -- the response object ---------------------------------------------------------------------------
class Builder:
    """The response object, filled in as the events come."""

    def __init__(self, body: ResponseRequest, model: str):
        self.id = f"resp_{uuid.uuid4().hex}"
        self.msg_id = f"msg_{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.request, self.model = body, model
        self.text = ""
        self.logprobs: list[dict[str, Any]] = []  # the text's tokens, where asked for
        self.calls: dict[int, dict[str, Any]] = {}
        self.usage = Usage()
        self.finish = "stop"

    def call_item(self, index: int) -> dict[str, Any]:
        c = self.calls[index]
        return {
            "type": "function_call",
            "id": c["id"],
            "call_id": c["call_id"],
            "name": c["name"],
            "arguments": c["arguments"],
            "status": "completed",
        }

    def message_item(self, status: str = "completed") -> dict[str, Any]:
        part = {"type": "output_text", "text": self.text, "annotations": [], "logprobs": self.logprobs}
        return {"type": "message", "id": self.msg_id, "status": status, "role": "assistant", "content": [part]}

    def output(self) -> list[dict[str, Any]]:
        out = [self.message_item()] if self.text or not self.calls else []
        return out + [self.call_item(i) for i in sorted(self.calls)]

    def body(self, status: str | None = None) -> dict[str, Any]:
        r = self.request
        incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(self.finish)
        status = status or ("incomplete" if incomplete else "completed")
        done = status in ("completed", "incomplete")
        choice: Any = r.tool_choice.model_dump() if isinstance(r.tool_choice, BaseModel) else (r.tool_choice or "auto")
        fmt = r.text.format.model_dump(by_alias=True, exclude_none=True) if r.text else {"type": "text"}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": incomplete} if incomplete and done else None,
            "instructions": r.instructions,
            "max_output_tokens": r.max_output_tokens,
            "model": self.model,
            "output": self.output() if done else [],
            "parallel_tool_calls": r.parallel_tool_calls,
            "previous_response_id": r.previous_response_id,
            "reasoning": {"effort": None, "summary": None},
            "store": r.store,
            "temperature": r.temperature if r.temperature is not None else 1.0,
            "text": {"format": fmt},
            "tool_choice": choice,
            "tools": [
                {"type": "function", **t.model_dump(exclude={"type"}, exclude_none=True), "strict": bool(t.strict)}
                for t in r.tools or []
            ],
            "top_p": r.top_p if r.top_p is not None else 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": self.usage.prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": self.usage.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.usage.total_tokens,
            }
            if done
            else None,
            "user": r.user,
            "metadata": r.metadata or {},
        }

    def add_call(self, ev: ToolCallDelta) -> bool:
        """Fold a tool-call delta in; True when it starts a new call."""
        new = ev.index not in self.calls
        c = self.calls.setdefault(
            ev.index, {"id": f"fc_{uuid.uuid4().hex}", "call_id": "", "name": "", "arguments": ""}
        )
        if ev.id:
            c["call_id"] = ev.id if ev.id.startswith("call_") else f"call_{ev.id}"
        c["call_id"] = c["call_id"] or f"call_{uuid.uuid4().hex[:24]}"
        c["name"] = ev.name or c["name"]
        c["arguments"] += ev.arguments
        return new

    def conversation(self, history: list[Message]) -> list[dict[str, Any]]:
        """The conversation after this response, to continue from (instructions are not carried)."""
        calls = [ToolCall(c["call_id"], c["name"], c["arguments"]) for _, c in sorted(self.calls.items())]
        reply = Message("assistant", self.text, tool_calls=calls or None)
        return [m.to_openai() for m in [*history, reply]]


def _sse(kind: str, seq: itertools.count, data: dict[str, Any]) -> str:
    payload = {"type": kind, "sequence_number": next(seq), **data}
    return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


def stream_events(events: Iterator[Any], b: Builder, saved: Any) -> Iterator[str]:
    """The Responses event sequence: response.created, response.in_progress, each output item
    (added, its deltas, done), then response.completed (or .incomplete); the response is stored
    when it is complete. The first event is awaited before anything is written."""
    first = next(events)
    seq = itertools.count()
    yield _sse("response.created", seq, {"response": b.body("in_progress")})
    yield _sse("response.in_progress", seq, {"response": b.body("in_progress")})
    index = -1
    text_open = False
    call_index: dict[int, int] = {}

    def close_text() -> Iterator[str]:
        nonlocal text_open
        if text_open:
            where = {"item_id": b.msg_id, "output_index": index, "content_index": 0}
            yield _sse("response.output_text.done", seq, {**where, "text": b.text, "logprobs": b.logprobs})
            part = {"type": "output_text", "text": b.text, "annotations": [], "logprobs": b.logprobs}
            yield _sse("response.content_part.done", seq, {**where, "part": part})
            yield _sse("response.output_item.done", seq, {"output_index": index, "item": b.message_item()})
            text_open = False

    try:
        for ev in itertools.chain([first], events):
            if isinstance(ev, TextDelta) and ev.text:
                if not text_open:
                    index += 1
                    text_open = True
                    item = {**b.message_item("in_progress"), "content": []}
                    yield _sse("response.output_item.added", seq, {"output_index": index, "item": item})
                    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                    where = {"item_id": b.msg_id, "output_index": index, "content_index": 0}
                    yield _sse("response.content_part.added", seq, {**where, "part": part})
                b.text += ev.text
                tokens = [t.to_openai() for t in ev.logprobs or []]
                b.logprobs += tokens
                where = {"item_id": b.msg_id, "output_index": index, "content_index": 0}
                yield _sse("response.output_text.delta", seq, {**where, "delta": ev.text, "logprobs": tokens})
            elif isinstance(ev, TextDelta) and ev.logprobs and text_open:  # a token cut by a stop sequence
                b.logprobs += [t.to_openai() for t in ev.logprobs]
            elif isinstance(ev, ToolCallDelta):
                if b.add_call(ev):
                    yield from close_text()
                    index += 1
                    call_index[ev.index] = index
                    item = {**b.call_item(ev.index), "arguments": "", "status": "in_progress"}
                    yield _sse("response.output_item.added", seq, {"output_index": index, "item": item})
                if ev.arguments:
                    where = {"item_id": b.calls[ev.index]["id"], "output_index": call_index[ev.index]}
                    yield _sse("response.function_call_arguments.delta", seq, {**where, "delta": ev.arguments})
            elif isinstance(ev, UsageEvent):
                b.usage = ev.usage
            elif isinstance(ev, Finish):
                b.finish = ev.reason
            elif isinstance(ev, ErrorEvent):
                raise ModelError(ev.message)
    except Exception as e:  # the model broke mid-stream: the response failed, and says why
        message = e.message if isinstance(e, FmstackError) else f"generation failed: {e}"
        failed = b.body("failed") | {"error": {"code": "server_error", "message": message}}
        yield _sse("response.failed", seq, {"response": failed})
        return
    finally:
        getattr(events, "close", lambda: None)()
    yield from close_text()
    for i, at in call_index.items():
        c = b.calls[i]
        where = {"item_id": c["id"], "output_index": at}
        yield _sse(
            "response.function_call_arguments.done", seq, {**where, "name": c["name"], "arguments": c["arguments"]}
        )
        yield _sse("response.output_item.done", seq, {"output_index": at, "item": b.call_item(i)})
    body = b.body()
    saved(body)
    yield _sse(
        "response.completed" if body["status"] == "completed" else "response.incomplete", seq, {"response": body}
    )


# -- storage ---------------------------------------------------------------------------------------
def _stored(request: Request, response_id: str) -> ResponseRow:
    with fm(request).db.session() as s:
        row = s.get(ResponseRow, response_id)
        if row is None:
            raise NotFound(f"no response {response_id!r}", param="response_id")
        s.expunge(row)
        return row


def _saver(request: Request, b: Builder, history: list[Message]):
    app = fm(request)

    def save(body: dict[str, Any]) -> None:
        if not b.request.store:
            return
        with app.db.session() as s:
            s.add(ResponseRow(id=b.id, model=b.model, body=body, conversation=b.conversation(history)))

    return save


# -- endpoints -------------------------------------------------------------------------------------
@router.post("/responses")
async def create_response(body: ResponseRequest, request: Request):
    app = fm(request)
    model = app.models.chat(body.model)
    history: list[Message] = []
    if body.previous_response_id:
        prev = await run_in_threadpool(_stored, request, body.previous_response_id)
        history = [Message.from_openai(m) for m in prev.conversation]
    history += body.items()
    if not history:
        raise InvalidInput("input holds no message", param="input")
    messages = ([Message("system", body.instructions)] if body.instructions else []) + history
    params = body.params()
    guardrail = await guardrail_for(request, body.guardrail, body.model)
    turn = await run_in_threadpool(lambda: app.turns.prepare(messages, model=model, params=params, guardrail=guardrail))
    b = Builder(body, model.name)
    save = _saver(request, b, history)
    if body.stream:
        _, chunks = await first_then_rest(iterate_in_thread(lambda: stream_events(turn.stream(), b, save)))
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    events = await run_in_threadpool(lambda: list(turn.stream()))
    for ev in events:
        if isinstance(ev, TextDelta):
            b.text += ev.text
            b.logprobs += [t.to_openai() for t in ev.logprobs or []]
        elif isinstance(ev, ToolCallDelta):
            b.add_call(ev)
        elif isinstance(ev, UsageEvent):
            b.usage = ev.usage
        elif isinstance(ev, Finish):
            b.finish = ev.reason
        elif isinstance(ev, ErrorEvent):
            raise ModelError(f"generation failed: {ev.message}")
    out = b.body()
    await run_in_threadpool(save, out)
    report = turn.guardrail_report()
    if report is not None:
        out["guardrail"] = report
    return out


@router.get("/responses/{response_id}")
async def get_response(response_id: str, request: Request) -> dict:
    return (await run_in_threadpool(_stored, request, response_id)).body


@router.delete("/responses/{response_id}")
async def delete_response(response_id: str, request: Request) -> dict:
    def delete() -> None:
        with fm(request).db.session() as s:
            row = s.get(ResponseRow, response_id)
            if row is None:
                raise NotFound(f"no response {response_id!r}", param="response_id")
            s.delete(row)

    await run_in_threadpool(delete)
    return {"id": response_id, "object": "response", "deleted": True}

"""Typed data of the model layer: messages, inference parameters, stream events, results."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, exactly as the model produced it

    def to_openai(self) -> dict:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class Message:
    role: Role
    content: str = ""
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    # content parts other than text (images: OpenAI's {"type": "image_url", ...}), for models that take them
    parts: list[dict] | None = None

    def to_openai(self) -> dict:
        content: Any = self.content
        if self.parts:
            content = ([{"type": "text", "text": self.content}] if self.content else []) + self.parts
        d: dict[str, Any] = {"role": self.role, "content": content}
        if self.name:
            d["name"] = self.name
        if self.tool_calls:
            d["tool_calls"] = [t.to_openai() for t in self.tool_calls]
        if self.tool_call_id:
            d["tool_call_id"] = self.tool_call_id
        return d

    @classmethod
    def from_openai(cls, d: dict) -> Message:
        content = d.get("content")
        parts = None
        if isinstance(content, list):  # content parts: the text ones joined, the others kept as they are
            parts = [p for p in content if isinstance(p, dict) and p.get("type") != "text"] or None
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        calls = None
        if d.get("tool_calls"):
            calls = [
                ToolCall(id=c.get("id", ""), name=c["function"]["name"], arguments=c["function"].get("arguments", ""))
                for c in d["tool_calls"]
            ]
        return cls(
            role=d["role"],
            content=content or "",
            name=d.get("name"),
            tool_calls=calls,
            tool_call_id=d.get("tool_call_id"),
            parts=parts,
        )


@dataclass
class GenerationParams:
    """Inference parameters. None means "the model's configured default, else the provider's"."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    # {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name":..., "schema": {...}}}
    response_format: dict | None = None
    tools: list[dict] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None  # False: at most one call in a turn
    # the log probability of each generated token, with this many most likely alternatives (0-20)
    logprobs: int | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def merged_over(self, defaults: GenerationParams | dict | None) -> GenerationParams:
        """These parameters, with unset ones taken from `defaults`."""
        if not defaults:
            return self
        if isinstance(defaults, dict):
            defaults = GenerationParams(**{k: v for k, v in defaults.items() if k in self.names()})
        return replace(defaults, **{k: v for k, v in vars(self).items() if v is not None})

    def set_values(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# ---- stream events: the one currency of streaming, for the SDK, SSE and the console ----


@dataclass
class TokenLogprob:
    """One generated token: its text, its log probability under the model (before sampling's
    temperature and cut-offs) and the most likely tokens at that position. `text` is what the
    token added to the answer (a token ending inside a character adds nothing; the one that
    completes it adds the character), so the tokens of a text add up to it."""

    token: str  # the token as text (bytes that are not UTF-8 on their own show as \\xNN)
    bytes: list[int]
    logprob: float
    top: list[tuple[str, list[int], float]] = field(default_factory=list)
    text: str = ""

    def to_openai(self) -> dict:
        return {
            "token": self.token,
            "logprob": self.logprob,
            "bytes": self.bytes,
            "top_logprobs": [{"token": t, "logprob": lp, "bytes": b} for t, b, lp in self.top],
        }


def token_text(piece: bytes) -> str:
    """A token's bytes as a display string: UTF-8 where they decode, else \\xNN escapes."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(f"\\x{b:02x}" for b in piece)


@dataclass
class TextDelta:
    text: str
    logprobs: list[TokenLogprob] | None = None  # the tokens this text came from, when asked for
    kind: Literal["text"] = "text"


class TokenTrail:
    """Token log probabilities through a stage that re-cuts the text (stop_loops, the output
    guardrail): tokens go in as the model produces them and come out with the text that covers
    them. The stage only ever sends a prefix of what it got; once it sends other text (a mask, a
    refusal) the tokens no longer describe it and none come out."""

    def __init__(self) -> None:
        self._tokens: collections.deque[tuple[int, TokenLogprob]] = collections.deque()
        self._got = 0  # characters of model text whose tokens went in
        self._sent = 0  # characters sent on
        self.used = False  # any tokens went in
        self.broken = False

    def add(self, delta: TextDelta) -> None:
        for t in delta.logprobs or ():
            self._got += len(t.text)
            self._tokens.append((self._got, t))
            self.used = True

    def fit(self, n: int) -> int:
        """How much of the next `n` characters to send so that a piece ends where a token does
        (`n` itself when no tokens came in; 0 when no token ends within them)."""
        if not self.used or self.broken:
            return n
        ends = [end - self._sent for end, _ in self._tokens if end - self._sent <= n]
        return max(ends, default=0) if self._tokens and self._tokens[-1][0] - self._sent >= n else n

    def take(self, sent: int, *, rewritten: bool = False) -> list[TokenLogprob] | None:
        """The tokens for the next `sent` characters sent (None when no tokens came in, or the
        text sent is not the model's)."""
        if not self.used:
            return None
        self.broken = self.broken or rewritten
        self._sent += sent
        out = []
        while self._tokens and self._tokens[0][0] <= self._sent:
            out.append(self._tokens.popleft()[1])
        return None if self.broken else out

    def rest(self) -> list[TokenLogprob] | None:
        """At the end: the tokens the text sent had begun (a token cut by a stop or a loop)."""
        if not self.used or self.broken:
            return None
        out = []
        while self._tokens and self._tokens[0][0] - len(self._tokens[0][1].text) < self._sent:
            out.append(self._tokens.popleft()[1])
        self._tokens.clear()
        return out


@dataclass
class ToolCallDelta:
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    kind: Literal["tool_call"] = "tool_call"


@dataclass
class UsageEvent:
    usage: Usage
    kind: Literal["usage"] = "usage"


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "cancelled", "error"]


def finish_reason(value: str | None) -> FinishReason:
    """A provider's finish reason in our vocabulary (anything else is a normal stop)."""
    return value if value in get_args(FinishReason) else "stop"  # type: ignore[return-value]


@dataclass
class Finish:
    reason: FinishReason
    kind: Literal["finish"] = "finish"


@dataclass
class ErrorEvent:
    """A failure after the stream started; the text so far stays valid."""

    message: str
    code: str = "model_error"
    kind: Literal["error"] = "error"


@dataclass
class ToolDecisionEvent:
    """Why a model that decides before it calls tools (models/tooluse.py) did or did not call
    them: each option's scores. Comes before the answer or the calls; the APIs leave it out of
    their shapes, the agent trace keeps it."""

    decision: dict[str, Any]
    kind: Literal["tool_decision"] = "tool_decision"


Event = TextDelta | ToolCallDelta | UsageEvent | Finish | ErrorEvent | ToolDecisionEvent


class StopGeneration(Exception):
    """Thrown into a model's event stream (`events.throw(StopGeneration())`) by a reader that has
    read enough — a loop was stopped. The model stops decoding at once and ends the stream as it
    ends any other: its UsageEvent (the tokens it did generate: they are metered and reported)
    and a Finish. A stream that wraps another passes it on (`stop_early`)."""


def stop_early(events: Iterator[Event]) -> Iterator[Event]:
    """Stop a model's stream now (StopGeneration): the events it ends with — usage, finish, an
    error — and never more text. A stream that does not know StopGeneration is just closed."""
    throw = getattr(events, "throw", None)
    try:
        if throw is None:
            return
        try:
            first = throw(StopGeneration())
        except (StopGeneration, StopIteration):
            return
        for ev in itertools.chain([first], events):
            if not isinstance(ev, TextDelta | ToolCallDelta):
                yield ev
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


@dataclass
class ChatResult:
    """A whole answer, assembled from a stream of events."""

    model: str
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    logprobs: list[TokenLogprob] | None = None  # the answer's tokens, where they were asked for and given
    tool_decision: dict[str, Any] | None = None  # why tools were or were not called (ToolDecisionEvent)

    def message(self) -> Message:
        return Message(role="assistant", content=self.text, tool_calls=self.tool_calls or None)


def collect(model: str, events) -> ChatResult:
    """Fold a stream of events into a ChatResult (non-streaming is derived from streaming)."""
    res = ChatResult(model=model)
    parts: list[str] = []
    calls: dict[int, ToolCall] = {}
    for ev in events:
        if isinstance(ev, TextDelta):
            parts.append(ev.text)
            if ev.logprobs is not None:
                res.logprobs = (res.logprobs or []) + ev.logprobs
        elif isinstance(ev, ToolCallDelta):
            call = calls.setdefault(ev.index, ToolCall(id="", name="", arguments=""))
            call.id = ev.id or call.id
            call.name = ev.name or call.name
            call.arguments += ev.arguments
        elif isinstance(ev, UsageEvent):
            res.usage = ev.usage
        elif isinstance(ev, Finish):
            res.finish_reason = ev.reason
        elif isinstance(ev, ErrorEvent):
            res.error = ev.message
            res.finish_reason = "error"
        elif isinstance(ev, ToolDecisionEvent):
            res.tool_decision = ev.decision
    res.text = "".join(parts)
    res.tool_calls = [calls[i] for i in sorted(calls)]
    return res

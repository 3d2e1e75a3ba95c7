"""The agent loop: the model decides, tools run, observations go back, until an answer or a limit.

Two protocols:
- native: the provider's own tool calling (OpenAI-compatible `tools`); several calls in one turn
  run in parallel;
- text (ReAct): for models without tool calling, the model writes `Action: NAME` and
  `Action Input: {json}` or `Final Answer: ...`; output that does not parse is answered once with
  what was wrong, and the run stops cleanly if the second try fails too.

Every step (model turn, tool call with arguments and observation, final answer, limit reached) is
yielded as a Step with its tokens and latency: the trace.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..models.base import ChatModel
from ..models.types import ChatResult, GenerationParams, Message, ToolCall
from .tools import Observation, Tool, canonical_arguments


@dataclass
class Limits:
    max_steps: int = 8  # model turns
    max_tool_calls: int = 16
    timeout_s: float = 300.0
    max_tokens: int | None = None  # prompt + completion over the whole run


StepKind = Literal["plan", "model", "tool", "final", "error", "limit", "confirm"]


@dataclass
class Step:
    index: int
    kind: StepKind
    content: str = ""
    tool: str | None = None
    arguments: str | None = None
    ok: bool = True
    tokens: int = 0
    latency_ms: float = 0.0
    call_id: str | None = None
    decision: dict | None = None  # a model step of a model that decides on tools first: each option's scores

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class AgentResult:
    answer: str
    steps: list[Step] = field(default_factory=list)
    stopped: str = (
        "answer"  # answer | waiting (for a confirmation) | max_steps | max_tool_calls | timeout | max_tokens | error
    )


@dataclass
class RunState:
    """Where a run is: the conversation so far and the counters the limits read. It is stored
    (to_dict) when a run waits for a person, and a resumed run starts from it."""

    messages: list[Message]
    turn: int = 0  # model turns taken
    calls: int = 0  # tool calls made
    tokens: int = 0
    index: int = 0  # the next step's number
    reasked: bool = False  # the text protocol asked again after an unreadable reply
    seen: list[tuple[str, str]] = field(default_factory=list)  # (tool, canonical arguments) already called
    answer_now: bool = False  # the model repeated calls whose results it has: it is asked to answer
    pending: list[dict] = field(default_factory=list)  # calls waiting for a person: id, name, arguments
    done: bool = False  # the run ended (an answer, a limit, an error, a wait); not stored

    def step(self, kind: StepKind, content: str = "", **kw: Any) -> Step:
        return Step(self.index, kind, content, **kw)

    def final(self, answer: str) -> Step:
        self.done = True
        return self.step("final", answer)

    def too_many_calls(self, limit: int) -> Step:
        self.done = True
        return self.step("limit", f"more than {limit} tool calls", tool="max_tool_calls", ok=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in vars(self).items() if k not in ("messages", "done")}
        return {**d, "messages": [m.to_openai() for m in self.messages], "seen": [list(x) for x in self.seen]}

    @classmethod
    def from_dict(cls, d: dict) -> RunState:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k not in ("messages", "seen", "done")}
        messages = [Message.from_openai(m) for m in d.get("messages", [])]
        return cls(messages, **known, seen=[(str(a), str(b)) for a, b in d.get("seen", [])])


REACT = """You can use these tools:
{tools}

To use a tool, reply exactly:
Thought: why this tool
Action: the tool name
Action Input: the arguments as one JSON object

You will get an Observation back. When you know the answer, reply:
Final Answer: the answer for the user"""

_ACTION = re.compile(r"Action\s*:\s*([A-Za-z0-9_.\-]+)\s*\n+\s*Action Input\s*:\s*(\{.*\})", re.S)
_FINAL = re.compile(r"Final Answer\s*:\s*(.+)", re.S)


def parse_react(text: str) -> tuple[str, str] | str | None:
    """("tool", "{json}") for an action, the answer text for a final answer, None when neither parses."""
    final = _FINAL.search(text)
    action = _ACTION.search(text)
    if action and (not final or action.start() < final.start()):
        raw = action.group(2)
        depth, end = 0, None  # the first balanced JSON object (models often add text after it)
        for i, ch in enumerate(raw):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                end = i + 1
                break
        return action.group(1), raw[:end] if end else raw
    if final:
        return final.group(1).strip()
    return None


class Agent:
    def __init__(
        self,
        model: ChatModel,
        tools: list[Tool],
        *,
        instructions: str = "",
        limits: Limits | None = None,
        protocol: Literal["auto", "native", "text"] = "auto",
        params: GenerationParams | None = None,
        first_tool: str | None = None,
        plan: bool = False,
    ):
        self.model = model
        self.tools = {t.name: t for t in tools}
        self.instructions = instructions
        self.limits = limits or Limits()
        native = getattr(model.info, "supports_tools", False)
        self.protocol = ("native" if native else "text") if protocol == "auto" else protocol
        self.params = params or GenerationParams(temperature=0.0, max_tokens=256)
        self.first_tool = first_tool  # force this tool on the first turn (native protocol)
        self.plan = plan  # plan-then-execute: a plan is written first and followed
        self.state: dict | None = None  # RunState.to_dict() when a run stops to wait for a confirmation
        self._deadline = float("inf")  # when the run in progress must stop (monotonic clock)

    def run(self, task: str, history: list[Message] | None = None) -> AgentResult:
        steps = list(self.stream(task, history))
        final = next((s for s in reversed(steps) if s.kind in ("final", "limit", "error", "confirm")), None)
        if final is not None and final.kind == "confirm":
            return AgentResult(final.content, steps, "waiting")
        stopped = "answer" if final is None or final.kind == "final" else (final.tool or final.kind)
        return AgentResult(final.content if final else "", steps, stopped)

    def stream(
        self,
        task: str,
        history: list[Message] | None = None,
        *,
        state: dict | None = None,
        decision: tuple[bool, str] | None = None,
    ) -> Iterator[Step]:
        """Run, yielding steps. A call to a tool that needs confirmation stops the run with a
        `confirm` step; `self.state` then holds everything needed to go on, and
        `stream(task, state=saved, decision=(approved, note))` resumes it (also in another process)."""
        started = time.monotonic()
        self._deadline = started + self.limits.timeout_s
        if state is None:
            run = yield from self._start(task, history)
        else:
            run = RunState.from_dict(state)
        self.state = None
        yield from self._settle_pending(run, decision)  # a resumed run first settles what waited for a person
        step = self._native_step if self.protocol == "native" else self._text_step
        while not run.done and run.turn < self.limits.max_steps:
            run.turn += 1
            limit = self._limit(run, started)
            if limit is not None:
                yield limit
                return
            res = yield from self._ask_model(run)
            yield from step(run, res)
        if not run.done:
            yield run.step("limit", f"no answer within {self.limits.max_steps} steps", tool="max_steps", ok=False)

    # -- the parts of a run --------------------------------------------------------------------------
    def _start(self, task: str, history: list[Message] | None) -> Generator[Step, None, RunState]:
        """The first prompt (instructions, the ReAct format for the text protocol, the plan)."""
        system = self.instructions
        if self.protocol == "text":
            catalogue = "\n".join(
                f"- {t.name}: {t.description} Arguments (JSON schema): {json.dumps(t.parameters, ensure_ascii=False)}"
                for t in self.tools.values()
            )
            system = (system + "\n\n" if system else "") + REACT.format(tools=catalogue)
        run = RunState([])
        if self.plan:
            t0 = time.perf_counter()
            plan, used = self._make_plan(task, history)
            yield Step(0, "plan", plan, tokens=used, latency_ms=(time.perf_counter() - t0) * 1000)
            system = (
                system + "\n\n" if system else ""
            ) + f"Your plan for this task:\n{plan}\nCarry it out step by step."
            run.tokens, run.index = used, 1
        run.messages = [*([Message("system", system)] if system else []), *(history or []), Message("user", task)]
        return run

    def _settle_pending(self, run: RunState, decision: tuple[bool, str] | None) -> Iterator[Step]:
        while run.pending:
            call = ToolCall(**run.pending[0])
            tool = self.tools.get(call.name)
            needs_person = tool is not None and tool.needs_confirmation
            if needs_person and decision is None:
                yield self._wait_for_person(run, call)
                return
            if decision is not None and needs_person and not decision[0]:
                note = f": {decision[1]}" if decision[1] else ""
                obs, ms = Observation(call.name, f"error: a person rejected this call{note}", ok=False), 0.0
            else:
                _, obs, ms = self._run_calls([call])[0]
            decision = None
            run.pending.pop(0)
            yield self._observed(run, call, obs, ms)

    def _limit(self, run: RunState, started: float) -> Step | None:
        if time.monotonic() - started >= self.limits.timeout_s:
            return run.step("limit", "the run took longer than its time limit", tool="timeout", ok=False)
        if self.limits.max_tokens is not None and run.tokens >= self.limits.max_tokens:
            return run.step("limit", f"the run used its {self.limits.max_tokens} tokens", tool="max_tokens", ok=False)
        return None

    def _ask_model(self, run: RunState) -> Generator[Step, None, ChatResult]:
        params, prompt = self.params, run.messages
        if self.protocol == "native":
            choice: Any = "auto"
            if run.turn == 1 and self.first_tool:
                choice = {"type": "function", "function": {"name": self.first_tool}}
            if run.answer_now:
                choice = "none"
                # Asked to answer after tool calls: the results as plain text, which every chat
                # template renders (some drop or mangle `tool` messages and then say nothing).
                prompt = _answer_prompt(run.messages)
            tools = [t.to_openai() for t in self.tools.values()]
            params = GenerationParams(tools=tools, tool_choice=choice).merged_over(self.params)
        t0 = time.perf_counter()
        res = self.model.generate(prompt, params)
        used = (res.usage.prompt_tokens or 0) + (res.usage.completion_tokens or 0)
        run.tokens += used
        yield run.step(
            "model", res.text, tokens=used, latency_ms=(time.perf_counter() - t0) * 1000, decision=res.tool_decision
        )
        run.index += 1
        return res

    def _native_step(self, run: RunState, res: ChatResult) -> Iterator[Step]:
        """Tool calls from the provider's tool calling: run them (in parallel), or answer."""
        if not res.tool_calls:
            yield run.final(res.text.strip())
            return
        if run.calls + len(res.tool_calls) > self.limits.max_tool_calls:
            yield run.too_many_calls(self.limits.max_tool_calls)
            return
        run.calls += len(res.tool_calls)
        keys = {(c.name, canonical_arguments(c.arguments)) for c in res.tool_calls}
        run.answer_now = keys <= set(run.seen)  # the same calls again: the results are there, answer
        run.seen = sorted(set(run.seen) | keys)
        run.messages.append(Message("assistant", res.text, tool_calls=res.tool_calls))
        # A person is asked only about calls that could run: bad arguments go straight back.
        ready = [c for c in res.tool_calls if not self._needs_person(c.name, c.arguments)]
        waiting = [c for c in res.tool_calls if c not in ready]
        for call, obs, ms in self._run_calls(ready) if ready else []:
            yield self._observed(run, call, obs, ms)
        if waiting:
            run.pending = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in waiting]
            yield self._wait_for_person(run, waiting[0])

    def _text_step(self, run: RunState, res: ChatResult) -> Iterator[Step]:
        """An action or a final answer written in the ReAct format; an unreadable reply is asked
        again once, with what was wrong."""
        parsed = parse_react(res.text)
        if isinstance(parsed, str):
            yield run.final(parsed)
            return
        if parsed is None or parsed[0] not in self.tools:
            problem = (
                "no 'Action:' with 'Action Input:' and no 'Final Answer:'"
                if parsed is None
                else f"there is no tool named {parsed[0]!r}; tools: {', '.join(self.tools)}"
            )
            if run.reasked:
                run.done = True
                yield run.step("error", f"could not read the model's reply twice: {problem}", ok=False)
                return
            run.reasked = True
            run.messages += [
                Message("assistant", res.text),
                Message("user", f"Your reply could not be read: {problem}. Answer again in the format described."),
            ]
            return
        run.reasked = False
        if run.calls + 1 > self.limits.max_tool_calls:
            yield run.too_many_calls(self.limits.max_tool_calls)
            return
        run.calls += 1
        name, args = parsed
        run.messages.append(Message("assistant", res.text))
        call = ToolCall(id=f"call_{run.index}", name=name, arguments=args)
        if self._needs_person(name, args):
            run.pending = [{"id": call.id, "name": name, "arguments": args}]
            yield self._wait_for_person(run, call, with_id=False)
            return
        _, obs, ms = self._run_calls([call])[0]
        yield self._observed(run, call, obs, ms, with_id=False)

    def _observed(self, run: RunState, call: ToolCall, obs: Observation, ms: float, *, with_id: bool = True) -> Step:
        """The tool step, and its observation added to the conversation in the protocol's form."""
        step = run.step(
            "tool",
            obs.content,
            tool=call.name,
            arguments=call.arguments,
            ok=obs.ok,
            latency_ms=ms,
            call_id=call.id if with_id else None,
        )
        run.index += 1
        if self.protocol == "native":
            run.messages.append(Message("tool", obs.content, tool_call_id=call.id, name=call.name))
        else:
            run.messages.append(Message("user", f"Observation: {obs.content}"))
        return step

    def _wait_for_person(self, run: RunState, call: ToolCall, *, with_id: bool = True) -> Step:
        run.done = True
        self.state = run.to_dict()
        return run.step(
            "confirm",
            f"{call.name} needs a person's approval",
            tool=call.name,
            arguments=call.arguments,
            call_id=call.id if with_id else None,
        )

    def _make_plan(self, task: str, history: list[Message] | None) -> tuple[str, int]:
        """A short numbered plan written before any tool runs (no tools offered for this turn)."""
        catalogue = "\n".join(f"- {t.name}: {t.description}" for t in self.tools.values())
        system = (self.instructions + "\n\n" if self.instructions else "") + f"Tools you will have:\n{catalogue}"
        ask = (
            f"{task}\n\nBefore doing anything, write a short numbered plan (at most 5 steps) saying which tool "
            "you will use for what. Only the plan."
        )
        res = self.model.generate(
            [Message("system", system), *(history or []), Message("user", ask)],
            GenerationParams(temperature=0.0, max_tokens=200),
        )
        return res.text.strip(), (res.usage.prompt_tokens or 0) + (res.usage.completion_tokens or 0)

    def _needs_person(self, name: str, arguments: str) -> bool:
        tool = self.tools.get(name)
        return bool(tool and tool.needs_confirmation and not isinstance(tool.check(arguments), Observation))

    def _run_calls(self, calls: list[ToolCall]) -> list[tuple[ToolCall, Observation, float]]:
        """Several calls in one turn run in parallel; results keep the model's order. A call still
        running when the run's time is up is abandoned (its thread finishes on its own) and reported
        as not finished; the next turn then stops the run at its time limit."""

        def one(call: ToolCall) -> tuple[ToolCall, Observation, float]:
            t0 = time.perf_counter()
            tool = self.tools.get(call.name)
            obs = (
                tool.call(call.arguments)
                if tool
                else Observation(
                    call.name, f"error: there is no tool named {call.name!r}; tools: {', '.join(self.tools)}", ok=False
                )
            )
            return call, obs, (time.perf_counter() - t0) * 1000

        pool = ThreadPoolExecutor(max_workers=min(8, len(calls)), thread_name_prefix="fmstack-tool")
        try:
            t0 = time.perf_counter()
            futures = [pool.submit(contextvars.copy_context().run, one, c) for c in calls]
            out = []
            for call, fut in zip(calls, futures):
                try:
                    left = self._deadline - time.monotonic()
                    out.append(fut.result(timeout=None if left == float("inf") else max(0.0, left)))
                except FutureTimeout:
                    out.append(
                        (
                            call,
                            Observation(
                                call.name,
                                f"error: {call.name} did not finish within the run's "
                                f"time limit ({self.limits.timeout_s:g} s)",
                                ok=False,
                            ),
                            (time.perf_counter() - t0) * 1000,
                        )
                    )
            return out
        finally:
            pool.shutdown(wait=False)


def _answer_prompt(messages: list[Message]) -> list[Message]:
    system = [m for m in messages[:1] if m.role == "system"]
    task = next(m for m in messages if m.role == "user")
    results = "\n".join(f"- {m.name}: {m.content}" for m in messages if m.role == "tool")
    return [
        *system,
        Message(
            "user", f"{task.content}\n\nTool results:\n{results}\n\nAnswer the question above using these results."
        ),
    ]

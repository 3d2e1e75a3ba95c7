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

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from typing import Literal

from ..models.base import ChatModel
from ..models.types import GenerationParams, Message, ToolCall
from .tools import Observation, Tool


@dataclass
class Limits:
    max_steps: int = 8  # model turns
    max_tool_calls: int = 16
    timeout_s: float = 300.0
    max_tokens: int | None = None  # prompt + completion over the whole run


@dataclass
class Step:
    index: int
    kind: Literal["plan", "model", "tool", "final", "error", "limit", "confirm"]
    content: str = ""
    tool: str | None = None
    arguments: str | None = None
    ok: bool = True
    tokens: int = 0
    latency_ms: float = 0.0
    call_id: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class AgentResult:
    answer: str
    steps: list[Step] = field(default_factory=list)
    stopped: str = (
        "answer"  # answer | waiting (for a confirmation) | max_steps | max_tool_calls | timeout | max_tokens | error
    )


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
        self.state: dict | None = None  # set when a run stops to wait for a confirmation
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
            messages: list[Message] = []
            system = self.instructions
            if self.protocol == "text":
                catalogue = "\n".join(
                    f"- {t.name}: {t.description} Arguments (JSON schema): "
                    f"{json.dumps(t.parameters, ensure_ascii=False)}"
                    for t in self.tools.values()
                )
                system = (system + "\n\n" if system else "") + REACT.format(tools=catalogue)
            if self.plan:
                t0 = time.perf_counter()
                plan, used = self._make_plan(task, history)
                yield Step(0, "plan", plan, tokens=used, latency_ms=(time.perf_counter() - t0) * 1000)
                system = (
                    system + "\n\n" if system else ""
                ) + f"Your plan for this task:\n{plan}\nCarry it out step by step."
            if system:
                messages.append(Message("system", system))
            messages += list(history or []) + [Message("user", task)]
            st = {
                "turn": 0,
                "calls": 0,
                "tokens": used if self.plan else 0,
                "index": 1 if self.plan else 0,
                "reasked": False,
                "seen": [],
                "answer_now": False,
                "pending": [],
            }
        else:
            messages = [Message.from_openai(m) for m in state["messages"]]
            st = {k: v for k, v in state.items() if k != "messages"}
            st["seen"] = [tuple(x) for x in st["seen"]]
        self.state = None

        def save() -> dict:
            return {**st, "messages": [m.to_openai() for m in messages], "seen": [list(x) for x in st["seen"]]}

        # A resumed run first settles the calls that were waiting for a person.
        while st["pending"]:
            call = ToolCall(**st["pending"][0])
            tool = self.tools.get(call.name)
            if tool is not None and tool.needs_confirmation and decision is None:
                self.state = save()
                yield Step(
                    st["index"],
                    "confirm",
                    f"{call.name} needs a person's approval",
                    tool=call.name,
                    arguments=call.arguments,
                    call_id=call.id,
                )
                return
            if decision is not None and tool is not None and tool.needs_confirmation and not decision[0]:
                obs = Observation(
                    call.name,
                    f"error: a person rejected this call{': ' + decision[1] if decision[1] else ''}",
                    ok=False,
                )
                ms = 0.0
            else:
                _, obs, ms = self._run_calls([call])[0]
            decision = None
            st["pending"].pop(0)
            yield Step(
                st["index"],
                "tool",
                obs.content,
                tool=call.name,
                arguments=call.arguments,
                ok=obs.ok,
                latency_ms=ms,
                call_id=call.id,
            )
            st["index"] += 1
            if self.protocol == "native":
                messages.append(Message("tool", obs.content, tool_call_id=call.id, name=call.name))
            else:
                messages.append(Message("user", f"Observation: {obs.content}"))

        while st["turn"] < self.limits.max_steps:
            st["turn"] += 1
            if time.monotonic() - started >= self.limits.timeout_s:
                yield Step(st["index"], "limit", "the run took longer than its time limit", tool="timeout", ok=False)
                return
            if self.limits.max_tokens is not None and st["tokens"] >= self.limits.max_tokens:
                yield Step(
                    st["index"],
                    "limit",
                    f"the run used its {self.limits.max_tokens} tokens",
                    tool="max_tokens",
                    ok=False,
                )
                return
            params = self.params
            if self.protocol == "native":
                first = st["turn"] == 1 and self.first_tool
                choice = {"type": "function", "function": {"name": self.first_tool}} if first else "auto"
                if st["answer_now"]:
                    choice = "none"
                params = GenerationParams(
                    tools=[t.to_openai() for t in self.tools.values()], tool_choice=choice
                ).merged_over(self.params)
            t0 = time.perf_counter()
            # Asked to answer after tool calls: the results as plain text, which every chat
            # template renders (some drop or mangle `tool` messages and then say nothing).
            prompt = _answer_prompt(messages) if self.protocol == "native" and st["answer_now"] else messages
            res = self.model.generate(prompt, params)
            used = (res.usage.prompt_tokens or 0) + (res.usage.completion_tokens or 0)
            st["tokens"] += used
            yield Step(st["index"], "model", res.text, tokens=used, latency_ms=(time.perf_counter() - t0) * 1000)
            st["index"] += 1
            if self.protocol == "native":
                if not res.tool_calls:
                    yield Step(st["index"], "final", res.text.strip())
                    return
                if st["calls"] + len(res.tool_calls) > self.limits.max_tool_calls:
                    yield Step(
                        st["index"],
                        "limit",
                        f"more than {self.limits.max_tool_calls} tool calls",
                        tool="max_tool_calls",
                        ok=False,
                    )
                    return
                st["calls"] += len(res.tool_calls)
                keys = {(c.name, _canonical(c.arguments)) for c in res.tool_calls}
                st["answer_now"] = keys <= set(st["seen"])
                st["seen"] = sorted(set(st["seen"]) | keys)
                messages.append(Message("assistant", res.text, tool_calls=res.tool_calls))
                # A person is asked only about calls that could run: bad arguments go straight back.
                ready = [c for c in res.tool_calls if not self._needs_person(c.name, c.arguments)]
                waiting = [c for c in res.tool_calls if c not in ready]
                for call, obs, ms in self._run_calls(ready) if ready else []:
                    yield Step(
                        st["index"],
                        "tool",
                        obs.content,
                        tool=call.name,
                        arguments=call.arguments,
                        ok=obs.ok,
                        latency_ms=ms,
                        call_id=call.id,
                    )
                    st["index"] += 1
                    messages.append(Message("tool", obs.content, tool_call_id=call.id, name=call.name))
                if waiting:
                    st["pending"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in waiting]
                    self.state = save()
                    yield Step(
                        st["index"],
                        "confirm",
                        f"{waiting[0].name} needs a person's approval",
                        tool=waiting[0].name,
                        arguments=waiting[0].arguments,
                        call_id=waiting[0].id,
                    )
                    return
                continue
            parsed = parse_react(res.text)
            if isinstance(parsed, str):
                yield Step(st["index"], "final", parsed)
                return
            if parsed is None or parsed[0] not in self.tools:
                problem = (
                    "no 'Action:' with 'Action Input:' and no 'Final Answer:'"
                    if parsed is None
                    else f"there is no tool named {parsed[0]!r}; tools: {', '.join(self.tools)}"
                )
                if st["reasked"]:
                    yield Step(st["index"], "error", f"could not read the model's reply twice: {problem}", ok=False)
                    return
                st["reasked"] = True
                messages += [
                    Message("assistant", res.text),
                    Message("user", f"Your reply could not be read: {problem}. Answer again in the format described."),
                ]
                continue
            st["reasked"] = False
            if st["calls"] + 1 > self.limits.max_tool_calls:
                yield Step(
                    st["index"],
                    "limit",
                    f"more than {self.limits.max_tool_calls} tool calls",
                    tool="max_tool_calls",
                    ok=False,
                )
                return
            st["calls"] += 1
            name, args = parsed
            messages.append(Message("assistant", res.text))
            if self._needs_person(name, args):
                st["pending"] = [{"id": f"call_{st['index']}", "name": name, "arguments": args}]
                self.state = save()
                yield Step(st["index"], "confirm", f"{name} needs a person's approval", tool=name, arguments=args)
                return
            _, obs, ms = self._run_calls([ToolCall(id=f"call_{st['index']}", name=name, arguments=args)])[0]
            yield Step(st["index"], "tool", obs.content, tool=name, arguments=args, ok=obs.ok, latency_ms=ms)
            st["index"] += 1
            messages.append(Message("user", f"Observation: {obs.content}"))
        yield Step(st["index"], "limit", f"no answer within {self.limits.max_steps} steps", tool="max_steps", ok=False)

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
            futures = [pool.submit(one, c) for c in calls]
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


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except (ValueError, TypeError):
        return arguments


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

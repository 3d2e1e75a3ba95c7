"""Agent definitions stored in the database, and runs with their trace.

A definition (API, CLI YAML):

    name: dive-assistant
    instructions: You help divers plan trips. Use the tools; never invent prices.
    model: default
    protocol: auto            # native tool calling when the model has it, else the text protocol
    knowledge_bases: [dive-sites]
    tools:
      - {type: openapi, spec_url: http://127.0.0.1:9000/openapi.json, base_url: http://127.0.0.1:9000,
         headers: {Authorization: Bearer …}, confirm: [POST, DELETE]}
      - {type: python, function: "my_package.tools:get_weather"}
      - {type: mcp, command: [python, -m, my_mcp_server], include: [lookup], confirm: [delete_file]}
      - {type: mcp, url: http://127.0.0.1:8931/mcp, headers: {Authorization: Bearer …}}
    guardrail: safe           # checks the task, tool outputs (injection) and the answer
    limits: {max_steps: 8, max_tool_calls: 16, timeout_s: 300, max_tokens: null}
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator
from sqlalchemy import select

from ..chat.conversations import ConversationStore
from ..errors import FmstackError, Forbidden, InvalidInput, NotFound
from ..guardrails import Guardrail
from ..knowledge.service import KnowledgeService
from ..models.context import fit_to_context
from ..models.registry import ModelRegistry
from ..models.types import Message
from ..security import UrlPolicy
from ..store import AgentRow, AgentRun, Database
from ..store.tables import utcnow
from ..turns import TurnPipeline
from .kinds import ToolEnv, ToolSpec, build_tools, parse_tool_spec
from .loop import Agent, Limits, Step
from .tools import Observation, Tool, canonical_arguments, knowledge_tool


class LimitsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_steps: int = Field(default=8, ge=1, le=100)
    max_tool_calls: int = Field(default=16, ge=0, le=500)
    timeout_s: float = Field(default=300, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w][\w.\-]*$")
    instructions: str = ""
    model: str | None = None
    protocol: Literal["auto", "native", "text"] = "auto"
    tools: list[SerializeAsAny[ToolSpec]] = Field(default_factory=list)  # one configuration per kind (kinds.py)
    knowledge_bases: list[str] = Field(default_factory=list)
    guardrail: str | None = None
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    first_tool: str | None = None  # make the model call this tool on its first turn (native protocol)
    plan: bool = False  # plan-then-execute: the model writes a plan first, then carries it out

    @field_validator("tools", mode="before")
    @classmethod
    def _kinds(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out = []
        for i, t in enumerate(v):
            try:
                out.append(parse_tool_spec(t))
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(str(x) for x in err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                raise ValueError(f"tool {i}{' ' + where if where else ''}: {message}") from None
            except ValueError as e:
                raise ValueError(f"tool {i}: {e}") from None
        return out


class RunRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agent: str
    status: str
    input: str
    answer: str | None = None
    steps: list[dict] | None = None
    pending: dict | None = None  # the call waiting for a confirmation: tool, arguments
    session: str | None = Field(default=None, validation_alias="session_id")  # the conversation it is a turn of
    replay_of: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


def parse_agent(data: dict[str, Any]) -> AgentConfig:
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"agent {where}: {message}", param=where or None) from None


class AgentService:
    def __init__(
        self,
        db: Database,
        models: ModelRegistry,
        knowledge: KnowledgeService,
        turns: TurnPipeline,
        conversations: ConversationStore,
        *,
        outbound: UrlPolicy | None = None,
        command_tools: bool = True,
    ):
        self.outbound = outbound  # every URL a tool fetches is checked (None: no check)
        self.command_tools = command_tools  # False: no MCP commands, no Python imports
        self.db = db
        self.models = models
        self.knowledge = knowledge
        self.turns = turns  # the guardrail steps: the task, tool outputs and the answer are checked there
        self.conversations = conversations

    # -- definitions ----------------------------------------------------------------------------
    def create(self, config: dict[str, Any], *, replace: bool = False, may_run_code: bool = True) -> AgentConfig:
        """Save an agent. Tools that run a command or import code on the server need
        `may_run_code` (an admin's request) and a server that allows them."""
        cfg = parse_agent(config)
        for i, t in enumerate(cfg.tools):
            if t.runs_code and not self.command_tools:
                raise Forbidden(
                    f"tool {i} ({t.type}) runs code on the server; such tools are turned off (FMSTACK_COMMAND_TOOLS=off)",
                    param="tools",
                )
            if t.runs_code and not may_run_code:
                raise Forbidden(
                    f"tool {i} ({t.type}) runs code on the server: only an admin may define it", param="tools"
                )
        if cfg.model:
            self.models.resolve(cfg.model)
        for kb in cfg.knowledge_bases:
            self.knowledge.settings(kb)
        if cfg.guardrail:
            self.turns.guardrail(cfg.guardrail)
        with self.db.session() as s:
            row = s.scalar(select(AgentRow).where(AgentRow.name == cfg.name))
            if row is not None and not replace:
                raise InvalidInput(f"an agent named {cfg.name!r} exists", param="name")
            if row is None:
                s.add(AgentRow(name=cfg.name, config=cfg.model_dump(mode="json")))
            else:
                row.config = cfg.model_dump(mode="json")
        return cfg

    def get(self, name: str) -> AgentConfig:
        with self.db.session() as s:
            row = s.scalar(select(AgentRow).where(AgentRow.name == name))
            if row is None:
                raise NotFound(f"agent {name!r} does not exist", param="agent")
            return AgentConfig.model_validate(row.config)

    def list(self) -> builtins.list[AgentConfig]:
        with self.db.session() as s:
            return [AgentConfig.model_validate(r.config) for r in s.scalars(select(AgentRow).order_by(AgentRow.name))]

    def delete(self, name: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(AgentRow).where(AgentRow.name == name))
            if row is None:
                raise NotFound(f"agent {name!r} does not exist", param="agent")
            s.delete(row)

    # -- tools ------------------------------------------------------------------------------------
    def tools(self, cfg: AgentConfig, stack: ExitStack | None = None) -> builtins.list[Tool]:
        """The agent's tools. MCP servers are connected for as long as `stack` is open (without a
        stack, MCP tools are an error: their connection must be closed by someone)."""
        out: builtins.list[Tool] = [knowledge_tool(self.knowledge, kb) for kb in cfg.knowledge_bases]
        out += build_tools(cfg.tools, ToolEnv(stack, self.outbound, self.command_tools))
        names = [t.name for t in out]
        if len(names) != len(set(names)):
            raise InvalidInput(
                f"two tools share a name: {sorted({n for n in names if names.count(n) > 1})}", param="tools"
            )
        return out

    # -- runs -------------------------------------------------------------------------------------
    def stream(
        self,
        name: str,
        task: str,
        *,
        resume: str | None = None,
        decision: tuple[bool, str] | None = None,
        session: str | None = None,
        replay_of: str | None = None,
    ) -> Iterator[Step | RunRecord]:
        """Run the agent, yielding each step as it happens, then the stored run. A run that stops
        at a tool needing confirmation is stored as `waiting`; `confirm()` carries it on.

        `session`: a conversation id ("new" starts one); its earlier turns are the agent's memory
        (fitted to the model's context like chat's) and this task and answer are added to it.
        `replay_of`: a run whose recorded tool results answer this run's tool calls (see replay())."""
        cfg = self.get(name)
        guard = self.turns.guardrail(cfg.guardrail) if cfg.guardrail else None
        history: builtins.list[Message] = []
        if resume is None:
            if not task or not task.strip():
                raise InvalidInput("the task must not be empty", param="input")
            if session == "new":
                session = self.conversations.create(title=task[:60], model=cfg.model, meta={"agent": name}).id
            elif session:
                history = self._memory(cfg, session, task)
            with self.db.session() as s:
                run = AgentRun(
                    agent=name, input=task, status="running", steps=[], session_id=session, replay_of=replay_of
                )
                s.add(run)
                s.flush()
                run_id = run.id
            steps: builtins.list[dict] = []
            saved_state = None
        else:
            run_id = resume
            with self.db.session() as s:
                run = s.get_one(AgentRun, run_id)
                steps, saved_state, task = list(run.steps or []), run.state, run.input
                session, replay_of = run.session_id, run.replay_of
                run.status, run.state = "running", None
        answer, status = None, "error"
        outcome: dict = {}
        try:
            if guard is not None and resume is None:
                trace: list = []
                task, refusal = self.turns.check_input(guard, task, trace)
                if refusal is not None:
                    step = Step(0, "final", refusal, ok=False, tool="guardrail")
                    steps.append({**step.to_dict(), "guardrail": trace[-1].to_dict()})
                    answer, status = refusal, "blocked"
                    yield step
            if status != "blocked":
                recorded = self._recorded(replay_of) if replay_of else None
                try:
                    yield from self._steps(cfg, task, guard, steps, outcome, saved_state, decision, history, recorded)
                except FmstackError as e:  # e.g. a tool server that cannot be reached: the trace says why
                    steps.append(Step(len(steps), "error", e.message, ok=False).to_dict())
                    raise
                answer, status = outcome.get("answer"), outcome.get("status", "error")
        finally:
            with self.db.session() as s:
                run = s.get_one(AgentRun, run_id)
                run.steps, run.answer = steps, answer
                run.status = status if answer is not None else "error"
                run.state = outcome.get("state")
                run.finished_at = None if run.status == "waiting" else utcnow()
                final_status = run.status
        if session and final_status != "waiting":
            self.conversations.append(
                session,
                [
                    {"role": "user", "content": task},
                    {
                        "role": "assistant",
                        "content": answer or "",
                        "model": cfg.model or self.models.resolve(None),
                        "finish_reason": "stop" if final_status == "answer" else final_status,
                        "meta": {"agent": name, "run": run_id, "status": final_status},
                    },
                ],
            )
        yield self.get_run(run_id)

    def _memory(self, cfg: AgentConfig, session: str, task: str) -> builtins.list[Message]:
        """The session's earlier turns that fit beside the task (half the window is left for the
        tools, observations and answer); whole turns, newest kept first, as in chat."""
        conv = self.conversations.get(session)
        history = [m.to_message() for m in conv.messages or [] if m.role in ("user", "assistant") and m.content]
        model = self.models.chat(cfg.model)
        fitted = fit_to_context(model, [], history, Message("user", task), reserve=model.context_window // 2)
        return fitted.messages[:-1]

    def replay(self, run_id: str) -> Iterator[Step | RunRecord]:
        """Run a stored run's task again with the agent's current definition (instructions, model,
        limits), its tool calls answered from the original run's recorded results: nothing outside is
        called again, so a prompt or model change can be debugged against the same observations. A
        call the original never made gets an error observation saying so. Stored as a new run."""
        original = self.get_run(run_id)
        if original.status == "waiting":
            raise InvalidInput(f"run {run_id} is waiting for a confirmation; finish it first", param="run")
        return self.stream(original.agent, original.input, replay_of=run_id)

    def _recorded(self, run_id: str) -> dict[tuple[str, str], dict]:
        out: dict[tuple[str, str], dict] = {}
        for step in self.get_run(run_id).steps or []:
            if step.get("kind") == "tool":
                out.setdefault((str(step.get("tool")), canonical_arguments(step.get("arguments") or "{}")), step)
        return out

    def confirm(self, run_id: str, approve: bool, note: str = "") -> RunRecord:
        """A person's decision on the call a run is waiting for; the run goes on (also after a restart)."""
        return _record_of(self.stream_confirm(run_id, approve, note))

    def stream_confirm(self, run_id: str, approve: bool, note: str = "") -> Iterator[Step | RunRecord]:
        run = self.get_run(run_id)
        if run.status != "waiting":
            raise InvalidInput(
                f"run {run_id} is not waiting for a confirmation (it is {run.status})", param="run", code="not_waiting"
            )
        return self.stream(run.agent, run.input, resume=run_id, decision=(approve, note))

    def _steps(
        self,
        cfg: AgentConfig,
        task: str,
        guard,
        steps: builtins.list[dict],
        outcome: dict,
        state: dict | None = None,
        decision: tuple[bool, str] | None = None,
        history: builtins.list[Message] | None = None,
        recorded: dict | None = None,
    ) -> Iterator[Step]:
        with ExitStack() as stack:
            if recorded is None:
                tools = self.tools(cfg, stack)
            else:  # a replay: the same tools by name and schema, answered from the recording
                tools = [_replayed(t, recorded) for t in self._tool_shapes(cfg)]
            yield from self._run_agent(cfg, task, guard, steps, outcome, state, decision, tools, history)

    def _tool_shapes(self, cfg: AgentConfig) -> builtins.list[Tool]:
        """The agent's tools without any way to call them (MCP servers are asked for their list
        and disconnected): what a replay shows the model."""
        with ExitStack() as stack:
            return self.tools(cfg, stack)

    def _run_agent(self, cfg, task, guard, steps, outcome, state, decision, tools, history) -> Iterator[Step]:
        if guard is not None:
            tools = [self._guarded(t, guard) for t in tools]
        agent = Agent(
            self.models.chat(cfg.model),
            tools,
            instructions=cfg.instructions,
            limits=Limits(**cfg.limits.model_dump()),
            protocol=cfg.protocol,
            first_tool=cfg.first_tool,
            plan=cfg.plan,
        )
        for step in agent.stream(task, history, state=state, decision=decision):
            if step.kind == "final" and guard is not None:
                verdict = self.turns.check_output(guard, step.content, [])
                if verdict is not None and verdict.action in ("blocked", "masked"):
                    step.content = verdict.text
            steps.append(step.to_dict())
            if step.kind in ("final", "limit", "error"):
                outcome["answer"] = step.content
                outcome["status"] = "answer" if step.kind == "final" else (step.tool or step.kind)
            elif step.kind == "confirm":
                outcome.update(answer=step.content, status="waiting", state=agent.state)
            yield step

    def _guarded(self, tool: Tool, guard: Guardrail) -> Tool:
        """The tool with its output checked as context: instructions hidden in what it returns
        (indirect prompt injection) never reach the model."""

        def call(arguments) -> Observation:
            obs = original(arguments)
            trace: list = []
            kept = self.turns.screen(guard, [obs.content], trace)
            if not kept:
                reasons = ", ".join(f"{f.policy}:{f.name}" for a in trace for f in a.findings)
                return Observation(
                    obs.tool, f"[the output of {obs.tool} was withheld by guardrail {guard.name} ({reasons})]", ok=False
                )
            masked = next((a.text for a in trace if a.action == "masked"), None)
            return Observation(obs.tool, masked, ok=obs.ok) if masked is not None else obs

        original = tool.call
        wrapped = Tool(tool.name, tool.description, tool.parameters, tool.run, tool.validate, tool.needs_confirmation)
        wrapped.call = call  # type: ignore[method-assign]
        return wrapped

    def run(self, name: str, task: str, *, session: str | None = None) -> RunRecord:
        return _record_of(self.stream(name, task, session=session))

    def get_run(self, run_id: str) -> RunRecord:
        with self.db.session() as s:
            run = s.get(AgentRun, run_id)
            if run is None:
                raise NotFound(f"agent run {run_id!r} does not exist", param="run")
            rec = RunRecord.model_validate(run)
            if run.state and run.state.get("pending"):
                rec.pending = run.state["pending"][0]
            return rec

    def runs(self, name: str | None = None, limit: int = 50, *, session: str | None = None) -> builtins.list[RunRecord]:
        stmt = select(AgentRun).order_by(AgentRun.created_at.desc()).limit(limit)
        if name:
            stmt = stmt.where(AgentRun.agent == name)
        if session:
            stmt = stmt.where(AgentRun.session_id == session)
        with self.db.session() as s:
            return [RunRecord.model_validate(r) for r in s.scalars(stmt)]


def _replayed(tool: Tool, recorded: dict[tuple[str, str], dict]) -> Tool:
    """The tool answering from a recorded trace (same name, schema and validation)."""

    def call(arguments) -> Observation:
        args = tool.check(arguments)
        if isinstance(args, Observation):
            return args
        step = recorded.get((tool.name, canonical_arguments(json.dumps(args))))
        if step is None:
            return Observation(
                tool.name,
                f"error: this {tool.name} call is not in the recorded trace (a replay never calls tools)",
                ok=False,
            )
        return Observation(tool.name, step.get("content", ""), ok=step.get("ok", True))

    replayed = Tool(tool.name, tool.description, tool.parameters, tool.run, tool.validate)
    replayed.call = call  # type: ignore[method-assign]
    return replayed


def _record_of(events: Iterator[Step | RunRecord]) -> RunRecord:
    """The stored run that ends a run's stream."""
    *_, last = events
    assert isinstance(last, RunRecord)
    return last

"""Agents over HTTP: definitions under /api/agents, runs (SSE with `stream`) and their traces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..access import at_least
from ..agents.loop import Step
from .deps import caller_role, fm
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread, typed_sse

router = APIRouter(prefix="/api", tags=["agents"])


@router.get("/agents")
def list_agents(request: Request) -> dict:
    return {"data": [a.model_dump(mode="json") for a in fm(request).agents.list()]}


@router.post("/agents", status_code=201)
def create_agent(body: dict[str, Any], request: Request) -> dict:
    may_run_code = at_least(caller_role(request), "admin")
    return fm(request).agents.create(body, may_run_code=may_run_code).model_dump(mode="json")


@router.get("/agents/{name}")
def get_agent(name: str, request: Request) -> dict:
    return fm(request).agents.get(name).model_dump(mode="json")


@router.put("/agents/{name}")
def replace_agent(name: str, body: dict[str, Any], request: Request) -> dict:
    may_run_code = at_least(caller_role(request), "admin")
    return (
        fm(request)
        .agents.create({**body, "name": name}, replace=True, may_run_code=may_run_code)
        .model_dump(mode="json")
    )


@router.delete("/agents/{name}", status_code=204)
def delete_agent(name: str, request: Request) -> Response:
    fm(request).agents.delete(name)
    return Response(status_code=204)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str = Field(min_length=1)
    stream: bool = False
    session: str | None = Field(default=None, description='a conversation id, or "new" to start one')


async def _respond(start, stream: bool):
    """The finished run, or SSE `step` events then `run` (errors before the first event are HTTP errors)."""
    if not stream:
        return (await run_in_threadpool(lambda: list(start())[-1])).model_dump(mode="json")
    _, events = await first_then_rest(iterate_in_thread(start))

    def as_json(ev) -> dict:
        if isinstance(ev, Step):
            return {"type": "step", **ev.to_dict()}
        return {"type": "run", **ev.model_dump(mode="json")}

    return StreamingResponse(typed_sse(events, as_json), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/agents/{name}/runs")
async def run_agent(name: str, body: RunIn, request: Request):
    """Run the agent on a task: the finished run with its trace, or SSE `step` events then `run`.
    With `session`, the run is a turn of that conversation and remembers its earlier turns."""
    app = fm(request)
    return await _respond(lambda: app.agents.stream(name, body.input, session=body.session), body.stream)


@router.get("/agent-runs")
def list_runs(request: Request, agent: str | None = None, session: str | None = None, limit: int = 50) -> dict:
    runs = fm(request).agents.runs(agent, max(1, min(limit, 500)), session=session)
    return {"data": [r.model_dump(mode="json") for r in runs]}


@router.get("/agent-runs/{run_id}")
def get_run(run_id: str, request: Request) -> dict:
    return fm(request).agents.get_run(run_id).model_dump(mode="json")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: str = ""
    stream: bool = False


@router.post("/agent-runs/{run_id}/confirm")
async def confirm_run(run_id: str, body: ConfirmIn, request: Request):
    """Approve or reject the call a waiting run stopped at; the run carries on."""
    app = fm(request)
    app.agents.get_run(run_id)  # 404 before anything streams
    return await _respond(lambda: app.agents.stream_confirm(run_id, body.approve, body.note), body.stream)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stream: bool = False


@router.post("/agent-runs/{run_id}/replay")
async def replay_run(run_id: str, request: Request, body: ReplayIn | None = None):
    """Run the task again with the agent's current definition, tool calls answered from this run's
    recorded results (nothing outside is called); stored as a new run with `replay_of`."""
    app = fm(request)
    app.agents.get_run(run_id)
    return await _respond(lambda: app.agents.replay(run_id), bool(body and body.stream))

"""Agents over HTTP: definitions under /api/agents, runs (SSE with `stream`) and their traces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..agents.loop import Step
from ..sdk import Fmstack
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread, typed_sse

router = APIRouter(prefix="/api", tags=["agents"])


def fm(request: Request) -> Fmstack:
    return request.app.state.fm


@router.get("/agents")
def list_agents(request: Request) -> dict:
    return {"data": [a.model_dump(mode="json") for a in fm(request).agents.list()]}


@router.post("/agents", status_code=201)
def create_agent(body: dict[str, Any], request: Request) -> dict:
    return fm(request).agents.create(body).model_dump(mode="json")


@router.get("/agents/{name}")
def get_agent(name: str, request: Request) -> dict:
    return fm(request).agents.get(name).model_dump(mode="json")


@router.put("/agents/{name}")
def replace_agent(name: str, body: dict[str, Any], request: Request) -> dict:
    return fm(request).agents.create({**body, "name": name}, replace=True).model_dump(mode="json")


@router.delete("/agents/{name}", status_code=204)
def delete_agent(name: str, request: Request) -> Response:
    fm(request).agents.delete(name)
    return Response(status_code=204)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str = Field(min_length=1)
    stream: bool = False


@router.post("/agents/{name}/runs")
async def run_agent(name: str, body: RunIn, request: Request):
    """Run the agent on a task: the finished run with its trace, or SSE `step` events then `run`."""
    app = fm(request)
    if not body.stream:
        return (await run_in_threadpool(app.agents.run, name, body.input)).model_dump(mode="json")
    _, events = await first_then_rest(iterate_in_thread(lambda: app.agents.stream(name, body.input)))

    def as_json(ev) -> dict:
        if isinstance(ev, Step):
            return {"type": "step", **ev.to_dict()}
        return {"type": "run", **ev.model_dump(mode="json")}

    return StreamingResponse(typed_sse(events, as_json), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/agent-runs")
def list_runs(request: Request, agent: str | None = None, limit: int = 50) -> dict:
    return {"data": [r.model_dump(mode="json") for r in fm(request).agents.runs(agent, max(1, min(limit, 500)))]}


@router.get("/agent-runs/{run_id}")
def get_run(run_id: str, request: Request) -> dict:
    return fm(request).agents.get_run(run_id).model_dump(mode="json")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: str = ""


@router.post("/agent-runs/{run_id}/confirm")
async def confirm_run(run_id: str, body: ConfirmIn, request: Request) -> dict:
    """Approve or reject the call a waiting run stopped at; the run carries on."""
    res = await run_in_threadpool(fm(request).agents.confirm, run_id, body.approve, body.note)
    return res.model_dump(mode="json")

"""Evaluations over HTTP: start a spec as a background job (follow it under /api/jobs), list runs,
results, comparisons, the HTML report, and the human review queue with ratings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..errors import InvalidInput
from ..evaluation.runner import parse_spec
from .deps import RowId, fm

router = APIRouter(prefix="/api", tags=["evaluations"])


@router.post("/evaluations", status_code=202)
def start_evaluation(body: dict[str, Any], request: Request) -> dict:
    """The body is a spec (see `fmstack eval run`); `dataset` is the examples inline, {feedback: up},
    or a path on the server under FMSTACK_INGEST_ROOTS (none by default: see
    fmstack.security.paths). Returns the job; its result lists the run ids."""
    app = fm(request)
    spec = parse_spec(body)
    if isinstance(spec.dataset, str):  # the server reads only files its operator lets callers name
        spec.dataset = str(app.paths.check(spec.dataset, param="dataset"))
    job = app.evaluations.start(spec)
    return job.model_dump(mode="json")


@router.get("/evaluations")
def list_runs(request: Request, name: str | None = None, limit: int = 50) -> dict:
    return {"data": fm(request).evaluations.runs(name, max(1, min(limit, 500)))}


@router.get("/evaluations/compare")
def compare(a: str, b: str, request: Request) -> dict:
    return fm(request).evaluations.compare(a, b)


@router.get("/evaluations/report", response_class=HTMLResponse)
async def report(request: Request, runs: str) -> HTMLResponse:
    """The HTML report (with plots) of comma-separated runs; the first is the baseline."""
    import tempfile
    from pathlib import Path

    from ..evaluation.report import write_report

    ids = [r.strip() for r in runs.split(",") if r.strip()]
    if not ids:
        raise InvalidInput("runs: name at least one evaluation run (comma-separated ids)", param="runs")
    for run_id in ids:
        fm(request).evaluations.get(run_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = await run_in_threadpool(write_report, fm(request).evaluations, ids, Path(tmp) / "report.html")
        return HTMLResponse(path.read_text(encoding="utf-8"))


@router.get("/evaluations/{run_id}")
def get_run(run_id: str, request: Request) -> dict:
    return fm(request).evaluations.get(run_id)


@router.get("/evaluations/{run_id}/results")
def results(run_id: str, request: Request, unrated: bool = False) -> dict:
    svc = fm(request).evaluations
    svc.get(run_id)
    return {"data": svc.review_queue(run_id, limit=10_000) if unrated else svc.results(run_id)}


@router.post("/evaluations/{run_id}/resume", status_code=202)
def resume(run_id: str, request: Request) -> dict:
    return fm(request).evaluations.start_resume(run_id).model_dump(mode="json")


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=4000)


@router.post("/evaluation-results/{result_id}/rating")
def rate(result_id: RowId, body: RatingIn, request: Request) -> dict:
    """A person's rating (1-5) and comment, stored beside the automatic scores."""
    return fm(request).evaluations.rate(result_id, body.rating, body.comment)

"""Background jobs over HTTP under /api/jobs: list, follow (JSON or SSE), cancel, resume."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from .deps import fm
from .streaming import SSE_HEADERS

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("")
def list_jobs(request: Request, kind: str | None = None, target: str | None = None, limit: int = 50) -> dict:
    return {
        "data": [
            j.model_dump(mode="json")
            for j in fm(request).jobs.list(kind=kind, target=target, limit=max(1, min(limit, 500)))
        ]
    }


@router.get("/{job_id}")
def get_job(job_id: str, request: Request) -> dict:
    return fm(request).jobs.get(job_id).model_dump(mode="json")


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, request: Request) -> dict:
    return fm(request).jobs.cancel(job_id).model_dump(mode="json")


@router.post("/{job_id}/resume", status_code=202)
def resume_job(job_id: str, request: Request) -> dict:
    return fm(request).resume_job(job_id).model_dump(mode="json")


@router.get("/{job_id}/events")
async def job_events(job_id: str, request: Request, interval: float = 0.5):
    """Server-sent events: `progress` whenever it changes, then one `done` with the finished job."""
    jobs = fm(request).jobs
    jobs.get(job_id)  # 404 before the stream starts
    interval = max(0.1, min(interval, 10.0))

    async def events():
        last = None
        while True:
            job = await asyncio.to_thread(jobs.get, job_id)
            data = job.model_dump(mode="json")
            if job.finished:
                yield f"event: done\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
                return
            if data["progress"] != last:
                last = data["progress"]
                yield f"event: progress\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(interval)

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

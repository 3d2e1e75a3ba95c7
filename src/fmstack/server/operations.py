"""Operations: Prometheus metrics, liveness and readiness (open without a key, like a load
balancer or a scraper expects), and the administration reads — usage and the audit log."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from ..observability import exposition
from .deps import fm

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> PlainTextResponse:
    data = await run_in_threadpool(exposition, getattr(request.app.state, "collector", None))
    return PlainTextResponse(data, media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers at the schema this version expects."""
    app = fm(request)
    try:
        with app.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = app.db.revision()
    except Exception as e:  # the database is down or unreachable
        return JSONResponse({"status": "unavailable", "database": f"{type(e).__name__}: {e}"}, status_code=503)
    if revision != request.app.state.revision:
        return JSONResponse({"status": "unavailable", "database": f"schema {revision}"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok", "schema": revision})


@router.get("/api/usage")
def usage(
    request: Request,
    since: datetime | None = None,
    until: datetime | None = None,
    key_id: str | None = None,
) -> dict:
    """Calls, tokens and cost per API key, model and day (admins)."""
    return {"data": fm(request).accounting.usage(since=since, until=until, key_id=key_id)}


@router.get("/api/audit")
def audit(
    request: Request,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = Query(1000, ge=1, le=100_000),
    format: str = Query("json", pattern="^(json|jsonl)$"),
):
    """Who changed what, when, from where (admins); `format=jsonl` exports one JSON object per line."""
    rows = fm(request).audit.query(since=since, until=until, actor=actor, action=action, target=target, limit=limit)
    if format == "jsonl":
        return StreamingResponse(
            (json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
            media_type="application/x-ndjson",
            headers={"content-disposition": 'attachment; filename="fmstack-audit.jsonl"'},
        )
    return {"data": rows}

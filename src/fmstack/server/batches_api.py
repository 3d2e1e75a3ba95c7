"""OpenAI's Files and Batch APIs under /v1: upload a JSONL of requests, run it as a batch, follow
it, cancel it, read its output and error files (batches.py does the work)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .deps import fm

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


def _page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


# -- files -----------------------------------------------------------------------------------------
@router.post("/files")
async def upload_file(request: Request, file: UploadFile = File(...), purpose: str = Form(...)) -> dict:
    data = await file.read()
    record = await run_in_threadpool(fm(request).files.create, file.filename or "upload", purpose, data)
    return record.to_openai()


@router.get("/files")
def list_files(request: Request, purpose: str | None = None, limit: int = 100, after: str | None = None) -> dict:
    limit = max(1, min(limit, 10_000))
    found = fm(request).files.list(purpose=purpose, limit=limit + 1, after=after)
    return _page([f.to_openai() for f in found[:limit]], len(found) > limit)


@router.get("/files/{file_id}")
def get_file(file_id: str, request: Request) -> dict:
    return fm(request).files.get(file_id).to_openai()


@router.get("/files/{file_id}/content")
def file_content(file_id: str, request: Request) -> Response:
    return Response(fm(request).files.content(file_id), media_type="application/octet-stream")


@router.delete("/files/{file_id}")
def delete_file(file_id: str, request: Request) -> dict:
    fm(request).files.delete(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


# -- batches ---------------------------------------------------------------------------------------
class BatchIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input_file_id: str = Field(min_length=1)
    endpoint: Literal["/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions"]
    completion_window: Literal["24h"] = "24h"
    metadata: dict[str, str] | None = None


@router.post("/batches")
def create_batch(body: BatchIn, request: Request) -> dict:
    key = getattr(request.state, "api_key", None)
    # the lines run as this caller (its key's models, budget and usage; no key: the local owner,
    # in the request's workspace, which the job keeps)
    caller = key.model_dump(mode="json") if key is not None else None
    batch = fm(request).batches.create(
        body.input_file_id, body.endpoint, body.completion_window, metadata=body.metadata, caller=caller
    )
    return batch.to_openai()


@router.get("/batches")
def list_batches(request: Request, limit: int = 20, after: str | None = None) -> dict:
    limit = max(1, min(limit, 100))
    found = fm(request).batches.list(limit=limit + 1, after=after)
    return _page([b.to_openai() for b in found[:limit]], len(found) > limit)


@router.get("/batches/{batch_id}")
def get_batch(batch_id: str, request: Request) -> dict:
    return fm(request).batches.get(batch_id).to_openai()


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(batch_id: str, request: Request) -> dict:
    return fm(request).batches.cancel(batch_id).to_openai()

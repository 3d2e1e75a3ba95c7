"""Knowledge bases over HTTP under /api/knowledge-bases: manage, upload, ingest, retrieve, answer."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..errors import NotFound
from ..knowledge.rag import CitationsEvent
from ..models.types import GenerationParams
from ..sdk import Fmstack
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread, typed_sse

router = APIRouter(prefix="/api/knowledge-bases", tags=["knowledge bases"])


def fm(request: Request) -> Fmstack:
    return request.app.state.fm


class KnowledgeBaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    embedding_model: str | None = None
    chunking: dict[str, Any] | None = None
    retrieval: dict[str, Any] | None = None


@router.get("")
def list_kbs(request: Request) -> dict:
    return {"data": [k.model_dump(mode="json") for k in fm(request).knowledge.list()]}


@router.post("", status_code=201)
def create_kb(body: KnowledgeBaseIn, request: Request) -> dict:
    kb = fm(request).knowledge.create(
        body.name,
        description=body.description,
        embedding_model=body.embedding_model,
        chunking=body.chunking,
        retrieval=body.retrieval,
    )
    return kb.model_dump(mode="json")


@router.get("/{name}")
def get_kb(name: str, request: Request) -> dict:
    return fm(request).knowledge.get(name).model_dump(mode="json")


@router.delete("/{name}", status_code=204)
def delete_kb(name: str, request: Request) -> Response:
    fm(request).knowledge.delete(name)
    return Response(status_code=204)


@router.get("/{name}/documents")
def list_documents(name: str, request: Request) -> dict:
    return {"data": [d.model_dump(mode="json") for d in fm(request).knowledge.documents(name)]}


@router.delete("/{name}/documents/{document_id}", status_code=204)
def delete_document(name: str, document_id: str, request: Request) -> Response:
    fm(request).knowledge.delete_document(name, document_id)
    return Response(status_code=204)


@router.post("/{name}/documents")
async def upload(
    name: str,
    request: Request,
    response: Response,
    files: list[UploadFile] = File(...),
    text_column: str | None = Form(None),
    password: str | None = Form(None),
    background: bool = Form(False),
) -> dict:
    """Upload files; each is reported on its own (added, updated, unchanged or failed with a reason).
    With `background`, answers 202 at once with a job whose progress lists the files as they finish."""
    app = fm(request)
    app.knowledge.get(name)  # 404 before reading anything
    options = {k: v for k, v in {"text_column": text_column, "password": password}.items() if v}
    if background:
        uploads = [(f.filename or "upload", await f.read(), {"filename": f.filename}) for f in files]
        job = await run_in_threadpool(app.start_ingest, name, uploads=uploads, options=options)
        response.status_code = 202
        return job.model_dump(mode="json")
    results = []
    for f in files:
        data = await f.read()
        res = await run_in_threadpool(
            app.knowledge.ingest_bytes,
            name,
            f.filename or "upload",
            data,
            options=options,
            meta={"filename": f.filename},
        )
        results.append(asdict(res))
    return {"files": results, "failed": sum(r["status"] == "failed" for r in results)}


class IngestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1)
    include: list[str] | None = None
    exclude: list[str] | None = None
    sync: bool = False
    options: dict[str, Any] | None = None
    wait: bool = False  # answer with the finished report instead of a job


@router.post("/{name}/ingest", status_code=202)
def ingest(name: str, body: IngestIn, request: Request, response: Response) -> dict:
    """Ingest files and folders on the server's own disk, as a background job (202 + the job)."""
    app = fm(request)
    if body.wait:
        response.status_code = 200
        return app.knowledge.ingest(
            name, body.paths, include=body.include, exclude=body.exclude, sync=body.sync, options=body.options
        ).to_dict()
    for p in body.paths:
        if not Path(p).expanduser().exists():
            raise NotFound(f"{p} does not exist on the server", param="paths")
    job = app.start_ingest(
        name, body.paths, include=body.include, exclude=body.exclude, sync=body.sync, options=body.options
    )
    return job.model_dump(mode="json")


class RetrieveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    mode: Literal["hybrid", "dense", "bm25"] | None = None
    top_k: int | None = Field(default=None, ge=1, le=200)
    min_score: float | None = None
    filters: dict[str, Any] | None = None
    mmr: bool | None = None
    multi_query: int | None = Field(default=None, ge=0, le=5)


@router.post("/{name}/retrieve")
def retrieve(name: str, body: RetrieveIn, request: Request) -> dict:
    hits = fm(request).knowledge.retrieve(
        name,
        body.query,
        mode=body.mode,
        top_k=body.top_k,
        min_score=body.min_score,
        filters=body.filters,
        mmr=body.mmr,
        multi_query=body.multi_query,
    )
    return {"data": [h.to_dict() for h in hits]}


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    model: str | None = None
    stream: bool = False
    mode: Literal["hybrid", "dense", "bm25"] | None = None
    top_k: int | None = Field(default=None, ge=1, le=50)
    filters: dict[str, Any] | None = None
    mmr: bool | None = None
    multi_query: int | None = Field(default=None, ge=0, le=5)
    guardrail: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None

    def params(self) -> GenerationParams:
        return GenerationParams(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, seed=self.seed
        )


@router.post("/{name}/answer")
async def answer(name: str, body: AnswerIn, request: Request):
    """retrieve_and_generate: the answer with the citations it uses (SSE with `stream`)."""
    app = fm(request)
    kw = dict(
        model=body.model,
        top_k=body.top_k,
        mode=body.mode,
        filters=body.filters,
        mmr=body.mmr,
        multi_query=body.multi_query,
        params=body.params(),
        guardrail=body.guardrail,
    )
    if not body.stream:
        res = await run_in_threadpool(lambda: app.ask_kb(name, body.question, **kw))
        return res.to_dict()
    _, events = await first_then_rest(iterate_in_thread(lambda: app.stream_kb_answer(name, body.question, **kw)))

    return StreamingResponse(typed_sse(events, _event_json), media_type="text/event-stream", headers=SSE_HEADERS)


def _event_json(ev) -> dict:
    if isinstance(ev, CitationsEvent):
        return {"type": "citations", "citations": [c.to_dict() for c in ev.citations]}
    d = asdict(ev)
    return {"type": d.pop("kind"), **d}

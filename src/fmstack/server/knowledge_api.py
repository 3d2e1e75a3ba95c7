"""Knowledge bases over HTTP under /api/knowledge-bases: manage, upload, ingest, retrieve, answer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..knowledge.options import Retrieval
from ..knowledge.rag import CitationsEvent
from ..models.types import Message
from .deps import fm
from .schemas import SamplingIn
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread, typed_sse

router = APIRouter(prefix="/api/knowledge-bases", tags=["knowledge bases"])


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
    """Ingest files and folders on the server's own disk, as a background job (202 + the job).
    Only under FMSTACK_INGEST_ROOTS (none by default): see fmstack.security.paths."""
    app = fm(request)
    paths = [str(app.paths.check(p)) for p in body.paths]
    if body.wait:
        response.status_code = 200
        return app.knowledge.ingest(
            name, paths, include=body.include, exclude=body.exclude, sync=body.sync, options=body.options
        ).to_dict()
    job = app.start_ingest(
        name, paths, include=body.include, exclude=body.exclude, sync=body.sync, options=body.options
    )
    return job.model_dump(mode="json")


class RetrieveIn(Retrieval):
    query: str = Field(min_length=1)


@router.post("/{name}/retrieve")
def retrieve(name: str, body: RetrieveIn, request: Request) -> dict:
    hits = fm(request).knowledge.retrieve(name, body.query, **body.overrides())
    return {"data": [h.to_dict() for h in hits]}


class AnswerIn(Retrieval, SamplingIn):
    not_sampling = ("top_k",)  # top_k is retrieval's: how many passages
    question: str = Field(min_length=1)
    model: str | None = None
    stream: bool = False
    guardrail: str | None = None

    def retrieval(self) -> Retrieval:
        return Retrieval.model_validate(self.model_dump(include=set(Retrieval.model_fields)))


@router.post("/{name}/answer")
async def answer(name: str, body: AnswerIn, request: Request):
    """retrieve_and_generate: the answer with the citations it uses (SSE with `stream`)."""
    app = fm(request)
    kw: dict[str, Any] = dict(
        model=body.model, params=body.params(), guardrail=body.guardrail, retrieval=body.retrieval()
    )
    if not body.stream:
        res = await run_in_threadpool(lambda: app.turns.ask(name, body.question, **kw))
        return res.to_dict()
    turn = await run_in_threadpool(
        lambda: app.turns.prepare([Message("user", body.question)], knowledge_base=name, **kw)
    )
    _, events = await first_then_rest(iterate_in_thread(turn.stream))
    return StreamingResponse(typed_sse(events, _event_json), media_type="text/event-stream", headers=SSE_HEADERS)


def _event_json(ev) -> dict:
    if isinstance(ev, CitationsEvent):
        return {"type": "citations", **ev.to_dict()}
    d = asdict(ev)
    return {"type": d.pop("kind"), **d}

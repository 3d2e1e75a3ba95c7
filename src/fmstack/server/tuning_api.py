"""Customization over the platform API: datasets (/api/datasets), fine-tuning jobs
(/api/fine-tuning) and aliases with their history (/api/aliases: promotion and roll-back)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..errors import InvalidInput
from ..store.scope import current_workspace
from .deps import fm

router = APIRouter(prefix="/api", tags=["customization"])

Personal = Literal["mask", "drop", "keep"]


def _actor(request: Request) -> str:
    key = getattr(request.state, "api_key", None)
    return f"{key.id} ({key.name})" if key is not None else "local"


# -- datasets --------------------------------------------------------------------------------------
@router.post("/datasets", status_code=201)
async def upload_dataset(
    request: Request,
    file: UploadFile = File(...),
    name: str = Form(...),
    kind: Literal["chat", "preference", "text"] | None = Form(None),
    model: str | None = Form(None),
    max_tokens: int | None = Form(None, ge=1),
    personal_data: Personal = Form("mask"),
    dedupe: bool = Form(True),
    seed: int = Form(0),
    validation: float = Form(0.1),
    test: float = Form(0.1),
    note: str = Form(""),
) -> dict:
    """A new dataset version from a JSONL/CSV/JSON file; the response lists every dropped or
    masked row with its reason."""
    data = await file.read()
    app = fm(request)
    record = await run_in_threadpool(
        lambda: app.datasets.from_file(
            name,
            data,
            file.filename or "",
            kind=kind,
            model=model,
            max_tokens=max_tokens,
            personal_data=personal_data,
            dedupe=dedupe,
            seed=seed,
            validation=validation,
            test=test,
            note=note,
        )
    )
    return record.model_dump(mode="json")


class CollectedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    source: Literal["feedback", "evaluation", "knowledge_base"]
    kind: Literal["chat", "preference"] = "chat"  # feedback: examples or preference pairs
    run_id: str | None = None  # evaluation
    metric: str | None = None  # evaluation: keep results that scored below `below` on this
    below: float | None = None
    knowledge_base: str | None = None  # knowledge_base: its passages as text for continued pre-training
    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    personal_data: Personal = "mask"
    seed: int = 0
    validation: float = 0.1
    test: float = 0.1
    note: str = ""


@router.post("/datasets/collect", status_code=201)
def collect_dataset(body: CollectedIn, request: Request) -> dict:
    """A new dataset version from what the platform collected: rated chat answers (👍, and 👎 with
    a correction), an evaluation run's results, or a knowledge base's passages."""
    app = fm(request)
    common: dict[str, Any] = {
        "model": body.model,
        "max_tokens": body.max_tokens,
        "personal_data": body.personal_data,
        "seed": body.seed,
        "validation": body.validation,
        "test": body.test,
        "note": body.note,
    }
    if body.source == "feedback":
        record = app.datasets.from_feedback(body.name, body.kind, **common)
    elif body.source == "evaluation":
        if not body.run_id:
            raise InvalidInput("a dataset from an evaluation needs run_id", param="run_id")
        record = app.datasets.from_evaluation(body.name, body.run_id, metric=body.metric, below=body.below, **common)
    else:
        if not body.knowledge_base:
            raise InvalidInput("a dataset from a knowledge base needs knowledge_base", param="knowledge_base")
        record = app.datasets.from_knowledge_base(body.name, body.knowledge_base, **common)
    return record.model_dump(mode="json")


@router.get("/datasets")
def list_datasets(request: Request, name: str | None = None) -> dict:
    return {"data": [d.model_dump(mode="json") for d in fm(request).datasets.list(name)]}


@router.get("/datasets/{ref}")
def get_dataset(ref: str, request: Request) -> dict:
    return fm(request).datasets.get(ref).model_dump(mode="json")


@router.get("/datasets/{ref}/examples")
def dataset_examples(
    ref: str,
    request: Request,
    split: Literal["train", "validation", "test"] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    rows = fm(request).datasets.examples(ref, split)
    limit, offset = max(1, min(limit, 10_000)), max(0, offset)
    return {"data": rows[offset : offset + limit], "total": len(rows)}


@router.delete("/datasets/{ref}")
def delete_dataset(ref: str, request: Request) -> dict:
    fm(request).datasets.delete(ref)
    return {"id": ref, "deleted": True}


# -- fine-tuning jobs ------------------------------------------------------------------------------
class TuneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    dataset: str = Field(min_length=1)  # id, NAME (newest version) or NAME:VERSION
    method: Literal["supervised", "dpo", "pretraining"] = "supervised"
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    validation_dataset: str | None = None
    suffix: str | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


@router.post("/fine-tuning", status_code=201)
def create_tuning(body: TuneIn, request: Request) -> dict:
    job = fm(request).tuning.create(
        body.model,
        body.dataset,
        method=body.method,
        hyperparameters=body.hyperparameters,
        validation_dataset=body.validation_dataset,
        suffix=body.suffix,
        seed=body.seed,
    )
    return job.model_dump(mode="json")


@router.get("/fine-tuning")
def list_tuning(request: Request, limit: int = 50) -> dict:
    return {"data": [j.model_dump(mode="json") for j in fm(request).tuning.list(limit=max(1, min(limit, 1000)))]}


@router.get("/fine-tuning/models")
def tuned_models(request: Request) -> dict:
    return {"data": [m.model_dump(mode="json", exclude={"adapter_path"}) for m in fm(request).tuning.tuned()]}


@router.get("/fine-tuning/{job_id}")
def get_tuning(job_id: str, request: Request) -> dict:
    return fm(request).tuning.get(job_id).model_dump(mode="json")


@router.get("/fine-tuning/{job_id}/report")
def tuning_report(job_id: str, request: Request) -> FileResponse:
    """The HTML report: the tuned model against its base on the test split, and the loss curves."""
    return FileResponse(fm(request).tuning.report_path(job_id), media_type="text/html")


@router.post("/fine-tuning/{job_id}/cancel")
def cancel_tuning(job_id: str, request: Request) -> dict:
    return fm(request).tuning.cancel(job_id).model_dump(mode="json")


@router.get("/fine-tuning/{job_id}/events")
def tuning_events(job_id: str, request: Request, limit: int = 100) -> dict:
    events = fm(request).tuning.events(job_id, limit=max(1, min(limit, 10_000)))
    return {"data": [e.model_dump(mode="json") for e in events]}


# -- aliases ---------------------------------------------------------------------------------------
@router.get("/aliases")
def list_aliases(request: Request) -> dict:
    app = fm(request)
    names = sorted({*app.models.aliases, *app.models.promoted.get(current_workspace(), {})})
    return {
        "data": [{"alias": a, "model": app.aliases.current(a)} for a in names],
        "history": [c.model_dump(mode="json") for c in app.aliases.history()],
    }


class AliasIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    note: str = Field(default="", max_length=2000)


@router.put("/aliases/{alias}")
def point_alias(alias: str, body: AliasIn, request: Request) -> dict:
    """Point an alias at a model in this workspace (promotion)."""
    return fm(request).aliases.point(alias, body.model, note=body.note, actor=_actor(request)).model_dump(mode="json")


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


@router.post("/aliases/{alias}/rollback")
def rollback_alias(alias: str, request: Request, body: RollbackIn | None = None) -> dict:
    note = body.note if body else ""
    return fm(request).aliases.rollback(alias, note=note, actor=_actor(request)).model_dump(mode="json")


@router.get("/aliases/{alias}/history")
def alias_history(alias: str, request: Request) -> dict:
    return {"data": [c.model_dump(mode="json") for c in fm(request).aliases.history(alias)]}

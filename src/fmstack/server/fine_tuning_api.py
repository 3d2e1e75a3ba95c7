"""OpenAI's fine-tuning API under /v1 (what the official SDK's `client.fine_tuning` calls): jobs
created from an uploaded file (purpose `fine-tune`), listed, followed through their events and
checkpoints, cancelled; a finished job's `fine_tuned_model` is a model on /v1/chat/completions and
can be deleted with DELETE /v1/models/{model}. tuning/service.py does the work."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..errors import InvalidInput
from ..tuning.service import EventRecord, TuningJobRecord
from ..tuning.trainer import Hyperparameters
from .batches_api import _page
from .deps import fm

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

BASE_LR = Hyperparameters.model_fields["learning_rate"].default
Auto = Literal["auto"]


class OpenAIHyperparameters(BaseModel):
    """OpenAI's three, and any of fmstack's own (tuning/trainer.py: Hyperparameters) by name."""

    model_config = ConfigDict(extra="allow")

    n_epochs: int | Auto | None = None
    batch_size: int | Auto | None = None
    learning_rate_multiplier: float | Auto | None = None
    beta: float | Auto | None = None  # DPO

    def ours(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.model_extra or {})
        if isinstance(self.n_epochs, int):
            out["epochs"] = self.n_epochs
        if isinstance(self.batch_size, int):
            out["batch_size"] = self.batch_size
        if isinstance(self.learning_rate_multiplier, float | int):
            out["learning_rate"] = BASE_LR * float(self.learning_rate_multiplier)
        if isinstance(self.beta, float | int):
            out["dpo_beta"] = float(self.beta)
        return out


class MethodPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    hyperparameters: OpenAIHyperparameters | None = None


class MethodIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["supervised", "dpo", "pretraining"]
    supervised: MethodPart | None = None
    dpo: MethodPart | None = None
    pretraining: MethodPart | None = None


class FineTuningJobIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    training_file: str = Field(min_length=1)
    validation_file: str | None = None
    hyperparameters: OpenAIHyperparameters | None = None
    method: MethodIn | None = None
    suffix: str | None = Field(default=None, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    metadata: dict[str, str] | None = None
    integrations: list[dict[str, Any]] | None = None


def job_object(job: TuningJobRecord) -> dict[str, Any]:
    hp = job.hyperparameters
    ours = {
        "n_epochs": hp.get("epochs"),
        "batch_size": hp.get("batch_size"),
        "learning_rate_multiplier": round(hp.get("learning_rate", BASE_LR) / BASE_LR, 6),
    }
    method_hp = {**ours, "beta": hp.get("dpo_beta")} if job.method == "dpo" else ours
    return {
        "object": "fine_tuning.job",
        "id": job.id,
        "model": job.base_model,
        "created_at": int(job.created_at.timestamp()),
        "finished_at": int(job.finished_at.timestamp()) if job.finished_at else None,
        "fine_tuned_model": job.fine_tuned_model,
        "organization_id": "fmstack",
        "result_files": [],
        "status": job.status,
        "validation_file": job.validation_file,
        "training_file": job.training_file or job.dataset_id,
        "hyperparameters": ours,
        "trained_tokens": job.trained_tokens,
        "error": job.error,
        "seed": job.seed,
        "estimated_finish": int(job.estimated_finish.timestamp()) if job.estimated_finish else None,
        "integrations": [],
        "metadata": (job.meta or {}).get("metadata") or None,
        "method": {"type": job.method, job.method: {"hyperparameters": method_hp}},
        "user_provided_suffix": job.suffix,
        # fmstack's own: the whole set of hyperparameters, and the losses (base vs tuned)
        "fmstack": {"hyperparameters": hp, "dataset_id": job.dataset_id, "metrics": job.metrics},
    }


def event_object(e: EventRecord) -> dict[str, Any]:
    return {
        "object": "fine_tuning.job.event",
        "id": e.id,
        "created_at": int(e.created_at.timestamp()),
        "level": e.level if e.level in ("info", "warn", "error") else "info",
        "message": e.message,
        "data": e.data,
        "type": "metrics" if e.type == "metrics" else "message",
    }


def _dataset_from_file(app, file_id: str, param: str, *, validation: float, model: str) -> str:
    record = app.files.get(file_id)
    if record.purpose != "fine-tune":
        raise InvalidInput(
            f"file {file_id} has purpose {record.purpose!r}; upload it with purpose 'fine-tune'", param=param
        )
    ds = app.datasets.from_file(
        file_id, app.files.content(file_id), record.filename, model=model, validation=validation, test=0.0
    )
    return ds.id


def _create(app, body: FineTuningJobIn) -> TuningJobRecord:
    method = body.method.type if body.method else "supervised"
    part = getattr(body.method, method, None) if body.method else None
    hp: dict[str, Any] = {}
    if body.hyperparameters:
        hp.update(body.hyperparameters.ours())
    if part is not None and part.hyperparameters:
        hp.update(part.hyperparameters.ours())
    app.tuning.check_base(body.model)  # before any dataset is made from the files
    validation = (
        _dataset_from_file(app, body.validation_file, "validation_file", validation=0.0, model=body.model)
        if body.validation_file
        else None
    )
    try:
        dataset = _dataset_from_file(
            app, body.training_file, "training_file", validation=0.0 if validation else 0.1, model=body.model
        )
    except Exception:
        if validation:
            app.datasets.delete(validation)
        raise
    try:
        return app.tuning.create(
            body.model,
            dataset,
            method=method,
            hyperparameters=hp,
            validation_dataset=validation,
            suffix=body.suffix,
            seed=body.seed,
            training_file=body.training_file,
            validation_file=body.validation_file,
            metadata=body.metadata,
        )
    except Exception:  # nothing half-made: the datasets go with the refused job
        for made in (dataset, validation):
            if made:
                app.datasets.delete(made)
        raise


@router.post("/fine_tuning/jobs")
async def create_job(body: FineTuningJobIn, request: Request) -> dict:
    job = await run_in_threadpool(_create, fm(request), body)
    return job_object(job)


@router.get("/fine_tuning/jobs")
def list_jobs(request: Request, limit: int = 20, after: str | None = None) -> dict:
    limit = max(1, min(limit, 1000))
    found = fm(request).tuning.list(limit=limit + 1, after=after)
    return {"object": "list", "data": [job_object(j) for j in found[:limit]], "has_more": len(found) > limit}


@router.get("/fine_tuning/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> dict:
    return job_object(fm(request).tuning.get(job_id))


@router.post("/fine_tuning/jobs/{job_id}/cancel")
def cancel_job(job_id: str, request: Request) -> dict:
    return job_object(fm(request).tuning.cancel(job_id))


@router.get("/fine_tuning/jobs/{job_id}/events")
def job_events(job_id: str, request: Request, limit: int = 20, after: str | None = None) -> dict:
    limit = max(1, min(limit, 1000))
    found = fm(request).tuning.events(job_id, limit=limit + 1, after=after)
    return {"object": "list", "data": [event_object(e) for e in found[:limit]], "has_more": len(found) > limit}


@router.get("/fine_tuning/jobs/{job_id}/checkpoints")
def job_checkpoints(job_id: str, request: Request, limit: int = 10, after: str | None = None) -> dict:
    app = fm(request)
    job = app.tuning.get(job_id)
    limit = max(1, min(limit, 1000))
    found = app.tuning.checkpoints(job_id)
    if after:
        ids = [e.id for e in found]
        found = found[ids.index(after) + 1 :] if after in ids else []
    items = []
    for e in found[: limit + 1]:
        data = e.data or {}
        step = int(data.get("step", 0))
        metrics = {k: float(v) for k, v in data.items() if k in ("train_loss", "valid_loss") and v is not None}
        items.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": e.id.replace("ftevent", "ftckpt", 1),
                "created_at": int(e.created_at.timestamp()),
                "fine_tuned_model_checkpoint": f"{job.fine_tuned_model or 'ft:' + job.base_model}:ckpt-step-{step}",
                "fine_tuning_job_id": job_id,
                "metrics": {"step": float(step), **metrics},
                "step_number": step,
            }
        )
    return _page(items[:limit], len(items) > limit)


@router.delete("/models/{model:path}")
def delete_model(model: str, request: Request) -> dict:
    """Delete a fine-tuned model of this workspace (configured models are the config file's)."""
    fm(request).tuning.delete_model(model)
    return {"id": model, "object": "model", "deleted": True}

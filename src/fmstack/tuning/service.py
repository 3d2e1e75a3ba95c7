"""Fine-tuning jobs: a dataset version and a local base model in, a served model out.

A job runs in the background like ingestion (jobs.py): progress (step, epoch, losses, tokens/s,
ETA), events (OpenAI's fine_tuning.job.event), checkpoints every few steps, cancel between steps.
A job that a stopped process left running starts again from its last checkpoint when the server
starts (`resume_unfinished`). A finished job writes the adapter as a llama.cpp LoRA GGUF and
registers `ft:<base>:<suffix>:<id>` for its workspace — the base GGUF with the adapter applied —
with its lineage (base, dataset version, hyperparameters, losses).
"""

from __future__ import annotations

import builtins
import logging
import math
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select

from ..errors import ConfigError, InvalidInput, NotFound
from ..files import page
from ..jobs import JobContext, JobRunner, once
from ..models.local import resolve_model_path
from ..models.registry import ModelRegistry, ModelSpec, scoped_name
from ..store import Database, in_workspace
from ..store.scope import current_workspace
from ..store.tables import TunedModel, TuningEvent, TuningJobRow, utcnow
from .datasets import DatasetRecord, DatasetService
from .trainer import Hyperparameters, require

log = logging.getLogger(__name__)

METHODS = {"supervised": "chat", "dpo": "preference", "pretraining": "text"}
UNFINISHED = ("validating_files", "queued", "running")
_SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class TuningJobRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    base_model: str
    method: str
    dataset_id: str
    training_file: str | None = None
    validation_file: str | None = None
    hyperparameters: dict[str, Any]
    suffix: str | None = None
    seed: int
    status: str
    job_id: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    metrics: dict[str, Any]
    error: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    created_at: datetime
    finished_at: datetime | None = None
    estimated_finish: datetime | None = None


class EventRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tuning_job_id: str
    type: str
    level: str
    message: str
    data: dict[str, Any] | None = None
    created_at: datetime


class TunedModelRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    tuning_job_id: str
    base_model: str
    adapter_path: str
    lineage: dict[str, Any]
    created_at: datetime


class TuningService:
    def __init__(
        self,
        db: Database,
        data_dir: Path,
        models: ModelRegistry,
        datasets: DatasetService,
        jobs: JobRunner,
        threads: int | None,
        evaluations: Any = None,
    ):
        self.db = db
        self.root = Path(data_dir) / "tuning"
        self.models = models
        self.datasets = datasets
        self.jobs = jobs
        jobs.register("fine-tune", self._run)
        self.threads = threads
        self.evaluations = evaluations  # evaluation/runner.py: EvaluationService

    # -- creating ----------------------------------------------------------------------------
    def _base(self, model: str) -> tuple[str, ModelSpec]:
        """The registry name and spec of a model that can be tuned here (a local GGUF)."""
        real = self.models.resolve(model, "chat")
        spec = self.models.specs[real]
        if spec.provider != "local" or not spec.path:
            raise InvalidInput(
                f"model {model!r} is served by the {spec.provider!r} provider and cannot be tuned here; "
                "tune a local model (a GGUF file)",
                param="model",
                code="model_not_tunable",
            )
        if spec.lora or spec.origin == "tuned":
            raise InvalidInput(
                f"model {model!r} is itself tuned; tune its base {self._lineage_base(real)!r} on the combined data",
                param="model",
                code="model_not_tunable",
            )
        return real, spec

    def check_base(self, model: str) -> None:
        """A clear error now when `model` cannot be tuned here (unknown, remote, already tuned, or
        the training libraries missing)."""
        self._base(model)
        require()

    def _lineage_base(self, real: str) -> str:
        with self.db.session() as s:
            row = s.get(TunedModel, real.split("/", 1)[-1] if real.startswith("@") else real)
            return row.base_model if row else real

    def create(
        self,
        model: str,
        dataset: str,
        *,
        method: str = "supervised",
        hyperparameters: dict[str, Any] | None = None,
        validation_dataset: str | None = None,
        suffix: str | None = None,
        seed: int | None = None,
        training_file: str | None = None,
        validation_file: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> TuningJobRecord:
        """Check everything a job needs before it is queued: a bad request registers nothing."""
        if method not in METHODS:
            raise InvalidInput(f"method must be one of {', '.join(METHODS)}", param="method")
        base, spec = self._base(model)
        try:
            hp = Hyperparameters.model_validate(hyperparameters or {})
        except ValidationError as e:
            err = e.errors()[0]
            raise InvalidInput(
                f"hyperparameters.{'.'.join(map(str, err['loc']))}: {err['msg']}", param="hyperparameters"
            ) from None
        if suffix is not None and not _SUFFIX.match(suffix):
            raise InvalidInput("suffix is 1-40 letters, digits, '-' or '_'", param="suffix")
        ds = self.datasets.get(dataset)
        self._check_kind(ds, method, "dataset")
        if validation_dataset:
            self._check_kind(self.datasets.get(validation_dataset), method, "validation_dataset")
        require()
        resolve_model_path(spec.path or "")  # the base file is there
        shown = base.split("/", 1)[-1]
        with self.db.session() as s:
            row = TuningJobRow(
                base_model=shown,
                method=method,
                dataset_id=ds.id,
                training_file=training_file,
                validation_file=validation_file,
                hyperparameters=hp.model_dump(),
                suffix=suffix,
                seed=seed if seed is not None else 0,
                status="queued",
                metrics={},
                meta={"metadata": metadata or {}, "validation_dataset": validation_dataset},
            )
            s.add(row)
            s.flush()
            job_id = row.id
        self._event(job_id, f"Created fine-tuning job: {job_id}")
        self._event(
            job_id,
            f"Validated dataset {ds.name}:{ds.version}: {ds.rows} examples ({ds.stats.get('dropped', 0)} dropped)",
        )
        return self._start(job_id)

    def _check_kind(self, ds: DatasetRecord, method: str, param: str) -> None:
        want = METHODS[method]
        if ds.kind != want:
            raise InvalidInput(
                f"{method} tuning needs a {want} dataset; {ds.name}:{ds.version} holds {ds.kind} examples", param=param
            )

    def _start(self, job_id: str) -> TuningJobRecord:
        job = self.jobs.submit("fine-tune", job_id, {"tuning_job": job_id})
        self._update(job_id, job_id=job.id)
        return self.get(job_id)

    # -- reading -----------------------------------------------------------------------------
    def get(self, job_id: str) -> TuningJobRecord:
        with self.db.session() as s:
            row = s.get(TuningJobRow, job_id)
            if row is None:
                raise NotFound(f"no fine-tuning job {job_id!r}", param="fine_tuning_job_id")
            record = TuningJobRecord.model_validate(row)
        if record.status == "running" and record.job_id:
            try:
                record.metrics = {**record.metrics, "progress": self.jobs.get(record.job_id).progress}
            except NotFound:
                pass
        return record

    def list(self, limit: int = 20, after: str | None = None) -> builtins.list[TuningJobRecord]:
        stmt = select(TuningJobRow).order_by(TuningJobRow.created_at.desc(), TuningJobRow.id.desc())
        with self.db.session() as s:
            rows = [TuningJobRecord.model_validate(r) for r in s.scalars(stmt)]
        return page(rows, limit, after)

    def events(self, job_id: str, limit: int = 20, after: str | None = None) -> builtins.list[EventRecord]:
        self.get(job_id)
        stmt = (
            select(TuningEvent)
            .where(TuningEvent.tuning_job_id == job_id)
            .order_by(TuningEvent.created_at.desc(), TuningEvent.id.desc())
        )
        with self.db.session() as s:
            rows = [EventRecord.model_validate(r) for r in s.scalars(stmt)]
        return page(rows, limit, after)

    def checkpoints(self, job_id: str) -> builtins.list[EventRecord]:
        return [e for e in self.events(job_id, limit=10_000) if e.type == "checkpoint"]

    def _event(self, job_id: str, message: str, *, type: str = "message", level: str = "info", data=None) -> None:
        with self.db.session() as s:
            s.add(TuningEvent(tuning_job_id=job_id, type=type, level=level, message=message, data=data))

    def _update(self, tuning_id: str, **values: Any) -> None:
        with self.db.session() as s:
            row = s.get(TuningJobRow, tuning_id)
            if row is not None:
                for k, v in values.items():
                    setattr(row, k, v)

    # -- cancelling and resuming -------------------------------------------------------------
    def cancel(self, job_id: str) -> TuningJobRecord:
        record = self.get(job_id)
        if record.status not in UNFINISHED:
            raise InvalidInput(
                f"fine-tuning job {job_id} is {record.status}; it cannot be cancelled", param="fine_tuning_job_id"
            )
        if record.job_id:
            try:
                self.jobs.cancel(record.job_id)
            except InvalidInput:
                pass  # its background job just ended
        self._update(job_id, status="cancelled", finished_at=utcnow())
        self._event(job_id, "Fine-tuning job cancelled")
        return self.get(job_id)

    def resume_unfinished(self) -> builtins.list[str]:
        """Start again, from their last checkpoint, the jobs a stopped process left unfinished."""
        with self.db.session() as s:
            stmt = select(TuningJobRow.id, TuningJobRow.workspace_id, TuningJobRow.job_id).where(
                TuningJobRow.status.in_(UNFINISHED)
            )
            rows = s.execute(stmt.execution_options(all_workspaces=True)).all()
        resumed = []
        for job_id, workspace, runner_id in rows:
            with in_workspace(workspace):
                if runner_id:
                    try:
                        if not self.jobs.get(runner_id).finished:
                            continue  # still running somewhere
                    except NotFound:
                        pass
                restart = once("fine-tune", job_id, runner_id or "")  # one restart however many processes ask
                if self.jobs.submit_once("fine-tune", job_id, {"tuning_job": job_id}, restart) is None:
                    continue  # another process restarted it already
                self._event(job_id, "The server restarted: resuming from the last checkpoint")
                self._update(job_id, job_id=restart)
                resumed.append(job_id)
        return resumed

    # -- running -----------------------------------------------------------------------------
    def _run(self, ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        job_id = params["tuning_job"]
        from .trainer import Trainer

        record = self.get(job_id)
        if record.status not in UNFINISHED:
            return {"status": record.status}
        self._update(job_id, status="running", error=None)
        try:
            real, spec = self._base(record.base_model)
            hp = Hyperparameters.model_validate(record.hyperparameters)
            examples = self.datasets.examples(record.dataset_id)
            validation_ref = (record.meta or {}).get("validation_dataset")
            train = [e for e in examples if e["split"] == "train"]
            valid = (
                self.datasets.examples(validation_ref)
                if validation_ref
                else [e for e in examples if e["split"] == "validation"]
            )
            out = self.root / job_id
            self._event(job_id, f"Loading {record.base_model} for {record.method} tuning ({len(train)} examples)")
            trainer = Trainer(
                resolve_model_path(spec.path or ""),
                record.method,  # type: ignore[arg-type]
                hp,
                out,
                seed=record.seed,
                threads=self.threads,
                cache=self.root / "base-cache",
            )
            started = utcnow()

            def progress(p: dict[str, Any]) -> None:
                ctx.report(p)
                if p["step"] % max(1, p["total_steps"] // 20) == 0 or p["step"] == p["total_steps"]:
                    self._event(
                        job_id,
                        f"Step {p['step']}/{p['total_steps']}: training loss={p['train_loss']}",
                        type="metrics",
                        data=p,
                    )
                eta = p.get("eta_seconds")
                if eta is not None and p["step"] % 5 == 0:
                    self._update(job_id, estimated_finish=utcnow() + timedelta(seconds=eta))

            def checkpoint(step: int, path: Path, point: dict[str, Any]) -> None:
                self._event(
                    job_id, f"Checkpoint saved at step {step}", type="checkpoint", data={**point, "path": path.name}
                )

            outcome = trainer.train(
                train,
                valid,
                progress=progress,
                on_checkpoint=checkpoint,
                on_resume=lambda step: self._event(job_id, f"Resumed from the checkpoint at step {step}"),
                cancelled=lambda: ctx.cancelled,
            )

            def stopped() -> bool:  # cancelled by this process or, through the table, by another
                return ctx.cancelled or self.get(job_id).status == "cancelled"

            if outcome.cancelled or stopped():
                return {"cancelled_at_step": outcome.steps}
            adapter = trainer.write_adapter(out / "adapter.gguf")
            served, export = self._export(job_id, trainer, spec, adapter, out, valid or train)
            if stopped():  # cancelled while exporting: nothing is registered
                return {"cancelled_at_step": outcome.steps}
            metrics: dict[str, Any] = {
                "steps": outcome.steps,
                "train_loss": outcome.train_loss,
                "valid_loss": outcome.valid_loss,
                "base_valid_loss": outcome.base_valid_loss,
                "tokens_per_second": round(outcome.tokens_per_second, 1),
                "seconds": round(outcome.seconds, 1),
                "curve": outcome.curve,
            }
            name = self._model_name(record)
            self._register(name, record, spec, served, adapter, metrics, export)
            for ckpt in out.glob("checkpoint-*"):  # the adapter is what is kept
                shutil.rmtree(ckpt, ignore_errors=True)
            report = self._evaluate(ctx, job_id, record, name, examples, metrics)
            if stopped():  # cancelled while evaluating: a cancelled job leaves no model behind
                self.delete_model(name)
                return {"cancelled_at_step": outcome.steps}
            if report:
                metrics["evaluation"] = report
            self._update(
                job_id,
                status="succeeded",
                fine_tuned_model=name,
                trained_tokens=outcome.trained_tokens,
                metrics=metrics,
                finished_at=utcnow(),
                estimated_finish=None,
            )
            self._event(job_id, f"New fine-tuned model created: {name}")
            self._event(job_id, "The job has successfully completed")
            log.info("fine-tuning job %s made %s in %.0f s", job_id, name, (utcnow() - started).total_seconds())
            return {"fine_tuned_model": name, **{k: v for k, v in metrics.items() if k != "curve"}}
        except Exception as e:
            message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            code = getattr(e, "code", None) or (
                "invalid_configuration" if isinstance(e, ConfigError) else "training_failed"
            )
            self._update(
                job_id, status="failed", error={"code": code, "message": message, "param": None}, finished_at=utcnow()
            )
            self._event(job_id, f"Fine-tuning failed: {message}", level="error")
            raise

    def _model_name(self, record: TuningJobRecord) -> str:
        parts = ["ft", record.base_model]
        if record.suffix:
            parts.append(record.suffix)
        parts.append(record.id.removeprefix("ftjob_")[:8])
        return ":".join(parts)

    # -- tuned models ------------------------------------------------------------------------
    def _evaluate(
        self,
        ctx: JobContext,
        job_id: str,
        record: TuningJobRecord,
        name: str,
        examples: builtins.list[dict[str, Any]],
        metrics: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The tuned model against its base on the test split, with the evaluation runner (the
        path users' answers take): paired differences with intervals, and an HTML report with the
        loss curves."""
        test = [e for e in examples if e["split"] == "test"]
        if self.evaluations is None or record.method != "supervised" or not test:
            return None
        if not record.hyperparameters.get("evaluate", True):
            return None
        from ..evaluation.report import loss_curves, write_report
        from ..evaluation.runner import parse_spec

        rows = [
            {
                "input": e["messages"][-2]["content"],
                "messages": e["messages"][:-1],
                "reference": e["messages"][-1]["content"],
            }
            for e in test
        ]
        spec = parse_spec(
            {
                "name": f"{name} vs {record.base_model}",
                "dataset": rows,
                "metrics": ["token_f1", "rouge"],
                "configurations": [
                    {"name": "base", "model": record.base_model, "params": {"temperature": 0, "max_tokens": 256}},
                    {"name": "tuned", "model": name, "params": {"temperature": 0, "max_tokens": 256}},
                ],
            }
        )
        self._event(job_id, f"Evaluating {name} against {record.base_model} on {len(rows)} test examples")
        ctx.report({**ctx.progress, "stage": "evaluating"}, force=True)
        base_run, tuned_run = self.evaluations.run(spec, cancel=ctx.cancel_event)
        compared = self.evaluations.compare(base_run, tuned_run)
        path = self.root / job_id / "report.html"
        figures = [loss_curves(metrics["curve"])] if metrics.get("curve") else []
        write_report(self.evaluations, [base_run, tuned_run], path, figures)
        summary = {
            "base_run": base_run,
            "tuned_run": tuned_run,
            "examples": compared["examples"],
            "metrics": {
                m: {k: v[k] for k in ("a", "b", "delta", "delta_ci95")} for m, v in compared["metrics"].items()
            },
            "report": path.name,
        }
        self._event(job_id, "Evaluation: " + ", ".join(
            f"{m} {v['a']:.3f} -> {v['b']:.3f}" for m, v in summary["metrics"].items() if m in ("token_f1", "rouge_l", "rougeL")
        ), data=summary)  # fmt: skip
        return summary

    def report_path(self, job_id: str) -> Path:
        """The HTML report of a job's evaluation (NotFound when it has none)."""
        job = self.get(job_id)
        path = self.root / job.id / "report.html"
        if not path.is_file():
            raise NotFound(f"fine-tuning job {job_id} has no evaluation report", param="fine_tuning_job_id")
        return path

    def _export(
        self, job_id: str, trainer, spec: ModelSpec, adapter: Path, out: Path, examples: builtins.list[dict[str, Any]]
    ) -> tuple[Path | None, dict[str, Any]]:
        """What will be served: the adapter over the base (`export: adapter`); by default the base's
        own tensors with the adapted ones merged in Q8_0; or the whole merge quantised by
        llama.cpp (`export: Q4_K_M`…). What quantising cost is measured on the validation
        examples: the mean NLL of their answer tokens under the F32 merge and under the file served."""
        from . import export as ex

        kind = trainer.hp.export
        if kind == "adapter":
            return None, {"type": "adapter", "bytes": adapter.stat().st_size}
        base = resolve_model_path(spec.path or "")
        label = f"{ex.base_type(base)} + adapted tensors in {ex.DEFAULT_TYPE}" if kind == "auto" else kind
        self._event(job_id, f"Merging the adapter into {base.name} ({label})")
        f32 = ex.merge(base, adapter, out / "merged-f32.gguf")
        try:
            if kind == "auto":
                served = ex.merge(base, adapter, out / "model.gguf", keep_base=True)
            else:
                served = ex.quantize(f32, out / f"model-{kind}.gguf", kind, self.threads)
            texts = [trainer.render_parts(e) for e in examples[:16]]
            nll_f32, nll_q = ex.mean_nll(f32, texts, self.threads), ex.mean_nll(served, texts, self.threads)
            info: dict[str, Any] = {
                "type": label,
                "bytes": served.stat().st_size,
                "f32_bytes": f32.stat().st_size,
                "nll_f32": round(nll_f32, 4),
                "nll_quantized": round(nll_q, 4),
                "perplexity_ratio": round(math.exp(nll_q - nll_f32), 4),
            }
        finally:
            f32.unlink(missing_ok=True)
        self._event(
            job_id,
            f"Wrote {served.name} ({info['bytes'] / 1e6:.0f} MB): perplexity x{info['perplexity_ratio']} of the F32 merge",
            data=info,
        )
        return served, info

    def _register(
        self,
        name: str,
        record: TuningJobRecord,
        spec: ModelSpec,
        served: Path | None,
        adapter: Path,
        metrics: dict[str, Any],
        export: dict[str, Any],
    ) -> None:
        ds = self.datasets.get(record.dataset_id)
        lineage = {
            "base_model": record.base_model,
            "dataset": f"{ds.name}:{ds.version}",
            "dataset_id": ds.id,
            "method": record.method,
            "hyperparameters": record.hyperparameters,
            "seed": record.seed,
            "metrics": {k: v for k, v in metrics.items() if k != "curve"},
            "export": export,
            "tuning_job": record.id,
        }
        with self.db.session() as s:
            old = s.get(TunedModel, name)
            if old is not None:
                s.delete(old)
                s.flush()
            s.add(
                TunedModel(
                    name=name,
                    tuning_job_id=record.id,
                    base_model=record.base_model,
                    base_path=str(served) if served else (spec.path or ""),
                    adapter_path=str(adapter),
                    lineage=lineage,
                )
            )
        self._serve(current_workspace(), name, spec, str(served) if served else None, str(adapter), lineage)

    def _serve(
        self, workspace: str, name: str, base: ModelSpec, merged: str | None, adapter: str, lineage: dict[str, Any]
    ) -> None:
        """Register a tuned model: its merged GGUF, or its adapter over the base."""
        kind = (lineage.get("export") or {}).get("type", "adapter")
        spec = base.model_copy(
            update={
                "path": merged or base.path,
                "lora": None if merged else adapter,
                "description": f"{lineage['method']} tuning of {lineage['base_model']} on {lineage['dataset']} ({kind})",
                "origin": "tuned",
                # a model tuned to write its answers writes them (the base's extractive default
                # was chosen for the untuned model)
                "answer_mode": "generate",
            }
        )
        self.models.register(scoped_name(workspace, name), "chat", spec)

    def load(self) -> int:
        """Serve every tuned model of every workspace (at start-up)."""
        with self.db.session() as s:
            rows = s.scalars(select(TunedModel).execution_options(all_workspaces=True)).all()
            found = [(r.workspace_id, r.name, r.base_model, r.base_path, r.adapter_path, r.lineage) for r in rows]
        served = 0
        for workspace, name, base_model, path, adapter, lineage in found:
            merged = (lineage.get("export") or {}).get("type", "adapter") != "adapter"
            needed = Path(path) if merged else Path(adapter)
            if not needed.is_file():
                log.warning("tuned model %s: its file %s is gone; not served", name, needed)
                continue
            with in_workspace(workspace):
                try:
                    _, base = self._base(base_model)
                except Exception:
                    base = ModelSpec(provider="local", path=path)
            self._serve(workspace, name, base, path if merged else None, adapter, lineage)
            served += 1
        return served

    def tuned(self) -> builtins.list[TunedModelRecord]:
        with self.db.session() as s:
            return [
                TunedModelRecord.model_validate(r)
                for r in s.scalars(select(TunedModel).order_by(TunedModel.created_at))
            ]

    def delete_model(self, name: str) -> None:
        """Stop serving a tuned model and delete its adapter; its job and history stay."""
        with self.db.session() as s:
            row = s.get(TunedModel, name)
            if row is None:
                raise NotFound(f"no fine-tuned model {name!r} in this workspace", param="model")
            files = [Path(row.adapter_path)]
            if (row.lineage.get("export") or {}).get("type", "adapter") != "adapter":
                files.append(Path(row.base_path))  # the merged GGUF is the model's own
            s.delete(row)
        try:
            self.models.unregister(scoped_name(current_workspace(), name))
        except InvalidInput:
            pass
        for f in files:
            f.unlink(missing_ok=True)

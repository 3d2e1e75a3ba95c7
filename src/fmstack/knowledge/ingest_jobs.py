"""Ingestion as a background job: files on this machine and uploaded files, which are staged on
disk first so that a resumed job still has them; per-file outcomes in the job's progress."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..jobs import JobContext, JobRecord, JobRunner
from .service import IngestReport, KnowledgeService, Source

Upload = tuple[str, bytes, dict]  # name, content, metadata


class IngestionJobs:
    def __init__(self, knowledge: KnowledgeService, jobs: JobRunner, data_dir: Path):
        self.knowledge = knowledge
        self.jobs = jobs
        self.data_dir = data_dir
        jobs.register("ingest", self._run)

    def start(
        self,
        kb: str,
        paths: Sequence[str] = (),
        *,
        uploads: Sequence[Upload] = (),
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        sync: bool = False,
        options: dict | None = None,
    ) -> JobRecord:
        """Ingest in the background: files and folders on this machine, and/or uploaded files.
        Follow it with `jobs.get(id)`, stop it with `jobs.cancel(id)`."""
        record = self.knowledge.get(kb)
        if not paths and not uploads:
            raise InvalidInput("nothing to ingest: give paths or files", param="paths")
        staged = []
        if uploads:
            folder = self.data_dir / "uploads" / uuid.uuid4().hex
            folder.mkdir(parents=True)
            for i, (name, data, meta) in enumerate(uploads):
                path = folder / f"{i:05d}"
                path.write_bytes(data)
                staged.append({"source": name, "path": str(path), "meta": meta})
        params = {
            "kb": record.id,
            "paths": [str(p) for p in paths],
            "uploads": staged,
            "include": include,
            "exclude": exclude,
            "sync": sync,
            "options": options or {},
        }
        return self.jobs.submit("ingest", record.id, params)

    def resume(self, job_id: str) -> JobRecord:
        """Run an interrupted or cancelled ingestion again; files already stored are skipped."""
        old = self.jobs.get(job_id)
        if old.kind != "ingest" or old.status not in ("interrupted", "cancelled", "failed"):
            raise InvalidInput(f"job {job_id} ({old.kind}, {old.status}) cannot be resumed", param="job")
        params = dict(old.params)
        params["uploads"] = [u for u in params.get("uploads", []) if Path(u["path"]).exists()]
        return self.jobs.submit("ingest", old.target, params)

    def _run(self, ctx: JobContext, params: dict[str, Any]) -> dict:
        def progress(state, result):
            snap = state.to_dict()
            files = ctx.progress.get("files", [])
            snap["files"] = [*files, vars(result)][-500:] if result is not None else files  # newest last
            ctx.report(snap, force=result is not None and result.status == "failed")

        reports: list[IngestReport] = []
        if params["uploads"]:
            items = [Source(u["source"], Path(u["path"]), u["meta"]) for u in params["uploads"]]
            reports.append(
                self.knowledge.ingest_sources(
                    params["kb"], items, options=params["options"], progress=progress, cancel=ctx.cancel_event
                )
            )
        if params["paths"] and not ctx.cancelled:
            reports.append(
                self.knowledge.ingest(
                    params["kb"],
                    params["paths"],
                    include=params["include"],
                    exclude=params["exclude"],
                    sync=params["sync"],
                    options=params["options"],
                    progress=progress,
                    cancel=ctx.cancel_event,
                )
            )
        if params["uploads"] and not ctx.cancelled:
            shutil.rmtree(Path(params["uploads"][0]["path"]).parent, ignore_errors=True)
        merged = reports[0]
        for r in reports[1:]:
            merged.files.extend(r.files)
            merged.seconds += r.seconds
            merged.cancelled |= r.cancelled
        return merged.to_dict()

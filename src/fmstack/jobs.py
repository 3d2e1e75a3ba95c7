"""Background jobs: long work (ingestion now; evaluation and fine-tuning later) run off the request,
with progress, cancellation and a record in the database that outlives the process.

A job is a function of a `JobContext`; it reports progress with `ctx.report(...)`, checks
`ctx.cancelled` between units of work and returns its result as a dict. Jobs of one runner run one
at a time in submission order (they compete for the same models). A job that was queued or running
when the process stopped is marked `interrupted`; `resume()` runs it again where the work is
idempotent (ingestion is: unchanged files are skipped).
"""

from __future__ import annotations

import builtins
import contextvars
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update

from .errors import FmstackError, InvalidInput, NotFound
from .store import Database, Job
from .store.tables import utcnow

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
_HOST = socket.gethostname()
OWNER = f"{_HOST}:{os.getpid()}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    target: str | None
    status: str
    params: dict[str, Any]
    progress: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobContext:
    def __init__(self, job_id: str, runner: JobRunner):
        self.id = job_id
        self._runner = runner
        self._cancel = threading.Event()
        self._last_write = 0.0
        self.progress: dict[str, Any] = {}

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        return self._cancel

    def report(self, progress: dict[str, Any], *, force: bool = False) -> None:
        """Latest progress: readable at once from memory, written to the database at most every half second."""
        self.progress = progress
        now = time.monotonic()
        if force or now - self._last_write >= 0.5:
            self._last_write = now
            if self._runner._write(self.id, progress=progress) == "cancelling":  # asked by another process
                self._cancel.set()


JobFn = Callable[[JobContext], dict[str, Any]]


class JobRunner:
    def __init__(self, db: Database):
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmstack-job")
        self._live: dict[str, JobContext] = {}
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._submitted: set[str] = set()
        self._mark_interrupted()

    def _mark_interrupted(self) -> None:
        """Jobs left queued or running by a process of this host that is gone."""
        with self.db.session() as s:
            stale = select(Job).where(Job.status.in_(("queued", "running", "cancelling")))
            for job in s.scalars(stale.execution_options(all_workspaces=True)):
                host, _, pid = job.owner.rpartition(":")
                if host == _HOST and not _alive(int(pid or 0)):
                    job.status, job.finished_at = "interrupted", utcnow()
                    job.error = "the process running it stopped before it finished"

    def submit(self, kind: str, target: str | None, params: dict[str, Any], fn: JobFn) -> JobRecord:
        with self.db.session() as s:
            job = Job(kind=kind, target=target, owner=OWNER, params=params, progress={})
            s.add(job)
            s.flush()
            record = JobRecord.model_validate(job)
        ctx = JobContext(record.id, self)
        with self._lock:
            self._live[record.id] = ctx
            self._submitted.add(record.id)
            # the job runs in the context it was started in: its workspace, its caller's meter
            self._futures[record.id] = self._pool.submit(contextvars.copy_context().run, self._run, ctx, fn)
        return record

    def _run(self, ctx: JobContext, fn: JobFn) -> None:
        with self.db.session() as s:
            if s.scalar(select(Job.status).where(Job.id == ctx.id)) == "cancelling":
                ctx._cancel.set()
        if ctx.cancelled:
            self._write(ctx.id, status="cancelled", finished_at=utcnow())
            return
        self._write(ctx.id, status="running", started_at=utcnow())
        try:
            result = fn(ctx)
        except FmstackError as e:
            self._write(ctx.id, status="failed", error=e.message, progress=ctx.progress, finished_at=utcnow())
        except Exception as e:  # a bug or an environment failure: keep the message, log the trace
            log.exception("job %s failed", ctx.id)
            self._write(
                ctx.id, status="failed", error=f"{type(e).__name__}: {e}", progress=ctx.progress, finished_at=utcnow()
            )
        else:
            status = "cancelled" if ctx.cancelled else "succeeded"
            self._write(ctx.id, status=status, result=result, progress=ctx.progress, finished_at=utcnow())
        finally:
            with self._lock:
                self._live.pop(ctx.id, None)
                self._futures.pop(ctx.id, None)

    def _write(self, job_id: str, **values: Any) -> str | None:
        """Update the job; returns its status as stored (another process may have asked to cancel)."""
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == job_id).values(**values))
            return s.scalar(select(Job.status).where(Job.id == job_id))

    def get(self, job_id: str) -> JobRecord:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"job {job_id!r} does not exist", param="job")
            record = JobRecord.model_validate(job)
        live = self._live.get(job_id)
        if live is not None and live.progress and record.status in ("running", "cancelling"):
            record.progress = live.progress
        return record

    def counts(self) -> dict[tuple[str, str], int]:
        """How many jobs there are of each (kind, status)."""
        with self.db.session() as s:
            rows = s.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)).all()
        return {(kind, status): int(n) for kind, status, n in rows}

    def list(self, *, kind: str | None = None, target: str | None = None, limit: int = 50) -> builtins.list[JobRecord]:
        stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if kind:
            stmt = stmt.where(Job.kind == kind)
        if target:
            stmt = stmt.where(Job.target == target)
        with self.db.session() as s:
            records = [JobRecord.model_validate(j) for j in s.scalars(stmt)]
        for r in records:
            live = self._live.get(r.id)
            if live is not None and live.progress and r.status in ("running", "cancelling"):
                r.progress = live.progress
        return records

    def cancel(self, job_id: str) -> JobRecord:
        record = self.get(job_id)
        if record.finished:
            raise InvalidInput(f"job {job_id} has already finished ({record.status})", param="job", code="job_finished")
        ctx = self._live.get(job_id)
        if ctx is not None:
            ctx._cancel.set()
        else:  # run by another process: it sees the request at its next progress report
            with self.db.session() as s:
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status.in_(("queued", "running")))
                    .values(status="cancelling")
                )
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        future = self._futures.get(job_id)
        if future is not None:
            try:
                future.result(timeout)
            except TimeoutError:
                pass
        return self.get(job_id)

    def close(self) -> None:
        """Cancel what is running, drop what is queued, and wait for the worker to stop."""
        with self._lock:
            for ctx in self._live.values():
                ctx._cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if not self._submitted:
            return
        with self.db.session() as s:
            s.execute(
                update(Job)
                .where(Job.id.in_(self._submitted), Job.status.in_(("queued", "running", "cancelling")))
                .values(status="interrupted", finished_at=utcnow(), error="the process running it was stopped")
            )

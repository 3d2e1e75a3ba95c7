"""Background jobs: long work (ingestion, evaluation, fine-tuning, batches) run off the request, with
progress, cancellation and a record in the database — and that record is the queue.

`submit(kind, target, params)` adds a `queued` row to `jobs`. Every process that runs jobs — a
server (`fmstack serve`, each of its `--workers`), a job process (`fmstack worker`), or any process
that submitted one (the SDK, the CLI) — claims the oldest queued job of a kind it has a handler for
and runs it, one at a time per runner (jobs compete for the same models):

- *claim*: a compare-and-set of `queued → running` (on PostgreSQL the candidate row is picked with
  `FOR UPDATE SKIP LOCKED`, so claimers do not wait on one another); the claim is a lease of
  `lease_s` seconds, renewed by a heartbeat while the work runs;
- *a process that dies* leaves a lease that runs out (on the same host, a process id that is gone is
  noticed at once): the job is queued again and run by whoever claims it, at most `max_attempts`
  times in all, after which it is `interrupted` (resumable by hand). The work is idempotent —
  ingestion skips stored files, a batch stored lines, tuning resumes from its checkpoint, an
  evaluation keeps stored examples — and a process that lost its lease cannot write the outcome, so
  a job is done once;
- *cancelling* is a status any process may set; the process running the job sees it at its next
  heartbeat or progress report and the work stops between units;
- *a process that stops* (SIGTERM, `close()`) stops its job between units and queues it again for
  another process to finish.

Why the table and not a queue library: the default database is SQLite and the queue must behave
the same on both backends; the PostgreSQL task queues (procrastinate, pgqueuer) need PostgreSQL,
their own schema and an async driver, and would leave the job record (progress, result, workspace)
in a second place. `SKIP LOCKED` leases over the one table need none of that.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .errors import FmstackError, InvalidInput, NotFound
from .store import Database, Job
from .store.scope import in_workspace
from .store.tables import utcnow

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
ACTIVE = ("running", "cancelling")
_HOST = socket.gethostname()
OWNER = f"{_HOST}:{os.getpid()}"
LEASE_S = 30.0  # a job whose process stopped renewing it for this long is queued again
MAX_ATTEMPTS = 3
POLL_S = 1.0  # how often an idle runner looks for work queued by other processes


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


def once(*parts: str) -> str:
    """A job id made from what the job is for: processes that each queue "the restart of batch B
    after job J" queue one job between them."""
    return "job_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _owner_gone(owner: str) -> bool:
    """The process named `owner` (host:pid) ran on this host and is not running any more."""
    host, _, pid = owner.rpartition(":")
    return host == _HOST and pid.isdigit() and not _alive(int(pid))


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
    attempts: int = 0
    owner: str = ""
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobContext:
    """What a running job sees: its progress reports and whether it should stop."""

    def __init__(self, job_id: str, attempt: int, runner: JobRunner):
        self.id = job_id
        self.attempt = attempt  # which run of the job this is (1 = first): the fencing token of its writes
        self._runner = runner
        self._cancel = threading.Event()
        self._last_write = 0.0
        self.progress: dict[str, Any] = {}
        self.requested = False  # someone asked to cancel the job (here or from another process)
        self._stopping = False  # the process stops, or lost the job
        self.lost = False  # another process holds the job now: nothing more may be written

    @property
    def cancelled(self) -> bool:
        """Stop between units of work: a user cancelled, or the process is stopping."""
        return self._cancel.is_set()

    @property
    def stopping(self) -> bool:
        """The process stops (or lost the job) and nobody cancelled it: the job goes on elsewhere,
        so leave the work as it is — resumable — rather than finishing it as cancelled."""
        return self._stopping and not self.requested

    @property
    def cancel_event(self) -> threading.Event:
        return self._cancel

    def report(self, progress: dict[str, Any], *, force: bool = False) -> None:
        """Latest progress: readable at once from memory, written to the database at most every half second."""
        self.progress = progress
        now = time.monotonic()
        if force or now - self._last_write >= 0.5:
            self._last_write = now
            self._runner._renew(self, progress=progress)

    def _stop(self, *, lost: bool = False) -> None:
        self._stopping = True
        self.lost = self.lost or lost
        self._cancel.set()

    def _cancel_asked(self) -> None:
        self.requested = True
        self._cancel.set()


Handler = Callable[[JobContext, dict[str, Any]], dict[str, Any]]


class JobRunner:
    """A queue of jobs in the database and, once started, a worker thread that runs the kinds it
    has handlers for. `capture` / `restore` carry the submitter's caller (the API key a job is
    metered to) from the request that queued it to the process that runs it."""

    def __init__(
        self,
        db: Database,
        *,
        lease_s: float | None = None,
        poll_s: float = POLL_S,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.db = db
        self.lease_s = lease_s or float(os.environ.get("FMSTACK_JOB_LEASE_S") or LEASE_S)
        self.poll_s = poll_s
        self.max_attempts = max_attempts
        self.local = True  # a process that queues a job starts running jobs (False: leave them to workers)
        self.capture: Callable[[], str | None] = lambda: None
        self.restore: Callable[[str | None], contextlib.AbstractContextManager] = lambda key: contextlib.nullcontext()
        self._handlers: dict[str, Handler] = {}
        self._ended: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._live: dict[str, JobContext] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._finished = threading.Condition()
        self._threads: list[threading.Thread] = []

    # -- the queue ---------------------------------------------------------------------------
    def register(self, kind: str, handler: Handler, ended: Callable[[dict[str, Any]], None] | None = None) -> None:
        """`handler` runs a job of `kind`; `ended(params)`, if given, is told of a job of that kind
        that finished without its handler seeing it through — cancelled before it started, or given
        up after its process stopped — so the records the job was for do not stay "running"."""
        self._handlers[kind] = handler
        if ended is not None:
            self._ended[kind] = ended

    def _tell_ended(self, kind: str, params: dict[str, Any] | None) -> None:
        hook = self._ended.get(kind)
        if hook is None:
            return
        try:
            hook(dict(params or {}))
        except Exception:  # the job's own record is right already; its targets' is best effort
            log.exception("a %s job ended early and updating what it was for failed", kind)

    def submit(self, kind: str, target: str | None, params: dict[str, Any]) -> JobRecord:
        """Queue a job; this process starts running jobs if it was not (it submitted work)."""
        record = self.submit_once(kind, target, params, None)
        assert record is not None
        return record

    def submit_once(
        self, kind: str, target: str | None, params: dict[str, Any], job_id: str | None
    ) -> JobRecord | None:
        """`submit` under the id `job_id` (see `once`); None when a job of that id was queued already."""
        if kind not in self._handlers:
            raise ValueError(f"no handler for jobs of kind {kind!r}")
        try:
            with self.db.session() as s:
                job = Job(kind=kind, target=target, owner="", params=params, progress={}, key_id=self.capture())
                if job_id:
                    job.id = job_id
                s.add(job)
                s.flush()
                record = JobRecord.model_validate(job)
        except IntegrityError:
            if job_id is None:
                raise
            return None  # another process queued it first
        if self.local:
            self.start()
        self._wake.set()
        return record

    def start(self) -> None:
        """Run queued jobs here: a worker thread and a heartbeat thread (idempotent)."""
        with self._lock:
            if self._threads or self._halt.is_set() or not self._handlers:
                return
            for name, target in (("fmstack-job", self._work), ("fmstack-job-lease", self._heartbeat)):
                t = threading.Thread(target=target, name=name, daemon=True)
                t.start()
                self._threads.append(t)

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._halt.is_set()

    def _statement(self, stmt):
        return stmt.execution_options(all_workspaces=True)  # the queue is every workspace's

    def _work(self) -> None:
        while not self._halt.is_set():
            self._wake.clear()
            try:
                self._recover()
                claimed = self._claim()
            except Exception:  # the database went away for a moment: try again at the next poll
                log.exception("job queue: claiming failed")
                claimed = None
            if claimed is None:
                self._wake.wait(self.poll_s)
                continue
            self._run(*claimed)

    def _claim(self) -> tuple[JobContext, Job] | None:
        kinds = list(self._handlers)
        with self.db.session() as s:
            pick = (
                select(Job.id)
                .where(Job.status == "queued", Job.kind.in_(kinds))
                .order_by(Job.created_at, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            job_id = s.scalar(self._statement(pick))
            if job_id is None:
                return None
            now = utcnow()
            claim = (
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="running",
                    owner=OWNER,
                    attempts=Job.attempts + 1,
                    lease_until=now + timedelta(seconds=self.lease_s),
                    started_at=func.coalesce(Job.started_at, now),
                    finished_at=None,
                )
            )
            if s.execute(self._statement(claim)).rowcount != 1:  # type: ignore[attr-defined]
                return None  # another process claimed it first
            job = s.get_one(Job, job_id, execution_options={"all_workspaces": True})
            s.expunge(job)
        ctx = JobContext(job.id, job.attempts, self)
        ctx.progress = dict(job.progress or {})
        return ctx, job

    def _recover(self) -> None:
        """Jobs whose process stopped: queued again (or, after max_attempts runs, interrupted)."""
        now = utcnow()
        with self.db.session() as s:
            stmt = select(Job.id, Job.owner, Job.attempts, Job.status, Job.lease_until, Job.kind, Job.params).where(
                Job.status.in_(ACTIVE), Job.kind.in_(list(self._handlers))
            )
            ended = []
            for job_id, owner, attempts, status, lease, kind, params in s.execute(self._statement(stmt)).all():
                if owner == OWNER or not (_owner_gone(owner) or lease is None or lease < now):
                    continue
                if status == "cancelling":
                    values: dict[str, Any] = {"status": "cancelled", "finished_at": now, "lease_until": None}
                elif attempts >= self.max_attempts:
                    values = {
                        "status": "interrupted",
                        "finished_at": now,
                        "lease_until": None,
                        "error": f"the process running it stopped before it finished ({attempts} times)",
                    }
                else:
                    values = {"status": "queued", "owner": "", "lease_until": None}
                    log.warning("job %s: its process (%s) stopped; queued again", job_id, owner)
                same = update(Job).where(Job.id == job_id, Job.owner == owner, Job.attempts == attempts)
                if s.execute(self._statement(same.values(**values))).rowcount == 1 and values["status"] != "queued":  # type: ignore[attr-defined]
                    ended.append((kind, params))
        for kind, params in ended:
            self._tell_ended(kind, params)

    def _run(self, ctx: JobContext, job: Job) -> None:
        with self._lock:
            self._live[ctx.id] = ctx
            if self._halt.is_set():
                ctx._stop()
        outcome: dict[str, Any]
        try:
            with in_workspace(job.workspace_id), self.restore(job.key_id):
                result = self._handlers[job.kind](ctx, dict(job.params or {}))
        except FmstackError as e:
            outcome = {"status": "failed", "error": e.message}
        except Exception as e:  # a bug or an environment failure: keep the message, log the trace
            log.exception("job %s failed", ctx.id)
            outcome = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        else:
            outcome = {"status": "succeeded", "result": result}
            if ctx.cancelled:
                outcome["status"] = "queued" if ctx.stopping else "cancelled"
        try:
            if outcome["status"] == "queued":  # this process stops: another one finishes the job
                outcome = {"status": "queued", "owner": "", "lease_until": None}
            else:
                outcome["finished_at"] = utcnow()
                outcome["lease_until"] = None
            if not ctx.lost:
                self._fenced(ctx, progress=ctx.progress, **outcome)
        finally:
            with self._lock:
                self._live.pop(ctx.id, None)
            with self._finished:
                self._finished.notify_all()

    def _fenced(self, ctx: JobContext, **values: Any) -> str | None:
        """Write to the job while this run still holds it; returns its status, None if it was lost."""
        with self.db.session() as s:
            mine = update(Job).where(Job.id == ctx.id, Job.owner == OWNER, Job.attempts == ctx.attempt)
            if s.execute(self._statement(mine.values(**values))).rowcount != 1:  # type: ignore[attr-defined]
                return None
            return s.scalar(self._statement(select(Job.status).where(Job.id == ctx.id)))

    def _renew(self, ctx: JobContext, **values: Any) -> None:
        """Extend the lease (with any progress); see a cancel asked by another process, or a lost job."""
        status = self._fenced(ctx, lease_until=utcnow() + timedelta(seconds=self.lease_s), **values)
        if status is None:
            log.warning("job %s: another process holds it now; this run stops", ctx.id)
            ctx._stop(lost=True)
        elif status == "cancelling":
            ctx._cancel_asked()

    def _heartbeat(self) -> None:
        while not self._halt.wait(self.lease_s / 3):
            for ctx in list(self._live.values()):
                try:
                    self._renew(ctx)
                except Exception:
                    log.exception("job %s: renewing its lease failed", ctx.id)

    # -- reading and cancelling ----------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"job {job_id!r} does not exist", param="job")
            record = JobRecord.model_validate(job)
        live = self._live.get(job_id)
        if live is not None and live.progress and record.status in ACTIVE:
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
            if live is not None and live.progress and r.status in ACTIVE:
                r.progress = live.progress
        return records

    def cancel(self, job_id: str) -> JobRecord:
        record = self.get(job_id)
        if record.finished:
            raise InvalidInput(f"job {job_id} has already finished ({record.status})", param="job", code="job_finished")
        ctx = self._live.get(job_id)
        if ctx is not None:
            ctx._cancel_asked()
            return self.get(job_id)
        with self.db.session() as s:
            # a queued job is cancelled before it starts; a running one, by the process running it
            before = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(status="cancelled", finished_at=utcnow())
            )
            s.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(status="cancelling"))
        if before.rowcount == 1:  # type: ignore[attr-defined]
            self._tell_ended(record.kind, record.params)
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """The job once it has finished (wherever it runs), or as it is when `timeout` runs out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.get(job_id)
            left = None if deadline is None else deadline - time.monotonic()
            if record.finished or (left is not None and left <= 0):
                return record
            with self._finished:  # woken when a job of this process ends; else look again shortly
                self._finished.wait(min(0.25, left) if left is not None else 0.25)

    def close(self) -> None:
        """Stop: the running job stops between units and is queued again; the threads end."""
        with self._lock:
            self._halt.set()
            for ctx in self._live.values():
                ctx._stop()
            threads, self._threads = self._threads, []
        self._wake.set()
        for t in threads:
            t.join()

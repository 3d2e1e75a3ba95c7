"""Batch inference (OpenAI's Batch API, Bedrock's batch inference): a JSONL file of requests to
`/v1/chat/completions`, `/v1/responses`, `/v1/embeddings` or `/v1/completions`, run as a
background job.

- The input is checked first (each line: a `custom_id` used once, `method` POST, the batch's
  endpoint as `url`, a `body` object); a file that is not a batch input fails the batch with the
  line numbers and reasons, before any request runs.
- Each line is one request through the same route a client would call (validation, guardrails,
  the submitting key's models, budget and usage), in process: no HTTP and no per-request
  connection. Lines run as many at once as their model takes: a local model its `parallel`
  (the requests it decodes together), a remote provider `REMOTE_CONCURRENCY`.
- A line's answer is stored as it finishes, so a batch stopped by a restart resumes where it was
  (the server resumes them when it starts) and cancelling keeps what was done.
- The output file holds the successful lines in input order; the error file the others, each with
  its status and error body. One bad line never stops the others.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from .errors import InvalidInput, NotFound
from .files import FileStore, page
from .jobs import JobContext, JobRunner, once
from .store import Database, in_workspace
from .store.tables import BatchResult, BatchRow, utcnow

ENDPOINTS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions")
REMOTE_CONCURRENCY = 8
FLUSH_SECONDS = 1.0
MAX_LINES = 50_000
UNFINISHED = ("validating", "in_progress", "finalizing", "cancelling")

# (endpoint, request body, the caller's key record as a dict or None) -> (HTTP status, response body)
Dispatch = Callable[[str, dict[str, Any], dict[str, Any] | None], Awaitable[tuple[int, Any]]]


class BatchRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    endpoint: str
    input_file_id: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    status: str
    job_id: str | None = None
    completion_window: str
    counts: dict[str, Any]
    errors: list | None = None
    meta: dict[str, Any] | None = None
    created_at: datetime
    in_progress_at: datetime | None = None
    finalizing_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    cancelling_at: datetime | None = None
    cancelled_at: datetime | None = None

    def to_openai(self) -> dict[str, Any]:
        def ts(d: datetime | None) -> int | None:
            return int(d.timestamp()) if d is not None else None

        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": ts(self.created_at),
            "in_progress_at": ts(self.in_progress_at),
            "expires_at": ts(self.created_at + timedelta(hours=24)),
            "finalizing_at": ts(self.finalizing_at),
            "completed_at": ts(self.completed_at),
            "failed_at": ts(self.failed_at),
            "expired_at": None,
            "cancelling_at": ts(self.cancelling_at),
            "cancelled_at": ts(self.cancelled_at),
            "request_counts": {k: int(self.counts.get(k, 0)) for k in ("total", "completed", "failed")},
            "metadata": self.meta,
        }


def parse_input(data: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the requests, the problems found: each with its 1-based line number)."""
    requests: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()

    def problem(line: int, code: str, message: str) -> None:
        if len(problems) < 100:
            problems.append({"code": code, "message": message, "param": None, "line": line})

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problem(1, "invalid_file_format", "the file is not UTF-8 text")
        return [], problems
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as e:
            problem(n, "invalid_json_line", f"not a JSON object: {e.msg}")
            continue
        if not isinstance(item, dict):
            problem(n, "invalid_json_line", "not a JSON object")
            continue
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id or len(custom_id) > 500:
            problem(n, "missing_required_parameter", "custom_id must be a string of 1 to 500 characters")
        elif custom_id in seen:
            problem(n, "duplicate_custom_id", f"custom_id {custom_id!r} is used more than once")
        else:
            seen.add(custom_id)
        if item.get("method", "POST") != "POST":
            problem(n, "invalid_method", "method must be POST")
        if item.get("url") != endpoint:
            problem(n, "invalid_url", f"url must be the batch's endpoint, {endpoint}")
        if not isinstance(item.get("body"), dict):
            problem(n, "missing_required_parameter", "body must be a JSON object")
        requests.append(item)
    if not requests and not problems:
        problem(1, "empty_file", "the file holds no request")
    if len(requests) > MAX_LINES:
        problem(MAX_LINES + 1, "too_many_requests", f"a batch holds at most {MAX_LINES} requests")
    return requests, problems


class BatchService:
    def __init__(
        self,
        db: Database,
        files: FileStore,
        jobs: JobRunner,
        dispatch: Callable[[], Dispatch],
        concurrency: Callable[[str | None], int],
    ):
        self.db = db
        self.files = files
        self.jobs = jobs
        jobs.register("batch", self._run)
        self._dispatch = dispatch  # made on first use: the application the lines go through
        self.concurrency = concurrency  # a model name -> how many of its lines run at once

    # -- records -----------------------------------------------------------------------------------
    def get(self, batch_id: str) -> BatchRecord:
        with self.db.session() as s:
            row = s.get(BatchRow, batch_id)
            if row is None:
                raise NotFound(f"no batch {batch_id!r}", param="batch_id")
            return BatchRecord.model_validate(row)

    def list(self, limit: int = 20, after: str | None = None) -> builtins.list[BatchRecord]:
        with self.db.session() as s:
            rows = [
                BatchRecord.model_validate(r)
                for r in s.scalars(select(BatchRow).order_by(BatchRow.created_at.desc(), BatchRow.id.desc()))
            ]
        return page(rows, limit, after)

    def _update(self, batch_id: str, **values: Any) -> None:
        with self.db.session() as s:
            row = s.get(BatchRow, batch_id)
            if row is not None:
                for k, v in values.items():
                    setattr(row, k, v)

    # -- submitting --------------------------------------------------------------------------------
    def create(
        self,
        input_file_id: str,
        endpoint: str,
        completion_window: str = "24h",
        metadata: dict[str, Any] | None = None,
        caller: dict[str, Any] | None = None,
    ) -> BatchRecord:
        if endpoint not in ENDPOINTS:
            raise InvalidInput(f"endpoint must be one of {', '.join(ENDPOINTS)}", param="endpoint")
        if completion_window != "24h":
            raise InvalidInput("completion_window must be 24h", param="completion_window")
        f = self.files.get(input_file_id)
        if f.purpose != "batch":
            raise InvalidInput(
                f"file {input_file_id} has purpose {f.purpose!r}; a batch input needs 'batch'", param="input_file_id"
            )
        with self.db.session() as s:
            row = BatchRow(
                endpoint=endpoint,
                input_file_id=input_file_id,
                completion_window=completion_window,
                counts={"total": 0, "completed": 0, "failed": 0},
                meta=metadata,
                caller=caller,
            )
            s.add(row)
            s.flush()
            batch_id = row.id
        return self._start(batch_id)

    def _start(self, batch_id: str) -> BatchRecord:
        job = self.jobs.submit("batch", batch_id, {"batch": batch_id})
        self._update(batch_id, job_id=job.id)
        return self.get(batch_id)

    def cancel(self, batch_id: str) -> BatchRecord:
        b = self.get(batch_id)
        if b.status not in ("validating", "in_progress"):
            raise InvalidInput(
                f"batch {batch_id} is {b.status}; only a validating or running batch can be cancelled", param="batch_id"
            )
        self._update(batch_id, status="cancelling", cancelling_at=utcnow())
        # A running job stops between lines; a queued one is left to run: it sees the batch
        # cancelling and writes what was done (cancelling the job itself would leave the batch so).
        try:
            if b.job_id and self.jobs.get(b.job_id).status == "running":
                self.jobs.cancel(b.job_id)
        except (InvalidInput, NotFound):
            pass  # it finished meanwhile, having seen the batch cancelling or not
        return self.get(batch_id)

    def resume_unfinished(self) -> builtins.list[str]:
        """Start again the batches a stopped process left unfinished (each in its workspace)."""
        with self.db.session() as s:
            stmt = select(BatchRow.id, BatchRow.workspace_id, BatchRow.job_id).where(BatchRow.status.in_(UNFINISHED))
            rows = s.execute(stmt.execution_options(all_workspaces=True)).all()
        resumed = []
        for batch_id, workspace, job_id in rows:
            with in_workspace(workspace):
                if job_id:
                    try:
                        if not self.jobs.get(job_id).finished:
                            continue  # still running somewhere
                    except NotFound:
                        pass
                restart = once("batch", batch_id, job_id or "")  # one restart however many processes ask
                if self.jobs.submit_once("batch", batch_id, {"batch": batch_id}, restart) is None:
                    continue
                self._update(batch_id, job_id=restart)
                resumed.append(batch_id)
        return resumed

    # -- running -----------------------------------------------------------------------------------
    def _run(self, ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        batch_id = params["batch"]
        b = self.get(batch_id)
        requests, problems = parse_input(self.files.content(b.input_file_id), b.endpoint)
        if problems:
            self._update(batch_id, status="failed", errors=problems, failed_at=utcnow())
            return {"failed": len(problems)}
        with self.db.session() as s:
            done = {
                r.line: r.status_code for r in s.scalars(select(BatchResult).where(BatchResult.batch_id == batch_id))
            }
            caller = s.get(BatchRow, batch_id).caller  # type: ignore[union-attr]
        counts = {
            "total": len(requests),
            "completed": sum(1 for c in done.values() if c < 400),
            "failed": sum(1 for c in done.values() if c >= 400),
        }
        if b.status != "cancelling" and not ctx.cancelled:
            self._update(batch_id, status="in_progress", in_progress_at=b.in_progress_at or utcnow(), counts=counts)
            todo = [(i, r) for i, r in enumerate(requests) if i not in done]
            asyncio.run(self._lines(ctx, batch_id, todo, counts, caller))
        cancelled = self.get(batch_id).status == "cancelling" or (ctx.cancelled and not ctx.stopping)
        if ctx.stopping and not cancelled:  # this process stops: the job is queued again and goes on
            return counts
        self._update(batch_id, status="finalizing", finalizing_at=utcnow(), counts=counts)
        output, errors = self._write_files(batch_id, requests)
        final = {"output_file_id": output, "error_file_id": errors, "counts": counts}
        if cancelled:
            self._update(batch_id, status="cancelled", cancelled_at=utcnow(), **final)
        else:
            self._update(batch_id, status="completed", completed_at=utcnow(), **final)
        return counts

    async def _lines(
        self,
        ctx: JobContext,
        batch_id: str,
        todo: builtins.list[tuple[int, dict]],
        counts: dict[str, int],
        caller: dict | None,
    ) -> None:
        dispatch = self._dispatch()
        slots: dict[str | None, asyncio.Semaphore] = {}  # per model
        pending: builtins.list[BatchResult] = []  # answered, not yet stored
        last = [time.monotonic()]

        async def store(force: bool = False) -> None:
            # one commit a second at most: a commit per line cost about a tenth of a short line's time;
            # what a crash loses is answered again on resume (stored once: the line is the key)
            if pending and (force or time.monotonic() - last[0] >= FLUSH_SECONDS):
                batch, pending[:] = list(pending), []
                last[0] = time.monotonic()
                await asyncio.to_thread(self._record, batch, dict(counts))  # off the loop other lines run on

        async def one(i: int, item: dict[str, Any]) -> None:
            body = dict(item["body"])
            model = body.get("model") if isinstance(body.get("model"), str) else None
            if model not in slots:
                slots[model] = asyncio.Semaphore(max(1, self.concurrency(model)))
            async with slots[model]:
                if ctx.cancelled:
                    return
                body.pop("stream", None)  # a batch line is answered whole
                try:
                    status, answer = await dispatch(item["url"], body, caller)
                except Exception as e:  # one line failing must not stop the others
                    status, answer = 500, {"error": {"message": f"{type(e).__name__}: {e}", "type": "server_error"}}
                counts["completed" if status < 400 else "failed"] += 1
                pending.append(
                    BatchResult(batch_id=batch_id, line=i, custom_id=item["custom_id"], status_code=status, body=answer)
                )
                await store()
                ctx.report({"batch": batch_id, **counts})

        try:
            await asyncio.gather(*(one(i, item) for i, item in todo))
        finally:
            await store(force=True)

    def _record(self, results: builtins.list[BatchResult], counts: dict[str, int]) -> None:
        """Answered lines and the batch's counts, in one commit."""
        with self.db.session() as s:
            s.add_all(results)
            row = s.get(BatchRow, results[0].batch_id)
            if row is not None:
                row.counts = counts

    def _write_files(self, batch_id: str, requests: builtins.list[dict[str, Any]]) -> tuple[str | None, str | None]:
        with self.db.session() as s:
            results = list(
                s.scalars(select(BatchResult).where(BatchResult.batch_id == batch_id).order_by(BatchResult.line))
            )
            lines = [(r.custom_id, r.status_code, r.body) for r in results]
        ok: builtins.list[str] = []
        bad: builtins.list[str] = []
        for custom_id, status, body in lines:
            entry = {
                "id": f"batch_req_{uuid.uuid4().hex}",
                "custom_id": custom_id,
                "response": {"status_code": status, "request_id": f"req_{uuid.uuid4().hex}", "body": body},
                "error": None,
            }
            (ok if status < 400 else bad).append(json.dumps(entry, ensure_ascii=False))
        out = (
            self.files.create(f"{batch_id}_output.jsonl", "batch_output", ("\n".join(ok) + "\n").encode())
            if ok
            else None
        )
        err = (
            self.files.create(f"{batch_id}_errors.jsonl", "batch_output", ("\n".join(bad) + "\n").encode())
            if bad
            else None
        )
        return (out.id if out else None), (err.id if err else None)

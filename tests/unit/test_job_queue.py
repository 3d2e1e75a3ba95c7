"""The job queue's rules with scripted handlers over a real SQLite database: a cancel asked before
the process stops ends the job as cancelled (not handed back), a stopping process hands its job
back, a run that lost its job writes nothing, and the order of claims is the order of submission."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import update

from fmstack.jobs import _HOST as OWNER_HOST
from fmstack.jobs import JobContext, JobRunner
from fmstack.store import Database, Job

pytestmark = pytest.mark.unit


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield d
    d.close()


def until_cancelled(ctx: JobContext, params: dict) -> dict:
    """A handler that works until told to stop, reporting progress as it goes."""
    n = 0
    while not ctx.cancelled:
        n += 1
        ctx.report({"n": n})
        time.sleep(0.01)
    return {"n": n, "stopping": ctx.stopping}


def test_a_cancel_asked_before_the_process_stops_is_a_cancel(db):
    runner = JobRunner(db)
    runner.register("work", until_cancelled)
    job = runner.submit("work", None, {})
    wait_for(lambda: runner.get(job.id).status == "running")
    runner.cancel(job.id)
    runner.close()
    final = runner.get(job.id)
    assert final.status == "cancelled" and final.result["stopping"] is False


def test_a_stopping_process_hands_its_job_back(db):
    runner = JobRunner(db)
    runner.register("work", until_cancelled)
    job = runner.submit("work", None, {})
    wait_for(lambda: runner.get(job.id).status == "running")
    runner.close()
    handed = runner.get(job.id)
    assert (handed.status, handed.owner, handed.attempts, handed.result) == ("queued", "", 1, None)
    nxt = JobRunner(db)
    done = threading.Event()
    nxt.register("work", lambda ctx, p: (done.set(), {"second": ctx.attempt})[1])
    nxt.start()
    assert nxt.wait(job.id, timeout=30).result == {"second": 2}
    nxt.close()


def test_a_run_that_lost_its_job_writes_nothing(db):
    runner = JobRunner(db, lease_s=0.3)  # heartbeats every 0.1 s
    seen: list[JobContext] = []

    def work(ctx: JobContext, params: dict) -> dict:
        seen.append(ctx)
        while not ctx.cancelled:
            time.sleep(0.01)
        return {"written": "by the run that lost it"}

    runner.register("work", work)
    job = runner.submit("work", None, {})
    wait_for(lambda: runner.get(job.id).status == "running")
    with db.session() as s:  # another process took it over (its lease had run out, say)
        s.execute(update(Job).where(Job.id == job.id).values(owner="elsewhere:1", attempts=2))
    wait_for(lambda: seen and seen[0].lost)
    wait_for(lambda: not runner._live)
    after = runner.get(job.id)
    assert (after.status, after.owner, after.result) == ("running", "elsewhere:1", None)
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job.id).values(status="failed"))
    runner.close()


def test_jobs_are_claimed_in_the_order_they_were_queued(db):
    queuer = JobRunner(db)
    order: list[int] = []
    queuer.register("work", lambda ctx, p: {})
    queuer.local = False  # only queues
    ids = [queuer.submit("work", None, {"i": i}).id for i in range(5)]
    runner = JobRunner(db)
    runner.register("work", lambda ctx, p: (order.append(p["i"]), {})[1])
    runner.start()
    for job_id in ids:
        assert runner.wait(job_id, timeout=30).status == "succeeded"
    assert order == [0, 1, 2, 3, 4]
    assert not queuer.running
    runner.close()


def test_a_job_that_ends_before_its_handler_runs_is_told_to_its_kind(db):
    """Cancelled while queued, or given up after its process stopped: the kind's `ended` hook hears
    of it (an evaluation marks its runs interrupted), and a job its handler finished does not."""
    ended: list[dict] = []
    runner = JobRunner(db, max_attempts=1)
    runner.register("work", until_cancelled, ended=ended.append)
    runner.local = False  # queue only: nothing claims the job
    queued = runner.submit("work", None, {"runs": ["a"]})
    assert runner.cancel(queued.id).status == "cancelled" and ended == [{"runs": ["a"]}]

    gone = runner.submit("work", None, {"runs": ["b"]})
    with db.session() as s:  # a process on this host that is not running any more held it
        s.execute(
            update(Job).where(Job.id == gone.id).values(status="running", owner=f"{OWNER_HOST}:999999999", attempts=1)
        )
    runner._recover()
    assert runner.get(gone.id).status == "interrupted" and ended[-1] == {"runs": ["b"]}

    runner.local = True
    done = runner.submit("work", None, {"runs": ["c"]})
    wait_for(lambda: runner.get(done.id).status == "running")
    runner.cancel(done.id)
    assert runner.wait(done.id, timeout=30).status == "cancelled"
    runner.close()
    assert {"runs": ["c"]} not in ended


def test_an_evaluation_job_that_ended_early_marks_its_runs_in_any_workspace(db):
    """The hook runs in the queue's thread, outside the job's workspace: the runs it names by id
    are marked interrupted wherever they are (the workspace scope would otherwise hide them)."""
    from types import SimpleNamespace

    from fmstack.evaluation.runner import EvaluationService
    from fmstack.store.scope import in_workspace
    from fmstack.store.tables import EvalRun, Workspace

    with db.session() as s:
        s.add(Workspace(id="ws_other", name="other"))
    with in_workspace("ws_other"), db.session() as s:
        s.add(EvalRun(id="eval_1", name="e", config_name="c", spec={}, status="running"))
    EvaluationService._stopped(SimpleNamespace(db=db), {"runs": ["eval_1"]})  # type: ignore[arg-type]
    with in_workspace("ws_other"), db.session() as s:
        assert s.get(EvalRun, "eval_1").status == "interrupted"

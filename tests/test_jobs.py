"""Background ingestion jobs: progress, cancel (also from another process), resume, restart."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, fresh_database_url
from sqlalchemy import func, select

from fmstack import Fmstack, Settings
from fmstack.errors import InvalidInput, NotFound
from fmstack.jobs import OWNER
from fmstack.store import Job, KbChunk

DOCS = Path(__file__).parent.parent / "bench" / "data" / "retrieval" / "docs"


def settings_for(data: Path) -> Settings:
    env = {"FMSTACK_DATA_DIR": str(data)}
    if url := fresh_database_url("jobs"):
        env["FMSTACK_DATABASE_URL"] = url
    return Settings.from_env(env=env, config=copy.deepcopy(TEST_CONFIG))


@pytest.fixture()
def app(tmp_path):
    f = Fmstack(settings_for(tmp_path))
    yield f
    f.close()


def wait_for(predicate, timeout=120.0, every=0.02):
    """Poll until `predicate()` is truthy (bounded; not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not reached in time")


@pytest.fixture()
def many(tmp_path) -> Path:
    """120 documents (six editions of the retrieval set, their numbers changed): an ingestion long
    enough to be cancelled part-way however fast the embedding engine is."""
    import re

    folder = tmp_path / "many"
    folder.mkdir()
    for edition in range(6):
        for doc in sorted(DOCS.glob("*.md")):
            text = re.sub(r"\d+", lambda m, e=edition: str(int(m.group()) + 7 * e), doc.read_text(encoding="utf-8"))
            (folder / f"{doc.stem}-{edition}.md").write_text(f"Edition {edition}\n{text}", encoding="utf-8")
    return folder


def no_duplicates(app: Fmstack) -> bool:
    with app.db.session() as s:
        return not s.execute(
            select(KbChunk.document_id, KbChunk.seq, func.count())
            .group_by(KbChunk.document_id, KbChunk.seq)
            .having(func.count() > 1)
        ).all()


def test_background_ingest_reports_progress_and_result(app, many):
    app.knowledge.create("bg", chunking={"chunk_size": 80})
    seen = []
    job = app.start_ingest("bg", [str(many)])
    assert job.status in ("queued", "running") and job.kind == "ingest"
    while not (job := app.jobs.wait(job.id, timeout=0.2)).finished:
        seen.append(job.progress)
    assert job.status == "succeeded", job.error
    assert job.result["added"] == 120 and job.result["failed"] == 0
    p = job.progress
    assert p["files_done"] == p["files_total"] == 120 and p["percent"] == 100.0
    assert p["chunks"] == app.knowledge.get("bg").chunks > 120 and p["chunks_per_s"] > 0
    assert len(p["files"]) == 120 and all(f["status"] == "added" for f in p["files"])
    # While it ran, progress moved forward and gave a time left.
    running = [s for s in seen if s]
    assert running and all(a["percent"] <= b["percent"] for a, b in zip(running, running[1:]))
    assert any(s["eta_s"] is not None for s in running)


def test_cancel_then_resume_has_no_duplicates(app, many):
    app.knowledge.create("cx", chunking={"chunk_size": 80})
    job = app.start_ingest("cx", [str(many)])
    wait_for(lambda: app.jobs.get(job.id).progress.get("files_done", 0) >= 2)
    app.jobs.cancel(job.id)
    job = app.jobs.wait(job.id, timeout=120)
    assert job.status == "cancelled" and job.result["cancelled"] is True
    partial = app.knowledge.documents("cx")
    assert 2 <= len(partial) < 120 and all(d.n_chunks > 0 for d in partial)
    with pytest.raises(InvalidInput):
        app.jobs.cancel(job.id)  # already finished
    again = app.jobs.wait(app.resume_job(job.id).id, timeout=600)
    assert again.status == "succeeded"
    assert again.result["unchanged"] == len(partial) and again.result["added"] == 120 - len(partial)
    assert app.knowledge.get("cx").documents == 120 and no_duplicates(app)


def test_another_process_can_cancel(app, tmp_path, many):
    app.knowledge.create("remote", chunking={"chunk_size": 80})
    job = app.start_ingest("remote", [str(many)])
    wait_for(lambda: app.jobs.get(job.id).progress.get("files_done", 0) >= 1)
    # Another process on the same database (the CLI against a running server, say).
    code = (
        "import sys; from fmstack import Fmstack, Settings; "
        f"fm = Fmstack(Settings.from_env(env={{'FMSTACK_DATA_DIR': {str(tmp_path)!r}, "
        f"'FMSTACK_DATABASE_URL': {app.settings.db_url!r}}})); "
        f"print(fm.jobs.cancel({job.id!r}).status); fm.close()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cancelling"
    job = app.jobs.wait(job.id, timeout=120)
    assert job.status == "cancelled"
    assert app.knowledge.get("remote").documents < 120


def test_uploads_in_the_background_and_unknown_jobs(app):
    app.knowledge.create("up")
    files = [(p.name, p.read_bytes(), {"filename": p.name}) for p in sorted(DOCS.glob("*.md"))[:3]]
    files.append(("broken.pdf", b"%PDF-1.7 not really", {}))
    job = app.jobs.wait(app.start_ingest("up", uploads=files).id, timeout=120)
    assert job.status == "succeeded"
    assert job.result["added"] == 3 and job.result["failed"] == 1
    assert {d.source for d in app.knowledge.documents("up")} >= {f[0] for f in files[:3]}
    assert not (app.settings.data_dir / "uploads").exists() or not any((app.settings.data_dir / "uploads").iterdir())
    with pytest.raises(NotFound):
        app.jobs.get("job_nope")
    with pytest.raises(InvalidInput):
        app.start_ingest("up")
    with pytest.raises(NotFound):
        app.start_ingest("no-such-kb", [str(DOCS)])


def ingest_params(kb_id: str, folder: Path) -> dict:
    return {
        "kb": kb_id,
        "paths": [str(folder)],
        "uploads": [],
        "include": None,
        "exclude": None,
        "sync": False,
        "options": {},
    }


def test_jobs_whose_process_stopped_are_run_again_once(app, tmp_path):
    """The queue's recovery: a job of a dead process (same host: its pid is gone; another host: its
    lease ran out) is queued again and finished by this process; one that has used its runs is
    interrupted; a cancel asked of a dead process ends it; a job of a live process is left alone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = OWNER.rpartition(":")[0]
    kb = app.knowledge.create("orphans").id
    past = datetime.now(UTC) - timedelta(minutes=5)
    later = datetime.now(UTC) + timedelta(minutes=5)
    rows = {
        "job_deadpid": dict(owner=f"{host}:{dead.pid}", attempts=1, lease_until=later),
        "job_lapsed": dict(owner="another-host:4242", attempts=1, lease_until=past),
        "job_worn": dict(owner=f"{host}:{dead.pid}", attempts=3, lease_until=later),
        "job_leased": dict(owner="another-host:4243", attempts=1, lease_until=later),
        "job_alive": dict(owner=OWNER, attempts=1, lease_until=past),  # this very process: alive
    }
    with app.db.session() as s:
        for job_id, row in rows.items():
            s.add(Job(id=job_id, kind="ingest", target=kb, status="running", params=ingest_params(kb, DOCS), **row))
        s.add(
            Job(
                id="job_stopping",
                kind="ingest",
                target=kb,
                status="cancelling",
                params=ingest_params(kb, DOCS),
                owner="another-host:1",
                attempts=1,
                lease_until=past,
            )
        )
    app.jobs.start()
    first = app.jobs.wait("job_deadpid", timeout=300)
    second = app.jobs.wait("job_lapsed", timeout=300)
    assert (first.status, first.attempts, first.owner) == ("succeeded", 2, OWNER), first.error
    assert (second.status, second.attempts) == ("succeeded", 2), second.error
    assert first.result["added"] == len(list(DOCS.glob("*"))) and second.result["unchanged"] == first.result["added"]
    worn = app.jobs.get("job_worn")
    assert worn.status == "interrupted" and "3 times" in (worn.error or "")
    assert app.jobs.get("job_stopping").status == "cancelled"
    assert app.jobs.get("job_leased").status == "running"  # its lease holds: its process may be working
    assert app.jobs.get("job_alive").status == "running"  # its process (this one) lives
    assert no_duplicates(app)
    with app.db.session() as s:
        for job_id in ("job_alive", "job_leased"):
            s.get(Job, job_id).status = "failed"


def test_a_stopping_process_hands_its_job_back_and_another_finishes_it(tmp_path, many):
    settings = settings_for(tmp_path)  # one database for both processes
    first = Fmstack(settings)
    first.knowledge.create("handover", chunking={"chunk_size": 80})
    job = first.start_ingest("handover", [str(many)])
    wait_for(lambda: first.jobs.get(job.id).progress.get("files_done", 0) >= 2)
    first.close()  # between two files: the job is queued again, not lost and not cancelled
    second = Fmstack(settings)
    try:
        handed = second.jobs.get(job.id)
        assert (handed.status, handed.attempts, handed.owner) == ("queued", 1, "")
        done_before = len(second.knowledge.documents("handover"))
        assert 2 <= done_before < 120
        second.start_jobs()
        final = second.jobs.wait(job.id, timeout=600)
        assert (final.status, final.attempts) == ("succeeded", 2), final.error
        assert final.result["unchanged"] == done_before and final.result["added"] == 120 - done_before
        assert second.knowledge.get("handover").documents == 120 and no_duplicates(second)
    finally:
        second.close()


def test_a_queued_job_is_cancelled_before_it_runs_and_a_queue_only_process_runs_nothing(app, many):
    app.leave_jobs_to_workers()
    app.knowledge.create("waiting")
    job = app.start_ingest("waiting", [str(many)])
    time.sleep(0.5)  # give a (wrongly) started runner the time to claim it; nothing is timed
    assert app.jobs.get(job.id).status == "queued" and not app.jobs.running
    cancelled = app.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.attempts == 0
    app.jobs.start()
    again = app.start_ingest("waiting", [str(DOCS)])
    assert app.jobs.wait(again.id, timeout=300).status == "succeeded"
    assert app.jobs.get(job.id).status == "cancelled"  # the cancelled one never ran
    assert app.knowledge.get("waiting").documents == len(list(DOCS.glob("*")))


def test_jobs_spread_over_worker_processes_and_a_killed_workers_job_is_done_once(tmp_path):
    """Two `fmstack worker` processes share the queue; one is killed mid-job: its job is finished by
    the other, every job succeeds once and no chunk is stored twice."""
    import re

    settings = settings_for(tmp_path / "data")
    app = Fmstack(settings)
    app.leave_jobs_to_workers()  # this process only queues
    jobs = []
    for n in range(4):
        folder = tmp_path / f"set{n}"
        folder.mkdir()
        for edition in range(3):
            for doc in sorted(DOCS.glob("*.md")):
                text = re.sub(r"\d+", lambda m, e=edition + 3 * n: str(int(m.group()) + 7 * e), doc.read_text())
                (folder / f"{doc.stem}-{edition}.md").write_text(f"Set {n} edition {edition}\n{text}")
        app.knowledge.create(f"set{n}", chunking={"chunk_size": 80})
        jobs.append(app.start_ingest(f"set{n}", [str(folder)]).id)
    env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp_path / "data"), "FMSTACK_DATABASE_URL": settings.db_url}
    env.pop("FMSTACK_CONFIG", None)
    logs = [open(tmp_path / f"worker{i}.log", "wb") for i in range(2)]
    workers = [
        subprocess.Popen([sys.executable, "-m", "fmstack", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
        for log in logs
    ]
    try:
        owners = {f"{OWNER.rpartition(':')[0]}:{w.pid}": w for w in workers}

        def a_job_part_done():
            for job_id in jobs:
                j = app.jobs.get(job_id)
                if j.status == "running" and j.owner in owners and j.progress.get("files_done", 0) >= 2:
                    return j
            return None

        victim_job = wait_for(a_job_part_done, timeout=300, every=0.05)
        victim = owners[victim_job.owner]
        victim.kill()
        victim.wait(10)
        finals = [app.jobs.wait(job_id, timeout=600) for job_id in jobs]
        logs_text = "".join((tmp_path / f"worker{i}.log").read_text(errors="replace")[-2000:] for i in range(2))
        assert all(j.status == "succeeded" for j in finals), (finals, logs_text)
        redone = next(j for j in finals if j.id == victim_job.id)
        assert redone.attempts == 2 and redone.owner != victim_job.owner
        assert redone.result["unchanged"] >= 2 and redone.result["added"] + redone.result["unchanged"] == 3 * 20
        assert {j.owner for j in finals} <= set(owners)  # the workers ran them, not this process
        for n in range(4):
            assert app.knowledge.get(f"set{n}").documents == 3 * 20
        assert no_duplicates(app)
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(30)
        for log in logs:
            log.close()
        app.close()


def server_processes(pid: int) -> list[int]:
    """The live processes `pid` started to serve requests (from /proc; not multiprocessing's helper)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_workers_leaves_jobs_to_a_job_process(tmp_path):
    """`fmstack serve --workers 2 --no-jobs` + `fmstack worker` over one database: two server
    processes answer requests, and a job queued through the API is run by the job process."""
    import httpx
    from conftest import Server

    server = Server(tmp_path / "data", args=["--workers", "2", "--no-jobs"]).start(timeout=180)
    worker = None
    try:
        assert wait_for(lambda: len(server_processes(server.proc.pid)) == 2, timeout=120)  # the supervisor's two
        api = httpx.Client(base_url=server.url, timeout=120)
        assert api.post("/api/knowledge-bases", json={"name": "shared"}).status_code == 201
        files = [("files", (p.name, p.read_bytes(), "text/markdown")) for p in sorted(DOCS.glob("*.md"))[:6]]
        queued = api.post("/api/knowledge-bases/shared/documents", files=files, data={"background": "true"})
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]
        time.sleep(1)  # no process of the server runs it (nothing is timed: it must still be queued)
        assert api.get(f"/api/jobs/{job_id}").json()["status"] == "queued"
        worker = subprocess.Popen(
            [sys.executable, "-m", "fmstack", "worker"],
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        done = wait_for(lambda: (j := api.get(f"/api/jobs/{job_id}").json())["status"] in ("succeeded", "failed") and j)
        assert done["status"] == "succeeded" and done["result"]["added"] == 6, done
        assert done["owner"].endswith(f":{worker.pid}")
        # every server process sees what the job process stored
        hits = [  # a connection each: the server processes take turns accepting them
            httpx.post(
                f"{server.url}/api/knowledge-bases/shared/retrieve",
                json={"query": "coral reefs", "top_k": 3},
                timeout=60,
            )
            for _ in range(8)
        ]
        assert all(h.status_code == 200 and h.json()["data"] for h in hits), [h.text for h in hits]
        # whichever process answers a scrape counts every process's requests
        from prometheus_client.parser import text_string_to_metric_families

        def retrieved() -> float:
            families = text_string_to_metric_families(httpx.get(f"{server.url}/metrics", timeout=60).text)
            return sum(
                sample.value
                for family in families
                for sample in family.samples
                if sample.name == "fmstack_http_requests_total" and sample.labels["route"].endswith("/retrieve")
            )

        assert [retrieved() for _ in range(6)] == [8.0] * 6
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        server.stop()

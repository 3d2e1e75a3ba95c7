"""Background ingestion jobs: progress, cancel (also from another process), resume, restart."""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEST_CONFIG, fresh_database_url
from sqlalchemy import func, select

from fmstack import Fmstack, Settings
from fmstack.errors import InvalidInput, NotFound
from fmstack.jobs import OWNER, JobRunner
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


def test_jobs_of_a_dead_process_are_marked_interrupted(app):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = OWNER.rpartition(":")[0]
    with app.db.session() as s:
        s.add(
            Job(
                id="job_orphan",
                kind="ingest",
                target=None,
                owner=f"{host}:{dead.pid}",
                status="running",
                params={},
                progress={"files_done": 3},
            )
        )
        s.add(Job(id="job_alive", kind="ingest", target=None, owner=OWNER, status="running", params={}, progress={}))
    JobRunner(app.db).close()
    assert app.jobs.get("job_orphan").status == "interrupted"
    assert app.jobs.get("job_alive").status == "running"  # its process (this one) lives
    with app.db.session() as s:
        s.get(Job, "job_alive").status = "failed"

"""Scale-out on one machine: retrieval requests/s with 1, 2 and 4 server processes over one database,
and ingestion jobs spread over `fmstack worker` processes with one killed part-way.

    python bench/scale.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/scale.py                    # SQLite in a temporary folder

With a PostgreSQL URL (an admin URL: the bench creates and drops its own database) knowledge bases
are searched by pgvector; with SQLite each server process holds its own in-memory index.

Prints, per number of server processes: requests/s, p50 and p95 latency of `POST
/api/knowledge-bases/{kb}/retrieve` from `--clients` concurrent clients for `--seconds`, and the
ratio to one process (measured here, not assumed: on a 2-core machine two processes is what the
cores allow). Then the jobs: `--jobs` ingestion jobs on 2 workers, one worker killed once it is
part-way through a job; every job must succeed once with no chunk stored twice, and the time is
compared with the same jobs on one worker.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from fmstack import Fmstack, Settings  # noqa: E402
from fmstack.store import KbChunk  # noqa: E402

DOCS = ROOT / "data" / "retrieval" / "docs"
QUERIES = [
    "how were Roman aqueducts built",
    "coral reef bleaching causes",
    "acupuncture clinical evidence",
    "what is a supernova",
    "tea ceremony history",
    "珊瑚礁为什么会白化",
    "古罗马的引水渠",
    "volcano eruption warning signs",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(admin: str | None) -> tuple[str | None, callable]:
    if not admin:
        return None, lambda: None
    name = f"fm_scale_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin.rsplit("/", 1)[0] + "/" + name, drop


def corpus(folder: Path, editions: int) -> Path:
    """The bench documents, `editions` times with their numbers changed (distinct files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for e in range(editions):
        for doc in sorted(DOCS.glob("*.md")):
            body = re.sub(r"\d+", lambda m, e=e: str(int(m.group()) + 7 * e), doc.read_text(encoding="utf-8"))
            (folder / f"{doc.stem}-{e}.md").write_text(f"Edition {e}\n{body}", encoding="utf-8")
    return folder


def serve(env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fmstack", "serve", "--port", str(port), "--log-level", "warning"]
        + ["--workers", str(workers), "--no-jobs"],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fmstack serve exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("fmstack serve did not start")


def hammer(url: str, kb: str, clients: int, seconds: float) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            n = i
            while time.monotonic() < stop:
                q = QUERIES[n % len(QUERIES)] + f" {n}"  # every query new: no cache answers it
                n += clients
                t = time.perf_counter()
                r = c.post(f"/api/knowledge-bases/{kb}/retrieve", json={"query": q, "top_k": 5})
                dt = time.perf_counter() - t
                with lock:
                    if r.status_code == 200:
                        latencies.append(dt)
                    else:
                        errors[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, errors[0]


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def retrieval(env: dict, tmp: Path, args) -> None:
    print(f"\n== retrieval: {args.clients} clients x {args.seconds:.0f} s per setting ==")
    print(f"{'processes':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6} {'vs 1':>6}")
    base = None
    for workers in args.workers:
        proc, url = serve(env, workers, tmp / f"serve-{workers}.log")
        try:
            hammer(url, "scale", args.clients, 3)  # warm every process (models loaded, index read)
            n, lat, errors = hammer(url, "scale", args.clients, args.seconds)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        rate = n / args.seconds
        base = base or rate
        print(
            f"{workers:>9} {rate:>8.1f} {pct(lat, 0.5):>8.1f} {pct(lat, 0.95):>8.1f} {errors:>6} {rate / base:>5.2f}x"
        )


def jobs(env: dict, settings: Settings, tmp: Path, args) -> None:
    print(f"\n== jobs: {args.jobs} ingestion jobs of {args.editions * 20} files ==")
    for n_workers, kill in ((1, False), (2, False), (2, True)):
        fm = Fmstack(settings)
        fm.leave_jobs_to_workers()
        tag = f"w{n_workers}{'k' if kill else ''}"
        ids = []
        for j in range(args.jobs):
            name = f"{tag}-{j}"
            fm.knowledge.create(name, chunking={"chunk_size": 80})
            ids.append(fm.start_ingest(name, [str(corpus(tmp / name, args.editions))]).id)
        started = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "fmstack", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / f"worker-{tag}-{i}.log", "wb"),
            )
            for i in range(n_workers)
        ]
        killed = None
        try:
            if kill:
                host = socket.gethostname()
                owners = {f"{host}:{w.pid}": w for w in workers}
                deadline = time.monotonic() + 600
                while killed is None and time.monotonic() < deadline:
                    for job_id in ids:
                        j = fm.jobs.get(job_id)
                        if j.status == "running" and j.owner in owners and j.progress.get("files_done", 0) >= 3:
                            owners[j.owner].kill()
                            killed = j
                            break
                    time.sleep(0.05)
            finals = [fm.jobs.wait(i, timeout=1800) for i in ids]
            wall = time.perf_counter() - started
        finally:
            for w in workers:
                if w.poll() is None:
                    w.terminate()
                    w.wait(60)
        with fm.db.session() as s:
            dupes = s.execute(
                select(KbChunk.document_id, KbChunk.seq, func.count())
                .group_by(KbChunk.document_id, KbChunk.seq)
                .having(func.count() > 1)
            ).all()
        docs = [fm.knowledge.get(f"{tag}-{j}").documents for j in range(args.jobs)]
        ok = sum(f.status == "succeeded" for f in finals)
        print(
            f"{n_workers} worker(s){' (one killed)' if kill else ''}: {ok}/{len(finals)} succeeded in {wall:.1f} s; "
            f"runs per job {[f.attempts for f in finals]}; documents per knowledge base {docs}; "
            f"chunks stored twice: {len(dupes)}"
        )
        if killed is not None:
            redo = next(f for f in finals if f.id == killed.id)
            print(
                f"  killed {killed.owner} at {killed.progress.get('files_done')} files: the job was finished by "
                f"{redo.owner} ({redo.result['unchanged']} files found stored, {redo.result['added']} added)"
            )
        fm.close()


def ray_ingest(tmp: Path, args) -> None:
    """Ingestion embedded in process, then on a local Ray cluster of 1 and of 2 nodes."""
    import ray
    from ray.cluster_utils import Cluster

    folder = corpus(tmp / "ray-corpus", args.editions)
    print(f"\n== ingestion of {args.editions * 20} files through Ray (nodes on this machine) ==")
    base = None
    for nodes in (0, 1, 2):
        cluster = None
        env = {"FMSTACK_DATA_DIR": str(tmp / f"ray-{nodes}")}
        if nodes:
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
            for _ in range(nodes - 1):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            env["FMSTACK_RAY_ADDRESS"] = cluster.address
        try:
            with Fmstack(Settings.from_env(env=env)) as fm:
                fm.knowledge.create("r", chunking={"chunk_size": 80})
                if nodes:  # actors started and models loaded before the clock starts, as in a long run
                    fm.models.cluster().embed(fm.knowledge.get("r").embedding_model, ["warm up"] * 2, 1)
                started = time.perf_counter()
                fm.knowledge.ingest("r", [str(folder)])
                wall = time.perf_counter() - started
                chunks = fm.knowledge.get("r").chunks
        finally:
            if cluster is not None:
                ray.shutdown()
                cluster.shutdown()
        rate = chunks / wall
        base = base or rate
        label = f"Ray, {nodes} node{'s' if nodes > 1 else ''}" if nodes else "in process (no Ray)"
        print(f"{label:>22}: {chunks} chunks in {wall:.1f} s, {rate:.1f} chunks/s ({rate / base:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", help="a PostgreSQL admin URL (else SQLite in a temporary folder)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--editions", type=int, default=5, help="copies of the 20 bench documents per knowledge base")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--skip-retrieval", action="store_true")
    ap.add_argument("--skip-jobs", action="store_true")
    ap.add_argument("--ray", action="store_true", help="also ingestion through a local Ray cluster of 1 and 2 nodes")
    args = ap.parse_args()
    url, drop = fresh_database(args.database_url)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp / "data")}
        env.pop("FMSTACK_CONFIG", None)
        if url:
            env["FMSTACK_DATABASE_URL"] = url
        settings = Settings.from_env(env=env)
        print(f"database: {'PostgreSQL + pgvector' if url else 'SQLite'}; {os.cpu_count()} CPUs")
        try:
            if not args.skip_retrieval:
                with Fmstack(settings) as fm:
                    fm.knowledge.create("scale", chunking={"chunk_size": 120})
                    fm.knowledge.ingest("scale", [str(corpus(tmp / "corpus", args.editions))])
                    print(
                        f"knowledge base: {fm.knowledge.get('scale').documents} documents, {fm.knowledge.get('scale').chunks} chunks"
                    )
                retrieval(env, tmp, args)
            if not args.skip_jobs:
                jobs(env, settings, tmp, args)
            if args.ray:
                ray_ingest(tmp, args)
        finally:
            drop()


if __name__ == "__main__":
    main()

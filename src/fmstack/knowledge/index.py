"""Search indexes over a knowledge base's chunks, behind one small interface.

`ChunkIndex` is the reference implementation: it reads a knowledge base's searchable chunks from
the database and searches them in memory — dense search over normalised vectors and BM25 over
jieba terms (knowledge/keywords.py). A new revision that only added chunks (ingestion appends)
reads just those and extends the previous snapshot; any other change reads the chunks again. Dense search is exact (one matrix product) below
`ann_threshold` chunks and a FAISS HNSW graph above it (bench/retrieve.py measures where exact
search stops being fast enough, and the recall the graph keeps). Any SQL database works with it;
`PgVectorIndex` (knowledge/pgvector.py) implements the same methods inside PostgreSQL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select

from ..store import Database, KbChunk, KbDocument, KnowledgeBase
from .keywords import KeywordIndex
from .text import simplified


@dataclass
class Hit:
    chunk_id: int
    score: float


class SearchIndex(Protocol):
    def dense(self, kb_id: str, query: np.ndarray, k: int, allowed: set[str] | None = None) -> list[Hit]: ...

    def keyword(self, kb_id: str, terms: list[str], k: int, allowed: set[str] | None = None) -> list[Hit]: ...

    def vectors(self, kb_id: str, chunk_ids: list[int]) -> np.ndarray: ...

    def rebuild(self, kb_id: str) -> int: ...


# HNSW settings measured in bench/retrieve.py (recall@10 against exact search, p50/p99 latency).
ANN_THRESHOLD = 30_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256


class _Columns:
    """A knowledge base's rows (chunk ids, document ids, vectors) with room to grow. Appending
    writes past the rows older snapshots see, so a snapshot extended by one chunk does not copy
    100k vectors; only growing past the capacity copies (which doubles it)."""

    def __init__(self, dim: int):
        self.n = 0
        self.ids = np.zeros(0, dtype=np.int64)
        self.docs = np.zeros(0, dtype=object)
        self.vectors = np.zeros((0, dim), dtype=np.float32)

    def extend(self, ids: list[int], docs: list[str], matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        need = self.n + len(ids)
        if need > len(self.ids):
            cap = max(need + need // 4, 2 * len(self.ids), 1024)  # room for the next appends
            grown_ids, grown_docs = np.zeros(cap, dtype=np.int64), np.zeros(cap, dtype=object)
            grown_vectors = np.zeros((cap, self.vectors.shape[1]), dtype=np.float32)
            grown_ids[: self.n], grown_docs[: self.n] = self.ids[: self.n], self.docs[: self.n]
            grown_vectors[: self.n] = self.vectors[: self.n]
            self.ids, self.docs, self.vectors = grown_ids, grown_docs, grown_vectors
        self.ids[self.n : need] = ids
        self.docs[self.n : need] = docs
        self.vectors[self.n : need] = matrix
        self.n = need
        return self.ids[:need], self.docs[:need], self.vectors[:need]


@dataclass
class _Snapshot:
    revision: int
    ids: np.ndarray  # chunk ids, row order
    docs: np.ndarray  # document id per row
    vectors: np.ndarray  # (n, d) float32, normalised
    keywords: KeywordIndex  # shared with the snapshots it grew from; this one searches its first len(ids) rows
    columns: _Columns  # the buffers `ids`, `docs` and `vectors` are views of (shared the same way)
    ann: Any | None = None  # faiss.IndexHNSWFlat over `vectors` (inner product), above the threshold
    rows: dict[int, int] | None = None  # chunk id -> row

    def row_of(self, chunk_id: int) -> int | None:
        if self.rows is None:
            self.rows = {int(c): i for i, c in enumerate(self.ids)}
        return self.rows.get(chunk_id)


class ChunkIndex:
    def __init__(self, db: Database, *, ann_threshold: int = ANN_THRESHOLD, ef_search: int = HNSW_EF_SEARCH):
        self.db = db
        self.ann_threshold = ann_threshold
        self.ef_search = ef_search
        self._snapshots: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()
        self._graph_lock = threading.Lock()  # a graph may be extended while an older snapshot searches it

    def _snapshot(self, kb_id: str) -> _Snapshot:
        with self.db.session() as s:
            revision = s.scalar(select(KnowledgeBase.revision).where(KnowledgeBase.id == kb_id))
        snap = self._snapshots.get(kb_id)
        if snap is not None and snap.revision == revision:
            return snap
        with self._lock:
            snap = self._snapshots.get(kb_id)
            if snap is not None and snap.revision == revision:
                return snap
            snap = self._build(kb_id, revision or 0, previous=snap)
            self._snapshots[kb_id] = snap
            return snap

    def rebuild(self, kb_id: str) -> int:
        """Read the knowledge base's chunks again now; returns how many are searchable."""
        with self._lock:
            self._snapshots.pop(kb_id, None)
        return len(self._snapshot(kb_id).ids)

    def _query(self, kb_id: str):
        return (
            select(KbChunk.id, KbChunk.document_id, KbChunk.embedding, KbChunk.terms)
            .join(KbDocument, KbDocument.id == KbChunk.document_id)
            .where(KbChunk.kb_id == kb_id, KbChunk.level == 0, KbDocument.status == "ready")
            .order_by(KbChunk.id)
        )

    def _read(self, stmt) -> tuple[list[int], list[str], list[np.ndarray | None], list[list[str]]]:
        ids, docs, vecs, corpus = [], [], [], []
        with self.db.session() as s:
            for cid, doc, emb, terms in s.execute(stmt):
                ids.append(cid)
                docs.append(doc)
                vecs.append(np.frombuffer(emb, dtype=np.float32) if emb else None)
                corpus.append(simplified(terms).split())  # terms stored before script folding too
        return ids, docs, vecs, corpus

    def _appended(self, kb_id: str, previous: _Snapshot) -> tuple | None:
        """The chunks added since `previous`, when nothing it holds has changed (else None)."""
        n = len(previous.ids)
        if not n or previous.keywords.size != n or previous.columns.n != n:
            return None  # empty, or the shared index has grown past it
        last = int(previous.ids[-1])
        with self.db.session() as s:
            # chunks are written and removed with their document, in one transaction: a removal or
            # a replacement shows as fewer chunks up to the last one this snapshot holds
            kept = s.scalar(
                select(func.count())
                .select_from(KbChunk)
                .where(KbChunk.kb_id == kb_id, KbChunk.level == 0, KbChunk.id <= last)
            )
        if kept != n:
            return None
        return self._read(self._query(kb_id).where(KbChunk.id > last))

    def _build(self, kb_id: str, revision: int, previous: _Snapshot | None = None) -> _Snapshot:
        added = self._appended(kb_id, previous) if previous is not None else None
        if previous is not None and added is not None:
            ids, docs, vecs, corpus = added
            keywords, columns = previous.keywords, previous.columns
        else:
            ids, docs, vecs, corpus = self._read(self._query(kb_id))
            keywords, columns = KeywordIndex(), None
        dim = next((v.shape[0] for v in vecs if v is not None), columns.vectors.shape[1] if columns else 0)
        if columns is not None and columns.vectors.shape[1] != dim:
            return self._build(kb_id, revision)  # the embedding model changed: read everything
        matrix = np.zeros((len(vecs), dim), dtype=np.float32)
        for i, v in enumerate(vecs):
            if v is not None and v.shape[0] == dim:
                matrix[i] = v
        columns = columns or _Columns(dim)
        ids_arr, docs_arr, vectors = columns.extend(ids, docs, matrix)
        keywords.add(corpus)
        ann = self._ann(vectors, ids_arr, previous) if len(ids_arr) >= self.ann_threshold and dim else None
        return _Snapshot(revision, ids_arr, docs_arr, vectors, keywords, columns, ann)

    def _ann(self, matrix: np.ndarray, ids: np.ndarray, previous: _Snapshot | None):
        """The HNSW graph. When chunks were only added since the last snapshot (ingestion appends:
        ids only grow), the old graph is extended instead of rebuilt."""
        import faiss

        n_old = len(previous.ids) if previous is not None and previous.ann is not None else 0
        if (
            previous is not None
            and n_old
            and n_old <= len(ids)
            and np.array_equal(previous.ids, ids[:n_old])
            and np.array_equal(previous.vectors[-1], matrix[n_old - 1])
        ):
            graph: Any = previous.ann
            if len(ids) > n_old:
                threads = faiss.omp_get_max_threads()
                if len(ids) - n_old < 1000:  # a few vectors: starting a thread team costs more than it gives
                    faiss.omp_set_num_threads(1)
                try:
                    with self._graph_lock:
                        graph.add(matrix[n_old:])
                finally:
                    faiss.omp_set_num_threads(threads)
            return graph
        graph = faiss.IndexHNSWFlat(matrix.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.add(matrix)
        return graph

    def _mask(self, snap: _Snapshot, allowed: set[str] | None) -> np.ndarray | None:
        if allowed is None:
            return None
        return np.fromiter((d in allowed for d in snap.docs), dtype=bool, count=len(snap.docs))

    def dense(self, kb_id: str, query: np.ndarray, k: int, allowed: set[str] | None = None) -> list[Hit]:
        snap = self._snapshot(kb_id)
        if not len(snap.ids) or snap.vectors.shape[1] != query.shape[0]:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32)
        mask = self._mask(snap, allowed)
        # The graph when it exists, unless a filter leaves so few chunks that scanning them is cheaper
        # (and a graph walk would have to skip most of what it visits).
        if snap.ann is not None and (mask is None or mask.sum() > self.ann_threshold // 4):
            import faiss

            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))  # type: ignore[attr-defined]
            if mask is not None:
                selector = faiss.IDSelectorBatch(np.flatnonzero(mask).astype(np.int64))
                params.sel = selector
            with self._graph_lock:
                scores, rows = snap.ann.search(query[None, :], k, params=params)
            return [Hit(int(snap.ids[r]), float(sc)) for sc, r in zip(scores[0], rows[0]) if r >= 0]
        if mask is not None:
            rows = np.flatnonzero(mask)
            return _top(snap.ids[rows], snap.vectors[rows] @ query, k)
        return _top(snap.ids, snap.vectors @ query, k)

    def vectors(self, kb_id: str, chunk_ids: list[int]) -> np.ndarray:
        """The stored vectors of these chunks, in the same order (zeros for an unknown id)."""
        snap = self._snapshot(kb_id)
        out = np.zeros((len(chunk_ids), snap.vectors.shape[1]), dtype=np.float32)
        for i, c in enumerate(chunk_ids):
            row = snap.row_of(c)
            if row is not None:
                out[i] = snap.vectors[row]
        return out

    def keyword(self, kb_id: str, terms: list[str], k: int, allowed: set[str] | None = None) -> list[Hit]:
        snap = self._snapshot(kb_id)
        known = [t for t in terms if snap.keywords.knows(t)]
        if not len(snap.ids) or not known:
            return []
        scores = snap.keywords.scores(known, len(snap.ids))
        mask = self._mask(snap, allowed)
        if mask is not None:
            scores = np.where(mask, scores, 0)
        scores = np.where(scores > 0, scores, -np.inf)
        return _top(snap.ids, scores, k)


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> list[Hit]:
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k]
    order = part[np.argsort(-scores[part], kind="stable")]
    return [Hit(int(ids[i]), float(scores[i])) for i in order if np.isfinite(scores[i])]


def search_index(db: Database, backend: str = "auto") -> SearchIndex:
    """The index for `backend` (Settings.search_backend): "auto" takes pgvector where the
    database is PostgreSQL with the extension (knowledge/pgvector.py), else the in-process one."""
    from . import pgvector

    if backend == "memory":
        return ChunkIndex(db)
    if pgvector.available(db):
        return pgvector.PgVectorIndex(db)
    if backend == "pgvector":
        from ..errors import ConfigError

        raise ConfigError(
            "FMSTACK_SEARCH_BACKEND=pgvector needs FMSTACK_DATABASE_URL to be PostgreSQL with the pgvector "
            "extension installed (CREATE EXTENSION vector)"
        )
    return ChunkIndex(db)

"""Search indexes over a knowledge base's chunks, behind one small interface.

`ChunkIndex` is the reference implementation: it reads a knowledge base's searchable chunks from
the database once per revision and searches them in memory — dense search over normalised vectors
and BM25 over jieba terms (bm25s). Dense search is exact (one matrix product) below
`ann_threshold` chunks and a FAISS HNSW graph above it (bench/retrieve.py measures where exact
search stops being fast enough, and the recall the graph keeps). Any SQL database works with it;
a backend that searches inside the database (pgvector, say) implements the same methods.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select

from ..store import Database, KbChunk, KbDocument, KnowledgeBase
from .text import simplified


@dataclass
class Hit:
    chunk_id: int
    score: float


class SearchIndex(Protocol):
    def dense(self, kb_id: str, query: np.ndarray, k: int, allowed: set[str] | None = None) -> list[Hit]: ...

    def keyword(self, kb_id: str, terms: list[str], k: int, allowed: set[str] | None = None) -> list[Hit]: ...

    def vectors(self, kb_id: str, chunk_ids: list[int]) -> np.ndarray: ...


# HNSW settings measured in bench/retrieve.py (recall@10 against exact search, p50/p99 latency).
ANN_THRESHOLD = 30_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256


@dataclass
class _Snapshot:
    revision: int
    ids: np.ndarray  # chunk ids, row order
    docs: np.ndarray  # document id per row
    vectors: np.ndarray  # (n, d) float32, normalised
    bm25: Any | None  # bm25s.BM25
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

    def _build(self, kb_id: str, revision: int, previous: _Snapshot | None = None) -> _Snapshot:
        stmt = (
            select(KbChunk.id, KbChunk.document_id, KbChunk.embedding, KbChunk.terms)
            .join(KbDocument, KbDocument.id == KbChunk.document_id)
            .where(KbChunk.kb_id == kb_id, KbChunk.level == 0, KbDocument.status == "ready")
            .order_by(KbChunk.id)
        )
        ids, docs, vecs, corpus = [], [], [], []
        with self.db.session() as s:
            for cid, doc, emb, terms in s.execute(stmt):
                ids.append(cid)
                docs.append(doc)
                vecs.append(np.frombuffer(emb, dtype=np.float32) if emb else None)
                corpus.append(simplified(terms).split())  # terms stored before script folding too
        dim = next((v.shape[0] for v in vecs if v is not None), 0)
        matrix = np.zeros((len(vecs), dim), dtype=np.float32)
        for i, v in enumerate(vecs):
            if v is not None:
                matrix[i] = v
        bm25 = None
        if corpus:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        ids_arr = np.array(ids, dtype=np.int64)
        ann = self._ann(matrix, ids_arr, previous) if len(ids) >= self.ann_threshold and dim else None
        return _Snapshot(revision, ids_arr, np.array(docs, dtype=object), matrix, bm25, ann)

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
                with self._graph_lock:
                    graph.add(matrix[n_old:])
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
        if snap.bm25 is None or not terms:
            return []
        known = [t for t in terms if t in snap.bm25.vocab_dict]
        if not known:
            return []
        scores = np.asarray(snap.bm25.get_scores(known), dtype=np.float32)
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

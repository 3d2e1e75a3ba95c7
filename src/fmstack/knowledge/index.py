"""Search indexes over a knowledge base's chunks, behind one small interface.

`ChunkIndex` is the reference implementation: it reads a knowledge base's searchable chunks from
the database and searches them in memory — dense search over normalised vectors and BM25 over
jieba terms (knowledge/keywords.py). A new revision that only added chunks (ingestion appends)
reads just those and extends the previous snapshot; any other change reads the chunks again. Dense search is exact (one matrix product) below
`ann_threshold` chunks and a FAISS HNSW graph above it (bench/retrieve.py measures where exact
search stops being fast enough, and the recall the graph keeps). Any SQL database works with it;
a backend that searches inside the database (pgvector, say) implements the same methods.
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
    keywords: KeywordIndex  # shared with the snapshots it grew from; this one searches its first len(ids) rows
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
        if not len(previous.ids):
            return None
        last = int(previous.ids[-1])
        with self.db.session() as s:
            kept = s.scalar(
                select(func.count())
                .select_from(KbChunk)
                .join(KbDocument, KbDocument.id == KbChunk.document_id)
                .where(KbChunk.kb_id == kb_id, KbChunk.level == 0, KbDocument.status == "ready", KbChunk.id <= last)
            )
        if kept != len(previous.ids) or previous.keywords.size != len(previous.ids):
            return None  # something was removed or replaced, or the shared index has grown past it
        return self._read(self._query(kb_id).where(KbChunk.id > last))

    def _build(self, kb_id: str, revision: int, previous: _Snapshot | None = None) -> _Snapshot:
        added = self._appended(kb_id, previous) if previous is not None else None
        if previous is not None and added is not None:
            ids, docs, vecs, corpus = added
            keywords = previous.keywords
            base_ids, base_docs, base_vectors = previous.ids, previous.docs, previous.vectors
        else:
            ids, docs, vecs, corpus = self._read(self._query(kb_id))
            keywords = KeywordIndex()
            base_ids = np.zeros(0, dtype=np.int64)
            base_docs = np.array([], dtype=object)
            base_vectors = None
        dim = next(
            (v.shape[0] for v in vecs if v is not None), base_vectors.shape[1] if base_vectors is not None else 0
        )
        matrix = np.zeros((len(vecs), dim), dtype=np.float32)
        for i, v in enumerate(vecs):
            if v is not None and v.shape[0] == dim:
                matrix[i] = v
        if base_vectors is not None and len(base_vectors):
            if base_vectors.shape[1] != dim:
                return self._build(kb_id, revision)  # the embedding model changed: read everything
            matrix = np.concatenate([base_vectors, matrix]) if len(matrix) else base_vectors
        keywords.add(corpus)
        ids_arr = np.concatenate([base_ids, np.array(ids, dtype=np.int64)])
        docs_arr = np.concatenate([base_docs, np.array(docs, dtype=object)])
        ann = self._ann(matrix, ids_arr, previous) if len(ids_arr) >= self.ann_threshold and dim else None
        return _Snapshot(revision, ids_arr, docs_arr, matrix, keywords, ann)

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

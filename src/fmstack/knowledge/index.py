"""Search indexes over a knowledge base's chunks, behind one small interface.

`ChunkIndex` is the reference implementation: it reads a knowledge base's searchable chunks from
the database once per revision and searches them in memory — exact dense search (one matrix
product over normalised vectors) and BM25 over jieba terms (bm25s). Any SQL database works with
it; a backend that searches inside the database (pgvector, say) implements the same two methods.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import select

from ..store import Database, KbChunk, KbDocument, KnowledgeBase


@dataclass
class Hit:
    chunk_id: int
    score: float


class SearchIndex(Protocol):
    def dense(self, kb_id: str, query: np.ndarray, k: int, allowed: set[str] | None = None) -> list[Hit]: ...

    def keyword(self, kb_id: str, terms: list[str], k: int, allowed: set[str] | None = None) -> list[Hit]: ...


@dataclass
class _Snapshot:
    revision: int
    ids: np.ndarray  # chunk ids, row order
    docs: np.ndarray  # document id per row
    vectors: np.ndarray  # (n, d) float32, normalised
    bm25: object | None


class ChunkIndex:
    def __init__(self, db: Database):
        self.db = db
        self._snapshots: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()

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
            snap = self._build(kb_id, revision)
            self._snapshots[kb_id] = snap
            return snap

    def _build(self, kb_id: str, revision: int) -> _Snapshot:
        stmt = (select(KbChunk.id, KbChunk.document_id, KbChunk.embedding, KbChunk.terms)
                .join(KbDocument, KbDocument.id == KbChunk.document_id)
                .where(KbChunk.kb_id == kb_id, KbChunk.level == 0, KbDocument.status == "ready")
                .order_by(KbChunk.id))
        ids, docs, vecs, corpus = [], [], [], []
        with self.db.session() as s:
            for cid, doc, emb, terms in s.execute(stmt):
                ids.append(cid)
                docs.append(doc)
                vecs.append(np.frombuffer(emb, dtype=np.float32) if emb else None)
                corpus.append(terms.split())
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
        return _Snapshot(revision, np.array(ids, dtype=np.int64), np.array(docs, dtype=object), matrix, bm25)

    def _mask(self, snap: _Snapshot, allowed: set[str] | None) -> np.ndarray | None:
        if allowed is None:
            return None
        return np.fromiter((d in allowed for d in snap.docs), dtype=bool, count=len(snap.docs))

    def dense(self, kb_id: str, query: np.ndarray, k: int, allowed: set[str] | None = None) -> list[Hit]:
        snap = self._snapshot(kb_id)
        if not len(snap.ids) or snap.vectors.shape[1] != query.shape[0]:
            return []
        scores = snap.vectors @ query.astype(np.float32)
        mask = self._mask(snap, allowed)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return _top(snap.ids, scores, k)

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

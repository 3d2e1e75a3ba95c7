"""Knowledge bases: create and describe them, ingest files (incrementally), retrieve, answer."""

from __future__ import annotations

import builtins
import fnmatch
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, NotFound
from ..models.registry import ModelRegistry
from ..store import Database, KbChunk, KbDocument, KnowledgeBase
from .chunking import ChunkingOptions, chunk_document
from .index import ChunkIndex, Hit, SearchIndex
from .loaders import LoadError, format_of, load
from .text import terms

MAX_FILE_BYTES = 100 * 1024 * 1024
# What a caller may set per retrieval (KnowledgeService.retrieve's keyword arguments).
EMBED_BATCH = 64


class KnowledgeBaseRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    embedding_model: str
    chunking: dict[str, Any]
    retrieval: dict[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime
    documents: int = 0
    chunks: int = 0


class DocumentRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kb_id: str
    source: str
    title: str
    format: str
    content_hash: str
    size_bytes: int
    status: str
    error: str | None = None
    n_chunks: int
    meta: dict[str, Any]
    updated_at: datetime


@dataclass
class FileResult:
    source: str
    status: Literal["added", "updated", "unchanged", "removed", "failed"]
    chunks: int = 0
    reason: str | None = None


@dataclass
class Source:
    """A file to ingest: its name in the knowledge base, and its content as a path or bytes."""

    source: str
    content: Path | bytes
    meta: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        if isinstance(self.content, bytes):
            return len(self.content)
        try:
            return self.content.stat().st_size
        except OSError:
            return 0

    def read(self) -> bytes:
        return self.content if isinstance(self.content, bytes) else self.content.read_bytes()


@dataclass
class IngestProgress:
    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: float = 0.0
    chunks: int = 0  # stored
    chunks_embedded: int = 0  # embedded so far, the file in progress included
    failed: int = 0
    current: str | None = None
    started: float = field(default_factory=time.perf_counter)
    _file_embedded: int = 0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def to_dict(self) -> dict:
        elapsed = self.elapsed
        rate = self.chunks_embedded / elapsed if elapsed > 0 else 0.0
        share = self.bytes_done / self.bytes_total if self.bytes_total else (1.0 if self.files_done else 0.0)
        eta = elapsed * (1 - share) / share if share > 0.02 else None  # by bytes: files differ in size
        return {
            "files_done": self.files_done,
            "files_total": self.files_total,
            "failed": self.failed,
            "chunks": self.chunks,
            "chunks_embedded": self.chunks_embedded,
            "chunks_per_s": round(rate, 2),
            "percent": round(100 * share, 1),
            "elapsed_s": round(elapsed, 2),
            "eta_s": round(eta, 1) if eta is not None else None,
            "current": self.current,
        }


class _Cancelled(Exception):
    pass


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    progress: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files if f.status in ("added", "updated"))

    def to_dict(self) -> dict:
        return {
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "removed": self.count("removed"),
            "failed": self.count("failed"),
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
            "files": [vars(f) for f in self.files],
        }


@dataclass
class Retrieved:
    chunk_id: int
    document_id: str
    source: str
    title: str
    text: str
    score: float
    page: int | None
    heading: str
    start_char: int
    end_char: int
    meta: dict
    scores: dict[str, float] = field(default_factory=dict)  # per retriever: dense, bm25, rank fusion

    def to_dict(self) -> dict:
        return dict(vars(self))


Progress = Callable[[IngestProgress, "FileResult | None"], None]  # called per embedding batch and per file


class KnowledgeService:
    def __init__(self, db: Database, models: ModelRegistry, index: SearchIndex | None = None):
        self.db = db
        self.models = models
        self.index = index or ChunkIndex(db)

    # -- knowledge bases ------------------------------------------------------------------------
    def create(
        self,
        name: str,
        *,
        description: str = "",
        embedding_model: str | None = None,
        chunking: dict | None = None,
        retrieval: dict | None = None,
    ) -> KnowledgeBaseRecord:
        if not re.fullmatch(r"[\w][\w.\-]{0,99}", name or ""):
            raise InvalidInput("a knowledge base name is 1-100 letters, digits, '_', '-' or '.'", param="name")
        model = self.models.resolve(embedding_model, "embedding")
        opts = ChunkingOptions.from_dict(chunking)
        ret = RetrievalOptions.from_dict(retrieval)
        with self.db.session() as s:
            if s.scalar(select(KnowledgeBase.id).where(KnowledgeBase.name == name)):
                raise InvalidInput(f"a knowledge base named {name!r} already exists", param="name")
            kb = KnowledgeBase(
                name=name,
                description=description,
                embedding_model=model,
                chunking=opts.to_dict(),
                retrieval=ret.to_dict(),
            )
            s.add(kb)
            s.flush()
            return KnowledgeBaseRecord.model_validate(kb)

    def list(self) -> builtins.list[KnowledgeBaseRecord]:
        with self.db.session() as s:
            return [self._record(s, kb) for kb in s.scalars(select(KnowledgeBase).order_by(KnowledgeBase.name))]

    def get(self, name_or_id: str) -> KnowledgeBaseRecord:
        with self.db.session() as s:
            return self._record(s, self._kb(s, name_or_id))

    def settings(self, name_or_id: str) -> KnowledgeBaseRecord:
        """The knowledge base without its document and chunk counts (which cost a scan)."""
        with self.db.session() as s:
            return KnowledgeBaseRecord.model_validate(self._kb(s, name_or_id))

    def delete(self, name_or_id: str) -> None:
        with self.db.session() as s:
            kb = self._kb(s, name_or_id)
            s.execute(delete(KbChunk).where(KbChunk.kb_id == kb.id))
            s.execute(delete(KbDocument).where(KbDocument.kb_id == kb.id))
            s.delete(kb)

    def documents(self, name_or_id: str) -> builtins.list[DocumentRecord]:
        with self.db.session() as s:
            kb = self._kb(s, name_or_id)
            rows = s.scalars(select(KbDocument).where(KbDocument.kb_id == kb.id).order_by(KbDocument.source))
            return [DocumentRecord.model_validate(d) for d in rows]

    def delete_document(self, name_or_id: str, document_id: str) -> None:
        with self.db.session() as s:
            kb = self._kb(s, name_or_id)
            doc = s.get(KbDocument, document_id)
            if doc is None or doc.kb_id != kb.id:
                raise NotFound(f"document {document_id!r} is not in knowledge base {kb.name!r}")
            s.execute(delete(KbChunk).where(KbChunk.document_id == doc.id))
            s.delete(doc)
            kb.revision += 1

    @staticmethod
    def _kb(s, name_or_id: str) -> KnowledgeBase:
        kb = s.scalar(
            select(KnowledgeBase).where((KnowledgeBase.name == name_or_id) | (KnowledgeBase.id == name_or_id))
        )
        if kb is None:
            raise NotFound(f"knowledge base {name_or_id!r} does not exist", param="knowledge_base")
        return kb

    @staticmethod
    def _record(s, kb: KnowledgeBase) -> KnowledgeBaseRecord:
        rec = KnowledgeBaseRecord.model_validate(kb)
        rec.documents = s.scalar(select(func.count()).where(KbDocument.kb_id == kb.id)) or 0
        rec.chunks = s.scalar(select(func.count()).where(KbChunk.kb_id == kb.id, KbChunk.level == 0)) or 0
        return rec

    # -- ingestion ------------------------------------------------------------------------------
    def ingest(
        self,
        name_or_id: str,
        paths: Iterable[str | Path],
        *,
        include: builtins.list[str] | None = None,
        exclude: builtins.list[str] | None = None,
        sync: bool = False,
        options: dict | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> IngestReport:
        """Ingest files and folders (recursively). Unchanged files (same content hash) are skipped,
        changed ones re-indexed; with `sync`, documents under the given folders whose files are gone
        are removed. Each file is stored in its own transaction, so an interrupted run leaves whole
        files or nothing, and running it again carries on where it stopped. Setting `cancel` stops
        it between embedding batches; the file in progress is not stored."""
        kb = self.settings(name_or_id)
        files, roots = [], []
        for p in paths:
            p = Path(p).expanduser().resolve()
            if p.is_dir():
                roots.append(p)
                files.extend(sorted(f for f in p.rglob("*") if f.is_file() and _wanted(f, p, include, exclude)))
            elif p.is_file():
                files.append(p)
            else:
                raise NotFound(f"{p} does not exist")
        items = [Source(str(f), f, {"path": str(f)}) for f in files]
        report = self._ingest_all(kb, items, options or {}, progress, cancel)
        if sync and roots and not report.cancelled:
            seen = {str(f) for f in files}
            for doc in self.documents(kb.id):
                if doc.source not in seen and any(doc.source.startswith(str(r) + "/") for r in roots):
                    self.delete_document(kb.id, doc.id)
                    report.files.append(FileResult(doc.source, "removed"))
        return report

    def ingest_sources(
        self,
        name_or_id: str,
        items: builtins.list[Source],
        *,
        options: dict | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> IngestReport:
        """Ingest named files given as paths or bytes (uploads), each under its own source name."""
        return self._ingest_all(self.settings(name_or_id), items, options or {}, progress, cancel)

    def ingest_bytes(
        self, name_or_id: str, filename: str, data: bytes, *, options: dict | None = None, meta: dict | None = None
    ) -> FileResult:
        report = self.ingest_sources(name_or_id, [Source(filename, data, meta or {})], options=options)
        return report.files[0]

    def _ingest_all(
        self,
        kb: KnowledgeBaseRecord,
        items: builtins.list[Source],
        options: dict,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> IngestReport:
        report = IngestReport()
        state = IngestProgress(files_total=len(items), bytes_total=sum(i.size for i in items))

        def tick(result: FileResult | None = None) -> None:
            if progress:
                progress(state, result)

        tick()
        for item in items:
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            state.current = item.source
            base = state.bytes_done
            if item.size > MAX_FILE_BYTES:
                result = FileResult(item.source, "failed", reason=f"larger than {MAX_FILE_BYTES // 2**20} MiB")
            else:
                try:
                    data = item.read()
                except OSError as e:
                    result = FileResult(item.source, "failed", reason=f"cannot read: {e.strerror}")
                else:

                    def on_batch(done: int, total: int, item=item, base=base) -> None:
                        state.bytes_done = base + item.size * done / max(total, 1)
                        state.chunks_embedded += done - state._file_embedded
                        state._file_embedded = done
                        tick()

                    state._file_embedded = 0
                    try:
                        result = self._ingest_one(kb, item.source, data, options, item.meta, on_batch, cancel)
                    except _Cancelled:
                        state.chunks_embedded -= state._file_embedded
                        report.cancelled = True
                        break
            state.bytes_done = base + item.size
            state.files_done += 1
            if result.status in ("added", "updated"):
                state.chunks += result.chunks
            state.failed += result.status == "failed"
            report.files.append(result)
            tick(result)
        state.current = None
        report.seconds = state.elapsed
        report.progress = state.to_dict()
        return report

    def _ingest_one(
        self,
        kb: KnowledgeBaseRecord,
        source: str,
        data: bytes,
        options: dict,
        meta: dict,
        on_batch: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> FileResult:
        digest = hashlib.sha256(data).hexdigest()
        with self.db.session() as s:
            old = s.scalar(select(KbDocument).where(KbDocument.kb_id == kb.id, KbDocument.source == source))
            if old is not None and old.content_hash == digest and old.status == "ready":
                return FileResult(source, "unchanged", old.n_chunks)
            existed = old is not None
        fmt = format_of(source) or "unknown"
        try:
            loaded = load(source, data, options)
            chunks = chunk_document(loaded.sections, ChunkingOptions.from_dict(kb.chunking))
            vectors = self._embed(kb.embedding_model, [c.text for c in chunks if c.level == 0], on_batch, cancel)
        except LoadError as e:
            self._store(kb.id, source, fmt, digest, len(data), meta, error=e.message)
            return FileResult(source, "failed", reason=e.message)
        n = self._store(
            kb.id, source, loaded.format, digest, len(data), meta, title=loaded.title, chunks=chunks, vectors=vectors
        )
        return FileResult(source, "updated" if existed else "added", n)

    def _embed(
        self,
        model_name: str,
        texts: builtins.list[str],
        on_batch: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> np.ndarray:
        model = self.models.embedding(model_name)
        out = []
        for i in range(0, len(texts), EMBED_BATCH):
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            out.append(model.embed(texts[i : i + EMBED_BATCH], input_type="document"))
            if on_batch:
                on_batch(min(i + EMBED_BATCH, len(texts)), len(texts))
        return np.concatenate(out) if out else np.zeros((0, model.dimensions), dtype=np.float32)

    def _store(self, kb_id, source, fmt, digest, size, meta, *, title="", chunks=(), vectors=None, error=None) -> int:
        """Replace a document and its chunks in one transaction."""
        for attempt in range(3):
            try:
                with self.db.session() as s:
                    s.execute(
                        delete(KbChunk).where(
                            KbChunk.document_id.in_(
                                select(KbDocument.id).where(KbDocument.kb_id == kb_id, KbDocument.source == source)
                            )
                        )
                    )
                    s.execute(delete(KbDocument).where(KbDocument.kb_id == kb_id, KbDocument.source == source))
                    leaves = sum(c.level == 0 for c in chunks)
                    doc = KbDocument(
                        kb_id=kb_id,
                        source=source,
                        title=title or Path(source).name,
                        format=fmt,
                        content_hash=digest,
                        size_bytes=size,
                        status="error" if error else "ready",
                        error=error,
                        n_chunks=leaves,
                        meta=meta,
                    )
                    s.add(doc)
                    s.flush()
                    vec_iter = iter(vectors if vectors is not None else [])
                    rows = []
                    for seq, c in enumerate(chunks):
                        vec = next(vec_iter) if c.level == 0 else None
                        rows.append(
                            {
                                "kb_id": kb_id,
                                "document_id": doc.id,
                                "seq": seq,
                                "level": c.level,
                                "parent_seq": c.parent,
                                "text": c.text,
                                "page": c.page,
                                "heading": " > ".join(c.heading),
                                "start_char": c.start,
                                "end_char": c.end,
                                "terms": " ".join(terms(" ".join(c.heading) + "\n" + c.text)) if c.level == 0 else "",
                                "embedding": np.asarray(vec, dtype=np.float32).tobytes() if vec is not None else None,
                                "meta": c.meta,
                            }
                        )
                    if rows:
                        s.execute(KbChunk.__table__.insert(), rows)  # type: ignore[attr-defined]  # a Table underneath
                    s.execute(
                        update(KnowledgeBase)
                        .where(KnowledgeBase.id == kb_id)
                        .values(revision=KnowledgeBase.revision + 1)
                    )
                    return leaves
            except IntegrityError:
                if attempt == 2:
                    raise
        return 0

    # -- retrieval ------------------------------------------------------------------------------
    def retrieve(
        self,
        name_or_id: str,
        query: str,
        *,
        mode: str | None = None,
        top_k: int | None = None,
        min_score: float | None = None,
        filters: dict | None = None,
        mmr: bool | None = None,
        multi_query: int | None = None,
        rewrite_model: str | None = None,
    ) -> builtins.list[Retrieved]:
        """The best chunks for `query`. Per call, any of the knowledge base's retrieval settings can
        be overridden: mode, top_k, min_score, MMR diversity, and multi-query rewriting by an LLM
        (each rewrite is searched too, and the rankings fused)."""
        kb = self.settings(name_or_id)
        override = {
            "mode": mode,
            "top_k": top_k,
            "min_score": min_score,
            "mmr": mmr,
            "multi_query": multi_query,
            "rewrite_model": rewrite_model,
        }
        opts = RetrievalOptions.from_dict({**kb.retrieval, **{k: v for k, v in override.items() if v is not None}})
        if not query or not query.strip():
            raise InvalidInput("the query must not be empty", param="query")
        allowed = self._filter(kb.id, filters) if filters else None
        pool = max(opts.top_k * 4, 20)
        queries = [query]
        if opts.multi_query:
            from .rewrite import rewrite_queries

            queries += rewrite_queries(self.models.chat(opts.rewrite_model), query, opts.multi_query)
        embedder = self.models.embedding(kb.embedding_model)
        qvecs = embedder.embed(queries, input_type="query") if opts.mode != "bm25" or opts.mmr else None
        rankings: builtins.list[builtins.list[tuple[int, float]]] = []
        per: dict[str, dict[int, float]] = {"dense": {}, "bm25": {}}
        for i, q in enumerate(queries):
            dense: builtins.list[Hit] = []
            keyword: builtins.list[Hit] = []
            if opts.mode in ("dense", "hybrid"):
                assert qvecs is not None
                dense = self.index.dense(kb.id, qvecs[i], pool, allowed)
            query_terms = terms(q)
            if opts.mode in ("bm25", "hybrid"):
                keyword = self.index.keyword(kb.id, query_terms, pool, allowed)
            if opts.mode == "dense":
                ranked = [(h.chunk_id, h.score) for h in dense]
            elif opts.mode == "bm25":
                ranked = [(h.chunk_id, h.score) for h in keyword]
            else:
                ranked = fuse(dense, keyword, opts, self._coverage(keyword, query_terms))
            rankings.append(ranked)
            if i == 0:  # scores shown are those of the user's own query
                per = {"dense": {h.chunk_id: h.score for h in dense}, "bm25": {h.chunk_id: h.score for h in keyword}}
        ranked = rankings[0] if len(rankings) == 1 else fuse_rankings(rankings, opts.rrf_k)
        if opts.min_score is not None and len(rankings) == 1:
            ranked = [(c, sc) for c, sc in ranked if sc >= opts.min_score]
        if opts.mmr and len(ranked) > opts.top_k and qvecs is not None:
            ranked = self._mmr(kb.id, qvecs[0], ranked[:pool], opts.top_k, opts.mmr_lambda)
        return self._hydrate(ranked[: opts.top_k], per)

    def _mmr(
        self, kb_id: str, qvec: np.ndarray, ranked: builtins.list[tuple[int, float]], k: int, lam: float
    ) -> builtins.list[tuple[int, float]]:
        """Maximal marginal relevance: keep the ranking's best, then pick, one at a time, the
        candidate most similar to the query and least similar to those already picked (λ weighs the
        two), so near-duplicates give way to passages that add something. Scores shown stay those
        of the ranking."""
        ids = [c for c, _ in ranked]
        vecs = self.index.vectors(kb_id, ids)
        relevance = vecs @ qvec
        sims = vecs @ vecs.T
        chosen: builtins.list[int] = [0]
        left = list(range(1, len(ids)))
        while left and len(chosen) < k:
            redundancy = sims[np.ix_(left, chosen)].max(axis=1)
            scores = lam * relevance[left] - (1 - lam) * redundancy
            best = left[int(np.argmax(scores))]
            chosen.append(best)
            left.remove(best)
        return [ranked[i] for i in chosen]

    def _coverage(self, keyword: builtins.list[Hit], query_terms: builtins.list[str]) -> float:
        """How far to trust the keyword ranking: the squared share of the query's keywords that its
        best match contains (a match on one word of three counts a ninth)."""
        if not keyword or not query_terms:
            return 0.0
        with self.db.session() as s:
            top = s.scalar(select(KbChunk.terms).where(KbChunk.id == keyword[0].chunk_id)) or ""
        q = set(query_terms)
        return (len(q & set(top.split())) / len(q)) ** 2

    def relevant(self, name_or_id: str, query: str, passages: builtins.list[Retrieved]) -> builtins.list[Retrieved]:
        """The passages that can ground an answer (see RetrievalOptions.min_relevance)."""
        kb = self.settings(name_or_id)
        opts = RetrievalOptions.from_dict(kb.retrieval)
        q_terms = set(terms(query))
        model = None
        out = []
        for p in passages:
            dense = p.scores.get("dense")
            if dense is None:
                if model is None:
                    model = self.models.embedding(kb.embedding_model)
                    qv = model.embed([query], input_type="query")[0]
                dense = float(model.embed([p.text], input_type="document")[0] @ qv)
            coverage = len(q_terms & set(terms(p.text))) / len(q_terms) if q_terms else 0.0
            if dense >= opts.min_relevance or coverage >= opts.min_term_coverage:
                out.append(p)
        return out

    def _filter(self, kb_id: str, filters: dict) -> set[str]:
        """Documents matching every filter: `source` (a glob), `format`, or a key of the document's metadata."""
        out = set()
        for doc in self.documents(kb_id):
            ok = True
            for key, want in filters.items():
                have = doc.source if key == "source" else doc.format if key == "format" else doc.meta.get(key)
                if key == "source":
                    ok = ok and fnmatch.fnmatch(have, str(want))
                elif isinstance(want, list):
                    ok = ok and have in want
                else:
                    ok = ok and have == want
            if ok:
                out.add(doc.id)
        return out

    def _hydrate(
        self, ranked: builtins.list[tuple[int, float]], per: dict[str, dict[int, float]]
    ) -> builtins.list[Retrieved]:
        if not ranked:
            return []
        ids = [c for c, _ in ranked]
        with self.db.session() as s:
            rows = {
                c.id: (c, d)
                for c, d in s.execute(
                    select(KbChunk, KbDocument)
                    .join(KbDocument, KbDocument.id == KbChunk.document_id)
                    .where(KbChunk.id.in_(ids))
                )
            }
            parents = {}
            wanted = [(c.document_id, c.parent_seq) for c, _ in rows.values() if c.parent_seq is not None]
            for doc_id, seq in set(wanted):
                parents[(doc_id, seq)] = s.scalar(
                    select(KbChunk).where(KbChunk.document_id == doc_id, KbChunk.seq == seq)
                )
        out, seen_parents = [], set()
        for cid, score in ranked:
            if cid not in rows:
                continue
            c, d = rows[cid]
            shown = c
            if c.parent_seq is not None:  # small-to-big: return the parent section once
                key = (c.document_id, c.parent_seq)
                if key in seen_parents:
                    continue
                seen_parents.add(key)
                shown = parents.get(key) or c
            out.append(
                Retrieved(
                    chunk_id=c.id,
                    document_id=d.id,
                    source=d.source,
                    title=d.title,
                    text=shown.text,
                    score=float(score),
                    page=shown.page,
                    heading=shown.heading,
                    start_char=shown.start_char,
                    end_char=shown.end_char,
                    meta={**d.meta, **(c.meta or {})},
                    scores={k: float(v[cid]) for k, v in per.items() if cid in v},
                )
            )
        return out


@dataclass
class RetrievalOptions:
    mode: str = "hybrid"  # dense | bm25 | hybrid
    top_k: int = 5
    fusion: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    weight_dense: float = 0.5  # weighted fusion: share of the (min-max normalised) dense score
    min_score: float | None = None
    # A passage may ground an answer when its dense similarity reaches this, or when it holds at
    # least `min_term_coverage` of the question's keywords; with none such the answer is "I don't know".
    min_relevance: float = 0.82
    min_term_coverage: float = 0.5
    mmr: bool = False  # diversify the top_k with maximal marginal relevance
    mmr_lambda: float = 0.5  # 1: relevance only; 0: diversity only
    multi_query: int = 0  # rewrites of the question an LLM writes, each searched too (0: off)
    rewrite_model: str | None = None  # the model that rewrites (default: the default chat model)

    @classmethod
    def from_dict(cls, d: dict | None) -> RetrievalOptions:
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInput(f"unknown retrieval options: {', '.join(sorted(unknown))}", param="retrieval")
        o = cls(**d)
        if o.mode not in ("dense", "bm25", "hybrid"):
            raise InvalidInput("mode must be dense, bm25 or hybrid", param="mode")
        if o.fusion not in ("rrf", "weighted"):
            raise InvalidInput("fusion must be rrf or weighted", param="fusion")
        if not 1 <= o.top_k <= 200:
            raise InvalidInput("top_k must be 1..200", param="top_k")
        if not 0 <= o.mmr_lambda <= 1:
            raise InvalidInput("mmr_lambda must be 0..1", param="mmr_lambda")
        if not 0 <= o.multi_query <= 5:
            raise InvalidInput("multi_query must be 0..5 rewrites", param="multi_query")
        return o

    def to_dict(self) -> dict:
        return dict(vars(self))


def fuse(
    dense: list[Hit], keyword: list[Hit], o: RetrievalOptions, keyword_trust: float = 1.0
) -> list[tuple[int, float]]:
    """Hybrid ranking. RRF adds 1/(k + rank) from each list, so a strong keyword match is not
    drowned by a weak dense score (or the reverse); the keyword list counts in proportion to how
    much of the query its best match covers (`keyword_trust`), so that a query whose words hardly
    occur (another language, a paraphrase) is ranked by meaning. Weighted mixes min-max normalised
    scores."""
    scores: dict[int, float] = {}
    if o.fusion == "rrf":
        for hits, weight in ((dense, 1.0), (keyword, keyword_trust)):
            for rank, h in enumerate(hits, start=1):
                scores[h.chunk_id] = scores.get(h.chunk_id, 0.0) + weight / (o.rrf_k + rank)
        # Equal fused scores (one list's first is the other's second) are common: the more
        # trusted list decides.
        lead = keyword if keyword_trust >= 1.0 else dense
        for rank, h in enumerate(lead, start=1):
            scores[h.chunk_id] += 1e-9 / rank
    else:
        for hits, w in ((dense, o.weight_dense), (keyword, 1 - o.weight_dense)):
            if not hits:
                continue
            vals = np.array([h.score for h in hits])
            lo, hi = vals.min(), vals.max()
            for h in hits:
                norm = (h.score - lo) / (hi - lo) if hi > lo else 1.0
                scores[h.chunk_id] = scores.get(h.chunk_id, 0.0) + w * norm
    return sorted(scores.items(), key=lambda kv: -kv[1])


def fuse_rankings(rankings: list[list[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of whole rankings (the question's and its rewrites'); the question's
    own ranking breaks ties."""
    scores: dict[int, float] = {}
    for ranked in rankings:
        for rank, (cid, _) in enumerate(ranked, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1 / (k + rank)
    for rank, (cid, _) in enumerate(rankings[0], start=1):
        scores[cid] += 1e-9 / rank
    return sorted(scores.items(), key=lambda kv: -kv[1])


def _wanted(f: Path, root: Path, include: list[str] | None, exclude: list[str] | None) -> bool:
    rel = str(f.relative_to(root))
    if any(part.startswith(".") for part in f.relative_to(root).parts):
        return False
    if include and not any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(f.name, g) for g in include):
        return False
    if exclude and any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(f.name, g) for g in exclude):
        return False
    return True

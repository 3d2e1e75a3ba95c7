"""Knowledge bases: create, describe and delete them and their documents. Ingestion
(knowledge/ingestion.py) and retrieval (knowledge/retrieval.py) are their own units; this service
composes them and keeps the entry points callers use."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select

from ..errors import InvalidInput, NotFound
from ..models.registry import ModelRegistry
from ..security import PathPolicy, UrlPolicy
from ..store import Database, KbChunk, KbDocument, KnowledgeBase
from .answers import Evidence
from .chunking import ChunkingOptions
from .index import ChunkIndex, SearchIndex
from .ingestion import EMBED_BATCH, MAX_FILE_BYTES, FileResult, Ingestion, IngestProgress, IngestReport, Source
from .retrieval import RetrievalOptions, Retrieved, Retriever, fuse, fuse_rankings

__all__ = [
    "EMBED_BATCH",
    "MAX_FILE_BYTES",
    "DocumentRecord",
    "FileResult",
    "IngestProgress",
    "IngestReport",
    "KnowledgeBaseRecord",
    "KnowledgeService",
    "RetrievalOptions",
    "Retrieved",
    "Source",
    "fuse",
    "fuse_rankings",
]


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


class KnowledgeService:
    def __init__(
        self, db: Database, models: ModelRegistry, index: SearchIndex | None = None, outbound: UrlPolicy | None = None
    ):
        self.db = db
        self.models = models
        self.outbound = outbound  # what a reranker URL must pass (knowledge/rerank.py)
        # what a cross-encoder reranker's folder must pass: anything for the SDK and CLI, whose
        # caller is the machine's own user; FMSTACK_INGEST_ROOTS once serving callers
        self.paths = PathPolicy(None)
        self.index = index or ChunkIndex(db)
        self.ingestion = Ingestion(self)
        self.retrieval = Retriever(self)

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

    def reindex(self, name_or_id: str) -> dict[str, Any]:
        """Build the knowledge base's search index again from its stored chunks, now: in
        PostgreSQL with pgvector (the database backend), else the in-process snapshot."""
        kb = self.settings(name_or_id)
        backend = "pgvector" if hasattr(self.index, "refresh") else "memory"
        return {"knowledge_base": kb.name, "backend": backend, "chunks": self.index.rebuild(kb.id)}

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

    # -- ingestion (knowledge/ingestion.py) and retrieval (knowledge/retrieval.py) ---------------------
    def ingest(self, name_or_id: str, paths: Iterable[str | Path], **kw: Any) -> IngestReport:
        """Ingest files and folders (see Ingestion.ingest)."""
        return self.ingestion.ingest(name_or_id, paths, **kw)

    def ingest_sources(self, name_or_id: str, items: builtins.list[Source], **kw: Any) -> IngestReport:
        return self.ingestion.ingest_sources(name_or_id, items, **kw)

    def ingest_bytes(self, name_or_id: str, filename: str, data: bytes, **kw: Any) -> FileResult:
        return self.ingestion.ingest_bytes(name_or_id, filename, data, **kw)

    def retrieve(self, name_or_id: str, query: str, **options: Any) -> builtins.list[Retrieved]:
        """The best chunks for `query` (see Retriever.retrieve)."""
        return self.retrieval.retrieve(name_or_id, query, **options)

    def relevant(self, name_or_id: str, query: str, passages: builtins.list[Retrieved]) -> builtins.list[Retrieved]:
        """The passages that can ground an answer (see Retriever.relevant)."""
        return self.retrieval.relevant(name_or_id, query, passages)

    def stored_vectors(self, name_or_id: str, passages: builtins.list[Retrieved], embedder: Any) -> np.ndarray | None:
        """The vectors the index holds for these passages (one row each, in order), where they were
        made by `embedder` — what a guardrail screening the passages reads instead of embedding
        them again; None where the knowledge base uses another embedding model."""
        kb = self.settings(name_or_id)
        if not passages or embedder is None or self.models.embedding(kb.embedding_model) is not embedder:
            return None
        return self.index.vectors(kb.id, [p.chunk_id for p in passages])

    def evidence(self, name_or_id: str, question: str, passages: builtins.list[Retrieved]) -> Evidence:
        """The passages read sentence by sentence against the question (knowledge/answers.py),
        with the knowledge base's own embedding model."""
        kb = self.settings(name_or_id)
        return Evidence(question, passages, self.models.embedding(kb.embedding_model))

"""Knowledge bases: ingest documents, search them (BM25, dense, hybrid), answer with citations."""

from . import rag
from .rag import Citation, RagAnswer
from .service import DocumentRecord, IngestReport, KnowledgeBaseRecord, KnowledgeService, Retrieved, RetrievalOptions

__all__ = ["Citation", "DocumentRecord", "IngestReport", "KnowledgeBaseRecord", "KnowledgeService", "RagAnswer",
           "Retrieved", "RetrievalOptions", "rag"]

"""Knowledge bases: ingest documents, search them (BM25, dense, hybrid), answer with citations."""

from . import rag
from .rag import Citation, RagAnswer
from .service import DocumentRecord, IngestReport, KnowledgeBaseRecord, KnowledgeService, RetrievalOptions, Retrieved

__all__ = [
    "Citation",
    "DocumentRecord",
    "IngestReport",
    "KnowledgeBaseRecord",
    "KnowledgeService",
    "RagAnswer",
    "Retrieved",
    "RetrievalOptions",
    "rag",
]

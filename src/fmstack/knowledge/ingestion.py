"""Ingestion: files (from disk, uploads or bytes) loaded, chunked, embedded and stored, only those
that changed since the last time (by content hash); one bad file is reported with its reason and
the rest go on; progress per embedding batch; cancellable."""

from __future__ import annotations

import builtins
import fnmatch
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound
from ..store import KbChunk, KbDocument, KnowledgeBase
from . import containers
from .chunking import ChunkingOptions, chunk_document
from .loaders import LoadError, format_of, load
from .text import terms

if TYPE_CHECKING:
    from .service import KnowledgeBaseRecord, KnowledgeService

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 100 * 1024 * 1024
EMBED_BATCH = 64


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
    problem: str = ""  # why it cannot be read at all (a member of an archive)

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
class _Parsed:
    """A file read and split into chunks, waiting to be embedded with others."""

    source: str
    fmt: str
    digest: str
    size: int
    meta: dict
    existed: bool
    loaded_format: str
    title: str
    chunks: list
    texts: list[str]  # the leaf chunks' text: what is embedded


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


Progress = Callable[[IngestProgress, "FileResult | None"], None]  # called per embedding batch and per file


class Ingestion:
    def __init__(self, kbs: KnowledgeService):
        self.kbs = kbs
        self.db, self.models, self.index = kbs.db, kbs.models, kbs.index

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
        kb = self.kbs.settings(name_or_id)
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
            seen = {str(f) for f in files} | {r.source for r in report.files}  # with the files archives hold
            unopened = tuple(r.source + "!/" for r in report.files if r.status == "failed")  # their files stay
            for doc in self.kbs.documents(kb.id):
                if doc.source in seen or (unopened and doc.source.startswith(unopened)):
                    continue
                if any(doc.source.startswith(str(r) + "/") for r in roots):
                    self.kbs.delete_document(kb.id, doc.id)
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
        return self._ingest_all(self.kbs.settings(name_or_id), items, options or {}, progress, cancel)

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

        # Files are read and split one by one, then embedded together once their chunks fill a batch
        # (small files would otherwise each make a batch of their own), and stored one by one, each
        # in its own transaction. Outcomes are reported in the order the files came.
        pending: builtins.list[tuple[Source, FileResult | _Parsed]] = []

        def flush() -> None:
            parsed = [p for _, p in pending if isinstance(p, _Parsed)]
            base, size = state.bytes_done, sum(i.size for i, _ in pending)
            try:
                done = self._finish(kb, parsed, state, base, size, tick, cancel) if parsed else {}
                state.bytes_done = base + size
            except _Cancelled:
                report.cancelled = True
                done = {}
            for _, outcome in pending:
                result = done.get(id(outcome)) if isinstance(outcome, _Parsed) else outcome
                if result is None:  # cancelled before it was stored
                    continue
                state.files_done += 1
                if result.status in ("added", "updated"):
                    state.chunks += result.chunks
                state.failed += result.status == "failed"
                report.files.append(result)
                tick(result)
            pending.clear()

        tick()
        queue = deque(items)
        while queue:
            item = queue.popleft()
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            state.current = item.source
            outcome = self._next(kb, item, options, queue, state)
            if outcome is not None:  # None: an archive whose files are queued
                pending.append((item, outcome))
            waiting = sum(len(p.texts) for _, p in pending if isinstance(p, _Parsed))
            if pending and (waiting >= EMBED_BATCH or len(pending) >= EMBED_BATCH or not queue):
                flush()
                if report.cancelled:
                    break
        if pending:  # cancelled: the files read are not stored; what was decided without embedding is reported
            pending[:] = [(i, o) for i, o in pending if not isinstance(o, _Parsed)]
            flush()
        state.current = None
        report.seconds = state.elapsed
        report.progress = state.to_dict()
        return report

    def _next(self, kb, item: Source, options, queue, state) -> FileResult | _Parsed | None:
        """One file read and split into chunks, or its outcome; the files a container holds go to the
        front of the queue."""
        if item.problem:
            return FileResult(item.source, "failed", reason=item.problem)
        if item.size > MAX_FILE_BYTES:
            return FileResult(item.source, "failed", reason=f"larger than {MAX_FILE_BYTES // 2**20} MiB")
        try:
            data = item.read()
        except OSError as e:
            return FileResult(item.source, "failed", reason=f"cannot read: {e.strerror}")
        if containers.is_container(item.source):
            try:
                inner = [
                    Source(m.source, m.data or b"", {**item.meta, "container": item.source}, problem=m.reason)
                    for m in containers.members(item.source, data)
                ]
            except LoadError as e:
                return FileResult(item.source, "failed", reason=e.message)
            queue.extendleft(reversed(inner))  # in the container's order, before what was queued
            state.files_total += len(inner)
            state.bytes_total += sum(i.size for i in inner)
            if is_archive(item.source):  # no document of its own
                state.files_total -= 1
                state.bytes_done += item.size
                return None
        return self._prepare(kb, item.source, data, options, item.meta)

    def _prepare(self, kb: KnowledgeBaseRecord, source: str, data: bytes, options: dict, meta: dict):
        """Read and split one file: its chunks to embed, or its outcome (unchanged, or failed)."""
        digest = hashlib.sha256(data).hexdigest()
        with self.db.session() as s:
            old = s.scalar(select(KbDocument).where(KbDocument.kb_id == kb.id, KbDocument.source == source))
            if old is not None and old.content_hash == digest and old.status == "ready":
                return FileResult(source, "unchanged", old.n_chunks)
            existed = old is not None
        fmt = format_of(source) or "unknown"
        step = "read"
        try:
            loaded = load(source, data, options)
            step = "split into chunks"
            chunks = chunk_document(loaded.sections, ChunkingOptions.from_dict(kb.chunking))
        except LoadError as e:
            return self._failed(kb.id, source, fmt, digest, len(data), meta, e.message)
        except Exception as e:  # one file's failure is that file's reason; the batch goes on
            log.exception("ingesting %s failed while it was %s", source, step)
            return self._failed(
                kb.id, source, fmt, digest, len(data), meta, f"the file could not be {step} ({type(e).__name__}: {e})"
            )
        texts = [c.text for c in chunks if c.level == 0]
        return _Parsed(source, fmt, digest, len(data), meta, existed, loaded.format, loaded.title, chunks, texts)

    def _finish(self, kb, parsed: builtins.list[_Parsed], state, base, size, tick, cancel) -> dict[int, FileResult]:
        """Embed the chunks of several files in one go and store each file; outcomes by id(parsed)."""
        texts = [t for p in parsed for t in p.texts]

        def on_batch(done: int, total: int) -> None:
            state.bytes_done = base + size * done / max(total, 1)
            state.chunks_embedded += done - state._file_embedded
            state._file_embedded = done
            tick()

        state._file_embedded = 0
        try:
            vectors = self._embed(kb.embedding_model, texts, on_batch, cancel)
            parts: builtins.list[np.ndarray | Exception] = []
            at = 0
            for p in parsed:
                parts.append(vectors[at : at + len(p.texts)])
                at += len(p.texts)
        except _Cancelled:
            state.chunks_embedded -= state._file_embedded
            raise
        except Exception:  # find the file that cannot be embedded: each on its own
            log.exception("embedding %d files together failed; embedding them one by one", len(parsed))
            parts = []
            for p in parsed:
                try:
                    parts.append(self._embed(kb.embedding_model, p.texts, None, cancel))
                except _Cancelled:
                    raise
                except Exception as e:
                    parts.append(e)
        out = {}
        for p, vecs in zip(parsed, parts, strict=True):
            step = "embedded"
            try:
                if isinstance(vecs, Exception):
                    raise vecs
                step = "stored"
                stored = self._store(
                    kb.id,
                    p.source,
                    p.loaded_format,
                    p.digest,
                    p.size,
                    p.meta,
                    title=p.title,
                    chunks=p.chunks,
                    vectors=vecs,
                )
                self._index(kb.id, stored)
                out[id(p)] = FileResult(p.source, "updated" if p.existed else "added", stored.chunks)
            except Exception as e:  # one file's failure is that file's reason; the batch goes on
                log.exception("ingesting %s failed while it was %s", p.source, step)
                out[id(p)] = self._failed(
                    kb.id,
                    p.source,
                    p.fmt,
                    p.digest,
                    p.size,
                    p.meta,
                    f"the file could not be {step} ({type(e).__name__}: {e})",
                )
        return out

    def _index(self, kb_id: str, stored: Stored) -> None:
        """An index in the database (pgvector) takes the new chunks now, so every process finds
        them at once; if that fails the file stays stored and the next search indexes it."""
        refresh = getattr(self.kbs.index, "refresh", None)
        if refresh is not None:
            try:
                refresh(kb_id, document_id=stored.document_id, revision=stored.revision)
            except Exception:
                log.exception("indexing knowledge base %s failed; its next search indexes it", kb_id)

    def _failed(self, kb_id, source, fmt, digest, size, meta, reason: str) -> FileResult:
        """Record a file that could not be ingested. An earlier version that was ingested stays
        searchable as it was: a bad upload does not take a good document away."""
        try:
            with self.db.session() as s:
                kept = s.scalar(
                    select(KbDocument.id).where(
                        KbDocument.kb_id == kb_id, KbDocument.source == source, KbDocument.status == "ready"
                    )
                )
            if kept is not None:
                return FileResult(source, "failed", reason=f"{reason}; the version ingested before is kept")
            self._store(kb_id, source, fmt, digest, size, meta, error=reason)
        except Exception:
            log.exception("recording the failure of %s failed", source)
        return FileResult(source, "failed", reason=reason)

    def _embed(
        self,
        model_name: str,
        texts: builtins.list[str],
        on_batch: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> np.ndarray:
        model = self.models.embedding(model_name)
        cluster = self.models.cluster()
        if cluster is not None:  # spread over the nodes of a Ray cluster; stored here, once
            try:
                vectors = cluster.embed(
                    model_name, texts, EMBED_BATCH, on_batch, cancel.is_set if cancel else lambda: False
                )
            except InterruptedError:
                raise _Cancelled from None
            return vectors if vectors is not None else np.zeros((0, model.dimensions), dtype=np.float32)
        out = []
        for i in range(0, len(texts), EMBED_BATCH):
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            out.append(model.embed(texts[i : i + EMBED_BATCH], input_type="document"))
            if on_batch:
                on_batch(min(i + EMBED_BATCH, len(texts)), len(texts))
        return np.concatenate(out) if out else np.zeros((0, model.dimensions), dtype=np.float32)

    def _store(
        self, kb_id, source, fmt, digest, size, meta, *, title="", chunks=(), vectors=None, error=None
    ) -> Stored:
        """Replace a document and its chunks in one transaction."""
        for attempt in range(3):
            try:
                with self.db.session() as s:
                    plain = {"synchronize_session": False}  # a fresh session: no loaded objects to update
                    s.execute(
                        delete(KbChunk).where(
                            KbChunk.document_id.in_(
                                select(KbDocument.id).where(KbDocument.kb_id == kb_id, KbDocument.source == source)
                            )
                        ),
                        execution_options=plain,
                    )
                    s.execute(
                        delete(KbDocument).where(KbDocument.kb_id == kb_id, KbDocument.source == source),
                        execution_options=plain,
                    )
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
                    revision = s.scalar(
                        update(KnowledgeBase)
                        .where(KnowledgeBase.id == kb_id)
                        .values(revision=KnowledgeBase.revision + 1)
                        .returning(KnowledgeBase.revision),
                        execution_options=plain,
                    )
                    return Stored(leaves, doc.id, revision)
            except IntegrityError:
                if attempt == 2:
                    raise
        return Stored(0, None, None)


class Stored(NamedTuple):
    """A document written by `_store`: its searchable chunks, its id, the knowledge base's
    revision that write made."""

    chunks: int
    document_id: str | None
    revision: int | None


def is_archive(source: str) -> bool:
    """A container that is not a document itself (a ZIP; an e-mail is both)."""
    return containers.is_container(source) and not source.lower().endswith(".eml")


def _wanted(f: Path, root: Path, include: list[str] | None, exclude: list[str] | None) -> bool:
    rel = str(f.relative_to(root))
    if any(part.startswith(".") for part in f.relative_to(root).parts):
        return False
    if include and not any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(f.name, g) for g in include):
        return False
    if exclude and any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(f.name, g) for g in exclude):
        return False
    return True

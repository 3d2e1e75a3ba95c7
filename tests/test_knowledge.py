"""Knowledge bases on real files, the real embedding model and the real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import kb_fixtures
from fmstack.errors import InvalidInput, NotFound
from fmstack.knowledge.chunking import ChunkingOptions, chunk_document
from fmstack.knowledge.loaders import LoadError, Section, load
from fmstack.knowledge.text import count_tokens


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    return kb_fixtures.build(tmp_path_factory.mktemp("docs"))


@pytest.fixture(scope="module")
def kb(fm, docs):
    fm.knowledge.create("kb-main", description="fixtures", chunking={"chunk_size": 80, "overlap": 10})
    report = fm.knowledge.ingest("kb-main", [docs])
    return report


def test_every_format_is_read_with_structure(docs):
    pdf = load("tower.pdf", (docs / "tower.pdf").read_bytes())
    assert [s.page for s in pdf.sections] == [1, 2, 3] and "Page two" in pdf.sections[1].text
    docx = load("panda.docx", (docs / "panda.docx").read_bytes())
    text = "\n".join(s.text for s in docx.sections)
    assert "Bamboo | 12-38" in text and "大熊猫主要生活在" in text
    assert docx.sections[-1].heading == ["熊猫手册", "Feeding table"]
    html = load("eiffel.html", (docs / "eiffel.html").read_bytes())
    body = "\n".join(s.text for s in html.sections)
    assert html.title == "Eiffel Tower guide" and "330 metres" in body
    assert "tracking" not in body and "Copyright footer" not in body and "Home | About" not in body
    assert html.sections[-1].heading == ["Eiffel Tower", "Visiting"]
    md = load("wall.md", (docs / "wall.md").read_bytes())
    assert [s.heading for s in md.sections] == [["长城"], ["长城", "历史"], ["Coffee"]]
    gbk = load("notes.txt", (docs / "notes-gbk.txt").read_bytes())
    assert gbk.sections[0].text.startswith("北京的冬天很冷")
    csv = load("faq.csv", (docs / "faq.csv").read_bytes(), {"text_column": "answer"})
    assert csv.sections[1].meta == {"question": "Do you ship to Canada?", "category": "shipping", "record": 2}
    jl = load("reviews.jsonl", (docs / "reviews.jsonl").read_bytes())
    assert jl.sections[0].text == "这家店的咖啡非常好喝。" and jl.sections[0].meta["stars"] == 5


@pytest.mark.parametrize("name, reason", [
    ("corrupt.pdf", "damaged"), ("locked.pdf", "encrypted"), ("empty.txt", "empty"), ("image.xyz", "unsupported"),
])
def test_bad_files_say_why(docs, name, reason):
    with pytest.raises(LoadError, match=reason):
        load(name, (docs / "bad" / name).read_bytes())


def test_encrypted_pdf_opens_with_its_password(docs):
    doc = load("locked.pdf", (docs / "bad" / "locked.pdf").read_bytes(), {"password": "hunter2"})
    assert "moon base" in doc.sections[0].text


def test_a_batch_ingests_despite_bad_files(kb):
    by = {os.path.basename(f.source): f for f in kb.files}
    assert {n for n, f in by.items() if f.status == "failed"} == {"corrupt.pdf", "locked.pdf", "empty.txt", "image.xyz"}
    assert "encrypted" in by["locked.pdf"].reason
    good = [f for f in kb.files if f.status == "added"]
    assert len(good) == 8 and all(f.chunks > 0 for f in good)  # faq.csv too: all its columns become the text


def test_chunks_keep_page_heading_and_offsets(fm, kb, docs):
    hits = fm.knowledge.retrieve("kb-main", "seven million visitors every year", mode="bm25", top_k=3)
    top = hits[0]
    assert top.title == "tower.pdf" or top.source.endswith("tower.pdf")
    assert top.page == 3
    sections = load("tower.pdf", (docs / "tower.pdf").read_bytes()).sections
    full = "\n\n".join(s.text for s in sections)
    assert full[top.start_char:top.end_char] == top.text
    wall = fm.knowledge.retrieve("kb-main", "明长城修建了多久", mode="bm25", top_k=1)[0]
    assert wall.heading == "长城 > 历史"


def test_cjk_text_without_punctuation_is_never_one_huge_chunk():
    opts = ChunkingOptions(chunk_size=64, overlap=8)
    chunks = chunk_document([Section("没有标点的中文句子" * 300)], opts)
    assert len(chunks) > 10 and max(count_tokens(c.text) for c in chunks) <= 64
    sentences = chunk_document([Section("第一句话。第二句话！第三句话？第四句话；" * 40)], opts)
    assert all(c.text.endswith(("。", "！", "？", "；")) for c in sentences)


def test_hierarchical_returns_the_parent_section(fm, docs):
    fm.knowledge.create("kb-parents", chunking={"strategy": "hierarchical", "parent_size": 200, "child_size": 30})
    fm.knowledge.ingest("kb-parents", [docs / "wall.md"])
    hit = fm.knowledge.retrieve("kb-parents", "秦始皇把城墙连接起来", top_k=1)[0]
    assert "秦始皇" in hit.text and "山海关" in hit.text  # the whole section, not just the matching child


def test_incremental_sync(fm, tmp_path):
    folder = kb_fixtures.build(tmp_path / "sync")
    fm.knowledge.create("kb-sync")
    first = fm.knowledge.ingest("kb-sync", [folder], exclude=["bad/*"])
    assert first.count("added") == 8 and first.count("failed") == 0
    again = fm.knowledge.ingest("kb-sync", [folder], exclude=["bad/*"])
    assert again.count("unchanged") == 8 and again.chunks == 0
    (folder / "coffee.txt").write_text("Tea is grown in Yunnan and Darjeeling.", encoding="utf-8")
    (folder / "faq.csv").unlink()
    third = fm.knowledge.ingest("kb-sync", [folder], exclude=["bad/*"], sync=True)
    assert (third.count("updated"), third.count("removed"), third.count("unchanged")) == (1, 1, 6)
    kbrec = fm.knowledge.get("kb-sync")
    assert kbrec.documents == 7
    assert fm.knowledge.retrieve("kb-sync", "Yunnan tea", mode="bm25", top_k=1)[0].source.endswith("coffee.txt")
    old_text = fm.knowledge.retrieve("kb-sync", "Arabica roasting", mode="bm25", top_k=5)
    assert not any(h.source.endswith("coffee.txt") for h in old_text)  # the old version is gone
    only_md = fm.knowledge.ingest("kb-sync", [folder], include=["*.md"])
    assert [os.path.basename(f.source) for f in only_md.files] == ["wall.md"]


def test_retrieval_modes_and_filters(fm, kb):
    for mode in ("bm25", "dense", "hybrid"):
        hits = fm.knowledge.retrieve("kb-main", "大熊猫每天吃多少竹子？", mode=mode, top_k=3)
        assert hits and "竹子" in hits[0].text, mode
    en = fm.knowledge.retrieve("kb-main", "How tall is the tower in Paris?", top_k=3)
    assert "330" in en[0].text and set(en[0].scores) <= {"dense", "bm25"}
    filtered = fm.knowledge.retrieve("kb-main", "tower", top_k=10, filters={"source": "*.html"})
    assert filtered and all(h.source.endswith(".html") for h in filtered)
    assert fm.knowledge.retrieve("kb-main", "tower", top_k=2, mode="bm25") and \
        len(fm.knowledge.retrieve("kb-main", "tower", top_k=2)) <= 2
    with pytest.raises(InvalidInput):
        fm.knowledge.retrieve("kb-main", "x", mode="psychic")
    with pytest.raises(NotFound):
        fm.knowledge.retrieve("no-such-kb", "x")


def test_answers_cite_the_passage_that_holds_the_answer(fm, kb):
    ans = fm.ask_kb("kb-main", "How tall is the Eiffel Tower?", max_tokens=60, temperature=0)
    assert ans.answered and ans.citations
    assert any("330" in c.text for c in ans.citations)
    assert all(c.source.endswith(("eiffel.html", "tower.pdf")) for c in ans.citations)
    for c in ans.citations:
        assert f"[{c.number}]" in ans.text or c.inferred


def test_unanswerable_questions_get_i_dont_know(fm, kb):
    ans = fm.ask_kb("kb-main", "What is the recipe for chocolate cake?", max_tokens=40)
    assert not ans.answered and "don't know" in ans.text and ans.citations == []


def test_knowledge_base_names_and_options_are_checked(fm):
    with pytest.raises(InvalidInput):
        fm.knowledge.create("bad name!")
    with pytest.raises(InvalidInput):
        fm.knowledge.create("kb-x", chunking={"strategy": "magic"})
    fm.knowledge.create("kb-dup")
    with pytest.raises(InvalidInput, match="already exists"):
        fm.knowledge.create("kb-dup")
    fm.knowledge.delete("kb-dup")
    with pytest.raises(NotFound):
        fm.knowledge.get("kb-dup")


def test_interrupted_ingestion_resumes_without_duplicates(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"doc{i:03}.md").write_text(f"# Document {i}\n\n" + f"Paragraph about topic {i}. " * 60, encoding="utf-8")
    env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp_path / "data")}
    env.pop("FMSTACK_CONFIG", None)
    env.pop("FMSTACK_DATABASE_URL", None)
    run = [sys.executable, "-m", "fmstack"]
    subprocess.run(run + ["kb", "create", "big"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(run + ["kb", "ingest", "big", str(folder)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Kill it once some documents are stored (bounded wait, not a timing assertion).
    from fmstack import Fmstack, Settings

    probe = Fmstack(Settings.from_env(env=env))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        docs = probe.knowledge.documents("big")
        if len(docs) >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    partial = probe.knowledge.documents("big")
    assert 0 < len(partial) < 60
    assert all(d.n_chunks > 0 for d in partial)  # whole files only
    out = subprocess.run(run + ["kb", "ingest", "big", str(folder), "--json"], env=env, check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    assert report["unchanged"] == len(partial) and report["added"] == 60 - len(partial)
    final = probe.knowledge.get("big")
    assert final.documents == 60
    from sqlalchemy import func, select

    from fmstack.store import KbChunk

    with probe.db.session() as s:
        dupes = s.execute(select(KbChunk.document_id, KbChunk.seq, func.count()).group_by(KbChunk.document_id, KbChunk.seq)
                          .having(func.count() > 1)).all()
    assert dupes == []
    assert final.chunks == sum(d.n_chunks for d in probe.knowledge.documents("big"))
    probe.close()

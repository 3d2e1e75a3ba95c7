"""Knowledge bases on real files, the real embedding model and the real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import kb_fixtures
import pytest

from fmstack.errors import InvalidInput, NotFound
from fmstack.knowledge.chunking import ChunkingOptions, chunk_document
from fmstack.knowledge.index import ChunkIndex
from fmstack.knowledge.loaders import LoadError, Section, load
from fmstack.knowledge.text import count_tokens
from fmstack.models.types import GenerationParams


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


@pytest.mark.parametrize(
    "name, reason",
    [
        ("corrupt.pdf", "damaged"),
        ("locked.pdf", "encrypted"),
        ("empty.txt", "empty"),
        ("image.xyz", "unsupported"),
    ],
)
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
    assert full[top.start_char : top.end_char] == top.text
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


def test_a_file_failing_at_any_step_is_that_files_reason_and_the_batch_goes_on(fm, tmp_path):
    import docx
    from lxml import etree

    from fmstack.knowledge import loaders

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Storms\n\nThe keeper's log lists 42 storms in 1911.", encoding="utf-8")
    commented = docx.Document()
    commented.add_paragraph("The harbour crane lifts 12 tonnes.")
    commented.element.body.insert(0, etree.Comment("a comment node in the body"))  # lxml: its tag is no string
    commented.save(folder / "commented.docx")
    empty = docx.Document()
    empty.add_paragraph("   ")
    empty.save(folder / "blank.docx")
    (folder / "odd.boom").write_bytes(b"a file its reader does not expect")

    @loaders.loader("boom", ".boom")
    def _explodes(data: bytes, options: dict) -> loaders.LoadedDocument:
        raise RuntimeError("the reader met something it did not expect")

    try:
        fm.knowledge.create("kb-mixed")
        report = fm.knowledge.ingest("kb-mixed", [folder])
    finally:
        loaders.LOADERS.pop("boom"), loaders.FORMATS.pop(".boom")
    by = {os.path.basename(f.source): f for f in report.files}
    assert by["good.md"].status == "added" and by["commented.docx"].status == "added"
    assert by["blank.docx"].status == "failed" and "DOCX holds no text" in by["blank.docx"].reason
    assert by["odd.boom"].status == "failed" and "RuntimeError" in by["odd.boom"].reason
    assert fm.knowledge.retrieve("kb-mixed", "harbour crane tonnes", mode="bm25", top_k=1)[0].source.endswith(
        "commented.docx"
    )
    # a broken new version of a document leaves the version ingested before searchable
    (folder / "good.md").write_bytes(b"")
    again = fm.knowledge.ingest("kb-mixed", [folder / "good.md"])
    assert again.files[0].status == "failed" and "ingested before is kept" in again.files[0].reason
    assert fm.knowledge.retrieve("kb-mixed", "keeper storms", mode="bm25", top_k=1)[0].source.endswith("good.md")


def test_scanned_pages_and_images_are_read_with_ocr_and_found_by_their_words(fm, tmp_path):
    from fpdf import FPDF

    folder = tmp_path / "scans"
    folder.mkdir()
    scan = kb_fixtures.scan_png(["Quartermaster Evelyn Hargreave signed the ledger.", "灯塔看守人记录了四十二场风暴。"])
    (tmp_path / "page2.png").write_bytes(scan)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.multi_cell(0, 8, "Harbour regulations. Vessels moor at the north quay after dusk.")
    pdf.add_page()
    pdf.image(str(tmp_path / "page2.png"), x=0, y=0, w=pdf.w)  # page 2: a scan, no text layer
    pdf.output(str(folder / "harbour.pdf"))
    (folder / "crane.png").write_bytes(
        kb_fixtures.scan_png(["码头起重机每次能吊起十二吨货物。", "Crane inspection due every March."])
    )

    fm.knowledge.create("kb-ocr")
    report = fm.knowledge.ingest("kb-ocr", [folder])
    assert {f.status for f in report.files} == {"added"}, [f.reason for f in report.files]
    hit = fm.knowledge.retrieve("kb-ocr", "Quartermaster Hargreave ledger", mode="bm25", top_k=1)[0]
    assert hit.source.endswith("harbour.pdf") and hit.page == 2
    assert hit.meta.get("ocr") is True and hit.meta["ocr_confidence"] > 60
    zh = fm.knowledge.retrieve("kb-ocr", "看守人记录了多少场风暴", mode="bm25", top_k=1)[0]
    assert zh.source.endswith("harbour.pdf") and "四十二场风暴" in zh.text
    typed = fm.knowledge.retrieve("kb-ocr", "north quay dusk", mode="bm25", top_k=1)[0]
    assert typed.page == 1 and "ocr" not in typed.meta  # a page with a text layer is not OCR'd
    crane = fm.knowledge.retrieve("kb-ocr", "起重机能吊起多少吨", top_k=1)[0]
    assert crane.source.endswith("crane.png") and "十二吨" in crane.text


def _pdf_text(doc) -> str:
    return "\n\n".join(s.text for s in doc.sections)


def test_a_pdf_table_is_read_as_a_markdown_table():
    data, rows = kb_fixtures.table_pdf()
    text = _pdf_text(load("fleet.pdf", data))
    for row in rows:
        assert row in text
    assert "| --- | --- | --- |" in text
    assert text.index("The fleet report") < text.index(rows[0]) < text.index("Harbour fees")


def test_running_headers_footers_and_page_numbers_are_dropped():
    data, body, running = kb_fixtures.running_heads_pdf()
    doc = load("handbook.pdf", data)
    text = _pdf_text(doc)
    assert all(sentence in text for sentence in body)
    assert not any(r in text for r in running)
    assert sorted({s.page for s in doc.sections}) == [1, 2, 3, 4]


def test_a_two_column_page_is_read_column_by_column():
    data, sentences = kb_fixtures.columns_pdf()
    text = _pdf_text(load("lighthouse.pdf", data))
    at = [text.find(s) for s in sentences]
    assert all(i >= 0 for i in at), [s for s, i in zip(sentences, at, strict=True) if i < 0]
    assert at == sorted(at)  # the whole left column, then the right one
    assert text.startswith("Notes from the Lighthouse")


def test_a_page_with_more_characters_than_the_layout_limit_is_still_read(monkeypatch):
    from fmstack.knowledge import pdf

    data, sentences = kb_fixtures.columns_pdf()
    monkeypatch.setattr(pdf, "MAX_PAGE_CHARS", 50)  # the real limit (100,000 on a page) takes a big file
    text = _pdf_text(load("lighthouse.pdf", data))
    assert all(s.split()[-1] in text for s in sentences)  # every line read, in the file's order


@pytest.mark.parametrize("chinese", [False, True], ids=["en", "zh"])
def test_pdf_headings_come_from_font_size(chinese):
    data, labels = kb_fixtures.headings_pdf(chinese)
    doc = load("guide.pdf", data)
    for path, sentence in labels:
        holding = [s for s in doc.sections if sentence in s.text]
        assert holding and holding[0].heading == path, (sentence, [s.heading for s in holding])
    if chinese:  # no spaces between Chinese characters, none breaking a sentence
        assert "大熊猫每天要吃十二到三十八公斤竹子。" in _pdf_text(doc)


def test_structured_pdfs_are_found_by_their_tables_and_headings(fm, tmp_path):
    folder = tmp_path / "structured"
    folder.mkdir()
    (folder / "fleet.pdf").write_bytes(kb_fixtures.table_pdf()[0])
    (folder / "panda.pdf").write_bytes(kb_fixtures.headings_pdf(chinese=True)[0])
    fm.knowledge.create("kb-pdf")
    report = fm.knowledge.ingest("kb-pdf", [folder])
    assert [f.status for f in report.files] == ["added", "added"]
    hits = fm.knowledge.retrieve("kb-pdf", "What is the tonnage of the Baltic Star?", top_k=2)
    assert "| Baltic Star | 8,150 | East 1 |" in hits[0].text
    hits = fm.knowledge.retrieve("kb-pdf", "大熊猫自然保护区有多少个？", top_k=2)
    assert "六十七个大熊猫自然保护区" in hits[0].text
    assert hits[0].heading.endswith("1.1 保护区") and hits[0].page == 1


def test_without_ocr_an_image_says_why(fm, tmp_path, monkeypatch):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "receipt.png").write_bytes(kb_fixtures.scan_png(["A receipt for 12 tonnes."]))
    fm.knowledge.create("kb-no-ocr")
    off = fm.knowledge.ingest("kb-no-ocr", [folder], options={"ocr": False}).files[0]
    assert off.status == "failed" and "OCR is turned off" in off.reason
    monkeypatch.setenv("FMSTACK_TESSERACT_CMD", str(tmp_path / "no-tesseract-here"))
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = fm.knowledge.ingest("kb-no-ocr", [folder]).files[0]
    assert missing.status == "failed" and "Tesseract is not installed" in missing.reason


def test_office_ebook_mail_and_archive_files_are_read_and_found(fm, tmp_path):
    folder = tmp_path / "office"
    folder.mkdir()
    files = {
        "deck.pptx": kb_fixtures.pptx_bytes(),
        "ships.xlsx": kb_fixtures.xlsx_bytes(),
        "tides.xls": kb_fixtures.xls_bytes(),
        "lamp.odt": kb_fixtures.odt_bytes(),
        "ferry.rtf": kb_fixtures.rtf_bytes(),
        "tales.epub": kb_fixtures.epub_bytes(),
        "pilotage.eml": kb_fixtures.eml_bytes(),
        "bundle.zip": kb_fixtures.zip_bytes(
            {
                "notes/cranes.md": b"# Cranes\n\nThe dockside derrick lifts 40 tonnes.",
                "nested.zip": kb_fixtures.zip_bytes({"inner/buoys.txt": b"Red buoys mark the port side."}),
                "broken.pdf": b"%PDF-1.4 this is not really a PDF",
                "__MACOSX/._cranes.md": b"resource fork",
            }
        ),
        "bomb.zip": kb_fixtures.zip_bytes({"zeros.txt": b"0" * 30_000_000}),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    fm.knowledge.create("kb-office")
    report = fm.knowledge.ingest("kb-office", [folder])
    by = {f.source.split(str(folder) + "/")[-1]: f for f in report.files}
    added = {n for n, f in by.items() if f.status == "added"}
    assert added == {
        "deck.pptx",
        "ships.xlsx",
        "tides.xls",
        "lamp.odt",
        "ferry.rtf",
        "tales.epub",
        "pilotage.eml",
        "pilotage.eml!/roster.txt",
        "pilotage.eml!/panda.docx",
        "bundle.zip!/notes/cranes.md",
        "bundle.zip!/nested.zip!/inner/buoys.txt",
    }, {n: f.reason for n, f in by.items()}
    assert "damaged" in by["bundle.zip!/broken.pdf"].reason and "zip bomb" in by["bomb.zip"].reason
    assert len(report.files) == len(added) + 2  # the archives themselves are no documents; junk is skipped

    def found(query: str) -> str:
        hit = fm.knowledge.retrieve("kb-office", query, mode="bm25", top_k=1)[0]
        return hit.source.split(str(folder) + "/")[-1]

    assert found("gantry north quay") == "deck.pptx"  # speaker notes
    assert found("Pelican berth depth") == "deck.pptx"  # a table on a slide
    assert found("Evelyn Hargreave quartermaster") == "ships.xlsx"  # a second sheet, under its headers
    assert found("长江号 中国") == "ships.xlsx"
    assert found("springtide Monday") == "tides.xls"
    assert found("wick trimmed evening") == "lamp.odt"
    assert found("渡船 中午 出发") == "ferry.rtf"  # GBK escapes decoded
    assert found("squalls reef winter") == "tales.epub"
    assert found("pilot fairway buoy tankers") == "pilotage.eml"
    assert found("tug Valiant night shift") == "pilotage.eml!/roster.txt"
    assert found("dockside derrick tonnes") == "bundle.zip!/notes/cranes.md"
    assert found("red buoys port side") == "bundle.zip!/nested.zip!/inner/buoys.txt"
    ships = fm.knowledge.retrieve("kb-office", "Evelyn Hargreave", mode="bm25", top_k=1)[0]
    assert "Name: Evelyn Hargreave; Role: Quartermaster" in ships.text and ships.heading == "Staff"

    # syncing the folder again keeps the archive's files (they are not files of the folder)
    again = fm.knowledge.ingest("kb-office", [folder], sync=True)
    assert again.count("removed") == 0 and again.count("unchanged") == len(added)


def test_an_appended_document_extends_the_search_index_and_a_removed_one_rebuilds_it(fm, tmp_path):
    if not isinstance(fm.knowledge.index, ChunkIndex):  # appends to pgvector: tests/test_pgvector.py
        pytest.skip("the in-process index's snapshots; this database searches with pgvector")
    fm.knowledge.create("kb-append")
    first = tmp_path / "first.md"
    first.write_text("# Tides\n\nThe spring tide at the harbour reached 7.2 metres.", encoding="utf-8")
    fm.knowledge.ingest("kb-append", [first])
    kb_id = fm.knowledge.get("kb-append").id
    assert fm.knowledge.retrieve("kb-append", "spring tide", mode="bm25")[0].source.endswith("first.md")
    before = fm.knowledge.index._snapshots[kb_id]
    second = tmp_path / "second.md"
    second.write_text("# Buoys\n\n红色浮标标出港口的左侧航道。", encoding="utf-8")
    fm.knowledge.ingest("kb-append", [second])
    hits = fm.knowledge.retrieve("kb-append", "红色浮标", mode="hybrid", top_k=2)
    assert hits[0].source.endswith("second.md")
    after = fm.knowledge.index._snapshots[kb_id]
    assert after is not before and after.keywords is before.keywords  # extended, not read again
    assert len(after.ids) == len(before.ids) + 1 and after.vectors.shape[0] == len(after.ids)
    assert fm.knowledge.retrieve("kb-append", "spring tide", mode="bm25")[0].source.endswith("first.md")
    doc = next(d for d in fm.knowledge.documents(kb_id) if d.source.endswith("first.md"))
    fm.knowledge.delete_document(kb_id, doc.id)
    assert not any(
        h.source.endswith("first.md") for h in fm.knowledge.retrieve("kb-append", "spring tide", mode="bm25")
    )
    assert fm.knowledge.index._snapshots[kb_id].keywords is not before.keywords  # a removal reads everything


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
    assert (
        fm.knowledge.retrieve("kb-main", "tower", top_k=2, mode="bm25")
        and len(fm.knowledge.retrieve("kb-main", "tower", top_k=2)) <= 2
    )
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
    zh = fm.ask_kb("kb-main", "巧克力蛋糕怎么做？", max_tokens=40)
    assert not zh.answered and zh.text.startswith("我不知道") and zh.citations == []


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
        (folder / f"doc{i:03}.md").write_text(
            f"# Document {i}\n\n" + f"Paragraph about topic {i}. " * 60, encoding="utf-8"
        )
    env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp_path / "data")}
    env.pop("FMSTACK_CONFIG", None)
    env.pop("FMSTACK_DATABASE_URL", None)
    run = [sys.executable, "-m", "fmstack"]
    subprocess.run(run + ["kb", "create", "big"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        run + ["kb", "ingest", "big", str(folder)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
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
    out = subprocess.run(
        run + ["kb", "ingest", "big", str(folder), "--json"], env=env, check=True, capture_output=True, text=True
    )
    report = json.loads(out.stdout)
    assert report["unchanged"] == len(partial) and report["added"] == 60 - len(partial)
    final = probe.knowledge.get("big")
    assert final.documents == 60
    from sqlalchemy import func, select

    from fmstack.store import KbChunk

    with probe.db.session() as s:
        dupes = s.execute(
            select(KbChunk.document_id, KbChunk.seq, func.count())
            .group_by(KbChunk.document_id, KbChunk.seq)
            .having(func.count() > 1)
        ).all()
    assert dupes == []
    assert final.chunks == sum(d.n_chunks for d in probe.knowledge.documents("big"))
    probe.close()


def test_mmr_makes_room_for_a_different_passage(fm, tmp_path):
    folder = tmp_path / "dupes"
    folder.mkdir()
    base = "The lighthouse on Gull Island is 42 metres tall and was lit in 1871."
    for i, tail in enumerate(["", " It is white.", " Its lamp is electric now."]):
        (folder / f"copy{i}.txt").write_text(base + tail, encoding="utf-8")
    (folder / "keeper.txt").write_text(
        "The Gull Island lighthouse keeper rowed to the mainland for supplies each week.", encoding="utf-8"
    )
    fm.knowledge.create("kb-mmr")
    fm.knowledge.ingest("kb-mmr", [folder])
    question = "How tall is the Gull Island lighthouse?"
    plain = [h.source.rsplit("/", 1)[-1] for h in fm.knowledge.retrieve("kb-mmr", question, top_k=3)]
    diverse = fm.knowledge.retrieve("kb-mmr", question, top_k=3, mmr=True)
    names = [h.source.rsplit("/", 1)[-1] for h in diverse]
    assert "keeper.txt" not in plain  # the three near-copies fill the top 3…
    assert "keeper.txt" in names and names[0] == plain[0]  # …MMR keeps the best and swaps a copy for news
    with pytest.raises(InvalidInput):
        fm.knowledge.retrieve("kb-mmr", question, multi_query=9)


def test_multi_query_rewrites_are_checked_and_fused(fm, kb):
    from fmstack.knowledge.rewrite import rewrite_queries

    model = fm.models.chat(None)
    for question in ("How tall is the Eiffel Tower?", "大熊猫吃什么？"):
        rewrites = rewrite_queries(model, question, 3)
        assert len(rewrites) <= 3 and len(set(rewrites)) == len(rewrites)
        assert all(r.strip().lower() != question.lower() for r in rewrites)
        assert all(r.endswith(("?", "？")) for r in rewrites)
    hits = fm.knowledge.retrieve("kb-main", "How tall is the Eiffel Tower?", multi_query=2, top_k=5)
    assert any("330" in h.text for h in hits[:3])
    assert all(set(h.scores) <= {"dense", "bm25"} for h in hits)


def test_hnsw_index_agrees_with_exact_search_and_grows(fm, kb, docs):
    from fmstack.knowledge.index import ChunkIndex

    exact = fm.knowledge.index
    graph = ChunkIndex(fm.db, ann_threshold=1)  # every knowledge base gets a graph
    kb_id = fm.knowledge.get("kb-main").id
    embed = fm.models.embedding(None)
    for q in ("How tall is the Eiffel Tower?", "大熊猫吃什么？", "When was the tower finished?"):
        v = embed.embed([q], input_type="query")[0]
        want = [h.chunk_id for h in exact.dense(kb_id, v, 5)]
        got = [h.chunk_id for h in graph.dense(kb_id, v, 5)]
        assert got[0] == want[0] and len(set(got) & set(want)) >= 4
    assert graph._snapshots[kb_id].ann is not None
    allowed = {d.id for d in fm.knowledge.documents("kb-main") if d.source.endswith("panda.docx")}
    v = embed.embed(["How tall is the Eiffel Tower?"], input_type="query")[0]
    filtered = graph.dense(kb_id, v, 3, allowed)
    with fm.db.session() as s:
        from fmstack.store import KbChunk as Chunk

        assert {s.get(Chunk, h.chunk_id).document_id for h in filtered} == allowed
    # A new file extends the graph instead of rebuilding it.
    fm.knowledge.create("kb-grow")
    fm.knowledge.ingest("kb-grow", [docs / "eiffel.html"])
    grow_id = fm.knowledge.get("kb-grow").id
    graph.dense(grow_id, v, 3)
    first = graph._snapshots[grow_id].ann
    fm.knowledge.ingest("kb-grow", [docs / "tower.pdf"])
    hits = graph.dense(grow_id, embed.embed(["Page two of the tower report"], input_type="query")[0], 3)
    assert graph._snapshots[grow_id].ann is first and first.ntotal == len(graph._snapshots[grow_id].ids)
    assert hits and graph.vectors(grow_id, [hits[0].chunk_id]).shape == (1, 384)


def test_chat_with_a_knowledge_base_rewrites_follow_ups(fm, kb):
    from fmstack.knowledge.rag import DONT_KNOW, CitationsEvent

    conv = fm.conversations.create(meta={"knowledge_base": "kb-main"})
    first = fm.say(conv.id, "How tall is the Eiffel Tower?", max_tokens=60, temperature=0).assistant_message
    assert first.meta["knowledge_base"] == "kb-main" and first.meta["query"] == "How tall is the Eiffel Tower?"
    assert first.meta["citations"] and any("330" in c["text"] for c in first.meta["citations"])
    events = list(fm.chat.send(conv.id, "When was it built?", params=GenerationParams(max_tokens=60, temperature=0)))
    cites = [e for e in events if isinstance(e, CitationsEvent)]
    saved = events[-1].assistant_message
    assert len(cites) == 1 and saved.meta["citations"] == [c.to_dict() for c in cites[0].citations]
    # The follow-up was searched as a question that stands alone (the model's rewrite, or the
    # previous question prepended), and it found the passage with the date.
    assert "Eiffel" in saved.meta["query"] and "built" in saved.meta["query"]
    assert any("1889" in c["text"] for c in saved.meta["citations"])
    unknown = fm.say(
        conv.id, "What is the capital of Mongolia's stock exchange index?", max_tokens=40
    ).assistant_message
    assert unknown.content == DONT_KNOW and unknown.meta["citations"] == []
    # Stored with the conversation: reading it back gives the same citations.
    again = fm.conversations.get(conv.id).messages
    assert again[-3].meta == saved.meta
    with pytest.raises(InvalidInput):
        fm.say(conv.id, "How tall?", knowledge_base="kb-main", retrieval={"bogus": 1})

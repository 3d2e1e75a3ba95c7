"""Small real documents of every supported format, English and Chinese, built on demand."""

from __future__ import annotations

import io
import json
from pathlib import Path

WALL_ZH = (
    "长城是中国古代的军事防御工程。它东起山海关，西至嘉峪关，全长超过两万一千公里。"
    "秦始皇统一六国后，把各国的城墙连接起来。明朝又大规模重修了长城，今天看到的多是明长城。"
)
PANDA_ZH = "大熊猫主要生活在四川、陕西和甘肃的山区。它们每天要吃十二到三十八公斤竹子。大熊猫是中国的国宝。"
EIFFEL = (
    "The Eiffel Tower stands on the Champ de Mars in Paris. It was completed in 1889 for the World's Fair. "
    "The tower is 330 metres tall and was designed by the engineering company of Gustave Eiffel."
)
COFFEE = (
    "Coffee plants grow best in the tropics at high altitude. Arabica beans come from Coffea arabica. "
    "Roasting turns green beans brown and creates the aroma."
)


def pdf_bytes(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def encrypted_pdf_bytes() -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(pdf_bytes(["Secret plans for the moon base."])))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="hunter2", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    import io

    import docx

    d = docx.Document()
    d.add_heading("熊猫手册", level=1)
    d.add_paragraph(PANDA_ZH)
    d.add_heading("Feeding table", level=2)
    table = d.add_table(rows=3, cols=2)
    for row, (a, b) in zip(table.rows, [("Food", "Kilograms per day"), ("Bamboo", "12-38"), ("Apples", "0.5")]):
        row.cells[0].text, row.cells[1].text = a, b
    d.add_paragraph("Pandas sleep between meals.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


HTML = f"""<!doctype html><html><head><title>Eiffel Tower guide</title><style>p {{color: red}}</style>
<script>var tracking = "do not index me";</script></head>
<body><nav>Home | About | Contact</nav>
<main><h1>Eiffel Tower</h1><p>{EIFFEL}</p><h2>Visiting</h2><p>Tickets can be bought online. The top floor closes at 22:30.</p></main>
<footer>Copyright footer text</footer></body></html>"""

MARKDOWN = f"""# 长城

{WALL_ZH}

## 历史

```python
# not a heading inside code
print("长城")
```

明长城的修建持续了两百多年。

# Coffee

{COFFEE}
"""


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wall.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "eiffel.html").write_text(HTML, encoding="utf-8")
    (folder / "tower.pdf").write_bytes(
        pdf_bytes(
            [
                "Page one. " + EIFFEL,
                "Page two. The tower has three levels for visitors. Restaurants are on the first and second levels.",
                "Page three. About seven million people visit the tower every year.",
            ]
        )
    )
    (folder / "panda.docx").write_bytes(docx_bytes())
    (folder / "notes-gbk.txt").write_bytes(("北京的冬天很冷，夏天很热。" * 3).encode("gb18030"))
    (folder / "coffee.txt").write_text(COFFEE, encoding="utf-8")
    (folder / "faq.csv").write_text(
        "question,answer,category\nWhat is the return window?,Items can be returned within 30 days.,returns\n"
        "Do you ship to Canada?,We ship to Canada in 5 to 7 days.,shipping\n",
        encoding="utf-8",
    )
    (folder / "reviews.jsonl").write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"text": "这家店的咖啡非常好喝。", "stars": 5},
                {"text": "Service was slow but friendly.", "stars": 3},
            ]
        ),
        encoding="utf-8",
    )
    bad = folder / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage" + bytes(range(256)))
    (bad / "locked.pdf").write_bytes(encrypted_pdf_bytes())
    (bad / "empty.txt").write_bytes(b"")
    (bad / "image.xyz").write_bytes(b"\x89PNG not really")
    return folder


def cjk_font() -> str:
    """A font with Chinese and Latin letters (Debian's fonts-noto-cjk, installed by .ci/run)."""
    for path in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    ):
        if Path(path).exists():
            return path
    raise FileNotFoundError("no Noto CJK font: apt-get install fonts-noto-cjk")


# -- office, e-book, mail and archive files, made with the libraries that write them ----------------
def pptx_bytes() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    s = deck.slides.add_slide(deck.slide_layouts[1])
    s.shapes.title.text = "Quarterly harbour report"
    s.placeholders[1].text = "Cargo volume rose 18 percent.\n集装箱吞吐量增长了百分之十八。"
    s.notes_slide.notes_text_frame.text = "Mention the new gantry at the north quay."
    s2 = deck.slides.add_slide(deck.slide_layouts[5])
    s2.shapes.title.text = "Berths"
    table = s2.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), text in {(0, 0): "Berth", (0, 1): "Depth", (1, 0): "Pelican berth", (1, 1): "14 m"}.items():
        table.cell(r, c).text = text
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Ships"
    for row in (["Name", "Tonnage", "Flag"], ["Aurora Borealis", 12000, "Norway"], ["长江号", 8000, "中国"]):
        ws.append(row)
    staff = book.create_sheet("Staff")
    staff.append(["Name", "Role"])
    staff.append(["Evelyn Hargreave", "Quartermaster"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xls_bytes() -> bytes:
    import xlwt

    book = xlwt.Workbook()
    ws = book.add_sheet("Tides")
    for r, row in enumerate([["Day", "High tide"], ["Monday", "06:40 springtide"], ["星期二", "潮汐 07:25"]]):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def odt_bytes() -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Lighthouse keeping"))
    doc.text.addElement(P(text="The wick is trimmed every evening at six."))
    doc.text.addElement(H(outlinelevel=2, text="灯塔"))
    doc.text.addElement(P(text="灯每天晚上六点点亮。"))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def rtf_bytes() -> bytes:
    # the Chinese line is GBK bytes written as \'hh escapes (code page 936), the last word \\u escapes
    zh = "".join(f"\\'{b:02x}" for b in "渡船中午出发。".encode("gbk")).encode()
    return (
        b"{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0 SimSun;}}\\f0 The ferry leaves at noon.\\par "
        + zh
        + (b"\\par Harbour: \\u28207?\\u21475?\\par}")
    )


def epub_bytes() -> bytes:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("fmstack-test")
    book.set_title("Tales of the harbour")
    book.set_language("en")
    one = epub.EpubHtml(title="One", file_name="c1.xhtml", lang="en")
    one.content = "<h1>The storm</h1><p>Forty-two squalls hit the reef that winter.</p>"
    two = epub.EpubHtml(title="Two", file_name="c2.xhtml", lang="zh")
    two.content = "<h1>渔船</h1><p>十二艘渔船回到了港口。</p>"
    for item in (one, two, epub.EpubNcx(), epub.EpubNav()):
        book.add_item(item)
    book.toc = (one, two)
    book.spine = ["nav", one, two]
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


def eml_bytes() -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "Pilotage schedule"
    msg["From"] = "harbourmaster@example.org"
    msg["To"] = "crew@example.org"
    msg.set_content("The pilot boards inbound tankers at the fairway buoy.")
    msg.add_attachment(
        b"Tug roster: the tug Valiant covers the night shift.",
        maintype="text",
        subtype="plain",
        filename="roster.txt",
    )
    msg.add_attachment(docx_bytes(), maintype="application", subtype="octet-stream", filename="panda.docx")
    return msg.as_bytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def scan_png(lines: list[str]) -> bytes:
    """Text drawn into a PNG, as a scanner would hand it over."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(cjk_font(), 40)
    img = Image.new("RGB", (1500, 100 + 100 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((60, 60 + 100 * i), line, font=font, fill="black")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def every_format(folder: Path) -> dict[str, str]:
    """One file of every supported format, plus broken, encrypted, empty, oversized-by-ratio and
    hostile ones; returns each source (relative to the folder) with the status ingestion must give."""
    build(folder)
    files = {
        "deck.pptx": pptx_bytes(),
        "ships.xlsx": xlsx_bytes(),
        "tides.xls": xls_bytes(),
        "lamp.odt": odt_bytes(),
        "ferry.rtf": rtf_bytes(),
        "tales.epub": epub_bytes(),
        "pilotage.eml": eml_bytes(),
        "receipt.png": scan_png(["码头起重机每次能吊起十二吨货物。", "Crane inspection due every March."]),
        "bundle.zip": zip_bytes({"notes/cranes.md": b"# Cranes\n\nThe dockside derrick lifts 40 tonnes."}),
        "bad/bomb.zip": zip_bytes({"zeros.txt": b"0" * 30_000_000}),
        "bad/truncated.xlsx": xlsx_bytes()[:400],
        "bad/not-really.epub": b"PK\x03\x04 not an e-book",
        "bad/noise.png": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "bad/plain.rtf": b"this is not RTF at all",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    expected = {p.relative_to(folder).as_posix(): "added" for p in folder.rglob("*") if p.is_file()}
    for name in [n for n in expected if n.startswith("bad/")]:
        expected[name] = "failed"
    del expected["bundle.zip"]
    expected["bundle.zip!/notes/cranes.md"] = "added"
    expected["pilotage.eml!/roster.txt"] = expected["pilotage.eml!/panda.docx"] = "added"
    return expected


# -- PDFs with structure, each with what reading it must give ----------------------------------------
def _structured_pdf(font: str | None = None):
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=20)
    if font:
        pdf.add_font("cjk", "", font)
    return pdf


def table_pdf() -> tuple[bytes, list[str]]:
    """A ruled table between two paragraphs; the Markdown rows it must read as."""
    pdf = _structured_pdf()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "The fleet report lists every ship that called at the harbour last month.")
    pdf.ln(4)
    rows = [
        ("Ship", "Tonnage", "Berth"),
        ("Aurora", "12,400", "North 3"),
        ("Baltic Star", "8,150", "East 1"),
        ("Cormorant", "2,975", "South 7"),
    ]
    with pdf.table(col_widths=(60, 40, 40), text_align="LEFT") as table:
        for row in rows:
            r = table.row()
            for cell in row:
                r.cell(cell)
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Harbour fees are charged per tonne and per day at the berth.")
    return bytes(pdf.output()), [
        "| Ship | Tonnage | Berth |",
        "| Aurora | 12,400 | North 3 |",
        "| Baltic Star | 8,150 | East 1 |",
        "| Cormorant | 2,975 | South 7 |",
    ]


def running_heads_pdf() -> tuple[bytes, list[str], list[str]]:
    """Four pages with a running header and a page-numbered footer; (pdf, body sentences, running text)."""
    from fpdf import FPDF

    class Handbook(FPDF):
        def header(self):
            self.set_font("helvetica", size=9)
            self.cell(0, 8, "Northwind Traders - Staff Handbook 2026", align="C")
            self.ln(12)

        def footer(self):
            self.set_y(-15)
            self.set_font("helvetica", size=9)
            self.cell(0, 8, f"Page {self.page_no()} of 4", align="C")

    pdf = Handbook(format="A4")
    body = [
        "Holiday requests are approved by the team lead within five working days.",
        "The office opens at eight and the last person out sets the alarm.",
        "Expenses above two hundred euros need a receipt and a second signature.",
        "Laptops are replaced every four years or when repair costs exceed half their value.",
    ]
    for sentence in body:
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, (sentence + " ") * 6)
    return bytes(pdf.output()), body, ["Northwind Traders", "Staff Handbook", "Page 1 of 4", "Page 3 of 4"]


def columns_pdf() -> tuple[bytes, list[str]]:
    """A title across the page over two columns of text; the sentences in reading order."""
    pdf = _structured_pdf()
    pdf.add_page()
    pdf.set_font("helvetica", size=16)
    pdf.cell(0, 10, "Notes from the Lighthouse", align="C")
    pdf.ln(14)
    pdf.set_font("helvetica", size=11)
    left = [
        "The keeper climbs the tower at dusk.",
        "He trims the wick and polishes the lens.",
        "Ships far out see the beam sweep twice a minute.",
        "At midnight he writes the weather in the log.",
        "By dawn the lamp is put out and the shutters closed.",
    ]
    right = [
        "Supplies come by boat every second Tuesday.",
        "The boat brings oil, flour, letters and newspapers.",
        "In winter storms the boat may not come for weeks.",
        "The keeper then lives on tinned fish and patience.",
        "His relief arrives each spring with fresh paint.",
    ]
    # drawn row by row, as many producers do: left line, right line, next row — so the order in the
    # file is not the reading order
    width = (pdf.epw - 12) / 2
    columns = [
        pdf.multi_cell(width, 6, " ".join(s + " " + s for s in side), dry_run=True, output="LINES")
        for side in (left, right)
    ]
    y = pdf.get_y() + 4
    for row in range(max(map(len, columns))):
        for i, lines in enumerate(columns):
            if row < len(lines):
                pdf.text(pdf.l_margin + i * (width + 12), y + 6 * row, lines[row])
    return bytes(pdf.output()), left + right


def headings_pdf(chinese: bool = False) -> tuple[bytes, list[tuple[list[str], str]]]:
    """Headings set only by font size (no outline); (pdf, [(heading path, a sentence under it)])."""
    pdf = _structured_pdf(cjk_font() if chinese else None)
    family = "cjk" if chinese else "helvetica"
    if chinese:
        doc = [
            (1, "大熊猫保护手册"),
            (0, "本手册介绍大熊猫的生活习性和保护工作。"),
            (2, "第一章 栖息地"),
            (0, "大熊猫生活在四川、陕西和甘肃海拔一千五百米以上的竹林中。"),
            (3, "1.1 保护区"),
            (0, "中国已经建立了六十七个大熊猫自然保护区。"),
            (2, "第二章 食物"),
            (0, "大熊猫每天要吃十二到三十八公斤竹子。"),
        ]
    else:
        doc = [
            (1, "Coffee Growing Guide"),
            (0, "This guide covers where coffee grows and how it is processed."),
            (2, "1 Climate"),
            (0, "Arabica grows best between 1,000 and 2,000 metres above sea level."),
            (3, "1.1 Rainfall"),
            (0, "The plants need about 1,500 millimetres of rain spread over the year."),
            (2, "2 Processing"),
            (0, "Washed coffee is fermented for a day before the beans are dried."),
        ]
    sizes = {1: 22, 2: 16, 3: 13, 0: 11}
    pdf.add_page()
    path: list[str] = []
    labels = []
    for level, text in doc:
        pdf.set_font(family, size=sizes[level])
        if level:
            path = [*path[: level - 1], text]
            pdf.ln(3)
            pdf.multi_cell(0, sizes[level] * 0.6, text)
            pdf.ln(2)
        else:
            pdf.multi_cell(0, 6, (text + " ") * 4 if not chinese else text * 4)
            labels.append((list(path), text))
    return bytes(pdf.output()), labels

"""Small real documents of every supported format, English and Chinese, built on demand."""

from __future__ import annotations

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

"""Reading files into sections of text with page numbers and heading paths.

One loader per format, registered by file extension; a file that cannot be read raises
LoadError with a reason the user can act on (encrypted, corrupt, empty, unsupported).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput


class LoadError(InvalidInput):
    """A file that cannot be ingested, with the reason."""


@dataclass
class Section:
    """A run of text from one place in a document: a page, or the body under one heading."""

    text: str
    page: int | None = None
    heading: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)


@dataclass
class LoadedDocument:
    format: str
    sections: list[Section]
    title: str = ""


Loader = Callable[[bytes, dict], LoadedDocument]
LOADERS: dict[str, Loader] = {}
FORMATS: dict[str, str] = {}  # extension -> format name


def loader(fmt: str, *extensions: str):
    def register(fn: Loader) -> Loader:
        LOADERS[fmt] = fn
        for ext in extensions:
            FORMATS[ext] = fmt
        return fn

    return register


def format_of(name: str) -> str | None:
    return FORMATS.get(Path(name).suffix.lower())


def load(name: str, data: bytes, options: dict | None = None) -> LoadedDocument:
    fmt = format_of(name)
    if fmt is None:
        raise LoadError(
            f"unsupported file type {Path(name).suffix or '(none)'}; supported: {', '.join(sorted(FORMATS))}"
        )
    if not data.strip():
        raise LoadError("the file is empty")
    try:
        doc = LOADERS[fmt](data, options or {})
    except LoadError:
        raise
    except Exception as e:  # a reader's own failure on a file it does not expect: that file's reason
        raise LoadError(f"the {fmt.upper()} file could not be read ({type(e).__name__}: {e})") from e
    doc.sections = [s for s in doc.sections if s.text.strip()]
    if not doc.sections:
        raise LoadError(_NO_TEXT.get(fmt, f"the {fmt.upper()} file holds no text"))
    return doc


_NO_TEXT = {
    "pdf": "no page of the PDF has text, in its text layer or to OCR (a blank or image-only PDF)",
    "image": "OCR found no text in the image",
    "docx": "the DOCX holds no text (only images or empty paragraphs)",
}


def decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030", "big5"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("the text encoding could not be recognised")
    return str(best)


@loader("text", ".txt", ".text", ".log")
def load_text(data: bytes, options: dict) -> LoadedDocument:
    return LoadedDocument("text", [Section(decode(data))])


_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@loader("markdown", ".md", ".markdown")
def load_markdown(data: bytes, options: dict) -> LoadedDocument:
    text = decode(data)
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    in_fence = False

    def flush():
        if buf:
            sections.append(Section("".join(buf), heading=list(path)))
            buf.clear()

    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _ATX.match(line.rstrip("\n"))
        if m:
            flush()
            level = len(m.group(1))
            path = path[: level - 1] + [m.group(2)]
            buf.append(line)  # keep the heading in the text: it carries meaning for search
        else:
            buf.append(line)
    flush()
    title = next((s.heading[0] for s in sections if s.heading), "")
    return LoadedDocument("markdown", sections, title=title)


@loader("html", ".html", ".htm", ".xhtml")
def load_html(data: bytes, options: dict) -> LoadedDocument:
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)  # XHTML (EPUB chapters) reads as HTML too
        soup = BeautifulSoup(data, "lxml")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "aside", "form", "svg", "template"]):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    heading_tags = {f"h{i}" for i in range(1, 7)}
    block_tags = heading_tags | {"p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "figcaption", "caption"}
    for el in root.find_all(block_tags):
        if el.find(block_tags):  # only leaf blocks, so text is not read twice
            continue
        text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name in heading_tags:
            if buf:
                sections.append(Section("\n".join(buf), heading=list(path)))
                buf = []
            level = int(el.name[1])
            path = path[: level - 1] + [text]
            buf.append(text)
        else:
            buf.append(text)
    if buf:
        sections.append(Section("\n".join(buf), heading=list(path)))
    if not sections:  # pages without block markup
        sections = [Section(root.get_text("\n", strip=True))]
    return LoadedDocument("html", sections, title=title)


@loader("image", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif")
def load_image(data: bytes, options: dict) -> LoadedDocument:
    """Pictures of text, read with OCR: each frame of a multi-page TIFF (or GIF) is a page."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    from . import ocr

    if not options.get("ocr", True):
        raise LoadError("an image holds no text layer and OCR is turned off for this knowledge base (option `ocr`)")
    try:
        langs = ocr.languages(options.get("ocr_languages"))
    except ocr.OcrUnavailable as e:
        raise LoadError(f"an image holds no text layer, and {e}") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > ocr.MAX_PIXELS:
                raise LoadError(
                    f"the image is {img.width} x {img.height} pixels, more than the {ocr.MAX_PIXELS // 10**6} "
                    "million OCR reads"
                )
            sections = []
            for n, frame in enumerate(ImageSequence.Iterator(img), start=1):
                if n > int(options.get("ocr_max_pages", 500)):
                    break
                read = ocr.read(frame.copy(), langs)
                sections.append(Section(read.text, page=n, meta={"ocr": True, "ocr_confidence": read.confidence}))
    except LoadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise LoadError(f"the image is damaged or not an image: {e}") from None
    return LoadedDocument("image", sections)


MAX_EXPANDED_BYTES = 256 * 1024 * 1024  # what a zip-based file (DOCX) may expand to
MAX_ARCHIVE_ENTRIES = 10_000


def check_archive(
    data: bytes, *, max_entries: int = MAX_ARCHIVE_ENTRIES, max_bytes: int = MAX_EXPANDED_BYTES, what: str = "file"
) -> list[zipfile.ZipInfo]:
    """Refuse a zip that holds too many entries or whose entries would expand past `max_bytes` (a
    zip bomb) before anything is decompressed; a reader never gets more than an entry's declared
    size. The entries, when it passes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise LoadError(f"the {what} is damaged and cannot be read: {e}") from None
    if len(infos) > max_entries:
        raise LoadError(f"the {what} holds {len(infos)} parts, more than the {max_entries} allowed")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise LoadError(
            f"the {what} expands to {total / 2**20:.0f} MB from {len(data) / 2**20:.1f} MB "
            f"(the limit is {max_bytes // 2**20} MB): refused as a possible zip bomb"
        )
    return infos


@loader("docx", ".docx")
def load_docx(data: bytes, options: dict) -> LoadedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_archive(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise LoadError(f"the DOCX is damaged and cannot be read: {e}") from None
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    for block in document.element.body.iterchildren():
        if not isinstance(block.tag, str):  # comments and processing instructions
            continue
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(block, document)
            text = para.text.strip()
            style = (para.style.name if para.style is not None else "") or ""
            m = re.match(r"Heading (\d)", style)
            if m or style == "Title":
                if buf:
                    sections.append(Section("\n".join(buf), heading=list(path)))
                    buf = []
                level = int(m.group(1)) if m else 1
                if text:
                    path = path[: level - 1] + [text]
            if text:
                buf.append(text)
        elif tag == "tbl":
            table = Table(block, document)
            for row in table.rows:
                cells: list[str] = []
                for cell in row.cells:
                    t = cell.text.strip()
                    if not cells or cells[-1] != t:  # merged cells repeat their text
                        cells.append(t)
                buf.append(" | ".join(cells))
    if buf:
        sections.append(Section("\n".join(buf), heading=list(path)))
    title = document.core_properties.title or next((s.heading[0] for s in sections if s.heading), "")
    return LoadedDocument("docx", sections, title=title)


@loader("csv", ".csv", ".tsv")
def load_csv(data: bytes, options: dict) -> LoadedDocument:
    text = decode(data)
    dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
    rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    return _records("csv", rows, options)


@loader("jsonl", ".jsonl", ".ndjson")
def load_jsonl(data: bytes, options: dict) -> LoadedDocument:
    rows = []
    for n, line in enumerate(decode(data).splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise LoadError(f"line {n} is not valid JSON: {e.msg}") from None
    return _records("jsonl", rows, options)


def _records(fmt: str, rows: list[dict], options: dict) -> LoadedDocument:
    """One section per record: the text column is the text, the other columns its metadata."""
    if not rows:
        raise LoadError("the file has no records")
    column = options.get("text_column")
    if column is None:
        for candidate in ("text", "content", "body", "document", "passage"):
            if candidate in rows[0]:
                column = candidate
                break
    if column is not None and column not in rows[0]:
        raise LoadError(f"there is no column {column!r}; columns: {', '.join(map(str, rows[0]))}")
    sections = []
    if column is None:  # no text column named or found: every column, as "name: value" lines
        for i, row in enumerate(rows, start=1):
            text = "\n".join(f"{k}: {v}" for k, v in row.items() if v not in (None, ""))
            meta = {k: v for k, v in row.items() if isinstance(v, (str, int, float, bool)) and len(str(v)) <= 200}
            sections.append(Section(text, meta={**meta, "record": i}))
        return LoadedDocument(fmt, sections)
    for i, row in enumerate(rows, start=1):
        meta = {k: v for k, v in row.items() if k != column and isinstance(v, (str, int, float, bool))}
        meta["record"] = i
        sections.append(Section(str(row.get(column) or ""), meta=meta))
    return LoadedDocument(fmt, sections)


from . import containers, office, pdf  # noqa: E402, F401  (register PDF, office, e-book, mail and archive formats)

"""Office and e-book formats: PowerPoint (slides, their titles, text, tables and notes), Excel
(XLSX and the old XLS: each row a record under its headers, each sheet a section), OpenDocument
text, RTF and EPUB (chapters in reading order, read as HTML). Each through its well-kept reader;
the zip-based ones are checked against zip bombs before they are opened.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from .loaders import LoadedDocument, LoadError, Section, check_archive, load_html, loader

MAX_ROWS = 100_000  # rows read per sheet


@loader("pptx", ".pptx")
def load_pptx(data: bytes, options: dict) -> LoadedDocument:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    check_archive(data)
    try:
        deck = Presentation(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as e:
        raise LoadError(f"the PPTX is damaged and cannot be read: {e}") from None
    sections = []
    for n, slide in enumerate(deck.slides, start=1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None and title_shape.has_text_frame else ""
        lines = [title] if title else []
        for shape in slide.shapes:
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            lines.extend(_shape_text(shape))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append("Notes: " + notes.text.strip())
        sections.append(Section("\n".join(lines), page=n, heading=[title or f"Slide {n}"], meta={"slide": n}))
    title = deck.core_properties.title or next((s.heading[0] for s in sections if s.text.strip()), "")
    return LoadedDocument("pptx", sections, title=title)


def _shape_text(shape: Any) -> list[str]:
    if shape.shape_type == 6:  # a group: the shapes inside it
        return [t for inner in shape.shapes for t in _shape_text(inner)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return [" | ".join(cell.text.strip() for cell in row.cells) for row in shape.table.rows]
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [p.text.strip() for p in shape.text_frame.paragraphs if p.text.strip()]
    return []


def _records(rows: Iterable[Iterable[Any]]) -> list[str]:
    """A sheet's rows as records: the first row that has values names the columns, and each
    later row reads "column: value; column: value" (empty cells left out)."""
    header: list[str] | None = None
    out: list[str] = []
    for i, row in enumerate(rows):
        if i > MAX_ROWS:
            break
        cells = [_cell(v) for v in row]
        if not any(cells):
            continue
        if header is None:
            header = [c or f"column {j + 1}" for j, c in enumerate(cells)]
            continue
        pairs = [f"{header[j] if j < len(header) else f'column {j + 1}'}: {c}" for j, c in enumerate(cells) if c]
        out.append("; ".join(pairs))
    if header is not None and not out:  # one row only: it is the content
        out.append(" | ".join(c for c in header if c))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@loader("xlsx", ".xlsx", ".xlsm")
def load_xlsx(data: bytes, options: dict) -> LoadedDocument:
    import openpyxl

    check_archive(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on a damaged file
        raise LoadError(f"the XLSX is damaged and cannot be read: {e}") from None
    try:
        sections = [
            Section("\n".join(_records(ws.iter_rows(values_only=True))), heading=[ws.title], meta={"sheet": ws.title})
            for ws in book.worksheets
        ]
    finally:
        book.close()
    return LoadedDocument("xlsx", sections, title=book.properties.title or "")


@loader("xls", ".xls")
def load_xls(data: bytes, options: dict) -> LoadedDocument:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except xlrd.XLRDError as e:
        raise LoadError(f"the XLS is damaged or not an Excel 97-2003 file: {e}") from None
    sections = []
    for sheet in book.sheets():
        rows = (sheet.row_values(r) for r in range(min(sheet.nrows, MAX_ROWS + 1)))
        sections.append(Section("\n".join(_records(rows)), heading=[sheet.name], meta={"sheet": sheet.name}))
    return LoadedDocument("xls", sections)


@loader("odt", ".odt")
def load_odt(data: bytes, options: dict) -> LoadedDocument:
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load as load_odf

    check_archive(data)
    try:
        doc = load_odf(io.BytesIO(data))
    except Exception as e:
        raise LoadError(f"the ODT is damaged and cannot be read: {e}") from None
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    for el in doc.text.childNodes:
        if el.qname == (TEXTNS, "h"):
            line = teletype.extractText(el).strip()
            if buf:
                sections.append(Section("\n".join(buf), heading=list(path)))
                buf = []
            level = int(el.getAttribute("outlinelevel") or 1)
            if line:
                path = path[: level - 1] + [line]
                buf.append(line)
        else:
            line = teletype.extractText(el).strip()
            if line:
                buf.append(line)
    if buf:
        sections.append(Section("\n".join(buf), heading=list(path)))
    title = next((s.heading[0] for s in sections if s.heading), "")
    return LoadedDocument("odt", sections, title=title)


_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")


@loader("rtf", ".rtf")
def load_rtf(data: bytes, options: dict) -> LoadedDocument:
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise LoadError("the file is not RTF (it does not begin with {\\rtf)")
    m = _CODEPAGE.search(data[:2000])
    encoding = f"cp{m.group(1).decode()}" if m else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    text = rtf_to_text(data.decode("latin-1"), encoding=encoding, errors="replace")
    return LoadedDocument("rtf", [Section(text)])


@loader("epub", ".epub")
def load_epub(data: bytes, options: dict) -> LoadedDocument:
    import ebooklib
    from ebooklib import epub

    check_archive(data)
    try:
        book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    except Exception as e:
        raise LoadError(f"the EPUB is damaged and cannot be read: {e}") from None
    sections: list[Section] = []
    n = 0
    for item_id, _ in book.spine:
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        n += 1
        chapter = load_html(item.get_content(), {})
        for s in chapter.sections:
            s.meta = {**s.meta, "chapter": n}
            sections.append(s)
    titles = book.get_metadata("DC", "title")
    return LoadedDocument("epub", sections, title=titles[0][0] if titles else "")

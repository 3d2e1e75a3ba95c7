"""PDF: the text of each page in reading order, with its structure.

PDFium (pypdfium2) gives every character with its box and font size; from them:
- ruled tables (found by pdfplumber's table finder from the page's lines and rectangles) are read
  cell by cell and written as Markdown tables, not as jumbled runs of text;
- running headers and footers (a line in the top or bottom tenth of the page that repeats, digits
  aside, on two pages or more; a bare page number) are dropped;
- a page set in columns is read column by column (a gutter no line crosses, between blocks of text
  wide enough to be columns), full-width lines such as a title in between;
- headings come from the outline where the PDF has one, else from font size (a short line set
  larger than the body text; the larger, the higher), and each section carries its heading path;
- lines of a paragraph are joined (no break inside a Chinese sentence), paragraphs kept apart.
Pages with no text layer are read with OCR (scans). Encrypted files need their password.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .loaders import LoadedDocument, LoadError, Section, loader

log = logging.getLogger(__name__)

MIN_PAGE_TEXT = 16  # a page with fewer characters in its text layer is read with OCR
OCR_DPI = 200  # a page that is not one scanned image is drawn at this resolution for OCR
MAX_PAGE_CHARS = 100_000  # more on one page is read without its layout
MAX_PATHS = 2_000  # a page with more lines and shapes is a drawing, not a table
TABLE_SECONDS = 1.0  # tables are looked for while that search has taken less than this + 20 ms a page
MARGIN = 0.1  # running headers and footers live in the top and bottom tenth of a page
HEADING_RATIO = 1.15  # a heading is set at least this much larger than the body text
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?#(?:\s*(?:of|/)\s*#)?$|^-\s*#\s*-$|^第\s*#\s*页(?:\s*[,，/]?\s*共\s*#\s*页)?$")
_SOFT_HYPHEN = "\u00ad"
_LEADERS = re.compile(r"(?:\.\s*){4,}\S*$")  # a table of contents' dot leaders
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass
class Line:
    """A run of characters on one baseline, not crossing a wide gap: one line of one column."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    page: int
    heading: int = 0  # its level, 1 = highest; 0: not a heading
    table: bool = False  # a Markdown table (already formatted)

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass
class _Page:
    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


@loader("pdf", ".pdf")
def load_pdf(data: bytes, options: dict) -> LoadedDocument:
    import pypdfium2 as pdfium

    password = options.get("password") or None
    try:
        pdf = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError:
        # PDFium cannot open it: pypdf is more lenient with damaged files and with encryption an
        # empty password opens, and says so when a password is needed
        return _plain(data, options)
    try:
        pages, outline, title = _read(pdf, data)
        _drop_running_heads(pages)
        _mark_headings(pages, outline)
        sections = _sections(pages)
    except Exception as e:  # the layout of a file nobody foresaw: its text still counts
        log.warning("PDF layout not read (%s: %s); reading the text without it", type(e).__name__, e)
        plain = _plain(data, options)
        plain.sections = _read_scans(data, plain.sections, len(plain.sections), options)
        return plain
    finally:
        pdf.close()
    return LoadedDocument("pdf", _read_scans(data, sections, len(pages), options), title=title)


def _read_scans(data: bytes, sections: list[Section], pages: int, options: dict) -> list[Section]:
    """Pages with (almost) no text layer — scans — become one section each, read with OCR."""
    text: Counter = Counter()
    for s in sections:
        text[s.page] += len(s.text.strip())
    blank = {n for n in range(1, pages + 1) if text[n] < MIN_PAGE_TEXT}
    if not blank or not options.get("ocr", True):
        return sections
    first: dict[int | None, Section] = {}
    for s in sections:
        first.setdefault(s.page, s)
    sections = [s for s in sections if s.page not in blank or first[s.page] is s]
    _ocr_pages(data, [first[n] for n in sorted(blank) if n in first], options, all_blank=len(blank) == pages)
    return sections


def _plain(data: bytes, options: dict) -> LoadedDocument:
    """The text layer as pypdf reads it, page by page, without structure."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = bool(reader.decrypt(options.get("password", "")))
            except Exception:
                ok = False
            if not ok:
                raise LoadError("the PDF is encrypted; give its password (option `password`) or remove it")
        sections = [Section(page.extract_text() or "", page=i) for i, page in enumerate(reader.pages, start=1)]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise LoadError(f"the PDF is damaged and cannot be read: {e}") from None
    return LoadedDocument("pdf", sections, title=str(title))


# -- reading the characters -------------------------------------------------------------------------
def _read(pdf, data: bytes) -> tuple[list[_Page], list[tuple[int, str, int]], str]:
    import pypdfium2 as pdfium

    try:
        title = str(pdf.get_metadata_dict().get("Title") or "")
    except Exception:
        title = ""
    outline = []
    try:
        for item in pdf.get_toc(max_depth=6):
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = (item.get_title() or "").strip()
            if index is not None and title:
                outline.append((item.level + 1, title, index + 1))
    except Exception:  # a broken outline is no outline
        outline = []
    plumber: Any = None
    spent = 0.0  # seconds spent finding tables: bounded, charts and drawings are slow to search
    pages = []
    for number in range(1, len(pdf) + 1):
        page = pdf[number - 1]
        try:
            width, height = page.get_size()
            chars = _chars(page, height)
            tables: list[Line] = []
            if chars and spent < TABLE_SECONDS + 0.02 * number and _has_rules(page, pdfium):
                if plumber is None:
                    plumber = _open_plumber(data)
                started = time.perf_counter()
                tables = _tables(plumber, number, chars) if plumber else []
                spent += time.perf_counter() - started
            boxes = [(t.x0, t.top, t.x1, t.bottom) for t in tables]
            if boxes:
                chars = [c for c in chars if not _inside(c, boxes)]
            lines = _lines(chars, number)
            pages.append(_Page(number, width, height, lines + tables))
        finally:
            page.close()
    if plumber is not None:
        plumber.close()
    return pages, outline, title


def _chars(page, height: float) -> list[tuple[str, float, float, float, float, float, bool]]:
    """(char, x0, top, x1, bottom, size, break) in the order of the file; `break`: PDFium put a line
    break here. Boxes measured from the top of the page."""
    import pypdfium2.raw as raw

    textpage = page.get_textpage()
    try:
        out: list[tuple[str, float, float, float, float, float, bool]] = []
        count = textpage.count_chars()
        turned = sum(
            abs(raw.FPDFText_GetCharAngle(textpage.raw, i)) > 0.1 for i in range(0, count, max(1, count // 50))
        )
        if count > MAX_PAGE_CHARS or turned > 0.3 * min(count, 50):
            # no page of prose is this long, and turned text has no rows and columns to read: the
            # page's text as PDFium reads it, without layout
            width = page.get_size()[0]
            rows = [t for t in textpage.get_text_range().splitlines() if t.strip()]
            return [(t, 0.0, 12.0 * i, width, 12.0 * i + 10, 10.0, True) for i, t in enumerate(rows)]
        for i in range(count):
            code = raw.FPDFText_GetUnicode(textpage.raw, i)
            ch = chr(code) if 0 < code < 0x110000 else ""
            if ch in ("\r", "\n", ""):
                if ch and out:
                    out[-1] = (*out[-1][:6], True)
                continue
            if ch == "\x02":  # a word broken at the end of a line: joined again with the next line
                if out and out[-1][0] != " ":
                    out.append((_SOFT_HYPHEN, *out[-1][1:6], False))
                continue
            if ch.isspace():
                out.append((" ", 0.0, 0.0, 0.0, 0.0, 0.0, False))
                continue
            left, bottom, right, top = textpage.get_charbox(i, loose=True)  # the advance: gaps are spaces
            size = raw.FPDFText_GetFontSize(textpage.raw, i)
            out.append((ch, left, height - top, right, height - bottom, float(size) or (top - bottom), False))
        return out
    finally:
        textpage.close()


def _lines(chars, page: int) -> list[Line]:
    """Runs of characters on one baseline; a gap wider than two letters starts a new run (a column
    gutter, or cells set apart)."""
    lines: list[Line] = []
    text: list[str] = []
    box: list[float] = []
    sizes: list[float] = []
    prev = None

    def close() -> None:
        if box and "".join(text).strip():
            x0, top, x1, bottom = box
            lines.append(Line(_squash("".join(text)), x0, top, x1, bottom, statistics.median(sizes), page))
        text.clear()
        box.clear()
        sizes.clear()

    for ch, x0, top, x1, bottom, size, brk in chars:
        if ch == " ":
            if text:
                text.append(" ")
            continue
        if prev is not None:
            px1, ptop, pbottom, psize, pbrk = prev
            height = max(size, psize, 1.0)
            same_row = abs((top + bottom) / 2 - (ptop + pbottom) / 2) < 0.5 * height
            if pbrk or not same_row or x0 - px1 > 2.0 * height or x0 < px1 - height:
                close()
        if not box:
            box[:] = [x0, top, x1, bottom]
        else:
            box[:] = [min(box[0], x0), min(box[1], top), max(box[2], x1), max(box[3], bottom)]
        text.append(ch)
        sizes.append(size)
        prev = (x1, top, bottom, size, brk)
    close()
    return lines


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- tables ---------------------------------------------------------------------------------------
def _has_rules(page, pdfium) -> bool:
    """Lines or rectangles enough for a ruled table (reading them costs more than the text)."""
    count = 0
    for _ in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_PATH], max_depth=2):
        count += 1
        if count > MAX_PATHS:
            return False
    return count >= 4


def _open_plumber(data: bytes):
    try:
        import pdfplumber

        return pdfplumber.open(io.BytesIO(data))
    except Exception as e:  # tables are read as text then
        log.info("pdfplumber cannot open the PDF (%s): tables are read as text", e)
        return None


def _tables(plumber, number: int, chars) -> list[Line]:
    """The page's ruled tables as Markdown, each a Line placed where the table is."""
    try:
        found = plumber.pages[number - 1].find_tables()
    except Exception as e:
        log.info("no tables read on page %d (%s)", number, e)
        return []
    out = []
    for table in found:
        rows = []
        for row in table.rows:
            cells = []
            for cell in row.cells:
                if cell is None:
                    cells.append("")
                    continue
                cells.append(_cell_text(chars, cell))
            rows.append(cells)
        rows = [r for r in rows if any(c.strip() for c in r)]
        if len(rows) < 2 or max(len(r) for r in rows) < 2:
            continue  # a frame around text, not a table
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        md = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
        md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        x0, top, x1, bottom = table.bbox
        out.append(Line("\n".join(md), x0, top, x1, bottom, 0.0, number, table=True))
    return out


def _cell_text(chars, cell) -> str:
    """The characters inside a cell, with the spaces between them (spaces have no box)."""
    inside, previous = [], False
    for c in chars:
        if c[0] == " ":
            if previous:
                inside.append(c)
            continue
        previous = _inside(c, [cell])
        if previous:
            inside.append((*c[:6], False))
    lines = _lines(inside, 0)
    lines.sort(key=lambda ln: (round(ln.top), ln.x0))
    return _join([ln.text for ln in lines]).replace("|", "\\|").replace("\n", " ")


def _inside(c, boxes) -> bool:
    cx, cy = (c[1] + c[3]) / 2, (c[2] + c[4]) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)


# -- running heads, headings --------------------------------------------------------------------
def _drop_running_heads(pages: list[_Page]) -> None:
    if len(pages) < 2:
        return

    def key(line: Line) -> str:
        return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.text.lower())).strip()

    def marginal(line: Line, page: _Page) -> bool:
        edge = line.bottom < MARGIN * page.height or line.top > (1 - MARGIN) * page.height
        return edge and not line.table and len(line.text) <= 100

    seen = Counter(k for p in pages for k in {key(ln) for ln in p.lines if marginal(ln, p)})
    enough = 2  # a chapter's running head repeats on its own pages only (every other one, in a book)
    for p in pages:
        kept = [
            ln for ln in p.lines if not (marginal(ln, p) and (seen[key(ln)] >= enough or _PAGE_NUMBER.match(key(ln))))
        ]
        if kept or len(p.lines) > 2:  # a page that is nothing but one such line: that line is its text
            p.lines = kept


def _mark_headings(pages: list[_Page], outline: list[tuple[int, str, int]]) -> None:
    lines = [ln for p in pages for ln in p.lines if not ln.table]
    if not lines:
        return
    if outline and _headings_from_outline(pages, outline):
        return
    weights: Counter = Counter()
    for ln in lines:
        weights[round(ln.size * 2) / 2] += len(ln.text)
    body = weights.most_common(1)[0][0]
    candidates = [
        ln
        for ln in lines
        if ln.size >= HEADING_RATIO * body
        and len(ln.text) <= 120
        and re.search(r"\w", ln.text)
        and not _LEADERS.search(ln.text)
    ]
    if not candidates or len(candidates) > len(lines) / 2:
        return  # larger type everywhere is not a hierarchy
    levels = sorted({round(ln.size) for ln in candidates}, reverse=True)[:6]
    for ln in candidates:
        if round(ln.size) in levels:
            ln.heading = levels.index(round(ln.size)) + 1


def _headings_from_outline(pages: list[_Page], outline: list[tuple[int, str, int]]) -> bool:
    def norm(text: str) -> str:
        return re.sub(r"\W+", "", text.lower())

    by_page = {p.number: p for p in pages}
    matched = False
    for level, title, number in outline:
        page = by_page.get(number)
        want = norm(title)
        if page is None or not want:
            continue
        for ln in page.lines:
            if not ln.table and not ln.heading and norm(ln.text) == want:
                ln.heading = level
                matched = True
                break
    return matched


# -- reading order, sections ----------------------------------------------------------------------
def _order(lines: list[Line]) -> list[Line]:
    """Top to bottom; where the page is set in two columns, the left column before the right one
    between the full-width lines (titles, tables) that cross the gutter."""
    lines = sorted(lines, key=lambda ln: (round(ln.top), ln.x0))
    text = [ln for ln in lines if not ln.table]
    if len(text) < 6:
        return lines
    left, right = min(ln.x0 for ln in text), max(ln.x1 for ln in text)
    span = right - left
    if span <= 0:
        return lines
    if span > 20_000:  # not a page anyone reads: no columns
        return lines
    starts = np.clip(np.array([ln.x0 - left for ln in text]).astype(int), 0, int(span))
    ends = np.clip(np.array([ln.x1 - left for ln in text]).astype(int) + 1, 0, int(span) + 1)
    bins = np.zeros(int(span) + 2, dtype=np.int64)
    np.add.at(bins, starts, 1)
    np.add.at(bins, ends, -1)
    coverage = np.cumsum(bins)[: int(span) + 1].tolist()  # lines over each point of the width
    allowed = max(1, len(text) // 10)  # titles and the like may cross the gutter
    best = None
    start = None
    for x, count in enumerate([*coverage, allowed + 1]):
        if count <= allowed and start is None:
            start = x
        elif count > allowed and start is not None:
            middle = (start + x) / 2
            if (
                x - start >= 6
                and 0.25 * span <= middle <= 0.75 * span
                and (best is None or x - start > best[1] - best[0])
            ):
                best = (start, x)
            start = None
    if best is None:
        return lines
    g0, g1 = left + best[0], left + best[1]
    middle = (g0 + g1) / 2
    crossing = [ln for ln in lines if ln.x0 < g0 and ln.x1 > g1]  # spans the gutter: a title, a table
    west = [ln for ln in text if ln not in crossing and (ln.x0 + ln.x1) / 2 < middle]
    east = [ln for ln in text if ln not in crossing and (ln.x0 + ln.x1) / 2 >= middle]
    wide = 0.25 * span
    if min(len(west), len(east)) < 3 or min(statistics.mean(ln.width for ln in side) for side in (west, east)) < wide:
        return lines  # a list of short items with values aligned on the right: not columns
    out: list[Line] = []
    band: list[Line] = []
    for ln in lines:
        if ln in crossing:
            out += sorted((b for b in band if b in west), key=lambda b: b.top)
            out += sorted((b for b in band if b not in west), key=lambda b: b.top)
            band = []
            out.append(ln)
        else:
            band.append(ln)
    out += sorted((b for b in band if b in west), key=lambda b: b.top)
    out += sorted((b for b in band if b not in west), key=lambda b: b.top)
    return out


def _line_pitch(lines: list[Line]) -> float:
    """The usual distance from one line of a paragraph to the next on this page."""
    steps = [
        b.top - a.top
        for a, b in zip(lines, lines[1:], strict=False)
        if not (a.table or b.table or a.heading or b.heading)
        and abs(a.size - b.size) <= 0.5
        and 0 < b.top - a.top < 3 * b.size
    ]
    return statistics.median(steps) if steps else 1.5 * statistics.median([ln.size or 10.0 for ln in lines] or [10.0])


def _join(lines: list[str]) -> str:
    """Lines of one paragraph as one: no space between Chinese characters, none after a hyphen."""
    out = ""
    for text in lines:
        if not out:
            out = text
        elif out.endswith(_SOFT_HYPHEN):
            out = out[:-1] + text
        elif out.endswith("-") or (_CJK.match(out[-1]) and _CJK.match(text[0])):
            out += text
        else:
            out += " " + text
    return out.replace(_SOFT_HYPHEN, "")


def _sections(pages: list[_Page]) -> list[Section]:
    """A section per heading and page, with the heading path; paragraphs apart, tables as Markdown."""
    sections: list[Section] = []
    path: list[str] = []
    for page in pages:
        blocks: list[str] = []  # paragraphs, headings and tables of the section being read
        para: list[str] = []  # lines of the paragraph being read
        ordered = _order(page.lines)
        pitch = _line_pitch(ordered)
        prev: Line | None = None
        for ln in ordered:
            step = ln.top - prev.top if prev is not None else 0.0
            new_paragraph = (
                prev is None
                or prev.table
                or bool(prev.heading)
                or ln.table
                or bool(ln.heading)
                or not 0 < step <= max(1.35 * pitch, pitch + 0.5 * ln.size)
                or abs(ln.size - prev.size) > 0.5
            )
            if new_paragraph and para:
                blocks.append(_join(para))
                para = []
            if ln.heading:
                if blocks:
                    sections.append(Section("\n\n".join(blocks), page=page.number, heading=list(path)))
                    blocks = []
                path = [*path[: ln.heading - 1], ln.text]
                blocks.append(ln.text)  # the heading stays in the text: it carries meaning for search
            elif ln.table:
                blocks.append(ln.text)
            else:
                para.append(ln.text)
            prev = ln
        if para:
            blocks.append(_join(para))
        # a page with no text layer (a scan) still gets its section, for OCR
        if blocks or not any(s.page == page.number for s in sections):
            sections.append(Section("\n\n".join(blocks), page=page.number, heading=list(path)))
    return sections


# -- scans ----------------------------------------------------------------------------------------
def _ocr_pages(data: bytes, pages: list[Section], options: dict, *, all_blank: bool) -> None:
    """Read the pages that have no text layer (scans) with OCR, rendered by PDFium. Without OCR a
    PDF that has text elsewhere keeps it; one with none says why."""
    import pypdfium2 as pdfium

    from . import ocr

    try:
        langs = ocr.languages(options.get("ocr_languages"))
    except ocr.OcrUnavailable as e:
        if all_blank:
            raise LoadError(f"no page of the PDF has a text layer, and {e}") from None
        return
    limit = int(options.get("ocr_max_pages", 500))
    pdf = pdfium.PdfDocument(data, password=options.get("password") or None)
    try:
        for section in pages[:limit]:
            page = pdf[(section.page or 1) - 1]
            try:
                read = ocr.read(_page_picture(pdfium, page), langs)
            finally:
                page.close()
            section.text = read.text
            section.meta = {**section.meta, "ocr": True, "ocr_confidence": read.confidence}
    finally:
        pdf.close()


def _page_picture(pdfium, page):
    """What OCR reads of a page: a scan (the page is one image) at the resolution it was scanned
    at, where its letters have the size Tesseract reads best; otherwise the page drawn at 200 dpi.
    (Drawn larger, big Chinese letters come back as noise.)"""
    from . import ocr

    images = list(page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    if len(images) == 1:
        left, bottom, right, top = images[0].get_bounds()
        width, height = page.get_size()
        if (right - left) * (top - bottom) >= 0.5 * width * height:
            try:
                picture = images[0].get_bitmap(render=False).to_pil()
                if picture.width * picture.height <= ocr.MAX_PIXELS:
                    return picture
            except Exception:  # an image PDFium cannot hand over as it is: draw the page instead
                pass
    return page.render(scale=OCR_DPI / 72).to_pil()

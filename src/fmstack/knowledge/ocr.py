"""Text from pictures of text: Tesseract (Debian's `tesseract-ocr`, with `tesseract-ocr-chi-sim`)
through pytesseract, for images and for PDF pages that have no text layer.

Each image is read once (`image_to_data`): the words come back with their line and confidence, and
a page's confidence is the mean of its words' (0–100), weighted by their length. Chinese words are
joined without the spaces Tesseract puts between them. `FMSTACK_TESSERACT_CMD` names the binary
when it is not on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .text import CJK

DEFAULT_LANGUAGES = ("chi_sim", "eng")
MAX_PIXELS = 60_000_000  # an image larger than this (e.g. 8000 x 7500) is refused, not decoded
_CJK_EDGE = re.compile(f"[{CJK}\uff00-\uffef\u3000-\u303f]")


class OcrUnavailable(RuntimeError):
    """Tesseract is not installed (or has none of the languages asked for)."""


@dataclass
class OcrText:
    text: str
    confidence: float  # 0..100, the words' mean, weighted by length


def _command() -> str | None:
    cmd = os.environ.get("FMSTACK_TESSERACT_CMD", "tesseract")
    return cmd if os.path.isfile(cmd) else shutil.which(cmd)


@lru_cache(maxsize=8)
def _installed_languages(cmd: str) -> frozenset[str]:
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = cmd
    try:
        return frozenset(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return frozenset()


def languages(wanted: str | None = None) -> str:
    """The Tesseract language string to read with ("chi_sim+eng"): those asked for (or the default
    ones) that are installed. Raises OcrUnavailable when there is no Tesseract or none of them."""
    cmd = _command()
    if cmd is None:
        raise OcrUnavailable(
            "OCR is not available: Tesseract is not installed (Debian: apt-get install tesseract-ocr "
            "tesseract-ocr-chi-sim)"
        )
    asked = [x for x in re.split(r"[+,\s]+", wanted or "") if x] or list(DEFAULT_LANGUAGES)
    have = _installed_languages(cmd)
    usable = [x for x in asked if x in have]
    if not usable:
        raise OcrUnavailable(f"OCR is not available for {'+'.join(asked)}: Tesseract has {', '.join(sorted(have))}")
    return "+".join(usable)


def read(image: Any, langs: str) -> OcrText:
    """The text of one picture (a PIL image), line by line."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = _command() or "tesseract"
    gray = image.convert("L")
    data = pytesseract.image_to_data(gray, lang=langs, output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[str]] = {}
    weight = total = 0.0
    for word, conf, block, par, line in zip(
        data["text"], data["conf"], data["block_num"], data["par_num"], data["line_num"], strict=False
    ):
        word = (word or "").strip()
        conf = float(conf)
        if not word or conf < 0:
            continue
        lines.setdefault((block, par, line), []).append(word)
        weight += len(word)
        total += conf * len(word)
    out: list[str] = []
    last_par: tuple[int, int] | None = None
    for (block, par, _), words in lines.items():
        if last_par is not None and last_par != (block, par):
            out.append("")  # a blank line between paragraphs
        last_par = (block, par)
        out.append(_join(words))
    return OcrText("\n".join(out).strip(), round(total / weight, 1) if weight else 0.0)


def _join(words: list[str]) -> str:
    """Words of one line: a space between them, except between two Chinese characters."""
    text = words[0]
    for w in words[1:]:
        if _CJK_EDGE.match(text[-1]) and _CJK_EDGE.match(w[0]):
            text += w
        else:
            text += " " + w
    return text

"""Text units for chunking and search, equally for English and Chinese.

Sentences end at . ! ? (followed by a space) and at 。！？； (no space needed in CJK text);
paragraphs at blank lines. Keyword terms come from jieba, which segments Chinese into words and
leaves English words whole, after folding Traditional characters into Simplified ones (OpenCC), so
that 臺灣正體 and 台湾正体 are the same words to search and to answer extraction.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(rf"[{CJK}]|[A-Za-z0-9_\u00c0-\u024f]+|[^\sA-Za-z0-9_\u00c0-\u024f{CJK}]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|(?<=[。！？；!?;])[”’」』）)]*|\n+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def count_tokens(text: str) -> int:
    """Approximate tokens: a CJK character, a word or a punctuation mark each count one (close to
    what subword tokenizers of multilingual models give, and fast)."""
    return len(_WORD.findall(text))


def spans(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    """Pieces of `text` cut after each match of `pattern`, as (start, end), separators kept."""
    out, start = [], 0
    for m in pattern.finditer(text):
        end = m.end()
        if end > start and text[start:end].strip():
            out.append((start, end))
            start = end
        elif end > start:
            start = end
    if start < len(text) and text[start:].strip():
        out.append((start, len(text)))
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    return spans(text, _SENTENCE_END)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    return spans(text, _PARAGRAPH)


def hard_spans(text: str, size: int) -> list[tuple[int, int]]:
    """Cut a unit with no usable boundary (a long run of CJK without punctuation, a huge token)
    into pieces of about `size` tokens."""
    out, start, n = [], 0, 0
    for m in _WORD.finditer(text):
        n += 1
        if n >= size:
            out.append((start, m.end()))
            start, n = m.end(), 0
    if start < len(text) and text[start:].strip():
        out.append((start, len(text)))
    return out


def normalize(text: str) -> str:
    """Case- and width-insensitive form (full-width Ａ and ５ become A and 5)."""
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional Chinese characters and phrases in their Simplified form (other text unchanged)."""
    return _opencc().convert(text) if _HAN.search(text) else text


def fold(text: str) -> str:
    """The form words are compared in: case, width and Chinese script folded."""
    return simplified(normalize(text))


_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


_TERM = re.compile(rf"[{CJK}A-Za-z0-9\u00c0-\u024f]")
# Function words and question words: they match everywhere and only add noise to keyword scores.
STOPWORDS = frozenset(
    "a an and are as at be by can could do does did for from has have how in is it its many much of on or "
    "should that the this to was were what when where which who whom whose why will with would "
    "的 了 和 是 在 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 这 那 之 吗 呢 吧 有 什么 怎么 怎样 "
    "如何 为什么 哪 哪里 哪些 哪个 谁 多少 几 一共 时候 意思 请问".split()
)


def terms(text: str) -> list[str]:
    """Keyword-search terms: jieba words (search mode, so 中华人民共和国 also yields 中华, 人民…),
    folded (fold()), without punctuation and the commonest function words."""
    words = _jieba().lcut_for_search(fold(text))
    return [w for w in (w.strip() for w in words) if w and _TERM.search(w) and w not in STOPWORDS]

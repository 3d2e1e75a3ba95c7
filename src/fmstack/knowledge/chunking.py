"""Chunking strategies: fixed token windows, structure-aware recursive, hierarchical parent/child.

Every chunk keeps its page, heading path, character offsets into the document's text (sections
joined by a blank line) and the section's metadata. Registered by name; a knowledge base picks one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InvalidInput
from .loaders import Section
from .text import count_tokens, hard_spans, paragraph_spans, sentence_spans

SEPARATOR = "\n\n"


@dataclass
class Chunk:
    text: str
    start: int
    end: int
    page: int | None = None
    heading: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    level: int = 0  # 1: a parent section (hierarchical strategy)
    parent: int | None = None  # index of the parent chunk in the same list


@dataclass
class ChunkingOptions:
    strategy: str = "recursive"
    chunk_size: int = 200  # tokens (see text.count_tokens)
    overlap: int = 30
    parent_size: int = 800  # hierarchical only
    child_size: int = 120

    @classmethod
    def from_dict(cls, d: dict | None) -> ChunkingOptions:
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInput(f"unknown chunking options: {', '.join(sorted(unknown))}", param="chunking")
        opts = cls(**d)
        if opts.strategy not in STRATEGIES:
            raise InvalidInput(
                f"unknown chunking strategy {opts.strategy!r}; known: {', '.join(STRATEGIES)}", param="chunking"
            )
        if not 16 <= opts.chunk_size <= 4096 or not 0 <= opts.overlap < opts.chunk_size // 2 + 1:
            raise InvalidInput("chunk_size must be 16..4096 tokens and overlap under half of it", param="chunking")
        if opts.child_size >= opts.parent_size:
            raise InvalidInput("child_size must be smaller than parent_size", param="chunking")
        return opts

    def to_dict(self) -> dict:
        return dict(vars(self))


Strategy = Callable[[list[Section], ChunkingOptions], list[Chunk]]
STRATEGIES: dict[str, Strategy] = {}


def strategy(name: str):
    def register(fn: Strategy) -> Strategy:
        STRATEGIES[name] = fn
        return fn

    return register


def chunk_document(sections: list[Section], options: ChunkingOptions) -> list[Chunk]:
    return STRATEGIES[options.strategy](sections, options)


def _offsets(sections: list[Section]) -> list[int]:
    out, pos = [], 0
    for s in sections:
        out.append(pos)
        pos += len(s.text) + len(SEPARATOR)
    return out


def _pack(text: str, units: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedily join consecutive units (start, end) into pieces of at most `size` tokens, each
    starting with up to `overlap` tokens of the previous piece's last units."""
    pieces: list[tuple[int, int]] = []
    cur: list[tuple[int, int, int]] = []  # (start, end, tokens)
    total = 0
    for s, e in units:
        n = count_tokens(text[s:e])
        if cur and total + n > size:
            pieces.append((cur[0][0], cur[-1][1]))
            keep: list[tuple[int, int, int]] = []
            kept = 0
            for u in reversed(cur):
                if kept + u[2] > overlap:
                    break
                keep.insert(0, u)
                kept += u[2]
            cur, total = keep, kept
        cur.append((s, e, n))
        total += n
    if cur:
        pieces.append((cur[0][0], cur[-1][1]))
    return pieces


def _units(text: str, size: int) -> list[tuple[int, int]]:
    """Paragraphs if they fit, else their sentences, else hard cuts: nothing over `size`."""
    out = []
    for ps, pe in paragraph_spans(text):
        if count_tokens(text[ps:pe]) <= size:
            out.append((ps, pe))
            continue
        for ss, se in sentence_spans(text[ps:pe]):
            ss, se = ss + ps, se + ps
            if count_tokens(text[ss:se]) <= size:
                out.append((ss, se))
            else:
                out.extend((hs + ss, he + ss) for hs, he in hard_spans(text[ss:se], size))
    return out


def _trimmed(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _split(sections: list[Section], size: int, overlap: int, unit_fn) -> list[Chunk]:
    chunks = []
    for section, base in zip(sections, _offsets(sections)):
        text = section.text
        for s, e in _pack(text, unit_fn(text, size), size, overlap):
            s, e = _trimmed(text, s, e)
            if s < e:
                chunks.append(
                    Chunk(text[s:e], base + s, base + e, section.page, list(section.heading), dict(section.meta))
                )
    return chunks


@strategy("recursive")
def recursive(sections: list[Section], o: ChunkingOptions) -> list[Chunk]:
    """Within each section (page or heading): paragraphs, then sentences, then hard cuts."""
    return _split(sections, o.chunk_size, o.overlap, _units)


@strategy("fixed")
def fixed(sections: list[Section], o: ChunkingOptions) -> list[Chunk]:
    """Windows of `chunk_size` tokens with `overlap`, ignoring structure (but not sections)."""
    return _split(sections, o.chunk_size, o.overlap, lambda text, size: hard_spans(text, 1))


@strategy("hierarchical")
def hierarchical(sections: list[Section], o: ChunkingOptions) -> list[Chunk]:
    """Small children are searched; their parent section (up to parent_size) is what is returned."""
    out: list[Chunk] = []
    for parent in _split(sections, o.parent_size, 0, _units):
        parent.level = 1
        out.append(parent)
        pidx = len(out) - 1
        inner = Section(parent.text, parent.page, parent.heading, parent.meta)
        for child in _split([inner], o.child_size, min(o.overlap, o.child_size // 4), _units):
            child.start += parent.start
            child.end += parent.start
            child.parent = pidx
            out.append(child)
    return out

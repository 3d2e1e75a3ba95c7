"""Answers grounded in a knowledge base, with the citations the answer actually uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..models.types import Message
from .answers import Evidence, SentenceSupport, is_cjk
from .service import Retrieved
from .text import CJK, terms

SYSTEM = (
    "Answer the question using only the numbered passages below. After each sentence, cite the passages it "
    "comes from by number in square brackets, like [1] or [2][3]. If the passages do not contain the answer, "
    "say that you don't know. {language}\n\n{passages}"
)
# for a Chinese question the instructions are Chinese too: the bundled model answers in the language
# it is spoken to (on bench/data/answers' 86 Chinese development questions, generated answers mostly
# not in Chinese fell from 27 to 15 with these words in place of the English ones and 用中文回答)
SYSTEM_ZH = (
    "请只根据下面编号的段落回答问题。每句话后用方括号注明它出自哪个段落的编号，如 [1] 或 [2][3]。"
    "如果段落里没有答案，就说不知道。{language}\n\n{passages}"
)
DONT_KNOW = "I don't know: nothing in the knowledge base answers this."
DONT_KNOW_ZH = "我不知道：知识库中没有能回答这个问题的内容。"
_CJK = re.compile(f"[{CJK}]")


def dont_know(question: str) -> str:
    """The "I don't know" answer, in the question's language."""
    return DONT_KNOW_ZH if _CJK.search(question) else DONT_KNOW


_MARK = re.compile(r"\[(\d{1,3})\]")


@dataclass
class Citation:
    number: int
    chunk_id: int
    document_id: str
    source: str
    title: str
    page: int | None
    heading: str
    text: str
    inferred: bool = False  # the model did not write the marker; the overlap of words says it used it

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class CitationsEvent:
    citations: list[Citation]
    sentences: list[SentenceSupport] = field(default_factory=list)  # each sentence and the passages supporting it
    kind: str = "citations"

    def to_dict(self) -> dict[str, Any]:
        """The citations, each sentence with the passages that support it, and which sentences no
        passage supports — as the APIs send and chat stores them."""
        return {
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "unsupported": [i for i, s in enumerate(self.sentences) if not s.supported],
        }


@dataclass
class RagAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Retrieved] = field(default_factory=list)
    answered: bool = True
    guardrail: dict | None = None  # what a guardrail found: assessments, grounding and relevance scores
    mode: str | None = None  # generate | extract | auto
    answerability: float | None = None  # 0..1: how likely the passages answer the question
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def unsupported(self) -> list[int]:
        """Indexes of the answer's sentences no passage supports."""
        return [i for i, s in enumerate(self.sentences) if not s.supported]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "text": self.text,
            "answered": self.answered,
            "mode": self.mode,
            "answerability": self.answerability,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "unsupported": self.unsupported,
            "passages": [p.to_dict() for p in self.passages],
        }
        if self.guardrail is not None:
            out["guardrail"] = self.guardrail
        return out


def language_instruction(question: str) -> str:
    """Which language to answer in: the question's."""
    if is_cjk(question):
        return "用中文回答。"
    letters = re.findall(r"[^\W\d_]", question)
    if letters and sum(c.isascii() for c in letters) / len(letters) > 0.9:
        return "Answer in English."
    return "Answer in the language of the question."


def context_message(passages: list[Retrieved], question: str = "") -> Message:
    """The system message that holds the numbered passages and the instructions to cite them and
    to answer in the question's language."""
    blocks = []
    for i, p in enumerate(passages, start=1):
        where = p.title or p.source
        if p.page:
            where += f", page {p.page}"
        if p.heading:
            where += f", {p.heading}"
        blocks.append(f"[{i}] ({where})\n{p.text}")
    language = language_instruction(question) if question else ""
    template = SYSTEM_ZH if question and is_cjk(question) else SYSTEM
    return Message("system", template.format(passages="\n\n".join(blocks), language=language))


def citations_for(answer: str, passages: list[Retrieved]) -> list[Citation]:
    """The passages the answer cites with [n]; when it cites none, those whose words it mostly reuses."""
    used = []
    for m in _MARK.finditer(answer):
        n = int(m.group(1))
        if 1 <= n <= len(passages) and n not in used:
            used.append(n)
    inferred = False
    if not used:
        words = set(terms(answer))
        if words:
            for i, p in enumerate(passages, start=1):
                overlap = len(words & set(terms(p.text))) / len(words)
                if overlap >= 0.6:
                    used.append(i)
            inferred = True
    out = []
    for n in used:
        p = passages[n - 1]
        out.append(Citation(n, p.chunk_id, p.document_id, p.source, p.title, p.page, p.heading, p.text, inferred))
    return out


def strip_marks(text: str) -> str:
    """The text without [n] citation marks."""
    return re.sub(r"\s*\[\d{1,3}\]", "", text).strip()


def checked_citations(
    answer: str, passages: list[Retrieved], evidence: Evidence | None
) -> tuple[list[Citation], list[SentenceSupport]]:
    """The passages that support the answer, checked sentence by sentence (knowledge/answers.py):
    a passage the model cited that supports nothing is left out, one it used without citing is
    added (marked `inferred`). Without evidence: the marks the answer carries."""
    if evidence is None:
        return citations_for(answer, passages), []
    sentences = evidence.support(answer)
    marked = {int(m.group(1)) for m in _MARK.finditer(answer)}
    used: list[int] = []
    for s in sentences:
        for n in s.citations:
            if n not in used and 1 <= n <= len(passages):
                used.append(n)
    out = []
    for n in used:
        p = passages[n - 1]
        out.append(
            Citation(n, p.chunk_id, p.document_id, p.source, p.title, p.page, p.heading, p.text, n not in marked)
        )
    return out, sentences

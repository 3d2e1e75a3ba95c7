"""Questions rewritten by an LLM before retrieval: several phrasings of one question (multi-query),
and a follow-up made to stand alone from the conversation before it.

Small models write these clumsily; every output is checked (length, one line each, not a copy of
the prompt) and anything unusable falls back to the original question, so retrieval never gets
worse than without rewriting.
"""

from __future__ import annotations

import re

from ..models.base import ChatModel
from ..models.types import GenerationParams, Message
from .text import CJK, terms

_NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)、:]|[（(]?\d+[)）])\s*")
_HAS_CJK = re.compile(f"[{CJK}]")
_REFERS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|this|that|these|those|he|she|him|her|his|there|then)\b|"
    r"[它他她其该此]|这[个些里]?|那[个些里]?",
    re.I,
)

MULTI_QUERY = (
    "Write {n} different search queries that would find documents answering the question below. "
    "Use other words and synonyms; keep names and numbers. Write them in the question's language, one per line, "
    "with nothing else.\n\nQuestion: {question}"
)
STANDALONE = (
    "Rewrite the last question so that it can be understood without the conversation: replace pronouns and "
    "references like 'it', 'that', 'they' with what they refer to. Keep the question's language. "
    "Reply with the rewritten question only.\n\nConversation:\n{history}\n\nLast question: {question}"
)


def _clean(line: str) -> str:
    line = _NUMBERING.sub("", line.strip()).strip().strip('"“”「」').strip()
    return re.sub(r"^(?:query|question|search query)\s*\d*\s*[:：]\s*", "", line, flags=re.I).strip()


def _usable(text: str, question: str, keep: float) -> bool:
    """A rewrite is used only if it is a question of sensible length in the same script that keeps
    at least `keep` of the question's keywords (a rewrite that drifts to another subject — small
    models answer instead, or continue an earlier topic — would search for the wrong thing)."""
    if not text or len(text) > max(3 * len(question), 200) or len(text) < 3:
        return False
    # A Chinese question rewritten in English (or the reverse) searches the wrong words.
    if bool(_HAS_CJK.search(text)) != bool(_HAS_CJK.search(question)):
        return False
    if not text.rstrip().endswith(("?", "？")) and question.rstrip().endswith(("?", "？")):
        return False
    wanted = set(terms(question))
    return not wanted or len(wanted & set(terms(text))) >= keep * len(wanted)


def rewrite_queries(model: ChatModel, question: str, n: int, params: GenerationParams | None = None) -> list[str]:
    """Up to `n` other phrasings of `question` (fewer when the model's lines are unusable)."""
    if n <= 0:
        return []
    # Some temperature (seeded: the same question gives the same rewrites): greedy decoding tends
    # to repeat the question verbatim.
    params = params or GenerationParams(temperature=0.7, seed=7, max_tokens=40 * n)
    out = model.generate([Message("user", MULTI_QUERY.format(n=n, question=question))], params).text
    seen = {question.strip().lower()}
    queries = []
    for line in out.splitlines():
        q = _clean(line)
        if _usable(q, question, keep=0.25) and q.lower() not in seen:
            seen.add(q.lower())
            queries.append(q)
        if len(queries) == n:
            break
    return queries


def standalone_question(
    model: ChatModel, history: list[Message], question: str, params: GenerationParams | None = None, turns: int = 3
) -> str:
    """`question` made self-contained from the last `turns` exchanges. When the model's rewrite is
    unusable and the question refers back ("it", "they", "这个"…), the previous question is
    prepended instead, which search handles well; otherwise the question stays as it is."""
    recent = [m for m in history if m.role in ("user", "assistant") and m.content][-2 * turns :]
    if not recent:
        return question
    lines = "\n".join(f"{m.role}: {' '.join(m.content.split())[:500]}" for m in recent)
    params = params or GenerationParams(temperature=0.0, max_tokens=80)
    out = model.generate([Message("user", STANDALONE.format(history=lines, question=question))], params).text
    first = next((_clean(line) for line in out.splitlines() if line.strip()), "")
    if _usable(first, question, keep=0.5) and first.strip().lower() != question.strip().lower():
        return first
    previous = next((m.content for m in reversed(recent) if m.role == "user"), None)
    if previous and _REFERS_BACK.search(question):
        return f"{' '.join(previous.split())[:300]} {question}"
    return question

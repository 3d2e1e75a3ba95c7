"""RAG metrics as ragas defines them, each with a non-LLM variant and an LLM-judge variant.

- faithfulness: the share of the answer's statements that the retrieved contexts support;
- answer relevancy: how well the answer addresses the question — ragas generates questions from the
  answer and averages their cosine to the real question (LLM variant); the non-LLM variant is the
  cosine of the question and the answer;
- context precision: ranking quality of the contexts against the reference, mean precision@k over
  the ranks k holding a relevant context: sum_k(precision@k * v_k) / (number of relevant contexts);
- context recall: the share of the reference's statements the contexts support.

Statements are sentences. Without an LLM, a statement is supported by a text when at least 60% of
its tokens (words; characters for Chinese) occur in it; with a judge model, the judge answers yes
or no (a JSON-schema-constrained reply).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from ..knowledge.text import sentence_spans
from ..models.base import ChatModel
from ..models.types import GenerationParams, Message
from .metrics import tokenize

SUPPORT = 0.6


def statements(text: str) -> list[str]:
    out = [text[a:b].strip() for a, b in sentence_spans(text or "")]
    return [s for s in out if tokenize(s)] or ([text.strip()] if tokenize(text or "") else [])


def coverage(statement: str, text: str) -> float:
    """The share of the statement's tokens that occur in the text."""
    want = tokenize(statement)
    have = set(tokenize(text))
    return sum(t in have for t in want) / len(want) if want else 0.0


class _Verdict(BaseModel):
    verdict: bool


def _judge_yes(judge: ChatModel, instruction: str) -> bool:
    from ..prompts.techniques import InvalidOutput, structured

    try:
        return structured(
            judge,
            [Message("system", "You are a strict evaluator. Reply with JSON only."), Message("user", instruction)],
            _Verdict,
            retries=1,
            params=GenerationParams(temperature=0.0, max_tokens=32),
        ).verdict
    except InvalidOutput:
        return False


def _supported(statement: str, context: str, judge: ChatModel | None) -> bool:
    if judge is None:
        return coverage(statement, context) >= SUPPORT
    return _judge_yes(
        judge,
        f"Context:\n{context}\n\nStatement: {statement}\n\n"
        "Can the statement be inferred from the context? verdict true or false.",
    )


def faithfulness(answer: str, contexts: Sequence[str], judge: ChatModel | None = None) -> float | None:
    claims = statements(answer)
    if not claims:
        return None
    joined = "\n".join(contexts)
    return sum(_supported(c, joined, judge) for c in claims) / len(claims)


def context_recall(reference: str, contexts: Sequence[str], judge: ChatModel | None = None) -> float | None:
    claims = statements(reference)
    if not claims:
        return None
    joined = "\n".join(contexts)
    return sum(_supported(c, joined, judge) for c in claims) / len(claims)


def context_precision(reference: str, contexts: Sequence[str], judge: ChatModel | None = None) -> float | None:
    """Mean precision@k over the ranks of the relevant contexts (0 when none is relevant)."""
    if not contexts:
        return None
    if judge is None:
        ref_claims = statements(reference)
        relevant = [any(coverage(c, ctx) >= SUPPORT for c in ref_claims) for ctx in contexts]
    else:
        relevant = [
            _judge_yes(
                judge,
                f"Reference answer: {reference}\n\nContext:\n{ctx}\n\n"
                "Is this context useful for arriving at the reference answer? verdict true or false.",
            )
            for ctx in contexts
        ]
    hits, total = 0, 0.0
    for k, rel in enumerate(relevant, start=1):
        if rel:
            hits += 1
            total += hits / k
    return total / hits if hits else 0.0


def answer_relevancy(question: str, answer: str, embedder, judge: ChatModel | None = None, n: int = 3) -> float | None:
    if not (answer or "").strip():
        return 0.0
    if judge is None:
        q, a = embedder.embed([question, answer], input_type="query")
        return float(max(0.0, min(1.0, float(q @ a))))
    generated = []
    for i in range(n):
        res = judge.generate(
            [
                Message(
                    "user", f"Write one question that this answer responds to. Only the question.\n\nAnswer: {answer}"
                )
            ],
            GenerationParams(temperature=0.0 if i == 0 else 0.7, max_tokens=64, seed=i),
        )
        if res.text.strip():
            generated.append(res.text.strip())
    if not generated:
        return 0.0
    vecs = embedder.embed([question, *generated], input_type="query")
    return float(max(0.0, min(1.0, float((vecs[1:] @ vecs[0]).mean()))))

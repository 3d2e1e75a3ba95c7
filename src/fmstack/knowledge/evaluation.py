"""Retrieval quality on a labelled question set: recall@k, MRR and nDCG@10 per retrieval mode.

A question set is JSON lines: {"question": "...", "relevant": ["file-name.md"], "answer": "...",
"lang": "en"}. A retrieved chunk is relevant when it comes from one of the `relevant` files (matched
on the file name) and, if `answer` is given, contains that text: the chunk that can answer, not
just the right document. Recall@k counts a question as found when a relevant chunk is in the top k.
"""

from __future__ import annotations

import json
import math
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..evaluation.metrics import wilson
from .answers import is_cjk
from .rag import strip_marks

MODES = ("bm25", "dense", "hybrid")


@dataclass
class Scores:
    n: int = 0
    recall: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    ndcg10: float = 0.0

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            **{f"recall@{k}": round(v, 4) for k, v in self.recall.items()},
            "mrr": round(self.mrr, 4),
            "ndcg@10": round(self.ndcg10, 4),
        }


def _json_lines(path: str | Path):
    """(line number, object) for each non-blank line of a JSON-lines file; a clear error naming
    the line that is not JSON or not an object with a 'question'."""
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{path}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise InvalidInput(f"{path}:{n}: needs 'question' (text)")
        yield n, row


def load_questions(path: str | Path) -> list[dict]:
    rows = []
    for n, row in _json_lines(path):
        if not isinstance(row.get("question"), str) or not isinstance(row.get("relevant"), list) or not row["relevant"]:
            raise InvalidInput(f"{path}:{n}: needs 'question' (text) and 'relevant' (a list of file names)")
        rows.append(row)
    if not rows:
        raise InvalidInput(f"{path} holds no questions")
    return rows


def judged(hits, question: dict) -> list[bool]:
    """Relevance of each retrieved chunk, in rank order."""
    files = set(question["relevant"])
    answer = question.get("answer")
    return [Path(h.source).name in files and (answer is None or answer in h.text) for h in hits]


def score(rankings: list[list[bool]], ks=(1, 5, 10)) -> Scores:
    s = Scores(n=len(rankings), recall={k: 0.0 for k in ks})
    for rel in rankings:
        for k in ks:
            s.recall[k] += 1.0 if any(rel[:k]) else 0.0
        first = next((i for i, r in enumerate(rel, start=1) if r), None)
        s.mrr += 1 / first if first else 0.0
        dcg = sum(1 / math.log2(i + 1) for i, r in enumerate(rel[:10], start=1) if r)
        ideal = max(1, min(sum(rel), 10))
        s.ndcg10 += dcg / sum(1 / math.log2(i + 1) for i in range(1, ideal + 1))
    if s.n:
        s.recall = {k: v / s.n for k, v in s.recall.items()}
        s.mrr /= s.n
        s.ndcg10 /= s.n
    return s


def evaluate(
    knowledge, kb: str, questions: list[dict], modes=MODES, top_k: int = 10, rerank: str | None = None
) -> dict[str, dict[str, Scores]]:
    """{mode: {"all": Scores, "<lang>": Scores, ...}}; with `rerank` (a reranker, see
    knowledge/rerank.py) each mode also as "<mode>+rerank"."""
    out: dict[str, dict[str, Scores]] = {}
    runs = [(m, None) for m in modes] + ([(m, rerank) for m in modes] if rerank else [])
    for mode, reranker in runs:
        per: dict[str, list] = {"all": []}
        options = {"rerank": reranker} if reranker else {}
        for q in questions:
            item = judged(knowledge.retrieve(kb, q["question"], mode=mode, top_k=top_k, **options), q)
            per["all"].append(item)
            per.setdefault(q.get("lang", "other"), []).append(item)
        out[f"{mode}+rerank" if reranker else mode] = {group: score(items) for group, items in per.items()}
    return out


# -- answer quality ----------------------------------------------------------------------------------
# A labelled answer set is JSON lines: {"question": "...", "relevant": ["file.md"] (empty: no document
# answers it), "answers": ["fact", "other wording of the fact"], "lang": "en", "split": "dev"|"test"}.
ANSWER_MODES = ("generate", "extract", "auto")


def load_answer_set(path: str | Path, split: str | None = None) -> list[dict]:
    rows = []
    for n, row in _json_lines(path):
        relevant, facts = row.get("relevant") or [], row.get("answers") or []
        if not isinstance(relevant, list) or not isinstance(facts, list) or (relevant and not facts):
            raise InvalidInput(
                f"{path}:{n}: 'relevant' (file names; empty when nothing answers it) and 'answers' "
                "(texts a correct answer contains) must be lists, 'answers' non-empty when 'relevant' is"
            )
        if split is None or row.get("split", "test") == split:
            rows.append({**row, "relevant": relevant, "answers": facts})
    if not rows:
        raise InvalidInput(f"{path} holds no questions" + (f" in split {split!r}" if split else ""))
    return rows


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def fact_in(answer: str, facts: list[str]) -> bool:
    """Whether the answer holds one of the labelled facts (case, width and spacing ignored)."""
    a = _norm(answer)
    return any(_norm(f) in a for f in facts if f.strip())


@dataclass
class AnswerScores:
    """Per mode: over answerable questions, the share whose answer holds the fact, cites the right
    document, and says "I don't know"; over unanswerable ones, the share that says it; over all
    answers, the share written in the question's language (Chinese or not)."""

    answerable: int = 0
    unanswerable: int = 0
    fact: int = 0
    cited: int = 0
    dont_know_answerable: int = 0
    dont_know_unanswerable: int = 0
    in_language: int = 0
    seconds: float = 0.0
    by_lang: dict[str, AnswerScores] = field(default_factory=dict)

    def add(self, q: dict, text: str, answered: bool, sources: list[str], seconds: float) -> None:
        self.seconds += seconds
        self.in_language += is_cjk(q["question"]) == is_cjk(strip_marks(text))
        if q["relevant"]:
            self.answerable += 1
            self.fact += answered and fact_in(text, q["answers"])
            self.cited += answered and any(Path(s).name in q["relevant"] for s in sources)
            self.dont_know_answerable += not answered
        else:
            self.unanswerable += 1
            self.dont_know_unanswerable += not answered

    def to_dict(self) -> dict[str, Any]:
        def rate(k: int, n: int) -> dict[str, Any]:
            return {
                "rate": round(k / n, 3) if n else None,
                "ci95": tuple(round(x, 3) for x in wilson(k, n)) if n else (0.0, 0.0),
                "k": k,
                "n": n,
            }

        out: dict[str, Any] = {
            "questions": self.answerable + self.unanswerable,
            "fact": rate(self.fact, self.answerable),
            "right_document_cited": rate(self.cited, self.answerable),
            "dont_know_unanswerable": rate(self.dont_know_unanswerable, self.unanswerable),
            "dont_know_answerable": rate(self.dont_know_answerable, self.answerable),
            "in_question_language": rate(self.in_language, self.answerable + self.unanswerable),
            "seconds_per_question": round(self.seconds / max(1, self.answerable + self.unanswerable), 2),
        }
        if self.by_lang:
            out["by_lang"] = {k: v.to_dict() for k, v in sorted(self.by_lang.items())}
        return out


def evaluate_answers(
    turns: Any,
    kb: str,
    questions: list[dict],
    modes: Sequence[str] = ANSWER_MODES,
    *,
    model: str | None = None,
    abstain_threshold: float | None = None,
    params: Any = None,
    progress: Any = None,
) -> dict[str, AnswerScores]:
    """Ask every question in every answer mode through the turn pipeline (`turns.ask`, the path
    users' answers take) and score the answers against the labels."""
    for mode in modes:
        if mode not in ANSWER_MODES:
            raise InvalidInput(f"answer mode must be one of {', '.join(ANSWER_MODES)}", param="modes")
    out: dict[str, AnswerScores] = {}
    for mode in modes:
        scores = out[mode] = AnswerScores()
        for q in questions:
            retrieval: dict[str, Any] = {"answer_mode": mode}
            if abstain_threshold is not None:
                retrieval["abstain_threshold"] = abstain_threshold
            t0 = time.perf_counter()
            a = turns.ask(kb, q["question"], model=model, retrieval=retrieval, params=params)
            took = time.perf_counter() - t0
            sources = [c.source for c in a.citations]
            scores.add(q, a.text, a.answered, sources, took)
            scores.by_lang.setdefault(q.get("lang", "other"), AnswerScores()).add(q, a.text, a.answered, sources, took)
            if progress is not None:
                progress(mode, q, a)
    return out

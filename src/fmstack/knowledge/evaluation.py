"""Retrieval quality on a labelled question set: recall@k, MRR and nDCG@10 per retrieval mode.

A question set is JSON lines: {"question": "...", "relevant": ["file-name.md"], "answer": "...",
"lang": "en"}. A retrieved chunk is relevant when it comes from one of the `relevant` files (matched
on the file name) and, if `answer` is given, contains that text: the chunk that can answer, not
just the right document. Recall@k counts a question as found when a relevant chunk is in the top k.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput

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


def load_questions(path: str | Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{path}:{n}: not valid JSON ({e.msg})") from None
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


def evaluate(knowledge, kb: str, questions: list[dict], modes=MODES, top_k: int = 10) -> dict[str, dict[str, Scores]]:
    """{mode: {"all": Scores, "<lang>": Scores, ...}}"""
    out: dict[str, dict[str, Scores]] = {}
    for mode in modes:
        per: dict[str, list] = {"all": []}
        for q in questions:
            item = judged(knowledge.retrieve(kb, q["question"], mode=mode, top_k=top_k), q)
            per["all"].append(item)
            per.setdefault(q.get("lang", "other"), []).append(item)
        out[mode] = {group: score(items) for group, items in per.items()}
    return out

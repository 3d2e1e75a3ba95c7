"""Text metrics, English and Chinese. Every score is in [0, 1].

ROUGE reuses `rouge-score` and BLEU/chrF reuse `sacrebleu`; what fmstack adds is tokenisation that
works for Chinese: rouge-score's default tokenizer keeps only [a-z0-9] and scores any Chinese text
as 0, so text with CJK characters is tokenised into single CJK characters plus lower-cased Latin
words and numbers (the usual character-level ROUGE for Chinese), and sacrebleu gets its `zh`
tokenizer. Exact match and token F1 follow SQuAD's normalisation (lower case, no punctuation, no
English articles), at character level for Chinese.

Embedding metrics use any fmstack embedding model: `embedding_similarity` is the cosine of the two
texts' vectors; `segment_score` is BERTScore's greedy matching (precision: each candidate piece to its
best reference piece, recall the other way, F1) over short clauses instead of word pieces, because
the bundled embedding model gives one vector per text, not per token.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+", re.UNICODE)
_PUNCT = set(string.punctuation) | {c for c in "，。！？；：、“”‘’（）《》【】—…·「」『』"}


def has_cjk(*texts: str) -> bool:
    return any(_CJK.search(t or "") for t in texts)


def tokenize(text: str) -> list[str]:
    """Lower-cased words and numbers; each CJK character is a token of its own."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text or "").lower())


class CJKTokenizer:
    """rouge-score's tokenizer interface (tokenize(text) -> tokens) with Chinese kept."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def normalize(text: str) -> str:
    """SQuAD-style: NFKC, lower case, no punctuation, no English articles, single spaces."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = "".join(" " if c in _PUNCT else c for c in text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _answer_tokens(text: str) -> list[str]:
    return tokenize(normalize(text))


def exact_match(prediction: str, reference: str | Sequence[str]) -> float:
    refs = [reference] if isinstance(reference, str) else list(reference)
    p = _answer_tokens(prediction)
    return float(any(p == _answer_tokens(r) for r in refs))


def token_f1(prediction: str, reference: str | Sequence[str]) -> float:
    """SQuAD's token-overlap F1 (best over the references)."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    best = 0.0
    p = _answer_tokens(prediction)
    for r in refs:
        g = _answer_tokens(r)
        if not p or not g:
            best = max(best, float(p == g))
            continue
        common = sum((Counter(p) & Counter(g)).values())
        if common:
            precision, recall = common / len(p), common / len(g)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


_SCORERS: dict[bool, object] = {}


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2, ROUGE-L F-measures (rouge-score; Chinese tokenised by character)."""
    from rouge_score import rouge_scorer

    cjk = has_cjk(prediction, reference)
    scorer = _SCORERS.get(cjk)
    if scorer is None:
        scorer = _SCORERS[cjk] = rouge_scorer.RougeScorer(
            ["rouge1", "rouge2", "rougeL"], use_stemmer=not cjk, tokenizer=CJKTokenizer() if cjk else None
        )
    scores = scorer.score(reference, prediction)  # type: ignore[attr-defined]
    return {name: float(s.fmeasure) for name, s in scores.items()}


def bleu(prediction: str, references: str | Sequence[str]) -> float:
    """Sentence BLEU (sacrebleu, effective order; `zh` tokenisation for Chinese), 0-1."""
    from sacrebleu.metrics import BLEU

    refs = [references] if isinstance(references, str) else list(references)
    metric = BLEU(tokenize="zh" if has_cjk(prediction, *refs) else "13a", effective_order=True)
    return metric.sentence_score(prediction, refs).score / 100


def corpus_bleu(predictions: Sequence[str], references: Sequence[str | Sequence[str]]) -> float:
    """Corpus BLEU over a whole set (what papers report), 0-1."""
    from sacrebleu.metrics import BLEU

    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    width = max(len(r) for r in refs)
    streams = [[r[i] if i < len(r) else r[0] for r in refs] for i in range(width)]
    metric = BLEU(tokenize="zh" if has_cjk(*predictions) else "13a")
    return metric.corpus_score(list(predictions), streams).score / 100


def chrf(prediction: str, references: str | Sequence[str]) -> float:
    """Sentence chrF (sacrebleu; character n-grams work for Chinese as they are), 0-1."""
    from sacrebleu.metrics import CHRF

    refs = [references] if isinstance(references, str) else list(references)
    return CHRF().sentence_score(prediction, refs).score / 100


def classification(predictions: Sequence[str], golds: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """Accuracy, macro precision/recall/F1 over the labels, and per-label figures."""
    if len(predictions) != len(golds):
        raise ValueError("predictions and golds differ in length")
    labels = list(labels) if labels else sorted(set(golds) | set(predictions))
    per = {}
    for label in labels:
        tp = sum(p == label and g == label for p, g in zip(predictions, golds))
        fp = sum(p == label and g != label for p, g in zip(predictions, golds))
        fn = sum(p != label and g == label for p, g in zip(predictions, golds))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    n = len(golds)
    return {
        "accuracy": sum(p == g for p, g in zip(predictions, golds)) / n if n else 0.0,
        "precision": float(np.mean([v["precision"] for v in per.values()])) if per else 0.0,
        "recall": float(np.mean([v["recall"] for v in per.values()])) if per else 0.0,
        "f1": float(np.mean([v["f1"] for v in per.values()])) if per else 0.0,
        "labels": per,
    }


def embedding_similarity(embedder, prediction: str, reference: str) -> float:
    """Cosine similarity of the two texts' embeddings (vectors are normalised), clipped to [0, 1]."""
    a, b = embedder.embed([prediction or " ", reference or " "], input_type="query")
    return float(max(0.0, min(1.0, float(a @ b))))


_CLAUSE = re.compile(r"[^,.;:!?，。；：！？、\n]+[,.;:!?，。；：！？、\n]?")


def segments(text: str, words: int = 8) -> list[str]:
    """Clauses of at most `words` words (or 16 CJK characters), the units segment_score matches."""
    out: list[str] = []
    for clause in _CLAUSE.findall(text or ""):
        clause = clause.strip()
        if not clause:
            continue
        if has_cjk(clause):
            out.extend(clause[i : i + 16] for i in range(0, len(clause), 16))
        else:
            ws = clause.split()
            out.extend(" ".join(ws[i : i + words]) for i in range(0, len(ws), words))
    return [s for s in out if s.strip(" ,.;:!?，。；：！？、")] or [text or " "]


def segment_score(embedder, prediction: str, reference: str) -> dict[str, float]:
    """BERTScore's greedy matching over clause embeddings: precision, recall, F1 (cosines)."""
    cand, ref = segments(prediction), segments(reference)
    vecs = embedder.embed(cand + ref, input_type="query")
    sims = vecs[: len(cand)] @ vecs[len(cand) :].T
    precision = float(sims.max(axis=1).mean())
    recall = float(sims.max(axis=0).mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate k/n ((0, 1) when n is 0: nothing is known)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, centre - half), min(1.0, centre + half))

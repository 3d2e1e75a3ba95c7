"""Evaluation metrics by name: what a spec's `metrics:` list may hold. The built-in metrics register
here the way another package's metric does:

    @metric("shouts", needs_reference=False)
    def shouts(ctx: MetricContext) -> float:
        return float(ctx.output.isupper())

A metric returns a score (0–1), a dict of named scores, or None when it does not apply to the
example. `needs_reference` / `needs_contexts`: the metric is skipped for examples without them.
A family (`judge:` + a rubric) registers with `family=True` and gets the part after the colon in
`ctx.argument`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from . import metrics as M
from . import rag_metrics as R
from .judge import RUBRICS, judge

Score = float | dict[str, float] | None


@dataclass
class MetricContext:
    """One example's output with what metrics may need; models are fetched on first use."""

    example: dict[str, Any]
    output: str
    references: list[str]
    contexts: list[str]
    argument: str = ""  # a family's part after the colon: judge:correctness → "correctness"
    rag_judge: bool = False  # the RAG metrics use the judge model instead of token coverage
    get_embedder: Callable[[], Any] | None = None
    get_judge: Callable[[], Any] | None = None
    regenerate: Callable[[str], str] | None = None  # the configuration's output for another input
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def question(self) -> str:
        return str(self.example.get("input", ""))

    @property
    def embedder(self) -> Any:
        if "embedder" not in self._cache:
            self._cache["embedder"] = self.get_embedder() if self.get_embedder else None
        return self._cache["embedder"]

    @property
    def judge(self) -> Any:
        if "judge" not in self._cache:
            self._cache["judge"] = self.get_judge() if self.get_judge else None
        return self._cache["judge"]

    @property
    def rag_judge_model(self) -> Any:
        return self.judge if self.rag_judge else None


@dataclass
class Metric:
    name: str
    fn: Callable[[MetricContext], Score]
    needs_reference: bool = False
    needs_contexts: bool = False
    family: bool = False

    def score(self, ctx: MetricContext) -> dict[str, float]:
        if (self.needs_reference and not ctx.references) or (self.needs_contexts and not ctx.contexts):
            return {}
        value = self.fn(ctx)
        if value is None:
            return {}
        label = f"{self.name}:{ctx.argument}" if self.family else self.name
        return value if isinstance(value, dict) else {label: value}


METRICS: dict[str, Metric] = {}


def metric(name: str, *, needs_reference: bool = False, needs_contexts: bool = False, family: bool = False):
    def register(fn: Callable[[MetricContext], Score]) -> Callable[[MetricContext], Score]:
        METRICS[name] = Metric(name, fn, needs_reference, needs_contexts, family)
        return fn

    return register


def lookup(name: str) -> tuple[Metric, str]:
    """The metric a spec names, and its argument (judge:correctness → judge, "correctness")."""
    if name in METRICS and not METRICS[name].family:
        return METRICS[name], ""
    head, sep, arg = name.partition(":")
    if sep and head in METRICS and METRICS[head].family and arg:
        return METRICS[head], arg
    plain = sorted(n for n, m in METRICS.items() if not m.family)
    families = [f"{n}:…" for n, m in sorted(METRICS.items()) if m.family]
    raise InvalidInput(
        f"unknown metric {name!r}; metrics: {plain} or {', '.join(families)} (judge rubrics: {'|'.join(RUBRICS)})",
        param="metrics",
    )


def uses_embedder(names: list[str]) -> bool:
    return any(n in ("embedding_similarity", "segment_score", "answer_relevancy") for n in names)


# -- text against references ------------------------------------------------------------------------------
@metric("exact_match", needs_reference=True)
def _exact_match(ctx: MetricContext) -> Score:
    return M.exact_match(ctx.output, ctx.references)


@metric("token_f1", needs_reference=True)
def _token_f1(ctx: MetricContext) -> Score:
    return M.token_f1(ctx.output, ctx.references)


@metric("rouge", needs_reference=True)
def _rouge(ctx: MetricContext) -> Score:
    return max((M.rouge(ctx.output, r) for r in ctx.references), key=lambda d: d["rougeL"])


@metric("bleu", needs_reference=True)
def _bleu(ctx: MetricContext) -> Score:
    return M.bleu(ctx.output, ctx.references)


@metric("chrf", needs_reference=True)
def _chrf(ctx: MetricContext) -> Score:
    return M.chrf(ctx.output, ctx.references)


@metric("embedding_similarity", needs_reference=True)
def _embedding_similarity(ctx: MetricContext) -> Score:
    return max(M.embedding_similarity(ctx.embedder, ctx.output, r) for r in ctx.references)


@metric("segment_score", needs_reference=True)
def _segment_score(ctx: MetricContext) -> Score:
    return max(M.segment_score(ctx.embedder, ctx.output, r)["f1"] for r in ctx.references)


# -- retrieval-augmented answers ------------------------------------------------------------------------
@metric("faithfulness", needs_contexts=True)
def _faithfulness(ctx: MetricContext) -> Score:
    return R.faithfulness(ctx.output, ctx.contexts, ctx.rag_judge_model)


@metric("answer_relevancy")
def _answer_relevancy(ctx: MetricContext) -> Score:
    return R.answer_relevancy(ctx.question, ctx.output, ctx.embedder, ctx.rag_judge_model)


@metric("context_precision", needs_reference=True, needs_contexts=True)
def _context_precision(ctx: MetricContext) -> Score:
    return R.context_precision(ctx.references[0], ctx.contexts, ctx.rag_judge_model)


@metric("context_recall", needs_reference=True, needs_contexts=True)
def _context_recall(ctx: MetricContext) -> Score:
    return R.context_recall(ctx.references[0], ctx.contexts, ctx.rag_judge_model)


# -- a judge model, robustness -------------------------------------------------------------------------------
@metric("judge", family=True)
def _judge(ctx: MetricContext) -> Score:
    value, reason = judge(
        ctx.judge, ctx.argument, ctx.question, ctx.output, ctx.references[0] if ctx.references else None
    )
    return {f"judge:{ctx.argument}": value, f"judge:{ctx.argument}:reason": reason}  # type: ignore[dict-item]


@metric("robustness", needs_reference=True)
def _robustness(ctx: MetricContext) -> Score:
    """The change in token F1 when the input has typos, other letter case or extra whitespace."""
    if ctx.regenerate is None:
        return None
    base = M.token_f1(ctx.output, ctx.references)
    deltas = {
        kind: M.token_f1(ctx.regenerate(perturb(ctx.question, kind)), ctx.references) - base for kind in PERTURBATIONS
    }
    return {"robustness": sum(deltas.values()) / len(deltas), **{f"robustness:{k}": v for k, v in deltas.items()}}


@metric("accuracy")
def _accuracy(ctx: MetricContext) -> Score:
    return None  # classification tasks score it themselves (the label against the gold one)


# -- perturbations for robustness ---------------------------------------------------------------------
def perturb(text: str, kind: str, seed: int = 0) -> str:
    rng = random.Random(seed)
    if kind == "case":
        return text.upper() if not M.has_cjk(text) else text.swapcase()
    if kind == "whitespace":
        return "  ".join(text.split(" ")).replace("，", " ， ") + "  "
    words = [i for i, w in enumerate(text.split(" ")) if len(w) > 3]
    parts = text.split(" ")
    if words:  # typo: two neighbouring letters swapped in one word
        i = rng.choice(words)
        w = parts[i]
        j = rng.randrange(1, len(w) - 2)
        parts[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        return " ".join(parts)
    if len(text) > 2:  # Chinese: two neighbouring characters swapped
        j = rng.randrange(0, len(text) - 1)
        return text[:j] + text[j + 1] + text[j] + text[j + 2 :]
    return text


PERTURBATIONS = ("typo", "case", "whitespace")

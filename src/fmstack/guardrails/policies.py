"""Guardrail policies: each checks a text and says what it found. The built-in ones (denied
topics, word filters, personal data, prompt attacks, harm categories, grounding) register here the
way a third-party policy does:

    @guardrail_policy("no_digits", NoDigitsConfig)
    def no_digits(config: NoDigitsConfig, env: PolicyEnv) -> Policy:
        return NoDigits(config)

A policy's `check(ctx)` returns Findings. A policy whose `masks` attribute is true may give
findings with the action `mask` and a span (start, end) of the text: the span is replaced by
{NAME}. Any other `mask` counts as `block`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import regex
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import InvalidInput
from ..knowledge.text import CJK, count_tokens, normalize, sentence_spans, terms
from ..models.base import embed_queries
from . import harm, pii
from .attacks import AttackDetector
from .lexicons import HARM_EXAMPLES, NEUTRAL_EXAMPLES, PROFANITY

Action = Literal["block", "mask", "flag"]
Source = Literal["input", "output", "context"]
Strength = Literal["none", "low", "medium", "high"]
# Example detector: how much closer than everyday sentences a text must be to a category's examples
# to fire (a low strength filters only what is very close, a high one also what is merely near).
# Classifier: the operating points of harm.py.
STRENGTHS = {"low": 0.10, "medium": 0.06, "high": 0.03}


@dataclass
class Finding:
    policy: str  # topics | words | pii | attacks | harm | grounding | a plug-in's name
    name: str  # the topic, word, PII type, category…
    action: str
    source: str
    score: float | None = None
    start: int | None = None
    end: int | None = None
    detail: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None and v != ""}


@dataclass
class CheckContext:
    """One text being checked, with what policies share: its normalised form and its window
    embeddings (computed once, on first use), the question and passages of a grounded answer, and
    the scores policies report (grounding, relevance)."""

    text: str
    source: Source
    embedder: Any = None
    question: str | None = None
    passages: list[str] | None = None
    scores: dict[str, Any] = field(default_factory=dict)  # grounding, relevance, sentences (per sentence)
    _norm: str | None = None
    _vecs: np.ndarray | None = None

    @property
    def norm(self) -> str:
        if self._norm is None:
            self._norm = normalize(self.text)
        return self._norm

    @property
    def vectors(self) -> np.ndarray:
        """Windows of a few sentences, one batch: a topic or an attack hidden in one sentence of a
        long text is not diluted by the rest, and each character is embedded once."""
        if self._vecs is None:
            if self.embedder is None:
                raise InvalidInput("this guardrail policy needs an embedding model")
            self._vecs = embed_queries(self.embedder, windows(self.text))
        return self._vecs


class Policy(Protocol):
    def check(self, ctx: CheckContext) -> list[Finding]: ...  # what fired; empty when nothing did


@dataclass
class PolicyEnv:
    """What a policy may use when it is built: the embedding model, the model registry (for a
    policy that asks an LLM), and the everyday-sentence vectors that similarity policies compare to."""

    embedder: Any = None
    models: Any = None
    _neutral: np.ndarray | None = None

    def need_embedder(self, what: str) -> Any:
        if self.embedder is None:
            raise InvalidInput(f"{what} need an embedding model")
        return self.embedder

    @property
    def neutral(self) -> np.ndarray:
        if self._neutral is None:
            self._neutral = self.need_embedder("similarity policies").embed(NEUTRAL_EXAMPLES, input_type="query")
        return self._neutral


@dataclass
class PolicyType:
    name: str
    config: type[BaseModel] | Any  # the pydantic model (or type) of its configuration
    build: Callable[[Any, PolicyEnv], Policy]
    builtin: bool = False


POLICIES: dict[str, PolicyType] = {}


def guardrail_policy(name: str, config: type[BaseModel] | Any, *, builtin: bool = False):
    """Register a policy kind: `config` validates its configuration in a guardrail, the decorated
    function builds the policy from it."""

    def register(build: Callable[[Any, PolicyEnv], Policy]) -> Callable[[Any, PolicyEnv], Policy]:
        POLICIES[name] = PolicyType(name, config, build, builtin)
        return build

    return register


def _every(names: Any, value: Any) -> dict[str, Any]:
    return dict.fromkeys(names, value)


# -- denied topics ----------------------------------------------------------------------------------
class TopicPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    definition: str = ""
    examples: list[str] = Field(default_factory=list)
    threshold: float = Field(default=0.86, ge=0, le=1)  # cosine to the nearest example or the definition
    action: Action = "block"
    # "llm": a chat model decides (yes/no, constrained by a JSON schema) for texts the embeddings
    # find near the topic (cosine ≥ `llm_gate`); good with a capable model, not with the bundled one.
    classifier: Literal["embedding", "llm"] = "embedding"
    model: str | None = None
    llm_gate: float = Field(default=0.80, ge=0, le=1)


TOPIC_PROMPT = (
    'Does the text below belong to the topic "{name}" ({definition})? Examples of the topic: {examples}. '
    'Answer with JSON: {{"answer": "yes"}} or {{"answer": "no"}}.\n\nText: {text}'
)
_YES_NO = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
            "required": ["answer"],
        },
    },
}


class Topics:
    def __init__(self, topics: list[TopicPolicy], env: PolicyEnv):
        embedder = env.need_embedder("denied topics")
        self.topics = topics
        self.models = env.models
        self.vecs = [
            embedder.embed([x for x in [t.definition, *t.examples] if x.strip()] or [t.name], input_type="query")
            for t in topics
        ]
        self.neutral = env.neutral

    def check(self, ctx: CheckContext) -> list[Finding]:
        out = []
        vecs = ctx.vectors
        for t, tv in zip(self.topics, self.vecs):
            score = float((vecs @ tv.T).max())
            if t.classifier == "llm":
                if score >= t.llm_gate and self._llm_says(t, ctx.text):
                    out.append(
                        Finding("topics", t.name, t.action, ctx.source, round(score, 3), detail="LLM classifier")
                    )
            elif score >= t.threshold and score - float((vecs @ self.neutral.T).max()) >= 0.02:
                out.append(Finding("topics", t.name, t.action, ctx.source, round(score, 3)))
        return out

    def _llm_says(self, topic: TopicPolicy, text: str) -> bool:
        from ..models.types import GenerationParams, Message

        if self.models is None:
            raise InvalidInput("an LLM topic classifier needs the model registry", param="topics")
        prompt = TOPIC_PROMPT.format(
            name=topic.name, definition=topic.definition, examples="; ".join(topic.examples[:5]), text=text[:2000]
        )
        params = GenerationParams(temperature=0.0, max_tokens=16, response_format=_YES_NO)
        out = self.models.chat(topic.model).generate([Message("user", prompt)], params).text
        try:
            return json.loads(out).get("answer") == "yes"
        except (ValueError, AttributeError):
            return False


@guardrail_policy("topics", list[TopicPolicy], builtin=True)
def _topics(config: list[TopicPolicy], env: PolicyEnv) -> Policy:
    return Topics(config, env)


# -- word filters -------------------------------------------------------------------------------------
class WordPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(default_factory=list)
    profanity: bool = False  # the built-in English and Chinese list
    action: Action = "block"


def _word_pattern(word: str) -> re.Pattern:
    w = normalize(word).strip()
    if re.search(f"[{CJK}]", w):
        return re.compile(re.escape(w))  # CJK has no spaces: a substring is the word
    return re.compile(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])")


class Words:
    def __init__(self, config: WordPolicy):
        words = list(config.words) + (PROFANITY if config.profanity else [])
        self.action = config.action
        self.patterns = [(w, normalize(w).strip(), _word_pattern(w)) for w in dict.fromkeys(words) if w.strip()]

    def check(self, ctx: CheckContext) -> list[Finding]:
        out = []
        for w, literal, pattern in self.patterns:
            m = pattern.search(ctx.norm) if literal in ctx.norm else None  # a substring test first: cheap
            if m:
                out.append(Finding("words", w, self.action, ctx.source, start=m.start(), end=m.end()))
        return out


@guardrail_policy("words", WordPolicy, builtin=True)
def _words(config: WordPolicy, env: PolicyEnv) -> Policy:
    return Words(config)


# -- personal data -------------------------------------------------------------------------------------
class PiiPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    types: dict[str, Action] = Field(default_factory=lambda: _every(pii.TYPES, "mask"))
    regexes: dict[str, str] = Field(default_factory=dict)  # name -> pattern, with `regex_action`
    regex_action: Action = "mask"

    @field_validator("types")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(pii.ALL_TYPES)
        if unknown:
            raise ValueError(f"unknown types {sorted(unknown)}; known: {', '.join(pii.ALL_TYPES)}")
        return v

    @field_validator("regexes")
    @classmethod
    def _compiles(cls, v: dict[str, str]) -> dict[str, str]:
        for name, pattern in v.items():
            try:
                pii.custom_pattern(pattern)
            except (re.error, regex.error) as e:
                raise ValueError(f"regex {name!r} does not compile: {e}") from None
            if pii.backtracks(pattern):
                raise ValueError(
                    f"regex {name!r} backtracks without end on some texts (nested repeats such as "
                    "'(a|aa)+' or '(\\w+\\s?)+'): write it without a repeat inside a repeat"
                )
        return v


class PersonalData:
    masks = True

    def __init__(self, config: PiiPolicy):
        self.config = config

    def check(self, ctx: CheckContext) -> list[Finding]:
        c = self.config
        return [
            Finding("pii", s.type, c.types.get(s.type, c.regex_action), ctx.source, start=s.start, end=s.end)
            for s in pii.detect(ctx.text, tuple(c.types), c.regexes)
        ]


@guardrail_policy("pii", PiiPolicy, builtin=True)
def _pii(config: PiiPolicy, env: PolicyEnv) -> Policy:
    return PersonalData(config)


# -- prompt attacks --------------------------------------------------------------------------------------
class AttackPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action = "block"
    # the trained classifier's calibrated probability at which a request (jailbreak) or data the
    # model reads (injection: passages, tool outputs) is an attack; None: the shipped defaults,
    # set for about 0.5% false positives on benign training texts
    jailbreak_threshold: float | None = Field(None, ge=0.0, le=1.0)
    injection_threshold: float | None = Field(None, ge=0.0, le=1.0)
    patterns: bool = True  # the hand-written attack phrasings fire too
    embeddings: bool = False  # also compare each window's embedding with an example bank (slower)
    margin: float = 0.06  # for `embeddings`: nearest attack example minus nearest benign one (cosine)


class Attacks:
    """On input (the jailbreak head: a request is an order by nature, the injection head would read
    it as one) and on context the model will read — passages, tool outputs — (the injection head),
    not on output. The score in the finding and in the trace is the head's calibrated probability."""

    def __init__(self, config: AttackPolicy, env: PolicyEnv):
        self.action = config.action
        embedder = env.embedder if config.embeddings else None
        thresholds = {"jailbreak": config.jailbreak_threshold, "injection": config.injection_threshold}
        self.detector = AttackDetector(embedder, margin=config.margin, thresholds=thresholds, patterns=config.patterns)
        self.embeds = embedder is not None

    def check(self, ctx: CheckContext) -> list[Finding]:
        if ctx.source not in ("input", "context"):
            return []
        head = "jailbreak" if ctx.source == "input" else "injection"
        fired, s = self.detector.fires(ctx.text, ctx.vectors if self.embeds else None, head=head)
        ctx.scores.setdefault("attacks", {})[head] = round(s.probability, 4)
        if not fired:
            return []
        above = s.probability >= s.threshold
        reasons = [f"{s.head} score {s.probability:.2f} (threshold {s.threshold:.2f})"] if above else []
        detail = "; ".join(reasons + s.matched[:2]) or "similar to known attacks"
        return [Finding("attacks", "prompt_attack", self.action, ctx.source, round(s.probability, 3), detail=detail)]


@guardrail_policy("attacks", AttackPolicy, builtin=True)
def _attacks(config: AttackPolicy, env: PolicyEnv) -> Policy:
    return Attacks(config, env)


# -- harm categories ---------------------------------------------------------------------------------------
class HarmPolicy(BaseModel):
    """Harmful-content categories and each one's strength (`high` filters the most, `none` is
    off). `detector`: `examples` (the default) compares the text's windows with a few example
    sentences per category; `classifier` uses the trained classifier of harm.py (far higher recall
    on sources it never saw, at a measured false-positive rate: see the README)."""

    model_config = ConfigDict(extra="forbid")
    categories: dict[str, Strength] = Field(default_factory=lambda: _every(harm.CATEGORIES, "medium"))
    detector: Literal["examples", "classifier"] = "examples"
    action: Action = "block"

    @field_validator("categories")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(harm.CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; known: {', '.join(harm.CATEGORIES)}")
        return v


class Harm:
    """Each category's score from the text's window embeddings (shared by every meaning-based
    policy of the check): by example similarity, or by the trained classifier's calibrated
    probability against its strength's operating point."""

    def __init__(self, config: HarmPolicy, env: PolicyEnv):
        embedder = env.need_embedder("harm categories")
        self.config = config
        self.levels = {cat: level for cat, level in config.categories.items() if level != "none"}
        self.model = harm.shared() if self.levels and config.detector == "classifier" else None
        self.vecs = {}
        if self.levels and self.model is None:
            self.vecs = {cat: embedder.embed(HARM_EXAMPLES[cat], input_type="query") for cat in self.levels}
        self.neutral = env.neutral if self.vecs else np.zeros((0, 1), dtype=np.float32)

    def scores(self, vecs: np.ndarray) -> dict[str, tuple[float, float]]:
        """{category: (score, threshold)}"""
        if self.model is not None:
            probs = self.model.scores(vecs)
            return {cat: (probs[cat], self.model.threshold(cat, level)) for cat, level in self.levels.items()}
        neutral = (vecs @ self.neutral.T).max(axis=1)
        return {
            cat: (float(((vecs @ hv.T).max(axis=1) - neutral).max()), STRENGTHS[self.levels[cat]])
            for cat, hv in self.vecs.items()
        }

    def check(self, ctx: CheckContext) -> list[Finding]:
        if not self.levels:
            return []
        found = self.scores(ctx.vectors)
        ctx.scores["harm"] = {cat: round(score, 4) for cat, (score, _) in found.items()}
        out = []
        for cat, (score, threshold) in found.items():
            if score >= threshold:
                detail = f"strength {self.levels[cat]}: threshold {threshold:.3f}"
                out.append(Finding("harm", cat, self.config.action, ctx.source, round(score, 4), detail=detail))
        return out


@guardrail_policy("harm", HarmPolicy, builtin=True)
def _harm(config: HarmPolicy, env: PolicyEnv) -> Policy:
    return Harm(config, env)


# -- contextual grounding -------------------------------------------------------------------------------------
class GroundingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grounding_threshold: float = Field(default=0.5, ge=0, le=1)
    relevance_threshold: float = Field(default=0.5, ge=0, le=1)
    action: Action = "flag"


class Grounding:
    """On a grounded answer (output with its passages): is it supported, is it on the question."""

    def __init__(self, config: GroundingPolicy, env: PolicyEnv):
        self.config = config
        self.embedder = env.embedder

    def check(self, ctx: CheckContext) -> list[Finding]:
        if ctx.source != "output" or ctx.passages is None:
            return []
        c = self.config
        scores = grounding_scores(self.embedder, ctx.text, ctx.question or "", ctx.passages)
        ctx.scores.update(scores)
        out = []
        if scores["grounding"] < c.grounding_threshold:
            out.append(
                Finding(
                    "grounding",
                    "grounding",
                    c.action,
                    ctx.source,
                    scores["grounding"],
                    detail=f"below {c.grounding_threshold}",
                )
            )
        if ctx.question and scores["relevance"] < c.relevance_threshold:
            out.append(
                Finding(
                    "grounding",
                    "relevance",
                    c.action,
                    ctx.source,
                    scores["relevance"],
                    detail=f"below {c.relevance_threshold}",
                )
            )
        return out


@guardrail_policy("grounding", GroundingPolicy, builtin=True)
def _grounding(config: GroundingPolicy, env: PolicyEnv) -> Policy:
    return Grounding(config, env)


def grounding_scores(embedder: Any, answer: str, question: str, passages: list[str]) -> dict:
    """Grounding: how much of the answer the passages support — per sentence, the larger of
    its keyword coverage by the best passage and its embedding similarity rescaled from
    [0.8, 1] to [0, 1] (e5 similarities of unrelated text sit near 0.8); the answer's score
    is the mean over sentences. Relevance: the same rescaled similarity of answer and question."""
    sents = [answer[a:b].strip() for a, b in sentence_spans(answer) if answer[a:b].strip()] or [answer]
    if not passages:
        return {"grounding": 0.0, "relevance": 0.0, "sentences": [0.0] * len(sents)}
    p_terms = [set(terms(p)) for p in passages]
    per = []
    svecs = pvecs = None
    if embedder is not None:
        svecs = embedder.embed(sents, input_type="query")
        pvecs = embedder.embed([p[:2000] for p in passages], input_type="document")
    for i, s in enumerate(sents):
        st = set(terms(s))
        cover = max((len(st & pt) / len(st) for pt in p_terms), default=0.0) if st else 0.0
        sim = 0.0
        if svecs is not None and pvecs is not None:
            sim = max(0.0, (float((pvecs @ svecs[i]).max()) - 0.8) / 0.2)
        per.append(round(min(1.0, max(cover, sim)), 3))
    relevance = 0.0
    if embedder is not None and question:
        qv, av = embed_queries(embedder, [question, answer[:2000]])
        relevance = round(max(0.0, min(1.0, (float(qv @ av) - 0.8) / 0.2)), 3)
    return {"grounding": round(sum(per) / len(per), 3), "relevance": relevance, "sentences": per}


def windows(text: str, size: int = 64) -> list[str]:
    """Consecutive sentences grouped into pieces of about `size` tokens (a long sentence alone)."""
    out, current, n = [], "", 0
    for a, b in sentence_spans(text) or [(0, len(text))]:
        piece = text[a:b]
        k = count_tokens(piece)
        if current and n + k > size:
            out.append(current)
            current, n = "", 0
        current += piece
        n += k
    if current.strip() or not out:
        out.append(current or text)
    return [w[:2000] for w in out]

"""A guardrail: policies, each with an action, checked on a text — a user's input, a model's
output (also while it streams), or context the model will read (retrieved passages, tool output).

Actions: `block` (the text is replaced by the configured message), `mask` (sensitive spans become
{TYPE}; other policies treat mask as block), `flag` (the text passes; the trace says what fired).
Every check returns an Assessment whose trace lists each finding: policy, what, where, score, action.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import InvalidInput
from ..knowledge.text import CJK, count_tokens, normalize, sentence_spans, terms
from ..models.types import Event, Finish, TextDelta
from . import pii
from .attacks import AttackDetector
from .lexicons import HARM_EXAMPLES, NEUTRAL_EXAMPLES, PROFANITY

Action = Literal["block", "mask", "flag"]
Source = Literal["input", "output", "context"]
# How much closer than everyday sentences a text must be to a category's examples to fire: a low
# strength filters only what is very close, a high one also what is merely near.
STRENGTHS = {"low": 0.10, "medium": 0.06, "high": 0.03}


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


class WordPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(default_factory=list)
    profanity: bool = False  # the built-in English and Chinese list
    action: Action = "block"


class PiiPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    types: dict[str, Action] = Field(default_factory=lambda: {t: "mask" for t in pii.TYPES})
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
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"regex {name!r} does not compile: {e}") from None
        return v


class AttackPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action = "block"
    margin: float = 0.06  # nearest attack example minus nearest benign one (cosine)


class HarmPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: dict[str, Literal["none", "low", "medium", "high"]] = Field(
        default_factory=lambda: {c: "medium" for c in HARM_EXAMPLES}
    )
    action: Action = "block"

    @field_validator("categories")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(HARM_EXAMPLES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; known: {', '.join(HARM_EXAMPLES)}")
        return v


class GroundingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grounding_threshold: float = Field(default=0.5, ge=0, le=1)
    relevance_threshold: float = Field(default=0.5, ge=0, le=1)
    action: Action = "flag"


class GuardrailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w][\w.\-]*$")
    description: str = ""
    blocked_input_message: str = "Sorry, I can't help with that request."
    blocked_output_message: str = "Sorry, that answer was withheld by a content policy."
    topics: list[TopicPolicy] = Field(default_factory=list)
    words: WordPolicy | None = None
    pii: PiiPolicy | None = None
    attacks: AttackPolicy | None = None
    harm: HarmPolicy | None = None
    grounding: GroundingPolicy | None = None


@dataclass
class Finding:
    policy: str  # topics | words | pii | attacks | harm | grounding
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
class Assessment:
    action: Literal["none", "flagged", "masked", "blocked"]
    text: str  # what may go on: the original, a masked copy, or the blocked message
    findings: list[Finding] = field(default_factory=list)
    guardrail: str = ""
    version: int = 0
    latency_ms: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # grounding, relevance

    @property
    def blocked(self) -> bool:
        return self.action == "blocked"

    def to_dict(self) -> dict:
        return {
            "guardrail": self.guardrail,
            "version": self.version,
            "action": self.action,
            "text": self.text,
            "findings": [f.to_dict() for f in self.findings],
            "scores": self.scores,
            "latency_ms": round(self.latency_ms, 2),
        }


def _word_pattern(word: str) -> re.Pattern:
    w = normalize(word).strip()
    if re.search(f"[{CJK}]", w):
        return re.compile(re.escape(w))  # CJK has no spaces: a substring is the word
    return re.compile(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])")


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


class Guardrail:
    def __init__(self, config: GuardrailConfig, embedder=None, version: int = 1, models=None):
        self.config = config
        self.version = version
        self.embedder = embedder
        self.models = models  # a ModelRegistry, for topics classified by an LLM
        c = config
        words = list(c.words.words) if c.words else []
        if c.words and c.words.profanity:
            words += PROFANITY
        self._words = [(w, _word_pattern(w)) for w in dict.fromkeys(words) if w.strip()]
        self._attacks = AttackDetector(embedder, margin=c.attacks.margin) if c.attacks else None
        self._topic_vecs: list[np.ndarray] = []
        self._harm_vecs: dict[str, np.ndarray] = {}
        needs_vectors = c.topics or c.harm
        if needs_vectors and embedder is None:
            raise InvalidInput("denied topics and harm categories need an embedding model")
        for t in c.topics:
            texts = [x for x in [t.definition, *t.examples] if x.strip()] or [t.name]
            self._topic_vecs.append(embedder.embed(texts, input_type="query"))
        self._neutral = embedder.embed(NEUTRAL_EXAMPLES, input_type="query") if needs_vectors else None
        if c.harm:
            for cat, level in c.harm.categories.items():
                if level != "none":
                    self._harm_vecs[cat] = embedder.embed(HARM_EXAMPLES[cat], input_type="query")

    @property
    def name(self) -> str:
        return self.config.name

    def check(
        self, text: str, source: Source = "input", *, question: str | None = None, passages: list[str] | None = None
    ) -> Assessment:
        started = time.perf_counter()
        c = self.config
        findings: list[Finding] = []
        norm = normalize(text)
        vecs = None
        if self.embedder is not None and (self._topic_vecs or self._harm_vecs or self._attacks):
            # Windows of a few sentences, one batch: a topic or an attack hidden in one sentence of a
            # long text is not diluted by the rest, and each character is embedded once.
            vecs = self.embedder.embed(windows(text), input_type="query")
        if self._attacks and source in ("input", "context"):
            fired, s = self._attacks.fires(text, vecs)
            if fired:
                findings.append(
                    Finding(
                        "attacks",
                        "prompt_attack",
                        c.attacks.action,
                        source,
                        round(max(s.pattern, s.similarity), 3),
                        detail="; ".join(s.matched[:3]) or "similar to known attacks",
                    )
                )
        for w, pattern in self._words:
            m = pattern.search(norm)
            if m:
                findings.append(Finding("words", w, c.words.action, source, start=m.start(), end=m.end()))
        if vecs is not None:
            for t, tv in zip(c.topics, self._topic_vecs):
                score = float((vecs @ tv.T).max())
                if t.classifier == "llm":
                    if score >= t.llm_gate and self._llm_says(t, text):
                        findings.append(
                            Finding("topics", t.name, t.action, source, round(score, 3), detail="LLM classifier")
                        )
                elif score >= t.threshold and score - float((vecs @ self._neutral.T).max()) >= 0.02:
                    findings.append(Finding("topics", t.name, t.action, source, round(score, 3)))
            neutral = (vecs @ self._neutral.T).max(axis=1) if self._harm_vecs else None
            for cat, hv in self._harm_vecs.items():
                score = float(((vecs @ hv.T).max(axis=1) - neutral).max())
                if score >= STRENGTHS[c.harm.categories[cat]]:
                    findings.append(
                        Finding(
                            "harm",
                            cat,
                            c.harm.action,
                            source,
                            round(score, 3),
                            detail=f"strength {c.harm.categories[cat]}",
                        )
                    )
        spans: list[pii.Span] = []
        if c.pii:
            wanted = tuple(t for t in c.pii.types)
            for s in pii.detect(text, wanted, c.pii.regexes):
                action = c.pii.types.get(s.type, c.pii.regex_action)
                findings.append(Finding("pii", s.type, action, source, start=s.start, end=s.end))
                if action == "mask":
                    spans.append(s)
        scores: dict[str, float] = {}
        if c.grounding and source == "output" and passages is not None:
            scores = self.grounding_scores(text, question or "", passages)
            if scores["grounding"] < c.grounding.grounding_threshold:
                findings.append(
                    Finding(
                        "grounding",
                        "grounding",
                        c.grounding.action,
                        source,
                        scores["grounding"],
                        detail=f"below {c.grounding.grounding_threshold}",
                    )
                )
            if question and scores["relevance"] < c.grounding.relevance_threshold:
                findings.append(
                    Finding(
                        "grounding",
                        "relevance",
                        c.grounding.action,
                        source,
                        scores["relevance"],
                        detail=f"below {c.grounding.relevance_threshold}",
                    )
                )
        blocking = [f for f in findings if f.action == "block" or (f.action == "mask" and f.policy != "pii")]
        if blocking:
            message = c.blocked_input_message if source == "input" else c.blocked_output_message
            action, out = "blocked", message
        elif spans:
            action, out = "masked", pii.mask(text, spans)
        elif findings:
            action, out = "flagged", text
        else:
            action, out = "none", text
        return Assessment(
            action, out, findings, self.name, self.version, (time.perf_counter() - started) * 1000, scores
        )

    def _llm_says(self, topic: TopicPolicy, text: str) -> bool:
        import json

        from ..models.types import GenerationParams, Message

        if self.models is None:
            raise InvalidInput("an LLM topic classifier needs the model registry", param="topics")
        prompt = TOPIC_PROMPT.format(
            name=topic.name, definition=topic.definition, examples="; ".join(topic.examples[:5]), text=text[:2000]
        )
        out = (
            self.models.chat(topic.model)
            .generate(
                [Message("user", prompt)], GenerationParams(temperature=0.0, max_tokens=16, response_format=_YES_NO)
            )
            .text
        )
        try:
            return json.loads(out).get("answer") == "yes"
        except (ValueError, AttributeError):
            return False

    def grounding_scores(self, answer: str, question: str, passages: list[str]) -> dict:
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
        if self.embedder is not None:
            svecs = self.embedder.embed(sents, input_type="query")
            pvecs = self.embedder.embed([p[:2000] for p in passages], input_type="document")
        for i, s in enumerate(sents):
            st = set(terms(s))
            cover = max((len(st & pt) / len(st) for pt in p_terms), default=0.0) if st else 0.0
            sim = 0.0
            if svecs is not None:
                sim = max(0.0, (float((pvecs @ svecs[i]).max()) - 0.8) / 0.2)
            per.append(round(min(1.0, max(cover, sim)), 3))
        relevance = 0.0
        if self.embedder is not None and question:
            qv, av = self.embedder.embed([question, answer[:2000]], input_type="query")
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


# A Latin sentence ends at punctuation followed by a space ("example.com" is not an end, and a "."
# at the end of what has arrived so far waits for the next chunk); a CJK one at 。！？；.
_BOUNDARY = re.compile(r"[.!?;](?=\s)|[。！？；\n]")


def guard_stream(events: Iterator[Event], guardrail: Guardrail, trace: list[Assessment]) -> Iterator[Event]:
    """Check output as it streams: text is released a sentence at a time after the guardrail has
    checked that sentence (masked where a policy masks); when a policy blocks, the stream stops with
    the configured message and finish reason `content_filter`. Each sentence is checked once, so
    the cost grows with the answer, not with its square. Assessments that found something go in `trace`."""
    pending = ""
    released = False

    def release(piece: str) -> tuple[list[Event], bool]:
        verdict = guardrail.check(piece, "output")
        if verdict.findings:
            trace.append(verdict)
        if verdict.blocked:
            text = ("\n\n" if released else "") + guardrail.config.blocked_output_message
            return [TextDelta(text), Finish("content_filter")], True
        return [TextDelta(verdict.text)], False

    for ev in events:
        if isinstance(ev, TextDelta):
            pending += ev.text
            cut = max((m.end() for m in _BOUNDARY.finditer(pending)), default=0)
            if cut == 0 and len(pending) < 400:
                continue
            piece, pending = (pending[:cut], pending[cut:]) if cut else (pending, "")
        elif isinstance(ev, Finish) and pending:
            piece, pending = pending, ""
        else:
            yield ev
            continue
        out, stop = release(piece)
        yield from out
        if stop:
            return
        released = True
        if isinstance(ev, Finish):
            yield ev


def screen_passages(guardrail: Guardrail, passages: list, trace: list[Assessment]) -> list:
    """Retrieved passages (or tool outputs) without those that carry instructions for the model
    (indirect prompt injection) or that a blocking policy rejects; what was dropped goes in `trace`."""
    kept = []
    for p in passages:
        text = p if isinstance(p, str) else p.text
        verdict = guardrail.check(text, "context")
        if verdict.findings:
            for f in verdict.findings:
                f.detail = (f.detail + "; " if f.detail else "") + f"passage from {getattr(p, 'source', 'context')}"
            trace.append(verdict)
        if not verdict.blocked:
            kept.append(p)
    return kept


def parse_config(data: dict[str, Any]) -> GuardrailConfig:
    from pydantic import ValidationError

    try:
        return GuardrailConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise InvalidInput(f"guardrail {where}: {err['msg']}", param=where or None) from None

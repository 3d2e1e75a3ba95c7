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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInput
from ..models.types import Event, Finish, TextDelta, TokenTrail
from ..observability import GUARDRAIL_ACTIONS, tracer
from .policies import (
    POLICIES,
    AttackPolicy,
    CheckContext,
    Finding,
    GroundingPolicy,
    HarmPolicy,
    PiiPolicy,
    Policy,
    PolicyEnv,
    Source,
    TopicPolicy,
    WordPolicy,
    grounding_scores,
    windows,
)

__all__ = [
    "Assessment",
    "Finding",
    "Guardrail",
    "GuardrailConfig",
    "Source",
    "guard_stream",
    "parse_config",
    "screen_passages",
    "windows",
]


BUILTIN_ORDER = ("attacks", "words", "topics", "harm", "pii", "grounding")


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
    # policies that other packages add (see guardrails/policies.py): {name: its configuration}
    policies: dict[str, Any] = Field(default_factory=dict)

    @field_validator("policies")
    @classmethod
    def _registered(cls, v: dict[str, Any]) -> dict[str, Any]:
        from pydantic import TypeAdapter

        out = {}
        for name, config in v.items():
            kind = POLICIES.get(name)
            if kind is None or kind.builtin:
                known = sorted(k for k, t in POLICIES.items() if not t.builtin)
                raise ValueError(f"unknown policy {name!r}; installed: {', '.join(known) or 'none'}")
            out[name] = TypeAdapter(kind.config).validate_python(config or {})
        return out

    def configured(self) -> list[tuple[str, Any]]:
        """(policy name, its configuration) for every policy this guardrail uses, in checking order."""
        builtin = [(n, getattr(self, n)) for n in BUILTIN_ORDER]
        return [(n, c) for n, c in builtin if c] + list(self.policies.items())


@dataclass
class Assessment:
    action: Literal["none", "flagged", "masked", "blocked"]
    text: str  # what may go on: the original, a masked copy, or the blocked message
    findings: list[Finding] = field(default_factory=list)
    guardrail: str = ""
    version: int = 0
    latency_ms: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # grounding, relevance
    sentence_scores: list[float] = field(default_factory=list)  # grounding per sentence (not in to_dict)

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


class Guardrail:
    """A guardrail's policies, built once; `check()` runs each on a text and decides the action."""

    def __init__(self, config: GuardrailConfig, embedder=None, version: int = 1, models=None):
        self.config = config
        self.version = version
        self.embedder = embedder
        env = PolicyEnv(embedder, models)
        self.policies: dict[str, Policy] = {}
        for name, policy_config in config.configured():
            self.policies[name] = POLICIES[name].build(policy_config, env)

    @property
    def name(self) -> str:
        return self.config.name

    def policy(self, name: str) -> Policy:
        return self.policies[name]

    def check(
        self,
        text: str,
        source: Source = "input",
        *,
        question: str | None = None,
        passages: list[str] | None = None,
        vectors: np.ndarray | None = None,
    ) -> Assessment:
        """`vectors`: the text's embedding(s) where the caller has them (a retrieved chunk's stored
        vector): policies that compare meanings read them instead of embedding the text."""
        with tracer.start_as_current_span("fmstack.guardrail") as span:
            verdict = self._check(text, source, question, passages, vectors)
            span.set_attributes(
                {"fmstack.guardrail": self.name, "fmstack.source": source, "fmstack.action": verdict.action}
            )
            return verdict

    def _check(
        self, text: str, source: Source, question: str | None, passages: list[str] | None, vectors: Any
    ) -> Assessment:
        started = time.perf_counter()
        ctx = CheckContext(text, source, self.embedder, question, passages)
        if vectors is not None:
            v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
            if v.size and np.abs(v).sum() > 0:  # an unknown chunk's row is zeros: embed the text then
                ctx._vecs = v
        findings: list[Finding] = []
        for policy in self.policies.values():
            findings.extend(policy.check(ctx))
        masks = [
            f
            for f in findings
            if f.action == "mask" and f.start is not None and getattr(self.policies.get(f.policy), "masks", False)
        ]
        blocking = [f for f in findings if f.action == "block" or (f.action == "mask" and f not in masks)]
        c = self.config
        action: Literal["none", "flagged", "masked", "blocked"]
        if blocking:
            action, out = "blocked", (c.blocked_input_message if source == "input" else c.blocked_output_message)
        elif masks:
            action, out = "masked", mask(text, masks)
        elif findings:
            action, out = "flagged", text
        else:
            action, out = "none", text
        elapsed = (time.perf_counter() - started) * 1000
        GUARDRAIL_ACTIONS.labels(self.name, source, action).inc()
        scores = {k: v for k, v in ctx.scores.items() if k in ("grounding", "relevance")}
        for head, p in (ctx.scores.get("attacks") or {}).items():  # the classifiers' calibrated scores
            scores[head] = p
        for category, p in (ctx.scores.get("harm") or {}).items():
            scores[f"harm_{category}"] = p
        per_sentence = list(ctx.scores.get("sentences") or [])
        return Assessment(action, out, findings, self.name, self.version, elapsed, scores, per_sentence)

    def grounding_scores(self, answer: str, question: str, passages: list[str]) -> dict:
        """Grounding and relevance of an answer (see policies.grounding_scores)."""
        return grounding_scores(self.embedder, answer, question, passages)


def mask(text: str, findings: list[Finding]) -> str:
    """Each finding's span replaced by its name in braces: {EMAIL}, {PHONE}…"""
    out, last = [], 0
    for f in sorted(findings, key=lambda f: f.start or 0):
        start, end = f.start or 0, f.end or 0
        if start < last:
            continue
        out.append(text[last:start])
        out.append("{" + f.name.upper() + "}")
        last = end
    out.append(text[last:])
    return "".join(out)


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
    trail = TokenTrail()  # token logprobs go on with text the guardrail let through unchanged

    def release(piece: str) -> tuple[list[Event], bool]:
        verdict = guardrail.check(piece, "output")
        if verdict.findings:
            trace.append(verdict)
        if verdict.blocked:
            text = ("\n\n" if released else "") + guardrail.config.blocked_output_message
            return [TextDelta(text, trail.take(len(piece), rewritten=True)), Finish("content_filter")], True
        return [TextDelta(verdict.text, trail.take(len(piece), rewritten=verdict.text != piece))], False

    for ev in events:
        if isinstance(ev, TextDelta):
            trail.add(ev)
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


def screen_passages(guardrail: Guardrail, passages: list, trace: list[Assessment], vectors: Any = None) -> list:
    """Retrieved passages (or tool outputs) without those that carry instructions for the model
    (indirect prompt injection) or that a blocking policy rejects; what was dropped goes in `trace`.
    `vectors` (one row per passage, from the index) stand for the passages' embeddings."""
    kept = []
    for i, p in enumerate(passages):
        text = p if isinstance(p, str) else p.text
        verdict = guardrail.check(text, "context", vectors=None if vectors is None else vectors[i])
        if verdict.findings:
            for f in verdict.findings:
                f.detail = (f.detail + "; " if f.detail else "") + f"passage from {getattr(p, 'source', 'context')}"
            trace.append(verdict)
        if not verdict.blocked:
            kept.append(p)
    return kept


def parse_config(data: dict[str, Any]) -> GuardrailConfig:
    try:
        return GuardrailConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"guardrail {where}: {message}", param=where or None) from None

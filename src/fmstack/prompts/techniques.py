"""Prompting techniques as building blocks over any fmstack chat model.

- few-shot: examples chosen statically or by embedding similarity to the input;
- chain-of-thought: reasoning first, the final answer extracted from an "Answer:" line;
- self-consistency: n sampled chain-of-thought answers, majority vote, agreement reported;
- prompt chaining: each step's output is a variable of the next;
- classification by generation: the reply is constrained to the allowed labels (JSON schema
  grammar), with per-label log-probabilities where the model exposes them (the local provider);
- structured output: a pydantic model or JSON schema → a validated object, retried with the
  validation error when the model's output does not fit.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from .. import jsonschemas
from ..errors import FmstackError
from ..models.base import ChatModel
from ..models.types import GenerationParams, Message


class InvalidOutput(FmstackError):
    """The model's output did not fit the requested structure, also after retries."""

    status = 502
    code = "invalid_output"


# -- few-shot ----------------------------------------------------------------------------------------
def select_examples(
    examples: Sequence[dict], query: str, k: int = 3, *, embedder=None, key: str = "input"
) -> list[dict]:
    """k examples: the first k (static), or with an embedder the k whose `key` is most similar to
    the query (most similar last, nearest the question)."""
    if k <= 0 or not examples:
        return []
    if embedder is None:
        return list(examples[:k])
    vecs = embedder.embed([query] + [str(e[key]) for e in examples], input_type="query")
    sims = vecs[1:] @ vecs[0]
    order = np.argsort(-sims, kind="stable")[:k]
    return [examples[i] for i in reversed(order)]


def few_shot_messages(
    instruction: str, examples: Sequence[dict], query: str, *, input_key: str = "input", output_key: str = "output"
) -> list[Message]:
    """A system instruction, each example as a user/assistant pair, then the query."""
    messages = [Message("system", instruction)] if instruction else []
    for e in examples:
        messages += [Message("user", str(e[input_key])), Message("assistant", str(e[output_key]))]
    return messages + [Message("user", query)]


# -- chain-of-thought and self-consistency -----------------------------------------------------------
COT = "Think step by step. Write your reasoning, then give the final answer on the last line as 'Answer: <answer>'."
_ANSWER = re.compile(r"(?:final answer|answer|答案|最终答案)\s*[:：]\s*(.+)", re.I)


@dataclass
class Reasoned:
    answer: str
    reasoning: str


def extract_answer(text: str) -> str:
    """The text after the last "Answer:" (or 答案：), else the last non-empty line."""
    found = _ANSWER.findall(text or "")
    if found:
        return found[-1].strip().strip("*").strip()
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def chain_of_thought(model: ChatModel, question: str, params: GenerationParams | None = None) -> Reasoned:
    res = model.generate(
        [Message("system", COT), Message("user", question)], params or GenerationParams(max_tokens=256)
    )
    return Reasoned(extract_answer(res.text), res.text)


def _vote_key(answer: str) -> str:
    text = unicodedata.normalize("NFKC", answer).strip().lower().rstrip(".。!！")
    return " ".join(text.split())


@dataclass
class Vote:
    answer: str  # the winner, as the model first wrote it
    votes: dict[str, int]  # normalised answer -> count
    agreement: float  # winner's share of the samples
    samples: list[Reasoned] = field(default_factory=list)


def self_consistency(
    model: ChatModel,
    question: str,
    n: int = 5,
    *,
    temperature: float = 0.7,
    max_tokens: int = 256,
    seed: int | None = None,
    extract: Callable[[str], str] = extract_answer,
) -> Vote:
    """n sampled chain-of-thought answers; the most common (normalised) answer wins; ties go to the
    answer reached first."""
    if n < 1:
        raise ValueError("n must be at least 1")
    samples = []
    for i in range(n):
        params = GenerationParams(
            temperature=temperature, max_tokens=max_tokens, seed=None if seed is None else seed + i
        )
        res = model.generate([Message("system", COT), Message("user", question)], params)
        samples.append(Reasoned(extract(res.text), res.text))
    return tally(samples)


def tally(samples: Sequence[Reasoned]) -> Vote:
    counts = Counter(_vote_key(s.answer) for s in samples)
    first: dict[str, str] = {}
    for s in samples:
        first.setdefault(_vote_key(s.answer), s.answer)
    order = list(first)
    winner = max(counts, key=lambda k: (counts[k], -order.index(k)))
    return Vote(first[winner], dict(counts), counts[winner] / len(samples), list(samples))


# -- chaining ----------------------------------------------------------------------------------------
def chain(
    model: ChatModel,
    steps: Sequence[tuple[str, str]],
    variables: dict[str, Any] | None = None,
    render: Callable[[str, dict], str] | None = None,
    params: GenerationParams | None = None,
) -> dict[str, str]:
    """Run prompts in order; step (name, template) renders with the variables so far and its output
    becomes variable `name` for the steps after it. Returns every variable."""
    from jinja2 import StrictUndefined

    from . import sandbox

    env = sandbox.BoundedEnvironment(undefined=StrictUndefined)
    render = render or (lambda template, values: sandbox.render(env.from_string(template), values))
    values: dict[str, Any] = dict(variables or {})
    for name, template in steps:
        res = model.generate([Message("user", render(template, values))], params or GenerationParams(max_tokens=256))
        values[name] = res.text.strip()
    return values


# -- classification by generation --------------------------------------------------------------------
@dataclass
class Classification:
    label: str
    scores: dict[str, float] | None  # probability per label (normalised over the labels), where available


def classify(
    model: ChatModel, text: str, labels: Sequence[str], *, instruction: str | None = None, examples: Sequence[dict] = ()
) -> Classification:
    """One of `labels` for the text. The reply is held to the labels by a JSON schema (an enum), so
    it is always one of them; with a model that exposes log-probabilities, each label's
    probability is reported too (and the label is the most probable)."""
    labels = list(dict.fromkeys(labels))
    if len(labels) < 2:
        raise ValueError("give at least two labels")
    ask = instruction or "Classify the text into exactly one of these labels: " + ", ".join(labels) + "."
    messages = few_shot_messages(
        ask, [{"input": e["input"], "output": json.dumps({"label": e["output"]})} for e in examples], text
    )
    scorer = getattr(model, "label_logprobs", None)
    if scorer is not None:
        logps = scorer(messages, [json.dumps({"label": label})[:-1] for label in labels])  # {"label": "x" – minus the }
        top = max(logps.values())
        weights = {label: math.exp(logps[json.dumps({"label": label})[:-1]] - top) for label in labels}
        total = sum(weights.values())
        scores = {label: w / total for label, w in weights.items()}
        return Classification(max(scores, key=lambda label: scores[label]), scores)
    schema = {"type": "object", "properties": {"label": {"type": "string", "enum": labels}}, "required": ["label"]}
    res = model.generate(
        messages,
        GenerationParams(
            temperature=0.0,
            max_tokens=32,
            response_format={"type": "json_schema", "json_schema": {"name": "classification", "schema": schema}},
        ),
    )
    try:
        label = json.loads(res.text)["label"]
    except (ValueError, KeyError, TypeError):
        label = next((x for x in labels if x.lower() in res.text.lower()), None)
    if label not in labels:
        raise InvalidOutput(f"the model answered {res.text!r}, not one of {labels}")
    return Classification(label, None)


# -- structured output -------------------------------------------------------------------------------
def structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: type[BaseModel] | dict,
    *,
    retries: int = 2,
    params: GenerationParams | None = None,
) -> Any:
    """A validated object: a pydantic model instance, or (for a JSON schema) the validated data.
    The schema is passed to the model (response_format json_schema; grammar-enforced locally); if
    the output still does not validate, the model is shown the error and asked again."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        json_schema = schema.model_json_schema()
        validate: Callable[[str], Any] = schema.model_validate_json
    else:
        json_schema = schema
        problems = jsonschemas.checker(schema, param="schema")

        def validate(text: str) -> Any:
            data = json.loads(text)
            found = problems(data)
            if found:
                raise ValueError("; ".join(found))
            return data

    base = params or GenerationParams(temperature=0.0, max_tokens=512)
    fmt = {"type": "json_schema", "json_schema": {"name": json_schema.get("title", "output"), "schema": json_schema}}
    attempt_messages = list(messages)
    problem = ""
    for _ in range(retries + 1):
        res = model.generate(attempt_messages, GenerationParams(response_format=fmt).merged_over(base))
        try:
            return validate(res.text)
        except (ValidationError, ValueError) as e:
            problem = (
                "; ".join(f"{'.'.join(map(str, err['loc'])) or 'value'}: {err['msg']}" for err in e.errors())
                if isinstance(e, ValidationError)
                else str(e)
            )
            attempt_messages = list(messages) + [
                Message("assistant", res.text),
                Message(
                    "user",
                    f"That output is not valid: {problem}. Reply again with only JSON that fits the schema "
                    f"{json.dumps(json_schema, ensure_ascii=False)}",
                ),
            ]
    raise InvalidOutput(f"no valid output after {retries + 1} tries: {problem}")

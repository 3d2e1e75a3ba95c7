"""Tool use for models that are weak at native tool calling: decide, then fill.

A small model asked to "call a tool if one helps" mostly writes prose, and asked to pick among
tools by name it picks badly. It is much better at one narrow job — writing a JSON object that a
grammar holds to a schema — so a request with `tools` is answered in two stages:

1. decide — the request (the last user message) and each of its clauses are embedded and compared
   with each tool's name, description and parameters. A trained head (models/tool_decider.npz,
   scripts/train_tool_decider.py: a logistic regression over the two vectors, trained on public
   function-calling data) gives each tool a probability of being one the request needs; the best
   tool is called when that probability reaches the head's threshold, or when the tool is at least
   THRESHOLD like the request and the head does not rule it out (its veto). A clause whose best
   tool is another one adds that tool (a request for several things). Every tool's similarity and
   probability are kept in the decision, which the agent trace shows. With another embedding
   model than the head's, the similarity alone decides (from THRESHOLD). The model's own label
   log-probabilities were measured as a signal too and left out: on the development split of
   bench/data/agents/make_bfcl.py they chose the right one of several tools 41% of the time
   (embeddings: 93%), told relevant from irrelevant requests at AUC 0.58-0.62 (embeddings: 0.85),
   and cost 0.4-2.4 s a request on 2 cores (embeddings: tens of milliseconds).
2. fill — for each chosen tool the model writes one arguments object under the tool's
   JSON-schema grammar (it cannot write anything else); the arguments are checked against the
   schema and, if they do not fit, asked for once more with the problems named. Further calls of
   the tool come from what the request writes out: the other items of a list a value stands in
   (enumerated.py), and each further sentence that writes new values, filled on its own (one that
   refers back, "the same company", keeps the first call's values). Beyond the first, an object
   whose values are not in the conversation is dropped; under "auto", a first call whose values
   are mostly not the request's is not made, unless its tool is at least SURE like the request.
   Values the request states outright replace the model's: a month by name, a number labelled
   with a parameter's words, a count before its noun, the name the user gives as theirs. A
   string the model copied takes the request's spelling and ends where the copy ends
   ("plasma_membrane" -> "plasma membrane"; "上海明天会" -> "上海"), and a city takes the 'City,
   State' form its parameter asks for ("Boston" -> "Boston, MA"). The model writes arguments
   without a repetition penalty: it would push a copied value away from the request ("Brazil"
   became "Bahia").
3. references — a call that needs a record's id (book_trip's trip_id, in a required argument) the
   conversation does not hold is not made with an invented one: the offered tool most like that id
   which needs none itself (find_trips) is called first; once tools have returned records, an id
   argument takes the id of the returned record most like the request. After tool results, a tool
   the request fits less than the tools already called is not called: the results are answered.

`tool_choice`: "none" never calls; "auto" calls when the decision says so; "required" calls the
best tool even when no tool fits well; a named function skips the decision.
"""

from __future__ import annotations

import ast
import collections
import functools
import itertools
import json
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..jsonschemas import checker
from . import currencies
from .decoding import CJK
from .enumerated import siblings, stem
from .places import places as _places
from .types import Message, Usage

MAX_CALLS = 4  # calls of one tool in one turn

# Without the trained head (another embedding model than the one it was trained on): a tool is
# called when its similarity to the request reaches THRESHOLD, P(call) = sigmoid(SLOPE * (best
# similarity - THRESHOLD)), set on the development split of bench/data/agents/make_bfcl.py.
THRESHOLD = 0.80
SLOPE = 60.0
DECIDER = Path(__file__).with_name("tool_decider.npz")  # written by scripts/train_tool_decider.py
# "auto": a call whose arguments mostly do not come from the conversation is not made; one at least
# this much from it has its made-up required strings written again from the request
GROUNDING_FLOOR = 0.5
# a tool at least this like the request is called even where the model's values are not the
# request's: its made-up required strings are written from the request's pieces (on the development
# split, below it the grounding check turned away as many irrelevant calls as needed ones; above it,
# needed ones only)
SURE = 0.88
CLAUSE_THRESHOLD = 0.82  # a clause of the request adds its own best tool from this similarity up
MAX_RECORDS = 32  # returned records an id is picked from (each is embedded)
PREREQUISITE_THRESHOLD = 0.80  # a tool that gives a missing reference: as like it as a tool that fits a request

# where a request asking for several things splits (English and Chinese)
_CLAUSES = re.compile(
    r"(?:(?:[.;?!,](?=\s|$)|[。；？！，])\s*(?:and\s+|then\s+|also\s+)?"
    r"|\s+(?:and then|and also|then|also|as well as|plus|and)\s+|还有|然后|并且|以及|同时|另外)",
    re.I,
)
_TOOL_VECTORS: collections.OrderedDict[tuple[str, str], np.ndarray] = collections.OrderedDict()
_TOOL_VECTORS_MAX = 2048
_TOOL_VECTORS_LOCK = threading.Lock()


@dataclass
class ToolDecision:
    """What the decide stage found: each tool's similarity to the request, the probability that a
    tool should be called, and the tools to call (none: answer directly)."""

    similarity: dict[str, float]
    call_probability: float
    calls: list[str] = field(default_factory=list)
    reason: str = ""
    parts: dict[str, str] = field(default_factory=dict)  # several tools: the part of the request each serves
    scores: dict[str, float] = field(default_factory=dict)  # each tool's probability of being the one to call
    threshold: float = 0.5  # the probability from which the best tool is called

    def to_dict(self) -> dict[str, Any]:
        out = {
            "similarity": {k: round(v, 4) for k, v in self.similarity.items()},
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "call_probability": round(self.call_probability, 4),
            "threshold": round(self.threshold, 4),
            "calls": self.calls,
            "reason": self.reason,
        }
        if self.parts:
            out["parts"] = self.parts
        return out


def describe(tool: dict) -> str:
    """A tool as the text its similarity to a request is measured on: name, description and each
    parameter with its description."""
    fn = tool["function"]
    props = (fn.get("parameters") or {}).get("properties") or {}
    params = " ".join(f"{k}: {(v or {}).get('description', '')}" for k, v in props.items() if isinstance(v, dict))
    return f"{fn['name']}: {fn.get('description') or ''} {params}".strip()


# what a request's clauses are not split inside: a literal ({'math': 90, 'science': 75}, [1, 2]) or a
# quotation ("'Taj Mahal', 'India', and 'architecture'" is one clause's values)
_PROTECTED = re.compile(
    r"\{[^{}]*\}|\[[^\[\]]*\]|(?<!\w)'[^'\n]{1,200}'(?!\w)|\"[^\"\n]{1,200}\"|“[^”]{1,200}”|「[^」]{1,200}」"
)


def _pieces(text: str) -> list[str]:
    """The request split at its clause boundaries, outside literals and quotations: pieces and the
    separators between them, alternately (as `re.split` with the pattern in a group)."""
    masked = _PROTECTED.sub(lambda m: "x" * len(m.group(0)), text)
    out, at = [], 0
    for m in _CLAUSES.finditer(masked):
        out += [text[at : m.start()], text[m.start() : m.end()]]
        at = m.end()
    return [*out, text[at:]]


def _is_clause(piece: str) -> bool:
    """Whether a piece of a request may ask for something of its own: 8 characters or more, and
    (outside Chinese) three words or more — "Los Angeles." in "the distance between New York City
    and Los Angeles" is a list's item."""
    piece = piece.strip()
    return len(piece) >= 8 and (bool(_CJK.search(piece)) or len(re.findall(r"\w+", piece)) >= 3)


def clauses(text: str) -> list[str]:
    """The parts of a request that may each ask for something."""
    return [p.strip() for p in _pieces(text)[::2] if _is_clause(p)]


# what a part of a request may end on that belongs to the next one ("…in 2018. Also,")
_TRAILING = re.compile(
    r"(?:[\s,;，；、]|\b(?:also|then|and|or|plus|first(?:ly)?|second(?:ly)?|third(?:ly)?|next|finally|lastly"
    r"|additionally)\b|还有|然后|并且|以及|同时|另外)+$",
    re.I,
)


def request_parts(request: str, clause_sims: np.ndarray, names: Sequence[str], chosen: Sequence[str]) -> dict[str, str]:
    """The part of a request each of several chosen tools serves: every clause goes to the chosen
    tool it is most like (`clause_sims`: one row per clause of `clauses(request)`), a short piece
    ("Bordeaux?") to the clause before it, and the pieces stay in the request's order with their
    separators ("Paris and Bordeaux")."""
    pieces = _pieces(request)
    columns = [names.index(n) for n in chosen]
    owners: list[str | None] = []
    row = 0
    for piece in pieces[::2]:
        if _is_clause(piece) and row < len(clause_sims):
            owners.append(chosen[int(np.argmax(clause_sims[row][columns]))])
            row += 1
        else:
            owners.append(owners[-1] if owners else None)
    first = next((o for o in owners if o is not None), None)
    parts: dict[str, str] = {}
    for i, piece in enumerate(pieces[::2]):
        owner = owners[i] or first
        if owner is not None:
            separator = pieces[2 * i + 1] if 2 * i + 1 < len(pieces) else ""
            parts[owner] = parts.get(owner, "") + piece + separator
    parts = {name: _TRAILING.sub("", part).strip() for name, part in parts.items()}
    return {name: part for name, part in parts.items() if part}


def _current_request(messages: Sequence[Message]) -> tuple[str, set[str]]:
    """The last user message, and the tools already called since it."""
    called: set[str] = set()
    for m in reversed(messages):
        if m.role == "user" and m.content:
            return m.content, called
        for call in m.tool_calls or []:
            called.add(call.name)
    return "", called


def tool_vectors(embed_model: Any, tools: Sequence[dict]) -> np.ndarray:
    """The tools' description vectors, remembered (an agent offers the same tools every step)."""
    key = getattr(embed_model, "name", "")
    texts = [describe(t) for t in tools]
    with _TOOL_VECTORS_LOCK:
        known = {t: _TOOL_VECTORS[(key, t)] for t in texts if (key, t) in _TOOL_VECTORS}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known.update(zip(missing, embed_model.embed(missing, "document"), strict=True))
        with _TOOL_VECTORS_LOCK:
            for t in missing:
                _TOOL_VECTORS[(key, t)] = known[t]
            while len(_TOOL_VECTORS) > _TOOL_VECTORS_MAX:
                _TOOL_VECTORS.popitem(last=False)
    return np.stack([known[t] for t in texts])


def decider_features(query: np.ndarray, tools: np.ndarray) -> np.ndarray:
    """What the trained head reads of a request and each offered tool (one row per tool): their
    cosine, the element-wise product and absolute difference of the two vectors, and the request's
    vector itself (what kind of request it is)."""
    query = np.asarray(query, dtype=np.float32)
    tools = np.atleast_2d(np.asarray(tools, dtype=np.float32))
    cosine = (tools @ query)[:, None]
    asked = np.broadcast_to(query, tools.shape)
    return np.concatenate([cosine, tools * query, np.abs(tools - query), asked], axis=1)


@dataclass(frozen=True)
class Decider:
    """A logistic head over `decider_features`: the probability that a tool is one the request
    needs called. Trained on public function-calling data for one embedding model. A tool is
    callable from `threshold` up, or from `veto` up where it is at least THRESHOLD like the request
    (the head turns away the similar tools it finds unlikely; it calls the less similar ones it
    finds likely)."""

    weights: np.ndarray
    bias: float
    threshold: float
    embedder: str
    veto: float = 1.0  # above every probability: the head alone decides

    @classmethod
    def load(cls, path: Path = DECIDER) -> Decider:
        with np.load(path) as z:
            weights, bias, threshold, veto = (
                z["weights"].astype(np.float32),
                *map(float, (z["bias"], z["threshold"], z["veto"])),
            )
            return cls(weights, bias, threshold, str(z["embedder"]), veto)

    def callable(self, probabilities: np.ndarray, similarities: np.ndarray) -> np.ndarray:
        return (probabilities >= self.threshold) | ((similarities >= THRESHOLD) & (probabilities >= self.veto))

    def fits(self, embed_model: Any, dim: int) -> bool:
        """Whether the head reads this embedding model's vectors."""
        return getattr(embed_model, "name", "") == self.embedder and 3 * dim + 1 == len(self.weights)

    def probabilities(self, query: np.ndarray, tools: np.ndarray) -> np.ndarray:
        margin = decider_features(query, tools) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-margin))


@functools.cache
def shipped_decider() -> Decider | None:
    """The head shipped with the package, loaded once (None where the file is missing)."""
    return Decider.load() if DECIDER.exists() else None


def decide(embed_model: Any, messages: Sequence[Message], tools: Sequence[dict], tool_choice: Any) -> ToolDecision:
    """Answer directly, or which tools to call. The request (its last user message) and each of
    its clauses are compared with every tool; the best tool for the whole request decides whether
    to call at all, each clause may add the tool that fits it best (a request for several things).
    After tool results, a tool already called for this request is not chosen again."""
    names = [t["function"]["name"] for t in tools]
    request, called = _current_request(messages)
    parts = clauses(request)
    vectors = embed_model.embed_queries([request, *parts]) if request else None
    head = shipped_decider()
    if vectors is None:
        sims = np.zeros((1, len(names)))
        probs, cut = np.zeros(len(names)), 0.5
    else:
        known = tool_vectors(embed_model, tools)
        sims = vectors @ known.T
        if head is not None and head.fits(embed_model, known.shape[1]):
            probs, cut = head.probabilities(vectors[0], known), head.threshold
            fits = head.callable(probs, sims[0])
        else:
            probs, cut = 1 / (1 + np.exp(-SLOPE * (sims[0] - THRESHOLD))), 0.5
            fits = probs >= cut
    whole = sims[0]
    similarity = {n: float(v) for n, v in zip(names, whole, strict=True)}
    scores = {n: float(v) for n, v in zip(names, probs, strict=True)}
    # the likeliest callable tool first, then the likeliest of the others
    order = [i for i in np.lexsort((-probs, ~fits)) if names[i] not in called or tool_choice == "required"]
    if not order:
        return ToolDecision(similarity, 0.0, [], "every tool was called for this request", scores=scores, threshold=cut)
    best = int(order[0])
    p_call = float(probs[best])
    done = [whole[i] for i, n in enumerate(names) if n in called]
    further = {int(np.argmax(row)) for row in sims[1:] if row.max() >= CLAUSE_THRESHOLD}
    if done and tool_choice == "auto" and whole[best] < max(done) and best not in further:
        # after tool results: a tool the request fits less than what was called, and no part of
        # the request asks for, is not called (a lookup after a booking); the results are answered
        return ToolDecision(similarity, p_call, [], "the tools called serve the request", scores=scores, threshold=cut)
    if tool_choice == "required":
        chosen = [names[best]]
        reason = "required"
    elif not fits[best]:
        return ToolDecision(similarity, p_call, [], "no tool fits the request", scores=scores, threshold=cut)
    else:
        chosen = [names[best]]
        reason = "the best tool fits"
    for row in sims[1:]:
        j = int(np.argmax(row))
        if row[j] >= CLAUSE_THRESHOLD and names[j] not in chosen and names[j] not in called:
            chosen.append(names[j])
    served = request_parts(request, sims[1:], names, chosen) if len(chosen) > 1 else {}
    return ToolDecision(similarity, p_call, chosen, reason, served, scores, cut)


def fill_prompt(
    messages: Sequence[Message],
    tool: dict,
    problems: str | None = None,
    part: str | None = None,
) -> list[Message]:
    """The fill stage's conversation: the function, its schema and the request (or the tool's part
    of it)."""
    fn = tool["function"]
    schema = json.dumps(fn.get("parameters") or {}, ensure_ascii=False)
    ask = (
        f"Call the function {fn['name']}: {fn.get('description') or ''}\n"
        f"Its arguments (JSON schema): {schema}\n"
        "Write the JSON arguments object for the first thing the user asks for. "
        "Copy names, places, numbers and dates from the request exactly as the user wrote them."
    )
    if problems:
        ask += f"\nYour last arguments did not fit the schema: {problems}"
    shown = [m for m in messages if m.role != "system"]
    if part is not None:
        last = max(i for i, m in enumerate(shown) if m.role == "user")
        shown[last] = Message("user", part)
    return [Message("system", ask), *shown]


_ENUMERATION = re.compile(r",|;|、|，|；|\band\b|\bor\b|\bvs\.?|\bversus\b|和|与|及|跟|还有|以及|或", re.I)
MAX_STRING = 120  # characters a generated string argument may take (the grammar stops a runaway string)
MAX_ITEMS = 16  # items a generated list argument may take (a model caught in a loop repeats one forever)


def most_calls(request: str) -> int:
    """How many calls of one tool a request can ask for: one, and one more for each item it lists
    ("in Beijing and Shanghai", "for 20, 15 and 10 minutes")."""
    return max(1, min(MAX_CALLS, 1 + len(_ENUMERATION.findall(request))))


# what a parameter that names no type may take: a value, or a list of them (a small model given
# "any JSON" writes a schema-like object until max_tokens)
_UNTYPED = {
    "anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}]}},
    ]
}
_TYPING = {"type", "anyOf", "oneOf", "allOf", "enum", "const", "$ref", "not"}


def _bounded(schema: Any) -> Any:
    """The schema with a length limit on strings that have none, and a parameter that names no
    type held to values and lists of them: what the grammar generates."""
    if isinstance(schema, list):
        return [_bounded(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v) for k, v in schema.items()}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            k: _bounded({**v, **_UNTYPED}) if isinstance(v, dict) and not _TYPING & set(v) else v
            for k, v in out["properties"].items()
        }
    if out.get("type") == "string" and "maxLength" not in out and "enum" not in out:
        out["maxLength"] = MAX_STRING
    if out.get("type") == "array" and "maxItems" not in out:
        out["maxItems"] = MAX_ITEMS
    return out


def calls_schema(tool: dict, most: int = MAX_CALLS) -> dict:
    """The fill stage's output: a list of 1..`most` argument objects of the tool."""
    params = dict(tool["function"].get("parameters") or {"type": "object", "properties": {}})
    params.setdefault("type", "object")
    if most == 1:
        return _bounded(params)
    return {"type": "array", "items": _bounded(params), "minItems": 1, "maxItems": most}


def check_calls(tool: dict, text: str) -> tuple[list[dict], str | None]:
    """The argument objects in the fill stage's output, and what does not fit the schema (None)."""
    try:
        value = json.loads(text)
    except ValueError as e:
        return [], f"not JSON ({e})"
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        return [], "not a list of argument objects"
    try:
        problems = checker(tool["function"].get("parameters") or {"type": "object"})
    except Exception:  # a schema the checker does not accept: the arguments are taken as they are
        return value[:MAX_CALLS], None
    found = [p for v in value for p in problems(v)]
    unique = []
    for v in value[:MAX_CALLS]:
        if v not in unique:
            unique.append(v)
    return unique, ("; ".join(found) if found else None)


_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


_COUNT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
_NUMBER_WORDS = {w: i for i, w in enumerate(_COUNT_WORDS)} | {
    "once": 1,
    "twice": 2,
    "thrice": 3,
    "single": 1,
    "double": 2,
    "triple": 3,
    "dozen": 12,
    "hundred": 100,
}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九十", 0)} | {"两": 2, "俩": 2}
_ZH_NUMBER_RUN = re.compile(r"[零一二两俩三四五六七八九十]+")


def _zh_number(run: str) -> int | None:
    """一 2, 十二 12, 二十 20, 三十五 35 (up to 99)."""
    if "十" not in run:
        return _ZH_DIGITS[run] if len(run) == 1 else None
    tens, _, ones = run.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_ZH_DIGITS[tens] if tens else 1) * 10 + (_ZH_DIGITS[ones] if ones else 0)


def _numbers_at(text: str, words: Collection[str]) -> list[tuple[int, float]]:
    """(where, value) of each number a text states: in digits ("1,200", "2.5"), as one of `words`
    (English number words) or in Chinese numerals (两, 十二)."""
    found = [(m.start(), float(m.group().replace(",", ""))) for m in _NUMBER.finditer(text)]
    found += [
        (m.start(), float(_NUMBER_WORDS[w])) for m in _WORD_NUMBER.finditer(text) if (w := m.group().lower()) in words
    ]
    found += [(m.start(), float(n)) for m in _ZH_NUMBER_RUN.finditer(text) if (n := _zh_number(m.group())) is not None]
    return found


def numbers_in(text: str) -> set[float]:
    """The numbers a text states: in digits ("1,200", "2.5"), as English words ("six", "twice") or
    Chinese numerals (两, 十二)."""
    return {v for _, v in _numbers_at(text, _NUMBER_WORDS)}


def _folded(text: str) -> str:
    """Text as values are compared: case folded, "_" as a space, runs of spaces as one."""
    return " ".join(text.replace("_", " ").split()).casefold()


def grounded(value: Any, text: str) -> bool | None:
    """Whether an argument's value comes from the conversation's text: a number written there, a
    string found there (or most of its words). None for values that are not (only) numbers or
    strings, or booleans, which a request rarely spells out."""
    if isinstance(value, bool) or value is None:
        return None
    folded = _folded(text)
    if isinstance(value, int | float):
        return float(value) in numbers_in(text) or _a_quantity_of(float(value), text)
    if isinstance(value, str):
        v = _folded(value)
        if not v:
            return None
        if v in folded:
            return True
        if any(_names(n, folded) for n in currencies.specific_names(value)):
            return True  # "EUR" for the request's "euros"
        if len(value) >= MAX_STRING:  # cut by the grammar: a runaway, whatever words of the request it repeats
            return False
        if (moment := _moment(value)) is not None:  # "2024-06-01" for the request's "June 1st, 2024"
            dates, times = written_moments(text)
            return (moment[0] is None or moment[0] in dates) and (moment[1] is None or moment[1] in times)
        words = re.findall(r"\w+", v)
        if any(w.isdigit() and len(w) > 2 and w not in folded for w in words):
            return False  # "May 2022" for "in May": a year the request never wrote ("04" in a date it did)
        # (a value the model translated, "北京" -> "Beijing", counts as not from the request: on
        # the development split, letting it pass made Chinese requests no tool serves get calls)
        return bool(words) and sum(w in folded for w in words) / len(words) >= 0.5
    if isinstance(value, list):
        found = [g for g in (grounded(x, text) for x in value) if g is not None]
        return None if not found else sum(found) / len(found) >= 0.5
    return None


def grounding(arguments: dict, text: str) -> float | None:
    """The share of an argument object's values that come from the text (None: nothing to tell)."""
    found = [g for g in (grounded(v, text) for v in arguments.values()) if g is not None]
    return sum(found) / len(found) if found else None


def conversation_text(messages: Sequence[Message]) -> str:
    """What arguments may be taken from: everything the user and the tools said."""
    return "\n".join(m.content for m in messages if m.role in ("user", "tool", "system") and m.content)


@dataclass
class Filled:
    """The fill stage's result for one tool."""

    calls: list[dict]  # argument objects
    usage: Usage
    problems: str | None = None  # what still did not fit the schema after asking twice
    cut: str | None = None  # the unfinished output, where the token limit cut it off
    # the share of the first call's values the model took from the conversation, as it wrote them
    # (before a required value it made up was written again from the request)
    grounding: float | None = None


def fill(
    generate_json: Callable[[list[Message], dict], tuple[str, Usage, str]],
    messages: Sequence[Message],
    tool: dict,
    part: str | None = None,
    single: bool = False,
    sure: bool = False,
) -> Filled:
    """The calls of one tool a request asks for (`single`: its first only, as when a client turns
    parallel calls off). Optional arguments the request did not give are left out; beyond the
    first, an object whose values do not come from the conversation is dropped (a small model
    asked for a list invents more items). `sure`: the tool is called whatever the model writes
    (at least SURE like the request), so a first call mostly made up still has its made-up
    required strings written again from the request."""
    request, _ = _current_request(messages)
    text = conversation_text(messages)
    schema = tool["function"].get("parameters") or {}
    name = tool["function"].get("name", "")
    required = set(schema.get("required") or [])
    used = Usage()
    problems: str | None = None
    found: list[dict] = []
    for _ in range(2):  # once more, with the problems named, if the arguments do not fit
        out, usage, finish = generate_json(fill_prompt(messages, tool, problems, part), calls_schema(tool, 1))
        used.prompt_tokens += usage.prompt_tokens
        used.completion_tokens += usage.completion_tokens
        found, problems = check_calls(tool, out)
        if not found and finish == "length":
            return Filled([], used, problems, cut=out.strip())
        if found and problems is None:
            break
    if not found:
        return Filled([], used, problems)
    props = schema.get("properties") or {}
    first = _from_request(_without_invented(found[0], required, text, props), schema, request, name)
    # (a code the description defines for what the request names is the request's, though unwritten)
    share = grounding({k: v for k, v in first.items() if v != listed_code(props.get(k), request)}, text)
    # (after the share: a list the model made up does not make its call the request's)
    first = _with_request_lists(first, schema, request)
    if share is None or share >= GROUNDING_FLOOR or sure:
        first = _rewritten(generate_json, messages, tool, first, text, part or request, used)
    kept = [first]
    if single:
        return Filled(kept, used, problems, grounding=share)
    where = part or request

    def add(args: dict) -> None:
        if len(kept) < MAX_CALLS and args not in kept:
            kept.append(args)

    def fill_more(said: str, most: int) -> list[dict]:
        out, usage, finish = generate_json(fill_prompt(messages, tool, None, said), calls_schema(tool, most))
        used.prompt_tokens += usage.prompt_tokens
        used.completion_tokens += usage.completion_tokens
        more, wrong = check_calls(tool, out)
        if finish == "length" or wrong is not None:
            return []
        return [_from_request(_without_invented(args, required, text, props), schema, request, name) for args in more]

    # one more call for each further item of a list a value stands in ("Paris and Bordeaux")
    others, held = _listed(first, required, where, props)
    for other in others:
        add(_from_request(other, schema, request, name))
    # a request in several sentences may ask for one call in each ("First, book the Sheraton …
    # Then, reserve the Marriott …"): each is filled on its own, and kept if it is another call
    sentences = [c for c in _SENTENCES.split(where) if len(c.strip()) >= 8]
    for sentence in sentences if len(sentences) > 1 else []:
        if len(kept) >= MAX_CALLS:
            break
        if not _writes_new_values(sentence, kept):
            continue  # "Can you help me plan my trip?": nothing to fill a further call with
        for args in fill_more(sentence, 1):
            own = grounding(args, sentence)  # mostly from its sentence, or it was not asked for there
            if own is None or own < GROUNDING_FLOOR:
                continue
            args = _referring_back(args, first, sentence, schema)
            args = _rewritten(generate_json, messages, tool, args, text, sentence, used)
            if all(grounded(args[key], text) is not False for key in required if key in args) and _another_item(
                args, kept, required, text, sentence, replacing=True
            ):
                add(args)
                for other in _listed(args, required, sentence, props)[0]:
                    add(_from_request(other, schema, request, name))
    # no list found where the request enumerates more than the calls so far (the sentences may
    # have found some: "…, the third has a radius of 15m, and the fourth 20m"): the model lists the
    # calls itself, and each further one must be a further thing the request writes out
    most = most_calls(where)
    held = held or any(isinstance(v, list) and len(v) > 1 for v in first.values())  # "tomatoes and lettuce"
    if not others and len(kept) < most and not held:
        for args in fill_more(where, most):
            if _another_item(args, kept, required, text, where, replacing=True):
                # what the request says once is every item's ("music or theater events … on March
                # 1st": both on that date), as a list's items take the first call's other values
                add({**args, **{k: v for k, v in first.items() if k not in args}})
    return Filled(kept, used, problems, grounding=share)


# "as well" refers back; "as well as" only joins a list
_SAME = re.compile(r"\b(?:the )?same ([a-z]+)|\b(?:the )?same\b|\bas well\b(?! as)|\btoo\b|同样|一样", re.I)


def _referring_back(args: dict, first: dict, sentence: str, schema: dict) -> dict:
    """A further sentence's call with what it takes from the first: "…against the same company"
    is the first call's company, and a sentence that asks for "the same" again ("and then do the
    same for San Francisco") keeps the first call's values it does not restate."""
    said = list(_SAME.finditer(sentence))
    if not said:
        return args
    out = dict(args)
    nouns = {stem(m.group(1)) for m in said if m.group(1)}
    for key, value in first.items():
        if key in args and _name_stems(key) & nouns:
            out[key] = value  # "the same company": not a company named "company"
        elif key not in args and key in (schema.get("properties") or {}):
            out[key] = value
    return out


_VALUE_LIKE = re.compile(rf"\d[\d.,:/-]*|(?<=\s)[A-Z][\w'’-]*|['\"‘“「『][^'\"’”」』]+['\"’”」』]|[{CJK}]{{2,}}")


def _writes_new_values(sentence: str, kept: list[dict]) -> bool:
    """Whether a sentence writes something that looks like a value (a number, a name after the
    sentence's first word, a quote, Chinese words) and that no call so far holds."""
    given = _folded(json.dumps(kept, ensure_ascii=False))
    return any(
        m.group() != "I" and _folded(m.group().strip("'\"‘“「『’”」』")) not in given
        for m in _VALUE_LIKE.finditer(sentence)
    )


# where a request's sentences end (and ", and" / "and then" / ", also" / "，然后" between two asks)
_SENTENCES = re.compile(
    r"(?<=[.?!;。？！；])\s+|[。？！；]|,?\s+and (?:then|also)\s+|,\s+(?=(?:also|then)\b)"
    # ", and" before a further ask, not before a list's last item (", 'India', and 'architecture'.")
    r"|,\s+and\s+(?!['\"‘“]?[\w-]+(?:\s+[\w-]+){0,2}['\"’”]?\s*(?:[.?!,;]|$))"
    r"|[，,]\s*(?=然后|还有|另外|以及|再)",
    re.I,
)


_LIST_GAP = re.compile(
    r"^(?:[\s,、，]|\w+(?=\s)){0,8}?(?:,|、|，|\band\b|\bor\b|和|或者?|及)(?:[\s,]|\w+(?=\s)){0,6}$", re.I
)


def _listed_options(value: str, prop: Any, text: str) -> list[str]:
    """The other options of an enum parameter the request lists with the chosen one, each written
    as a word, a few words apart with "and", "or" or a comma between ("music concerts or theater
    plays": Music, Theater)."""
    values = prop.get("enum") if isinstance(prop, dict) else None
    if not isinstance(values, list) or value not in values or not all(isinstance(v, str) for v in values):
        return []
    folded = text.casefold()
    at = {}
    for option in values:
        word = option.replace("_", " ").casefold()
        if len(word) >= 3 and word not in _EDGE_WORDS:
            if m := re.search(rf"(?<!\w){re.escape(word)}(?!\w)", folded):
                at[option] = m
    if value not in at:
        return []
    chain = sorted(at.items(), key=lambda kv: kv[1].start())
    groups: list[list[str]] = [[chain[0][0]]]
    for (_, a), (option, b) in itertools.pairwise(chain):
        if _LIST_GAP.match(folded[a.end() : b.start()]):
            groups[-1].append(option)
        else:
            groups.append([option])
    return next([o for o in g if o != value] for g in groups if value in g)


def _listed(args: dict, required: set[str], text: str, schema_props: dict | None = None) -> tuple[list[dict], bool]:
    """The calls a list in the request asks for beyond `args`: each required value (any value, for a
    tool with none required) that is an item of a list in `text`, replaced by the list's other
    items; with two such values, every pairing (capped at MAX_CALLS). An enum value (`schema_props`:
    the tool's parameters) stands in a list of the options the request writes together with it.
    And whether the call holds a list's items already ("the GCD of 12 and 18": one call)."""
    held = False
    schema_props = schema_props or {}
    options: list[list[tuple[str, Any]]] = []
    given = {_folded(v) for v in args.values() if isinstance(v, str)}
    folded = _folded(text)
    for key, value in args.items():
        if (required and key not in required) or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            found = [v for v in siblings(value, text) if isinstance(v, (int, float))]
            if any(v in args.values() for v in found):
                held = True  # "the GCD of 12 and 18": both are this call's already
                continue
            options.append([(key, v) for v in found])
        elif isinstance(value, str) and (others := _listed_options(value, schema_props.get(key), text)):
            options.append([(key, v) for v in others])  # "music concerts or theater plays": Music, Theater
        elif isinstance(value, str) and value.strip():
            core = value if _folded(value) in folded else value.partition(",")[0].strip()
            if not core or _folded(core) not in folded:
                continue
            names = [v for v in siblings(core, text) if isinstance(v, str)]
            if any(_folded(v) in given for v in names):
                held = True  # the list's other items are already this call's other values
                continue
            # "Boston, MA" where the request wrote "Boston": the ", MA" is Boston's (added for the
            # parameter's form), so "San Francisco" goes on alone and takes its own form later
            options.append([(key, v) for v in names])
    options = [o for o in options if o]
    if not options:
        return [], held
    combos = itertools.product(*[[None, *o] for o in options])
    out = [{**args, **dict(c for c in combo if c is not None)} for combo in combos if any(combo)]
    return out[:MAX_CALLS], held


def _rewritten(
    generate_json: Callable[[list[Message], dict], tuple[str, Usage, str]],
    messages: Sequence[Message],
    tool: dict,
    args: dict,
    text: str,
    request: str,
    used: Usage,
) -> dict:
    """The call with each required free-text string the model made up ("The Bigger White Calf" for
    "Eminem", "Palaa" for "Plaza Hotel") or copied from its description written again, this time
    as one of the request's own pieces (its grammar allows only those)."""
    schema = tool["function"].get("parameters") or {}
    props = schema.get("properties") or {}
    made_up = [
        key
        for key in schema.get("required") or []
        if isinstance(args.get(key), str)
        and isinstance(props.get(key), dict)
        and props[key].get("type") == "string"
        and not {"enum", "const", "format", "pattern"} & set(props[key])
        and _asked_form(props[key]) is None  # a date or time: taken from the request's own (in_date_format)
        and (grounded(args[key], text) is False or from_description(args[key], props[key], text))
        and not _state_code_of(args[key], props[key], text)
    ]
    if not made_up:
        return args
    pieces = request_pieces(request)
    if not pieces:
        return args
    ask = {
        "type": "object",
        "properties": {key: {**props[key], "enum": pieces} for key in made_up},
        "required": made_up,
    }
    out, usage, _ = generate_json(fill_prompt(messages, tool, part=request), ask)
    used.prompt_tokens += usage.prompt_tokens
    used.completion_tokens += usage.completion_tokens
    try:
        value = json.loads(out)
    except ValueError:
        return args
    if not isinstance(value, dict):
        return args
    chosen = {k: _with_root(v, request) or v for k, v in value.items() if k in made_up and v in pieces}
    # (a piece is words: a path's root goes back on) and it takes the form the first value took:
    # without the tool's subject after it, a state as its code where the parameter asks for one
    spelled = _from_request({**args, **chosen}, schema, request, tool["function"].get("name", ""))
    return _without_others({**args, **{k: spelled.get(k, v) for k, v in chosen.items()}}, schema)


_WORD = re.compile(r"\w(?:[\w'’\-./:@#]*\w)?")
_QUOTED = re.compile(r"['\"‘“「『]([^'\"’”」』\n]{1,80})['\"’”」』]")
_EDGE_WORDS = set(
    "a an the of to in on at for and or by with from is are was were be been this that these those it its as "
    "your my me i you we he she they what which who how when where why can could would should will do does "
    "did please find get check tell show give set want need like know help some any all about into than then "
    "there here also just only more most very so if but not no".split()
)
MAX_PIECES = 400


def request_pieces(request: str, most_words: int = 8) -> list[str]:
    """The pieces of a request a value can be copied from: what it quotes, and each run of up to
    `most_words` words within a sentence that neither starts nor ends on a function word ("Plaza
    Hotel", "Gibson Les Paul", "2023-04-02 07:30:00"); in Chinese, jieba's words and runs of them."""
    pieces = [m.group(1).strip() for m in _QUOTED.finditer(request)]
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+|[。！？；]", request):
        if _CJK.search(sentence):
            words = _zh_words(sentence)
        else:
            words = [(m.start(), m.end()) for m in _WORD.finditer(sentence)]
        for i in range(len(words)):
            for j in range(i, min(len(words), i + most_words)):
                piece = sentence[words[i][0] : words[j][1]].strip()
                first, last = sentence[slice(*words[i])].casefold(), sentence[slice(*words[j])].casefold()
                if piece and first not in _EDGE_WORDS and last not in _EDGE_WORDS:
                    pieces.append(piece)
    return list(dict.fromkeys(p for p in pieces if p))[:MAX_PIECES]


def _zh_words(sentence: str) -> list[tuple[int, int]]:
    """A Chinese sentence's words (jieba) as (start, end); punctuation and spaces left out."""
    import jieba

    _tagger()  # the dictionary, loaded once and quietly
    return [(start, end) for word, start, end in jieba.tokenize(sentence) if re.search(r"\w", word)]


_MONTH_NAMES = "january february march april may june july august september october november december".split()
# "May" only as a name (capitalised, not "May I"); the others also abbreviated; 五月 / 5月
_MONTH = re.compile(
    r"\b(?:(May)\b(?!\s+(?:I|we|you)\b)|(?i:(january|february|march|april|june|july|august|september|"
    r"october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec))\b\.?)"
    r"|(十[一二]?|[一二三四五六七八九]|1[0-2]|0?[1-9])\s*月"
)


def request_month(request: str) -> int | None:
    """The month (1-12) a request names, when it names exactly one: "in May", "on 3 Sept.", "五月", "5月"."""
    found = set()
    for may, name, zh in _MONTH.findall(request):
        if may or name:
            word = (may or name).lower()
            found.add(next(i for i, m in enumerate(_MONTH_NAMES, 1) if m.startswith(word)))
        elif (n := int(zh) if zh.isdigit() else _zh_number(zh)) is not None:
            found.add(n)
    return found.pop() if len(found) == 1 else None


def _with_months(args: dict, schema: dict, request: str) -> dict:
    """A month number the request gives by name: an integer parameter for a month ("month": "Month
    of travel, 1-12") takes the month the request names ("in May" -> 5), not the model's guess,
    and is given it where the model left it out."""
    month = request_month(request)
    if month is None:
        return args
    return _replaced(
        args,
        schema,
        lambda key, prop, given: (
            month
            if _integer(prop) and re.search(r"month(?!s)|月份?$", f"{key} {prop.get('title', '')}", re.I)
            else given
        ),
    )


def _replaced(args: dict, schema: dict, value: Callable[[str, dict, Any], Any]) -> dict:
    """The argument object with each parameter's value as `value(name, schema, given)` returns
    it (`given` is the model's, None if left out; a left-out one stays out when None comes
    back), into nested objects."""
    out = dict(args)
    for key, prop in (schema.get("properties") or {}).items():
        given = args.get(key)
        if not isinstance(prop, dict):
            continue
        if prop.get("type") == "object" and isinstance(given, dict):
            out[key] = _replaced(given, prop, value)
        elif (new := value(key, prop, given)) is not None:
            out[key] = new
    return out


def _from_request(args: dict, schema: dict, request: str, subject: str = "") -> dict:
    """Values the request states outright, over the model's: a month by name, a count before its
    noun, the name the user gives as theirs; and a string the model copied, as the request writes
    it (as_written, zh_core), without the tool's subject (`subject`: its name) after it."""
    args = _with_labelled_numbers(_with_months(args, schema, request), schema, request)
    args = _with_name(_with_counts(args, schema, request), schema, request)
    args = _with_options(_with_whole_numbers(args, schema, request), schema, request)
    args = _with_listed_codes(args, schema, request)
    args = _with_frequency(args, schema, request)
    args = _with_units(_with_list_items(_with_literals(args, schema, request), schema, request), schema, request)
    args = _in_asked_units(args, schema, request)

    def spelled(key: str, prop: dict, given: Any) -> Any:
        if not isinstance(given, str) or {"enum", "const", "pattern"} & set(prop):
            return given  # a value the schema fixes the form of
        if (day := in_date_format(given, prop, request)) is not None:
            return day
        if "format" in prop:
            return given
        given = _as_currency_code(key, prop, given)
        return in_place_format(_with_written_code(zh_core(as_written(given, request), request), request), prop)

    args = _with_stay_end(_in_written_order(_replaced(args, schema, spelled), schema, request), schema, request)
    return _without_subject(_without_others(_as_decimals(args, schema, request), schema), schema, request, subject)


def _without_subject(args: dict, schema: dict, request: str, subject: str) -> dict:
    """A name that ends on the tool's subject, written as a common noun, without it: "Gibson Les
    Paul guitar" for `guitar_price_find`'s model, "Bitcoin News" for `get_news`'s topic — not
    where the parameter is named for it ("Plaza Hotel" for hotel_name), the request writes it as
    part of a name ("Golden Gate Bridge") or the words before it are not a name ("vice president"
    for `get_president_and_vp`)."""
    nouns = _name_stems(subject)
    if not nouns:
        return args

    def cut(key: str, prop: dict, given: Any) -> Any:
        if not isinstance(given, str) or {"enum", "const", "pattern", "format"} & set(prop):
            return given
        head, _, last = given.strip().rpartition(" ")
        if not head[:1].isupper() or stem(last.lower()) not in nouns or stem(last.lower()) in _name_stems(key):
            return given  # a name before the noun, not a word that qualifies it ("vice president")
        if not re.search(
            rf"(?<!\w){re.escape(last.lower())}(?!\w)", request
        ):  # only as the request writes it in lower case
            return given
        return head.rstrip(" ,")

    return _replaced(args, schema, cut)


def _with_written_code(value: str, request: str) -> str:
    """A place with the code the request writes after it: "Cancún, QR" for the model's "Cancún,
    Mexico" where the request says "Cancún, QR"."""
    place, comma, rest = value.partition(",")
    place, rest = place.strip(), rest.strip()
    if not comma or not place or not rest or _folded(value) in _folded(request):
        return value
    m = re.search(rf"(?<!\w){re.escape(place)},\s*([A-Z]{{2,3}})\b", request)
    return f"{place}, {m.group(1)}" if m else value


_GROUPED = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?:\.\d+)?(?![\d,])")


def _with_whole_numbers(args: dict, schema: dict, request: str) -> dict:
    """A number the request writes with thousands separators, whole: the model stops a JSON number
    at the comma ("$500,000" -> 500), and 500,000 is what the request gives."""
    grouped: dict[float, set[float]] = {}
    for m in _GROUPED.finditer(request):
        grouped.setdefault(float(m.group(1)), set()).add(float(m.group(0).replace(",", "")))
    if not grouped:
        return args
    stated = numbers_in(request)

    def whole(key: str, prop: dict, given: Any) -> Any:
        if isinstance(given, bool) or not isinstance(given, int | float) or float(given) in stated:
            return given
        found = grouped.get(float(given), set())
        if len(found) != 1:
            return given
        value = found.pop()
        return int(value) if value.is_integer() and isinstance(given, int) else value

    return _replaced(args, schema, whole)


# a code a parameter's description defines: "1 for Bangkok", "2 represents ironing service", "3: big cleaning"
_CODE_LABEL = re.compile(
    r"(?<![\w.])(\d{1,4})\s*(?:for|represents|means|stands for|is|=|:)\s+(?:an?\s+|the\s+)?"
    r"([A-Za-z][\w' -]{0,60}?)\s*(?=,|\.(?:\s|$)|;|\)|\band\b|$)",  # (a label of a few words: bounded work)
    re.I,
)


def listed_code(prop: Any, request: str) -> int | None:
    """The code an integer parameter's description defines for what the request names: "For
    example, 1 for cleaning service, 2 for ironing service" -> 2 for "a housekeeper who does
    ironing". A label is named when the request has each of its words that not every label has
    ("service"); of several named, the one with the most such words ("big cleaning" over
    "cleaning"); None where none or two equally are."""
    if not isinstance(prop, dict) or prop.get("type") != "integer":
        return None
    labels = [
        (int(n), {stem(w) for w in re.findall(r"\w+", label)} - _EDGE_WORDS)
        for n, label in _CODE_LABEL.findall(str(prop.get("description") or ""))
    ]
    labels = [(n, words) for n, words in labels if words]
    if len(labels) < 2:
        return None
    common = set.intersection(*(words for _, words in labels))
    said = {stem(w) for w in re.findall(r"\w+", request)}
    named = [(len(own), n) for n, words in labels if (own := words - common) and own <= said]
    named.sort(reverse=True)
    if not named or (len(named) > 1 and named[0][0] == named[1][0]):
        return None
    return named[0][1]


def _with_listed_codes(args: dict, schema: dict, request: str) -> dict:
    """Integer codes the description defines for what the request names (listed_code), over the
    model's number, which it cannot know ("service_id": 1234567890)."""

    def code(key: str, prop: dict, given: Any) -> Any:
        found = listed_code(prop, request)
        return given if found is None else found

    return _replaced(args, schema, code)


_NEGATED = re.compile(
    r"\b(?:not|no|non|without|never|exclude|excluding|don't|doesn't|isn't|aren't|won't)\W+(?:\w+\W+)?$|[不没无非别]$",
    re.I,
)
# words a flag's name shares with most requests: they say nothing of whether the user asked for it
_FLAG_WORDS = set("include enable use show return allow flag get set only all has mode".split())


def _with_options(args: dict, schema: dict, request: str) -> dict:
    """Options the request names that the model left out: an enum parameter takes the one value the
    request writes as a word ("in a male voice" -> gender "male", "WAV format" -> "wav"), and a
    flag whose name the request writes is set ("make sure it's private" -> private_visibility true;
    "not private" -> false) — a word of its name no other parameter's name has."""
    folded = request.casefold()
    names = list(schema.get("properties") or {})

    def shared(key: str) -> set[str]:  # "tax" of tax_exempt, also in apply_special_tax: the tool's subject
        return set().union(*(_name_stems(other) for other in names if other != key))

    def written(word: str) -> re.Match | None:
        return re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", folded)

    def option(key: str, prop: dict, given: Any) -> Any:
        if given is not None:
            return given
        values = prop.get("enum")
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            named = [
                v
                for v in values
                if (len(v) >= 3 or _CJK.search(v)) and v.casefold() not in _EDGE_WORDS and written(v.replace("_", " "))
            ]
            if not named:  # "in Chinese" -> "zh-CN" among language tags
                named = [v for v in values if any(_names(n, folded) for n in language_names(v))]
            return named[0] if len(named) == 1 else None
        if prop.get("type") != "boolean":
            return None
        for word in _name_stems(key) - _FLAG_WORDS - shared(key):
            if m := re.search(rf"(?<!\w){re.escape(word)}(?:s|es)?(?!\w)", folded):
                return not _NEGATED.search(folded[: m.start()])
        return None

    return _replaced(args, schema, option)


@functools.cache
def language_names(tag: str) -> tuple[str, ...]:
    """What a request calls the language of a language tag (CLDR, through Babel), in English and
    Chinese: "zh-CN" -> ("Chinese", "中文"), "en-US" -> ("English", "英文", "英语"); none for a
    value that is not a tag Babel knows."""
    from babel import Locale, UnknownLocaleError

    if not re.fullmatch(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", tag):
        return ()
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return ()
    names = {locale.get_language_name("en") or "", locale.get_language_name("zh") or ""}
    names |= {n[:-1] + "文" for n in names if n.endswith("语")}  # 英语 and 英文 alike
    return tuple(sorted(n for n in names if n))


def _as_currency_code(key: str, prop: dict, value: str) -> str:
    """A currency the model wrote by name, as its ISO code, for a parameter about currencies whose
    description shows no name as its example ("euros" -> "EUR" for `from_currency`)."""
    about = f"{key} {prop.get('description', '')}"
    if not re.search(r"currenc|货币|币种", about, re.I):
        return value
    known = currencies.names()
    code = known.get(value.strip().casefold())
    examples = re.findall(r"['\"]([^'\"]{2,30})['\"]", prop.get("description", ""))
    if code is None or any(e.casefold() in known and not re.fullmatch(r"[A-Z]{3}", e) for e in examples):
        return value
    return code


_FROM_WORDS = {
    "from",
    "source",
    "src",
    "origin",
    "start",
    "starting",
    "departure",
    "depart",
    "base",
    "begin",
    "initial",
}
_TO_WORDS = {"to", "target", "dest", "destination", "end", "ending", "arrival", "arrive", "final", "quote"}
_FROM_CUE = re.compile(r"(?:\bfrom|从|由)\s*(?:the\s+)?$", re.I)
_TO_CUE = re.compile(r"(?:\b(?:to|into|in)|到|至|成|兑换成|换成|换算成|转换成|转成)\s*(?:the\s+)?$", re.I)


def _currency_pair(args: dict, schema: dict, request: str, pair: tuple[str, str]) -> dict:
    """A from/to pair of currency parameters, from the two currencies the request writes: the one
    written with the amount is converted from ("Convert 200 euros to US dollars", "How many
    dollars is 50 British pounds?", "把100美元换成人民币"), else the one after "from"."""
    props = schema.get("properties") or {}
    if not all(re.search(r"currenc|货币|币种", f"{k} {props[k].get('description', '')}", re.I) for k in pair):
        return args
    folded = request.casefold()
    mentions = [
        (m.start(), m.end(), code)
        for m in currencies.mention().finditer(folded)
        if (code := currencies.code_of(m.group())) is not None
    ]
    codes = list(dict.fromkeys(code for _, _, code in mentions))
    if len(codes) != 2:
        return args
    source = None
    for a, b, code in mentions:
        before, after = folded[max(0, a - 16) : a], folded[b : b + 16]
        symbol = unicodedata.category(folded[b - 1]) == "Sc"  # "$", "hk$", "€"
        if re.search(r"\d\s*$", before) or (symbol and re.match(r"\s*\d", after)):
            source = code  # "200 euros", "$200", "HK$200", "100美元"
            break
        if _FROM_CUE.search(before):
            source = code
    if source is None:
        return args
    target = next(c for c in codes if c != source)
    if any(_as_currency_code(k, props[k], code) != code for k, code in zip(pair, (source, target), strict=True)):
        return args  # the parameters take names
    return {**args, pair[0]: source, pair[1]: target}


def _name_words(name: str) -> list[str]:
    """The words of a snake_case or camelCase name, lower-cased: "fromCurrency" -> [from, currency]."""
    return [w.casefold() for w in re.findall(r"[A-Za-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", name))]


def _key_words(key: str) -> set[str]:
    return set(_name_words(key))


def _in_written_order(args: dict, schema: dict, request: str) -> dict:
    """A from/to pair of values the model swapped, in the order the request gives them: "Convert
    200 euros to US dollars" -> from_currency EUR, to_currency USD; "a flight from London to New
    York" -> departure London, destination New York. Only where the request says which is which
    ("from X", "to Y", "X to Y") and the model's order is the other one."""
    keys = [k for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict)]
    folded = request.casefold()

    def spans(value: Any) -> list[tuple[int, int]]:
        if not isinstance(value, str) or not value.strip():
            return []
        names = [value, *currencies.names_of(value)]
        found = sorted(
            (m.start(), m.end())
            for n in names
            for m in re.finditer(
                re.escape(n.casefold()) if _CJK.search(n) else rf"(?<!\w){re.escape(n.casefold())}(?!\w)", folded
            )
        )
        merged: list[tuple[int, int]] = []  # "us dollars" once, not again as "dollars"
        for a, b in found:
            if merged and a < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        return merged

    def role(value: Any, other: Any) -> str | None:
        """Which end of the pair the request gives `value`: "from", "to" or None (not said)."""
        mine, theirs = spans(value), spans(other)
        if len(mine) != 1 or len(theirs) != 1:
            return None
        (a, b), (c, _) = mine[0], theirs[0]
        before = folded[max(0, a - 12) : a]
        if _FROM_CUE.search(before):
            return "from"
        if _TO_CUE.search(before) and c < a:
            return "to"
        if b <= c and re.fullmatch(r"\s*(?:to|into|->|→|到|至|兑|换成|兑换成)\s*", folded[b:c]):
            return "from"
        return None

    out = dict(args)
    for k1 in keys:
        w1 = _key_words(k1)
        if not w1 & _FROM_WORDS:
            continue
        for k2 in keys:
            w2 = _key_words(k2)
            if k2 == k1 or not w2 & _TO_WORDS or (w1 - _FROM_WORDS) != (w2 - _TO_WORDS):
                continue
            paired = _currency_pair(out, schema, request, (k1, k2))
            if paired is not out:
                out = paired
                continue
            v1, v2 = out.get(k1), out.get(k2)
            if v1 is None or v2 is None or v1 == v2:
                continue
            r1, r2 = role(v1, v2), role(v2, v1)
            if (r1 == "to" or r2 == "from") and r1 != "from" and r2 != "to":
                out[k1], out[k2] = v2, v1
    return out


_LITERAL = re.compile(r"\{[^{}]{1,2000}\}|\[[^\[\]]{1,2000}\]")
_SCHEMA_WORDS = {"type", "description", "properties", "items", "required", "additionalProperties", "default", "enum"}


# (decimals may also be joined by a bare comma: "46.603354,1.888334", a pair of coordinates)
_NUMBER_RUN = re.compile(
    r"(?<![\d.,])(?:-?\d+(?:\.\d+)?(?:(?:,\s+|,?\s+and\s+)-?\d+(?:\.\d+)?)+|-?\d+\.\d+(?:,\s*-?\d+\.\d+)+)(?![.,]?\d)"
)


def literals(request: str) -> list[dict | list]:
    """The dicts and lists the request writes out: literals ("{'math': 90, 'science': 75}",
    "[12, 24, 36]", Python's or JSON's spelling) and runs of numbers ("12, 24, 36 and 48")."""
    out: list[dict | list] = []
    for m in _LITERAL.finditer(request):
        try:
            value = ast.literal_eval(m.group())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            try:
                value = json.loads(m.group())
            except ValueError:
                continue
        if isinstance(value, (dict, list)) and value:
            out.append(value)
    for m in _NUMBER_RUN.finditer(_LITERAL.sub(" ", request)):
        out.append([float(x) if "." in x else int(x) for x in re.findall(r"-?\d+(?:\.\d+)?", m.group())])
    return out


def _with_literals(args: dict, schema: dict, request: str) -> dict:
    """A dict or list the request writes out, over what the model made of it: an object the model
    filled with the parameter's own schema ({"type": "object", "description": …}) is the
    request's one dict; a list that runs on past one of the request's lists ([12, 24, 36, 15, 30,
    45] where the request writes 12, 24, 36 and [15, 30, 45]) is cut to it; a list none of whose
    items the request writes is the request's one list of items of that type."""
    written = literals(request) if re.search(r"[{\[]|\d,", request) else []
    if not written:
        return args
    dicts = [w for w in written if isinstance(w, dict)]
    lists = [w for w in written if isinstance(w, list)]
    props = schema.get("properties") or {}
    out = dict(args)
    for key, given in args.items():
        if isinstance(given, dict) and given and set(given) <= _SCHEMA_WORDS and len(dicts) == 1:
            out[key] = dicts[0]
        elif isinstance(given, list) and given and given not in lists:
            prefixes = [w for w in lists if len(w) < len(given) and given[: len(w)] == w]
            kind = ((props.get(key) or {}).get("items") or {}).get("type")
            typed = [w for w in lists if kind and all(_of_type(x, kind) for x in w)]
            if prefixes:
                out[key] = max(prefixes, key=len)
            elif len(typed) == 1 and not any(_written(x, request) for x in given):
                out[key] = typed[0]
    return out


def _of_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("number", "integer"):
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (kind == "number" or value == int(value))
        )
    return False


# units by what they measure; a short symbol counts only right after a number ("5m", "3 kg")
_UNIT_WORDS = {
    "temperature": "celsius fahrenheit kelvin °c °f 摄氏度 华氏度",
    "time": "seconds second minutes minute hours hour days day weeks week months month years year",
    "measure": "m meters meter metres metre kilometers kilometer kilometres kilometre km centimeters centimeter "
    "centimetres centimetre cm millimeters millimeter millimetres millimetre mm feet foot ft inches inch miles mile mi "
    "yards yard yd kilograms kilogram kg grams gram g pounds pound lbs lb ounces ounce oz tons ton tonnes tonne "
    "liters liter litres litre l milliliters milliliter ml gallons gallon gal degrees degree radians radian "
    "米 公里 千米 厘米 毫米 英尺 英寸 英里 公斤 千克 克 磅 升 毫升",
}
_UNIT_SYMBOLS = set("m km cm mm ft mi yd kg g lb lbs oz l ml gal °c °f 米 克 升".split())
_UNIT_NAMES = {  # an enum's value for a unit the request writes in another language or as a symbol
    "摄氏度": "celsius", "摄氏": "celsius", "°c": "celsius", "华氏度": "fahrenheit", "华氏": "fahrenheit", "°f": "fahrenheit",
}  # fmt: skip


def _unit_kind(key: str, prop: dict) -> str | None:
    """What a parameter's unit measures, if it is a unit at all: "temp_unit" -> temperature."""
    if not re.search(r"unit", key, re.I):
        return None
    about = f"{key} {prop.get('description', '')}".casefold()
    if re.search(r"temp|celsius|fahrenheit|摄氏|温度", about):
        return "temperature"
    if re.search(r"\b(?:time|duration|period)\b", about):
        return "time"
    return "measure"


@functools.cache
def _unit_pattern(kind: str) -> re.Pattern:
    words = sorted(_UNIT_WORDS[kind].split(), key=len, reverse=True)
    return re.compile(rf"(?<![A-Za-z_°])({'|'.join(re.escape(w) for w in words)})(?![A-Za-z_])", re.I)


def _units_written(request: str, kind: str) -> list[tuple[int, int, bool]]:
    """Where the request writes a unit of that kind: (start, end, right after a number)."""
    out = []
    for m in _unit_pattern(kind).finditer(request):
        after_number = bool(re.search(r"\d\s?$", request[: m.start()]))
        if m.group(1).casefold() in _UNIT_SYMBOLS and not after_number:
            continue  # "m" or "l" on its own is a letter, not a unit
        out.append((m.start(1), m.end(1), after_number))
    return out


def _with_units(args: dict, schema: dict, request: str) -> dict:
    """A unit the model left out, where the request writes one by the call's own values ("a radius
    of 5.6 feet" -> units "feet"; "New York … in Fahrenheit and Los Angeles … in Celsius" -> each
    city its own): the unit right after one of the call's numbers, else the first one after one of
    its values in the same sentence. An enum's value is matched through the unit's other names
    ("摄氏度" -> "celsius")."""
    values = [v for v in args.values() if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v)]
    folded = request.casefold()

    def unit(key: str, prop: dict, given: Any) -> Any:
        if given is not None or prop.get("type") not in (None, "string") or (kind := _unit_kind(key, prop)) is None:
            return given
        written = _units_written(request, kind)
        if not written:
            return None
        ends: dict[int, bool] = {}  # where one of the call's values ends: is it a number
        for v in values:
            number = not isinstance(v, str)
            text = str(v).casefold() if isinstance(v, str) else _number_text(v)
            after = r"(?!\d|\.\d)" if number else r"(?!\w)"
            ends |= {m.end(): number for m in re.finditer(rf"(?<![\w.]){re.escape(text)}{after}", folded)}
        adjacent = [w for w in written if w[2] and any(n and 0 <= w[0] - e <= 1 for e, n in ends.items())]
        later = [  # after one of its words (a number may be another call's too: "7 days")
            w
            for e in sorted(e for e, n in ends.items() if not n)
            for w in written
            if w[0] >= e and not re.search(r"[.!?;。！？；]", request[e : w[0]])
        ]
        only = written if len({request[a:b].casefold() for a, b, _ in written}) == 1 else []
        picked = adjacent or later or only
        if not picked:
            return None
        word = request[picked[0][0] : picked[0][1]]
        quoted = {q.casefold() for q in re.findall(r"['\"]([^'\"]{1,20})['\"]", prop.get("description", ""))}
        if len(quoted) >= 2 and not {_UNIT_NAMES.get(word.casefold(), word).casefold(), word.casefold()} & quoted:
            return None  # the values it takes are others ("'imperial' and 'metric'", not "kg")
        options = prop.get("enum")
        if isinstance(options, list):
            name = _UNIT_NAMES.get(word.casefold(), word).casefold()
            same = [o for o in options if isinstance(o, str) and o.casefold() in (name, word.casefold())]
            return same[0] if same else None
        return word

    return _replaced(args, schema, unit)


# units a number may be asked for in, by what they measure, with their size in the kind's base unit
_SIZES: dict[str, dict[str, float]] = {
    "time": {
        "millisecond milliseconds ms 毫秒": 0.001,
        "second seconds sec secs s 秒": 1,
        "minute minutes min mins 分钟": 60,
        "hour hours hr hrs h 小时 个小时": 3600,
        "day days 天": 86400,
        "week weeks 周 星期 个星期": 604800,
    },
    "length": {
        "millimeter millimeters millimetre millimetres mm 毫米": 0.001,
        "centimeter centimeters centimetre centimetres cm 厘米": 0.01,
        "meter meters metre metres m 米": 1,
        "kilometer kilometers kilometre kilometres km 公里 千米": 1000,
        "inch inches in 英寸": 0.0254,
        "foot feet ft 英尺": 0.3048,
        "yard yards yd 码": 0.9144,
        "mile miles mi 英里": 1609.344,
    },
    "mass": {
        "gram grams g 克": 0.001,
        "kilogram kilograms kg kgs 公斤 千克": 1,
        "pound pounds lb lbs 磅": 0.45359237,
        "ounce ounces oz 盎司": 0.028349523125,
        "tonne tonnes metric ton 吨": 1000,
    },
}
_UNIT_SIZE = {w: (kind, size) for kind, units in _SIZES.items() for ws, size in units.items() for w in ws.split()}
_SIZES_BY_KIND = {kind: set(units.values()) for kind, units in _SIZES.items()}
_ASKED_UNIT = re.compile(
    r"\b(?:in|as|of)\s+(?:the\s+)?(?:number of\s+)?([a-z]+)\b(?!\s+(?:per|squared|/))|\(([a-z]+)\)|(?:以|单位[是为：:]?\s*)([一-龥]+)",
    re.I,
)
_NOT_UNITS = {"in", "min", "m", "s", "h", "g"}  # words or name parts that are rarely the unit ("price_min", "check_in")
_QUANTITY = re.compile(r"(?<![A-Za-z0-9_.])(\d+(?:\.\d+)?)\s?([a-zA-Z]+|[一-龥]{1,3})")


def _asked_unit(key: str, prop: dict) -> tuple[str, float] | None:
    """The unit a number parameter asks for, as (kind, size): "Length of the track in seconds",
    "duration_minutes", "weight (kg)" — not a rate ("meters per second")."""
    for m in _ASKED_UNIT.finditer(prop.get("description", "")):
        word = next(g for g in m.groups() if g).casefold()
        if _CJK.search(word):  # "以秒为单位": the unit the characters start with
            word = next((word[:n] for n in range(len(word), 0, -1) if word[:n] in _UNIT_SIZE), word)
        if (found := _UNIT_SIZE.get(word)) is not None and word not in _NOT_UNITS:
            return found
    words = _name_words(key)
    if len(words) > 1 and (found := _UNIT_SIZE.get(words[-1])) is not None and words[-1] not in _NOT_UNITS:
        return found
    return None


def _quantities(request: str) -> dict[str, list[float]]:
    """The quantities a request writes, by kind, in the kind's base unit; adjacent ones of one kind
    are one quantity ("5ft 10in", "1 hour 30 minutes")."""
    out: dict[str, list[float]] = {}
    last: tuple[str, int, float] | None = None  # the kind, end and unit size of the quantity just read
    for m in _QUANTITY.finditer(request):
        unit = m.group(2).casefold()
        found = _UNIT_SIZE.get(unit)
        if found is None and _CJK.search(unit):  # "3小时后": the longest unit the characters start with
            found = next((_UNIT_SIZE[unit[:n]] for n in range(len(unit), 0, -1) if unit[:n] in _UNIT_SIZE), None)
        if found is None or request[m.end() : m.end() + 1] == "/" or (unit == "in" and m.end(1) < m.start(2)):
            last = None  # not a unit, a rate ("50 m/s"), or "at 10 in the lobby" (inches are "10in")
            continue
        kind, size = found
        value = float(m.group(1)) * size
        if (
            last is not None
            and last[0] == kind
            and last[2] > size  # a smaller unit after a larger one: "5ft 10in", not "0 m and 1000 m"
            and re.fullmatch(r"\s*(?:and\s+)?", request[last[1] : m.start()])
        ):
            out[kind][-1] += value
        else:
            out.setdefault(kind, []).append(value)
        last = (kind, m.end(), size)
    return out


@functools.lru_cache(maxsize=256)
def _quantities_of(text: str) -> dict[str, list[float]]:
    return _quantities(text)


def _names(name: str, folded: str) -> bool:
    """Whether a folded text has a name as a word of its own (anywhere, for Chinese)."""
    n = _folded(name)
    return n in folded if _CJK.search(n) else re.search(rf"(?<!\w){re.escape(n)}(?!\w)", folded) is not None


def _a_quantity_of(value: float, text: str) -> bool:
    """Whether a number is one of the text's quantities in another unit of its kind (300 for "5
    minutes" in seconds, 70 for "5ft 10in" in inches)."""
    for kind, found in _quantities_of(text).items():
        for quantity in found:
            if any(math.isclose(quantity / size, value, rel_tol=1e-6) for size in _SIZES_BY_KIND[kind]):
                return True
    return False


def _in_asked_units(args: dict, schema: dict, request: str) -> dict:
    """A number in the unit its parameter asks for, where the request writes that quantity in
    another ("a 3 minutes track" -> track_length 180 for "Length … in seconds"; "5ft 10in" -> 70
    for a height in inches): only where the request writes one quantity of that kind and one
    parameter asks for that kind."""
    quantities = _quantities(request)
    if not quantities:
        return args
    props = schema.get("properties") or {}
    asked = {k: u for k, p in props.items() if isinstance(p, dict) and (u := _asked_unit(k, p)) is not None}
    kinds = collections.Counter(kind for kind, _ in asked.values())

    def convert(key: str, prop: dict, given: Any) -> Any:
        if isinstance(given, bool) or not isinstance(given, (int, float)) or key not in asked:
            return given
        kind, size = asked[key]
        if kinds[kind] != 1 or len(quantities.get(kind, [])) != 1:
            return given
        value = round(quantities[kind][0] / size, 6)
        if not float(value).is_integer():
            return value if prop.get("type") == "number" else given
        return int(value) if float(given).is_integer() or _integer(prop) else float(value)

    return _replaced(args, schema, convert)


def _number_text(value: float) -> str:
    """A number as a request writes it: 5.0 -> "5"."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _with_list_items(args: dict, schema: dict, request: str) -> dict:
    """A list of strings holds the items of the request's list it takes one item from ("tomatoes and
    lettuce" -> ["tomatoes", "lettuce"] where the model wrote ["Tomatoes", "Lemon-Chicken Salad"] or
    ["tomatoes"]): items the request does not write are dropped, the list's others added, in the
    request's order and spelling."""
    folded = _folded(request)

    def items(key: str, prop: dict, given: Any) -> Any:
        inner: dict = prop["items"] if isinstance(prop.get("items"), dict) else {}
        if (
            prop.get("type") != "array"
            or inner.get("type") != "string"
            or {"enum", "const", "format", "pattern"} & set(inner)
            or not isinstance(given, list)
            or not given
            or not all(isinstance(v, str) for v in given)
        ):
            return given
        written = [v for v in given if v.strip() and _folded(v) in folded]
        if not written:
            return given
        others = [v for v in siblings(written[0], request) if isinstance(v, str)]
        if not others:
            return given
        listed = [as_written(v, request) for v in [written[0], *others]]
        at = {v: folded.find(_folded(v)) for v in listed}
        return sorted(dict.fromkeys(listed), key=lambda v: at[v])

    return _replaced(args, schema, items)


# the forms a parameter's description asks a date or time in, longest first
_DATE_FORMATS = {
    "yyyy-mm-dd hh:mm:ss": "%Y-%m-%d %H:%M:%S",
    "yyyy-mm-dd": "%Y-%m-%d",
    "mm/dd/yyyy": "%m/%d/%Y",
    "hh:mm": "%H:%M",
}
# (not a form with more to it: 'YYYY-MM-DDTHH:MM:SSZ', 'HH:MM:SS')
_DATE_FORMAT = re.compile("(?:" + "|".join(re.escape(f) for f in _DATE_FORMATS) + r")(?![\w:])", re.I)
_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d\d(?!\d)")
_TIME = re.compile(r"\b\d{1,2}(?::\d\d)+\b|\b\d{1,2}\s*[ap]\.?m\b", re.I)


_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# dates with their year as requests write them: 2024-06-01, 06/01/2024, June 1st, 2024, 1 June 2024,
# 2024年6月1日 (digits may touch Chinese characters: no word boundary there)
_ZH_DATE = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DATE_SPAN = re.compile(
    rf"(?<![A-Za-z0-9_.-])\d{{4}}-\d{{1,2}}-\d{{1,2}}(?![\d-])|(?<![\d/])\d{{1,2}}/\d{{1,2}}/\d{{4}}(?!\d)"
    rf"|{_ZH_DATE.pattern}"
    rf"|\b{_MONTH_WORD}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_WORD},?\s+\d{{4}}\b",
    re.I,
)
_TIME_SPAN = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?|\b\d{1,2}\s*[ap]\.?m\b\.?", re.I)


# dates and times: their digits are not a list's numbers
_DATE_OR_TIME = re.compile(
    rf"{_DATE_SPAN.pattern}|{_TIME.pattern}|\b\d{{1,2}}/\d{{1,2}}(?:/\d{{2}})?\b"
    rf"|\b{_MONTH_WORD}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_WORD}",
    re.I,
)


def numbers_in_order(text: str) -> list[float]:
    """The numbers a text states, in the order it writes them: digits, English number words up to
    twenty, Chinese numerals; not the parts of a date or a time."""
    return [v for _, v in sorted(_numbers_at(_DATE_OR_TIME.sub(lambda m: " " * len(m.group()), text), _COUNT_WORDS))]


def _with_request_lists(args: dict, schema: dict, request: str) -> dict:
    """A list the model filled mostly with what the request does not write (the parameter names, a
    count 1, 2, 3 …, numbers of its own) is the request's own items of its type, in its order: the
    strings it quotes, or the numbers it writes that no other argument holds ("five 'burgers' and
    six 'chicken wings'" -> ["burgers", "chicken wings"] and [5, 6]; "latitude 37.8715 and
    longitude -122.2730" -> [37.8715, -122.273])."""
    scalars = [v for v in args.values() if not isinstance(v, (list, dict, bool))]

    def items(key: str, prop: dict, given: Any) -> Any:
        inner: dict = prop["items"] if isinstance(prop.get("items"), dict) else {}
        kind = inner.get("type")
        if (
            prop.get("type") != "array"
            or kind not in ("string", "number", "integer")
            or {"enum", "const", "format", "pattern"} & set(inner)
            or not isinstance(given, list)
            or not given
            or 2 * sum(_written(v, request) for v in given) >= len(given)
        ):
            return given
        if kind == "string":
            taken = {_folded(v) for v in scalars if isinstance(v, str)}
            found = [q.strip() for q in _QUOTED.findall(request) if q.strip() and _folded(q) not in taken]
        else:
            found = [v for v in numbers_in_order(request) if v not in scalars]
            found = [int(v) if v == int(v) else v for v in found if kind == "number" or v == int(v)]
        found = list(dict.fromkeys(found))
        return found[:MAX_ITEMS] if found else given

    return _replaced(args, schema, items)


def _parsed(value: str) -> Any:
    from datetime import datetime

    from dateutil import parser

    if zh := _ZH_DATE.search(value):  # dateutil reads no Chinese
        try:
            year, month, day = (int(g) for g in zh.groups())
            return datetime(year, month, day)
        except ValueError:
            return None
    try:
        return parser.parse(value, dayfirst=False)
    except (ValueError, OverflowError):
        return None


@functools.lru_cache(maxsize=256)
def written_moments(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The dates (YYYY-MM-DD) and times of day (HH:MM) a text writes, in its order."""
    dates = [d.strftime("%Y-%m-%d") for m in _DATE_SPAN.finditer(text) if (d := _parsed(m.group(0)))]
    times = [d.strftime("%H:%M") for m in _TIME_SPAN.finditer(text) if (d := _parsed(m.group(0)))]
    return tuple(dict.fromkeys(dates)), tuple(dict.fromkeys(times))


def _moment(value: str) -> tuple[str | None, str | None] | None:
    """The date (with its year) and time of day a value writes, or None where it writes neither."""
    rest = _YEAR.sub("", value, count=1)
    dated = rest != value and bool(re.search(r"\d", rest) or request_month(rest))
    timed = bool(_TIME.search(value))
    if not (dated or timed) or (when := _parsed(value)) is None:
        return None
    return (when.strftime("%Y-%m-%d") if dated else None, when.strftime("%H:%M") if timed else None)


def _asked_form(prop: dict) -> str | None:
    """The strftime form a date or time parameter asks for (its description or `format`)."""
    if prop.get("format") == "date":
        return "%Y-%m-%d"
    about = f"{prop.get('description', '')} {prop.get('title', '')}"
    if prop.get("format") == "date-time" or not (m := _DATE_FORMAT.search(about)):
        return None
    return _DATE_FORMATS[m.group(0).casefold()]


def in_date_format(value: str, prop: dict, request: str = "") -> str | None:
    """A date or time in the form its parameter asks for ("10th December 2022" -> "2022-12-10" where
    the description says YYYY-MM-DD, or the schema's `format` is date; "7 PM" -> "19:00" for
    'HH:MM'); None where it asks for none or nothing better is known. A date needs its year (the
    model would have to guess it), a time its hour. Where the value is not a date (time) the
    request writes, the request's own is taken: the one of the same day ("June 1st" for the
    request's "June 1st, 2024"), or the only one."""
    form = _asked_form(prop)
    if form is None:
        return None
    dates, times = written_moments(request)
    found = _moment(value)
    day, hour = found if found else (None, None)
    if form == "%H:%M":
        if hour is None or (times and hour not in times):
            hour = times[0] if len(times) == 1 else hour
        written = hour
    elif form in ("%Y-%m-%d", "%m/%d/%Y"):
        if day is None or (dates and day not in dates):
            month_day = _parsed(value) if re.search(r"\d", value) and not _YEAR.search(value) else None
            same = [d for d in dates if month_day and d[5:] == month_day.strftime("%m-%d")]
            day = same[0] if len(same) == 1 else dates[0] if len(dates) == 1 else day
        written = None if day is None else f"{day[5:7]}/{day[8:]}/{day[:4]}" if form == "%m/%d/%Y" else day
    else:  # a date with its time: the model's value, written in the form
        when = _parsed(value) if day is not None else None
        written = when.strftime(form) if when is not None else None
    if written is None:
        return None
    return written if written != value else None


# a stay's length: "for 3 nights", "two weeks", "住3晚", "租五天"
_STAY = re.compile(
    rf"(?<![\w.])(\d+|{'|'.join(_COUNT_WORDS[1:])})[ -](night|day|week)s?\b|(\d+|[零一二两三四五六七八九十]+)\s*(晚|天|周|个?星期)",
    re.I,
)
_STAY_START = re.compile(r"start|check_?in|begin|from|arriv", re.I)
_STAY_END = re.compile(r"end|check_?out|until|leav", re.I)


def _with_stay_end(args: dict, schema: dict, request: str) -> dict:
    """An end date the request gives as a length from its start ("for 3 nights starting from 1st
    June 2022" -> end_date "2022-06-04"): where the tool takes one start and one end date, the
    request writes one date and one length, and the model's end is not after that start."""
    props = schema.get("properties") or {}
    dated = [k for k, p in props.items() if isinstance(p, dict) and _asked_form(p) in ("%Y-%m-%d", "%m/%d/%Y")]
    starts = [k for k in dated if _STAY_START.search(k)]
    ends = [k for k in dated if _STAY_END.search(k) and k not in starts]
    lengths = _STAY.findall(request)
    dates, _ = written_moments(request)
    if len(starts) != 1 or len(ends) != 1 or len(lengths) != 1 or len(dates) != 1:
        return args
    start, end = starts[0], ends[0]
    given = _moment(args[start]) if isinstance(args.get(start), str) else None
    if given is None or given[0] != dates[0]:
        return args
    ended = _moment(args[end]) if isinstance(args.get(end), str) else None
    if ended is not None and ended[0] is not None and ended[0] > dates[0]:
        return args  # an end after the start: the model's (or the request's own) end date
    number, unit, zh_number, zh_unit = lengths[0]
    written = number or zh_number
    count = (
        int(written) if written.isdigit() else _NUMBER_WORDS.get(written.casefold()) if number else _zh_number(written)
    )
    if not count:
        return args
    from datetime import date, timedelta

    weeks = (unit or zh_unit).casefold() in ("week", "周", "星期", "个星期")
    day = date.fromisoformat(dates[0]) + timedelta(days=count * (7 if weeks else 1))
    form = _asked_form(props[end]) or "%Y-%m-%d"
    return {**args, end: day.strftime(form)}


_PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)", re.I)


def _as_decimals(args: dict, schema: dict, request: str) -> dict:
    """A rate the request gives in percent, as a fraction where the parameter takes one: "5%" -> 0.05
    for a rate "as a decimal" (or a rate that does not say it is in percent)."""
    percents = {float(n) for n in _PERCENT.findall(request)}
    if not percents:
        return args

    def fraction(key: str, prop: dict, given: Any) -> Any:
        if isinstance(given, bool) or not isinstance(given, int | float) or float(given) not in percents:
            return given
        about = f"{key} {prop.get('description', '')}".casefold()
        if prop.get("type") == "integer" or re.search(r"percent|百分", about):
            return given
        if re.search(r"decimal|fraction|0\.\d", about) or re.search(r"rate", key, re.I):
            return round(float(given) / 100, 10)
        return given

    return _replaced(args, schema, fraction)


_PREPOSITION = re.compile(r"\s+(?:in|at|on|near|from|with|for|of)\s+", re.I)


def _without_others(args: dict, schema: dict) -> dict:
    """Each free-text value without the phrase that holds another argument's value: "the Hilton Hotel
    in Chicago" -> "Hilton Hotel" where the location is "Chicago"."""
    props = schema.get("properties") or {}
    strings = {k: v for k, v in args.items() if isinstance(v, str) and v.strip()}
    out = dict(args)
    for key, value in strings.items():
        prop: dict = props[key] if isinstance(props.get(key), dict) else {}
        if {"enum", "const", "format", "pattern"} & set(prop) or len(value.split()) < 3:
            continue
        # (a place's name also without the state or country its parameter's form added: "New York, NY")
        others = {
            o
            for k, v in strings.items()
            if k != key and v.casefold() != value.casefold()
            for o in (v.casefold(), v.partition(",")[0].strip().casefold())
        }
        for m in _PREPOSITION.finditer(value):
            tail = value[m.end() :].casefold()
            head = value[: m.start()].strip()
            if head and any(re.search(rf"(?<!\w){re.escape(o)}(?!\w)", tail) for o in others if o):
                out[key] = re.sub(r"^(?:the|a|an)\s+", "", head, flags=re.I)
                break
    return out


# a parameter that asks for 'City, State': its description says so or gives an example ('Berkeley, CA')
_STATE_EXAMPLE = re.compile(r"\b[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)*, ([A-Z]{2})\b")
_CITY_STATE = re.compile(r"\bcity,? (?:and )?state\b", re.I)
_STATE_CODE = re.compile(r"\bstate(?:'s)? (?:abbreviation|code)\b|\bstate\b.*['\"](?-i:[A-Z]{2})['\"]", re.I | re.S)
_CITY_COUNTRY = re.compile(r"\bcity,? (?:and )?country\b", re.I)


def _state_code_of(value: str, prop: dict, text: str) -> bool:
    """Whether a value is the code of a US state the text names, for a parameter that asks for a
    state's code ("NY" for "in New York": in_place_format's, not made up)."""
    description = f"{prop.get('description') or ''} {prop.get('title') or ''}"
    if not re.fullmatch(r"[A-Z]{2}", value.strip()) or not _STATE_CODE.search(description):
        return False
    folded = _folded(text)
    return any(c == value.strip() and _names(name, folded) for name, c in _places()[1].items())


def in_place_format(value: str, prop: dict) -> str:
    """A place in the form its parameter asks for: a US state as its code where the description asks
    for one ("New York" -> "NY"); a city: "Boston" -> "Boston, MA" where the description
    wants 'City, State' ("such as 'Berkeley, CA'"), "Boston, Massachusetts" -> "Boston, MA"; and,
    where it also allows 'City, Country', "Paris" -> "Paris, France". A place GeoNames does not know,
    or a name most people of which live outside the US (Paris, not Paris, Texas), stays as written
    unless the country form is allowed."""
    description = f"{prop.get('description') or ''} {prop.get('title') or ''}"
    if prop.get("type") != "string" or not value.strip() or _CJK.search(value):
        return value
    if _STATE_CODE.search(description) and (code := _places()[1].get(value.strip().casefold())):
        return code  # "New York" -> "NY" for 'The U.S. state abbreviation, such as 'CA''
    asks = _CITY_STATE.search(description) is not None
    examples = set(_STATE_EXAMPLE.findall(description))
    if not asks and not examples:
        return value
    cities, states, countries = _places()
    if not asks and not examples & set(states.values()):
        return value  # 'Xbox, PC': not a state
    place, _, rest = (part.strip() for part in value.partition(","))
    if rest:
        code = states.get(rest.casefold())
        return f"{place}, {code}" if code else value
    city = cities.get(place.casefold())
    if city is None:
        return value
    if city["countrycode"] == "US":
        return f"{place}, {city['admin1code']}"
    if _CITY_COUNTRY.search(description):
        return f"{place}, {countries.get(city['countrycode'], city['countrycode'])}"
    return value


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _email_of(value: str, request: str) -> str | None:
    """The request's email address a value is part of ("example.com" of "bob@example.com": the
    model dropped the name), when it is part of exactly one."""
    if "@" in value or len(value) < 3:
        return None
    found = {a for a in _EMAIL.findall(request) if value.casefold() in a.casefold()}
    return found.pop() if len(found) == 1 else None


def as_written(value: str, request: str) -> str:
    """A string the model copied from the request, as the request writes it: "plasma_membrane" for
    the request's "plasma membrane", "Bob@example.com" for "bob@example.com", the whole address
    for its domain ("example.com"), "Beijing" for the stuttered "B Beijing"; and a copy that ran
    on, repeating itself, cut where the copy ends ("…cannot answer this question. The text does not
    define" -> "…cannot answer this question.")."""
    folded = request.casefold()
    if value and (address := _email_of(value, request)) is not None:
        return address
    bare = value.rstrip(".,;:!?。，；：！？")
    if bare and bare != value and value.casefold() not in folded and bare.casefold() in folded:
        value = bare  # "Dara Inc." for the request's 'Dara Inc'
    if value and value not in request and (m := re.search(rf"(?<!\w){re.escape(value)}(?!\w)", request, re.I)):
        return m.group(0)  # "Bob@example.com" for the request's "bob@example.com"
    if value and (rooted := _with_root(value, request)) is not None:
        return rooted
    if not value or value.casefold() in folded:
        return value
    start, _, rest = value.partition(" ")
    if rest and rest.casefold().startswith(start.casefold()) and rest.casefold() in folded:
        return as_written(rest, request)  # a stutter: "B Beijing", "San San Francisco"
    spaced = value.replace("_", " ").casefold()
    if spaced.strip() and (at := folded.find(spaced)) >= 0:
        return request[at : at + len(spaced)]
    for cut in sorted((m.end() for m in re.finditer(r"\S(?=\s|$)", value)), reverse=True):
        head, rest = value[:cut].strip(), value[cut:].strip()
        if len(head) >= 12 and head.casefold() in folded and rest and _repeating(rest, head):
            return head
    return value


# what a model drops from the front of a path or address it copies: a home or current folder, a
# drive, a root, a scheme
_ROOT = re.compile(r"(?:[a-z][a-z0-9+.-]*://|[A-Za-z]:[\\/]|~[\\/]?|\.{1,2}[\\/]|[\\/])+")


def _with_root(value: str, request: str) -> str | None:
    """A path or address the request writes whole, for the model's copy without its root:
    "~/data/scan.nii" for "data/scan.nii", "https://example.com/a" for "example.com/a"."""
    if len(value) < 3 or value[0] in "~/\\." or not re.search(r"[/\\.]", value):
        return None
    tokens = [t.strip("'\"‘’“”()[]<>,;") for t in request.split()]
    if value in tokens:
        return None  # the request writes it as it is too ("cp data/x.csv /data/x.csv")
    for token in tokens:
        if len(token) > len(value) and token.endswith(value) and _ROOT.fullmatch(token[: -len(value)]):
            return token
    return None


def _repeating(rest: str, head: str) -> bool:
    """Whether what follows a copy only repeats it: part of it again, or it again and again."""
    rest, head = rest.casefold(), head.casefold()
    while rest.startswith(head):
        rest = rest[len(head) :].strip()
    return rest in head


# words a copied Chinese value spills over into: time words, verbs, adverbs, particles, pronouns,
# prepositions, conjunctions, modal particles, punctuation (jieba's part-of-speech tags)
_SPILL = ("t", "v", "d", "u", "p", "r", "c", "y", "x", "e", "o")
_CJK = re.compile(f"[{CJK}]")


@functools.cache
def _tagger() -> Any:
    """jieba's part-of-speech tagger, its dictionary loaded once and quietly."""
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.posseg


def zh_core(value: str, request: str) -> str:
    """A Chinese value copied from the request without the words it spilled over into, when what
    is left is a noun ("上海明天会" -> "上海", "帮我查一下北京" -> "北京"); otherwise as it was ("明天会来"
    stays: a message is not a name)."""
    if not _CJK.search(value) or value not in request:
        return value
    words = [(w.word, w.flag) for w in _tagger().cut(value)]
    start, end = 0, len(words)
    while start < end and (words[start][1].startswith(_SPILL) or words[start][0] in ("一下", "一些", "一点")):
        start += 1
    while end > start and (words[end - 1][1].startswith(_SPILL) or words[end - 1][1] == "m"):
        end -= 1
    core = words[start:end]
    if not core or len(core) == len(words) or not all(f.startswith(("n", "j", "l", "a")) for _, f in core):
        return value
    return "".join(w for w, _ in core)


# "my name is Li Wei", "name: Ana Silva", "我叫王芳", "名字是王芳"
_STATED_NAME = re.compile(
    r"\b(?:[Mm]y name is|[Nn]ame is|[Nn]ame:)\s+([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,3})"
    r"|(?:我叫|名字是|名字叫|姓名是?[:：]?)\s*([\u4e00-\u9fff·]{2,4}?)(?=[，。,.!！?？\s]|$)"
)
_PERSON = re.compile(
    r"person|customer|guest|passenger|traveller|traveler|contact|holder|booking|user|姓名|联系人", re.I
)


def _with_name(args: dict, schema: dict, request: str) -> dict:
    """The name the user gives as theirs ("the name is Ana Silva", "我叫王芳") fills a parameter
    for a person's name ("name": "Name of the person booking") — not a place the model copied
    from a tool's result."""
    stated = {a or b for a, b in _STATED_NAME.findall(request)}
    if len(stated) != 1:
        return args
    name = stated.pop()

    def person(key: str, prop: dict, given: Any) -> Any:
        about = f"{key} {prop.get('title', '')} {prop.get('description', '')}"
        person_name = prop.get("type") == "string" and re.search(r"(?:^|_)name$|[a-z]Name$", key)
        return name if given is not None and person_name and _PERSON.search(about) else given

    return _replaced(args, schema, person)


_COUNTED = re.compile(
    r"\b(\d{1,6}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+([A-Za-z][a-z]+)", re.I
)
_STOP = {"the", "and", "for", "how", "many", "number", "of", "with", "from", "per", "each", "that", "this"}


def _name_stems(text: str) -> set[str]:
    """The words of a parameter's name (and description), singular: "num_tickets" -> {num, ticket},
    "companyName" -> {company, name}."""
    return {stem(w) for w in _name_words(text) if len(w) > 2 and w not in _STOP}


_COMPOUNDED = re.compile(r"compound|times? per (?:year|period)|per (?:year|period)\b.*\btimes", re.I)
_TIMES_A_YEAR = {
    "daily": 365, "weekly": 52, "monthly": 12, "quarterly": 4, "semi-annually": 2, "semiannually": 2,
    "biannually": 2, "half-yearly": 2, "annually": 1, "yearly": 1, "每天": 365, "每周": 52, "每月": 12,
    "按月": 12, "每季度": 4, "按季度": 4, "每半年": 2, "每年": 1, "按年": 1,
}  # fmt: skip
_TIMES_WORD = re.compile(
    r"(?<![A-Za-z-])(" + "|".join(sorted(map(re.escape, _TIMES_A_YEAR), key=len, reverse=True)) + r")(?![A-Za-z-])",
    re.I,
)


def _with_frequency(args: dict, schema: dict, request: str) -> dict:
    """How many times a year the request says interest is compounded ("compounded monthly" -> 12):
    a number parameter for that takes it, where the request says one such word ("annual interest
    rate" is not one) — the model's number was another of the request's (3 of "3 years")."""
    said = {_TIMES_A_YEAR[m.group(1).lower()] for m in _TIMES_WORD.finditer(request)}
    if len(said) != 1:
        return args
    times = said.pop()

    def frequency(key: str, prop: dict, given: Any) -> Any:
        about = f"{key} {prop.get('description', '')}"
        if prop.get("type") in ("integer", "number") and _COMPOUNDED.search(about) and "rate" not in key.lower():
            return times
        return given

    return _replaced(args, schema, frequency)


def _with_counts(args: dict, schema: dict, request: str) -> dict:
    """A count the request gives next to its noun: an integer parameter about divers ("divers": "How
    many divers") takes the number the request puts before that noun ("for 3 divers" -> 3), when
    it puts exactly one there — the model's own number was off (1 for 3). One the model left out
    is added when the parameter's own name is that noun ("two tickets" -> num_tickets=2)."""
    counted: dict[str, set[int]] = {}  # in digits: "for 3 divers"
    spelled: dict[str, set[int]] = {}  # in digits or words: "two tickets" ("two charges of 5C and 7C"
    # counts the charges, not a value: only a left-out parameter named for the noun takes it)
    for number, noun in _COUNTED.findall(request):
        if number.isdigit():
            counted.setdefault(stem(noun), set()).add(int(number))
        spelled.setdefault(stem(noun), set()).add(int(number) if number.isdigit() else _NUMBER_WORDS[number.casefold()])
    if not spelled:
        return args

    def count(key: str, prop: dict, given: Any) -> Any:
        if not _integer(prop) or isinstance(given, bool):
            return given
        if given is None:
            numbers = set().union(*(spelled.get(st, set()) for st in _name_stems(key)))
        else:
            numbers = set().union(
                *(counted.get(st, set()) for st in _name_stems(f"{key} {prop.get('description', '')}"))
            )
        return numbers.pop() if len(numbers) == 1 else given

    return _replaced(args, schema, count)


# a number the request writes right after a parameter's words ("smoothed at 6mm", "a voxel size of
# 2mm", "my weight is 70 kg"): up to four words before it, then the number
_LABELLED = re.compile(
    r"((?:\b[A-Za-z][A-Za-z-]*\s+){1,4})(?:[=:]\s*)?[$€£¥]?(?<![\w.-])(\d+(?:\.\d+)?)(?![\d.,/:-]?\d)"
)
# what links a label to its number ("weight is 70", "a rating of 4.5", "set to 22")
_LINKS = {"is", "of", "at", "to", "was", "be", "equal", "equals", "about", "around", "approximately", "roughly",
          "exactly", "set", "are", "by"}  # fmt: skip
_VAGUE = {"number", "num", "value", "count", "amount", "total", "size", "data", "input", "result"}


def _label(words: list[str]) -> set[str]:
    """The words a number is labelled with: the one or two before it, past the words that link them
    ("smoothed at" -> {smooth}); none where a function word comes first ("a room for 2")."""
    words = [w.casefold() for w in words]
    while words and words[-1] in _LINKS:
        words.pop()
    out: list[str] = []
    while words and len(out) < 2 and words[-1] not in _STOP | _EDGE_WORDS:
        out.append(_label_stem(words.pop()))
    return set(out)


def _label_stem(word: str) -> str:
    """A label's word as a parameter's name would hold it: singular, without "-ed"/"-ing"
    ("smoothed" -> "smooth", "ratings" -> "rating")."""
    word = stem(word)
    for end in ("ing", "ed"):
        if word.endswith(end) and len(word) > len(end) + 3:
            return word[: -len(end)]
    return word


def _with_labelled_numbers(args: dict, schema: dict, request: str) -> dict:
    """A number the request labels with a parameter's own words wins over a model's number that the
    request does not write or labels for another parameter: "smoothed at 6mm with a voxel size of
    2mm" is `smooth` 6 (the model wrote 2, the voxel size) and `voxel_size` 2 (the model left it
    out). Only where the request labels exactly one number for the parameter and that number no
    other parameter's words label; a left-out parameter is added only where the label holds every
    word of its name. (Another number the request writes stays: in "filed in 2019, also … in the
    year 2018" each call has its own year.)"""
    masked = _DATE_OR_TIME.sub(lambda m: " " * len(m.group()), request)
    labels: list[tuple[set[str], float]] = []
    for m in _LABELLED.finditer(masked):
        if words := _label(m.group(1).split()):
            labels.append((words, float(m.group(2))))
    if not labels:
        return args
    props = schema.get("properties") or {}
    numeric = {
        key: {_label_stem(w) for w in _name_words(key) if len(w) > 2 and w not in _STOP}
        for key, prop in props.items()
        if isinstance(prop, dict) and (_integer(prop) or prop.get("type") == "number")
    }
    if not numeric:
        return args

    def found(key: str, whole: bool) -> set[float]:
        """The numbers labelled with most of the parameter's own words ("sale price" over "purchase
        price" for sale_price); with all of them, for a left-out one."""
        own = numeric[key] - _VAGUE
        if not own:
            return set()
        if whole:
            return {n for words, n in labels if numeric[key] <= words}
        best = max(len(own & words) for words, _ in labels)
        return {n for words, n in labels if best and len(own & words) == best}

    claimed: dict[float, set[str]] = {}
    for key in numeric:
        for n in found(key, False):
            claimed.setdefault(n, set()).add(key)

    written = numbers_in(request)

    def labelled(key: str, prop: dict, given: Any) -> Any:
        if key not in numeric or isinstance(given, bool) or (given is not None and not isinstance(given, int | float)):
            return given
        if given is not None and given in written and not claimed.get(float(given), set()) - {key}:
            return given  # a number of the request's no other parameter's words label: this call's own
        numbers = found(key, given is None)
        if len(numbers) != 1 or given in numbers:
            return given
        n = numbers.pop()
        if claimed.get(n, set()) - {key} or (_integer(prop) and not n.is_integer()):
            return given
        return int(n) if _integer(prop) or n.is_integer() and isinstance(given, int) else n

    return _replaced(args, schema, labelled)


def _integer(prop: dict) -> bool:
    """An integer parameter, also one that may be null (`anyOf: [integer, null]`)."""
    kinds = [
        prop.get("type"),
        *(b.get("type") for b in prop.get("anyOf") or prop.get("oneOf") or [] if isinstance(b, dict)),
    ]
    return "integer" in kinds or (isinstance(kinds[0], list) and "integer" in kinds[0])


def _another_item(
    args: dict, kept: list[dict], required: set[str], text: str, part: str, replacing: bool = False
) -> bool:
    """Whether a further argument object is a further thing the user asked for: its values come
    from the conversation, and a required one is a value the request's part for this tool writes
    out and no kept call has, under any parameter (not the same call with another option, nor
    the same values swapped: London -> New York and back). `replacing`: that value also replaces
    one the first call gives (not one it left out: the budget a later sentence states)."""
    share = grounding(args, text)
    if share is not None and share < 0.5:
        return False
    if any(grounded(args[key], text) is False for key in required if key in args):
        return False  # a required value the conversation does not give (a runaway path beside a real option)
    seen = [v for k in kept for v in k.values()]
    if replacing:  # nor a value that holds one given already, or is held in one ("Sheraton Hotel")
        seen += [
            value
            for value in args.values()
            if isinstance(value, str)
            and any(isinstance(v, str) and (_folded(v) in _folded(value) or _folded(value) in _folded(v)) for v in seen)
        ]
    return any(
        _written(args[key], part)
        and args[key] not in seen
        and (not replacing or _replaces(args[key], kept[0].get(key), text))
        for key in required
        if key in args
    )


def _replaces(value: Any, old: Any, text: str) -> bool:
    """Whether a value can stand where another one the request writes stood: of the same kind (a
    number for a number; a code with digits for one: "rs1800497", not "Homo sapiens")."""
    if old is None or not _written(old, text):
        return False
    if isinstance(value, str) and isinstance(old, str):
        return any(c.isdigit() for c in value) == any(c.isdigit() for c in old)
    return isinstance(value, str) == isinstance(old, str)


def _written(value: Any, text: str) -> bool:
    """A value the text writes out: a number it states, a string found in it whole (a place, also
    with the state or country it was given: "San Francisco, CA" for "San Francisco")."""
    if isinstance(value, str):
        v, folded = _folded(value), _folded(text)
        return bool(v) and (v in folded or v.partition(",")[0].strip() in folded)
    return bool(grounded(value, text))


def from_description(value: Any, prop: Any, text: str) -> bool:
    """Whether a string is copied from its parameter's description rather than from the
    conversation: a phrase of it ("The entity involved in lawsuits.", "The subject of the
    painting, e.g. horse") or its example address ("https://github.com/user/repo.git"). A name or
    an option the description lists ("New York, NY", "fahrenheit") is a value, not a copy."""
    if not isinstance(value, str) or not isinstance(prop, dict):
        return False
    v = _folded(value).strip(" .,;:!?")
    if len(v) < 8 or v in _folded(text) or v not in _folded(str(prop.get("description") or "")):
        return False
    words = re.findall(r"\w+", v)
    return bool(re.search(r"[/@]", v)) or (len(words) >= 3 and any(w in _EDGE_WORDS for w in words))


def _without_invented(args: dict, required: set[str], text: str, props: dict | None = None) -> dict:
    """An argument object without the optional arguments the request did not give: a value not in
    the conversation or copied from the parameter's description, or an empty or false one (the
    tool's default is what the user asked for)."""
    props = props or {}
    out = {}
    for key, value in args.items():
        empty = value is None or value is False or value in ("", [], {})
        invented = grounded(value, text) is False or from_description(value, props.get(key), text)
        if key not in required and (empty or invented):
            continue
        out[key] = value
    return {
        k: v
        for k, v in out.items()
        if k in required or not (_borrowed(k, out, text) or _reused(k, out, required, text))
    }


def _reused(key: str, args: dict, required: set[str], text: str) -> bool:
    """Whether an optional number is a required argument's number again, where the conversation
    writes that number once ("compound_freq": 2 beside "duration": 2 for "over 2 years")."""
    value = args[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    again = any(
        k in required and k != key and not isinstance(v, bool) and isinstance(v, int | float) and v == value
        for k, v in args.items()
    )
    written = [m for m in _NUMBER.findall(text) if float(m.replace(",", "")) == float(value)]
    return again and len(written) == 1


def _borrowed(key: str, args: dict, text: str) -> bool:
    """Whether a string is made up around another argument's value ("Songbird 2021" for an album
    where the year is 2021): without that value, what is left is not in the conversation."""
    value = args[key]
    if not isinstance(value, str):
        return False
    rest = value
    for k, v in args.items():
        if k != key and not isinstance(v, bool) and isinstance(v, str | int | float) and str(v).strip():
            if _folded(str(v)) != _folded(value):
                rest = re.sub(rf"(?<!\w){re.escape(str(v))}(?!\w)", " ", rest, flags=re.I)
    rest = rest.strip(" ,.;:-_/")
    return rest != value.strip() and bool(re.search(r"\w", rest)) and grounded(rest, text) is False


# a parameter that names a record (trip_id, userId, order_no): its value comes from somewhere, not
# from the model's imagination
_REFERENCE = re.compile(r"(?:^|_)(?:id|ids|uuid|key|code|no)$|[a-z0-9](?:Id|ID|Ids|IDs)$")


def references(schema: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of a parameters schema's required reference arguments (into required objects,
    as an OpenAPI operation's `body`)."""
    if not isinstance(schema, dict):
        return []
    props = schema.get("properties") or {}
    out: list[tuple[str, ...]] = []
    for key in schema.get("required") or []:
        prop = props.get(key)
        if not isinstance(prop, dict) or "enum" in prop:
            continue
        if prop.get("type") == "object":
            out += references(prop, (*path, key))
        elif _REFERENCE.search(key) and prop.get("type") in ("string", "integer", None):
            out.append((*path, key))
    return out


def _at(value: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in an argument object (None: not given)."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def prerequisite(
    embed_model: Any, tools: Sequence[dict], tool: dict, arguments: dict, messages: Sequence[Message]
) -> tuple[str, str] | None:
    """A tool to call first: when `tool`'s call needs a reference (a trip id, a user id) that the
    conversation does not hold, the offered tool most like that reference which needs no
    reference itself (find_trips for book_trip's trip_id) — so the id is looked up, not invented.
    Returns (the tool's name, the reference's name), or None."""
    text = conversation_text(messages)
    _, called = _current_request(messages)
    schema = tool["function"].get("parameters") or {}
    for path in references(schema):
        value = _at(arguments, path)
        if value is not None and grounded(value, text):
            continue
        others = [
            t
            for t in tools
            if t["function"]["name"] not in (tool["function"]["name"], *called)
            and not references(t["function"].get("parameters") or {})
        ]
        if not others:
            return None
        prop = schema
        for key in path:
            prop = (prop.get("properties") or {}).get(key) or {}
        query = embed_model.embed_queries([f"{path[-1]}: {prop.get('description') or ''}".strip()])[0]
        sims = tool_vectors(embed_model, others) @ query
        best = int(np.argmax(sims))
        if sims[best] >= PREREQUISITE_THRESHOLD:
            return others[best]["function"]["name"], path[-1]
    return None


def _records(messages: Sequence[Message]) -> list[dict]:
    """The JSON objects the tools returned since the current request (a list of trips, a user)."""
    out: list[dict] = []
    for m in reversed(messages):
        if m.role == "user":
            break
        if m.role != "tool" or not m.content:
            continue
        try:
            value = json.loads(m.content)
        except ValueError:
            continue
        items = value if isinstance(value, list) else [value]
        out += [x for x in items if isinstance(x, dict)]
    return out


def pick_references(embed_model: Any, tool: dict, arguments: dict, messages: Sequence[Message]) -> dict:
    """Reference arguments taken from what the tools returned: where several returned records
    carry such an id (find_trips' trips), the one most like the request by embedding — the model
    copies the first id it sees."""
    records = _records(messages)
    if not records:
        return arguments
    request, _ = _current_request(messages)
    out = json.loads(json.dumps(arguments))
    for path in references(tool["function"].get("parameters") or {}):
        key = path[-1]
        keys = (key, "id") if re.search(r"(?:_id|Id|ID)$", key) else (key,)
        found = [(r, r[k]) for r in records for k in keys[:1] if isinstance(r.get(k), str | int)] or [
            (r, r[k]) for r in records for k in keys[1:] if isinstance(r.get(k), str | int)
        ]
        found = found[:MAX_RECORDS]  # bounded work: a tool that lists hundreds is read from the top
        values = list(dict.fromkeys(v for _, v in found))
        given = _at(out, path)
        if not values or not request or (given is not None and grounded(given, request)):
            continue  # (an id the user wrote stays)
        if len(values) == 1:
            pick = values[0]
        else:
            texts = [json.dumps(r, ensure_ascii=False)[:500] for r, _ in found]
            sims = embed_model.embed(texts, "document") @ embed_model.embed_queries([request])[0]
            pick = found[int(np.argmax(sims))][1]
        holder = out
        for k in path[:-1]:
            holder = holder.setdefault(k, {}) if isinstance(holder, dict) else {}
        if isinstance(holder, dict):
            holder[key] = pick
    return out


def unfounded(filled: Filled, messages: Sequence[Message], sure: bool = False) -> bool:
    """Whether the first call's arguments mostly do not come from the conversation: the request
    looked like the tool, but is not asking for it (the model had to invent what to pass) — unless
    the tool is `sure` (at least SURE like the request), where the model's values say less than the
    likeness. Where the token limit cut the arguments off, what was written before the cut is
    judged, the value cut in half too: a runaway URL is not the request's, '{"company_name": "Dara'
    under a small max_tokens is (that call stands, unfinished, as OpenAI reports one)."""
    if filled.cut is not None and not filled.calls:
        values = []
        for m in _FINISHED_VALUE.finditer(filled.cut):
            try:
                values.append(json.loads(m.group(1)))
            except ValueError:
                continue
        if (half := _HALF_VALUE.search(filled.cut)) is not None and half.group(1).strip():
            values.append(half.group(1))
        share = grounding(dict(enumerate(values)), conversation_text(messages))
        return share is not None and share < GROUNDING_FLOOR
    if not filled.calls or sure:
        return False
    share = filled.grounding
    return share is not None and share < GROUNDING_FLOOR


# a value the model finished before the token limit: a string or a number after a key, before the
# next key or the object's end
_HALF_VALUE = re.compile(r':\s*"((?:[^"\\]|\\.)*)$')  # a string the cut ended inside
_FINISHED_VALUE = re.compile(r':\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?=[,}\]])')

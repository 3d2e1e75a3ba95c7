"""Function-calling evaluation: does the model pick the right tools, with the right arguments?

A task offers some tools and expects some calls (none for "irrelevance"). One model turn per task,
scored like BFCL's AST checker:
- selection: the called tool names equal the expected ones (as a multiset; no call when none is
  expected);
- arguments: selection is right and the calls can be paired with the expected ones so that every
  expected argument matches (strings compared case- and space-insensitively against the accepted
  alternatives, numbers by value; arguments the task does not name are not judged).

With the text protocol (ReAct) a turn can make one call, and the reply must parse: the parse rate
is reported too.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from ..evaluation.metrics import wilson
from ..models.base import ChatModel
from ..models.types import GenerationParams, Message
from .loop import REACT, parse_react


def matches(expected: dict, actual: dict | None) -> bool:
    """Every expected argument is given one of its accepted values; "" among them (BFCL's
    convention) means the argument may also be left out."""
    if not isinstance(actual, dict):
        return False
    for key, want in expected.items():
        options = want if isinstance(want, list) else [want]
        if key not in actual:
            if "" in options or None in options:
                continue
            return False
        if not any(_same(o, actual[key]) for o in options):
            return False
    return True


def _same(want, got) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):  # True is not 1 here (in Python it is)
        return isinstance(want, bool) and isinstance(got, bool) and want == got
    if isinstance(want, (int, float)):
        try:
            return abs(float(got) - float(want)) < 1e-6
        except (TypeError, ValueError):
            return False
    if isinstance(want, dict):  # a nested object: its fields, each with its accepted values
        return matches(want, got)
    if isinstance(want, list):  # a list value: the same items in order
        return isinstance(got, list) and len(got) == len(want) and all(map(_same, want, got))
    return " ".join(str(want).split()).casefold() == " ".join(str(got).split()).casefold()


def score(expected: list[dict], calls: list[tuple[str, dict | None]]) -> tuple[bool, bool]:
    """(selection right, arguments right) for one task."""
    selection = sorted(c["name"] for c in expected) == sorted(name for name, _ in calls)
    if not selection:
        return False, False
    if not expected:
        return True, True
    arguments = any(
        all(e["name"] == name and matches(e["arguments"], args) for e, (name, args) in zip(expected, perm))
        for perm in itertools.permutations(calls)
    )
    return True, arguments


def _arguments(raw) -> dict | None:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def predict(model: ChatModel, task: dict, tools: dict[str, dict], protocol: str) -> tuple[list, bool]:
    """The calls the model makes for a task, and whether its reply was readable."""
    offered = task.get("functions") or [tools[name] for name in task["tools"]]
    asked = [Message(m["role"], m["content"]) for m in task.get("messages") or []] or [
        Message("user", task["question"])
    ]
    if protocol == "native":
        params = GenerationParams(temperature=0.0, max_tokens=256, tools=offered, tool_choice="auto")
        res = model.generate(asked, params)
        return [(c.name, _arguments(c.arguments)) for c in res.tool_calls], True
    catalogue = "\n".join(
        f"- {t['function']['name']}: {t['function']['description']} Arguments (JSON schema): "
        f"{json.dumps(t['function']['parameters'], ensure_ascii=False)}"
        for t in offered
    )
    res = model.generate(
        [Message("system", REACT.format(tools=catalogue)), *[m for m in asked if m.role != "system"]],
        GenerationParams(temperature=0.0, max_tokens=256),
    )
    parsed = parse_react(res.text)
    if parsed is None:
        return [], False
    if isinstance(parsed, str):
        return [], True
    return [(parsed[0], _arguments(parsed[1]))], True


def evaluate(
    model: ChatModel,
    tasks: Iterable[dict],
    tools: list[dict],
    *,
    protocol: str = "native",
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Per category (and overall): tasks, selection accuracy, argument accuracy, parse rate, mean
    seconds per task; and the tasks that went wrong."""
    by_name = {t["function"]["name"]: t for t in tools}
    groups: dict[str, list[tuple[bool, bool, bool, float]]] = defaultdict(list)
    misses = []
    for i, task in enumerate(tasks):
        t0 = time.perf_counter()
        calls, readable = predict(model, task, by_name, protocol)
        seconds = time.perf_counter() - t0
        sel, args = score(task["expected"], calls)
        for group in (task["category"], f"lang:{task.get('lang', '?')}", "all"):
            groups[group].append((sel, args, readable, seconds))
        if not args:
            misses.append(
                {
                    "id": task["id"],
                    "question": task["question"],
                    "expected": task["expected"],
                    "calls": [{"name": n, "arguments": a} for n, a in calls],
                }
            )
        if progress:
            progress(i + 1)
    report = {}
    for group, rows in groups.items():
        n = len(rows)
        selected, argued = sum(r[0] for r in rows), sum(r[1] for r in rows)
        report[group] = {
            "tasks": n,
            "selection": selected / n,
            "selection_ci95": wilson(selected, n),
            "arguments": argued / n,
            "arguments_ci95": wilson(argued, n),
            "parsed": sum(r[2] for r in rows) / n,
            "seconds": sum(r[3] for r in rows) / n,
        }
    return {"protocol": protocol, "model": model.name, "groups": report, "misses": misses}

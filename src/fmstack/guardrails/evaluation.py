"""Guardrail quality on labelled sets.

- Prompt attacks (and other text classifiers): JSON lines {"text", "label": "attack"|"benign",
  "lang"}; true-positive rate on attacks, false-positive rate on benign texts.
- Sensitive information: JSON lines {"text", "spans": [{"type", "start", "end"}], "lang"}; a
  predicted span counts when it has the gold span's type and covers at least half of it (and the
  gold span at least half of the prediction); precision and recall over spans, per type.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidInput
from . import pii


def load_jsonl(path: str | Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InvalidInput(f"{path}:{n}: not valid JSON ({e.msg})") from None
    if not rows:
        raise InvalidInput(f"{path} holds no examples")
    return rows


def _match(p: pii.Span, g: dict) -> bool:
    if p.type != g["type"]:
        return False
    overlap = min(p.end, g["end"]) - max(p.start, g["start"])
    return overlap >= 0.5 * (g["end"] - g["start"]) and overlap >= 0.5 * (p.end - p.start)


def evaluate_pii(rows: list[dict], detect: Callable[[str], list[pii.Span]] = pii.detect) -> dict[str, dict]:
    """{type or "all" or "lang:xx": {"gold", "predicted", "precision", "recall", "exact"}}"""
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {"gold": 0, "predicted": 0, "tp_gold": 0, "tp_pred": 0, "exact": 0}
    )
    for row in rows:
        found = detect(row["text"])
        gold = row["spans"]
        for group in ("all", f"lang:{row.get('lang', 'other')}"):
            c = counts[group]
            c["gold"] += len(gold)
            c["predicted"] += len(found)
            c["tp_gold"] += sum(any(_match(p, g) for p in found) for g in gold)
            c["tp_pred"] += sum(any(_match(p, g) for g in gold) for p in found)
            c["exact"] += sum(
                any(p.type == g["type"] and p.start == g["start"] and p.end == g["end"] for p in found) for g in gold
            )
        for kind in {g["type"] for g in gold} | {p.type for p in found}:
            c = counts[kind]
            g_k = [g for g in gold if g["type"] == kind]
            p_k = [p for p in found if p.type == kind]
            c["gold"] += len(g_k)
            c["predicted"] += len(p_k)
            c["tp_gold"] += sum(any(_match(p, g) for p in p_k) for g in g_k)
            c["tp_pred"] += sum(any(_match(p, g) for g in g_k) for p in p_k)
            c["exact"] += sum(any(p.start == g["start"] and p.end == g["end"] for p in p_k) for g in g_k)
    out = {}
    for group, c in counts.items():
        out[group] = {
            "gold": c["gold"],
            "predicted": c["predicted"],
            "precision": round(c["tp_pred"] / c["predicted"], 4) if c["predicted"] else 1.0,
            "recall": round(c["tp_gold"] / c["gold"], 4) if c["gold"] else 1.0,
            "exact": round(c["exact"] / c["gold"], 4) if c["gold"] else 1.0,
        }
    return out


def evaluate_classifier(rows: list[dict], fires: Callable[[str], bool], positive: str = "attack") -> dict[str, dict]:
    """{"all" | "lang:xx": {"positives", "negatives", "tpr", "fpr"}} for a yes/no detector."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"pos": 0, "neg": 0, "tp": 0, "fp": 0})
    misses = []
    for row in rows:
        hit = fires(row["text"])
        is_pos = row["label"] == positive
        for group in ("all", f"lang:{row.get('lang', 'other')}"):
            c = counts[group]
            c["pos" if is_pos else "neg"] += 1
            c["tp"] += is_pos and hit
            c["fp"] += (not is_pos) and hit
        if hit != is_pos:
            misses.append(row["text"])
    out = {
        g: {
            "positives": c["pos"],
            "negatives": c["neg"],
            "tpr": round(c["tp"] / c["pos"], 4) if c["pos"] else None,
            "fpr": round(c["fp"] / c["neg"], 4) if c["neg"] else None,
        }
        for g, c in counts.items()
    }
    out["misses"] = misses  # type: ignore[assignment]
    return out


# The guardrail `fmstack guardrails eval` measures the other policies with (policies.jsonl).
EVAL_GUARDRAIL = {
    "name": "eval",
    "topics": [
        {
            "name": "investment advice",
            "definition": "Recommendations about which stocks, funds, bonds or "
            "crypto to buy, sell or hold, and how to allocate savings.",
            "examples": [
                "Which stocks should I buy now?",
                "Should I put my savings into bitcoin?",
                "现在应该买哪只股票？",
                "我的钱应该投到哪个基金？",
            ],
        }
    ],
    "words": {"profanity": True},
    "harm": {},
}


def evaluate_policies(rows: list[dict], guardrail) -> dict[str, dict]:
    """{policy: {group: {"positives", "negatives", "tpr", "fpr"}}} for rows {"policy", "text", "label", "lang"}:
    a positive row (label other than "benign") counts when its policy fires on it (for harm: its own
    category); a benign row counts as a false positive when its policy fires at all."""
    out: dict[str, dict] = {}
    for policy in sorted({r["policy"] for r in rows}):
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"pos": 0, "neg": 0, "tp": 0, "fp": 0})
        for r in (r for r in rows if r["policy"] == policy):
            found = [f for f in guardrail.check(r["text"], "input").findings if f.policy == policy]
            positive = r["label"] != "benign"
            hit = any(f.name == r["label"] for f in found) if policy == "harm" and positive else bool(found)
            for group in ("all", f"lang:{r.get('lang', 'other')}"):
                c = counts[group]
                c["pos" if positive else "neg"] += 1
                c["tp"] += positive and hit
                c["fp"] += (not positive) and hit
        out[policy] = {
            g: {
                "positives": c["pos"],
                "negatives": c["neg"],
                "tpr": round(c["tp"] / c["pos"], 4) if c["pos"] else None,
                "fpr": round(c["fp"] / c["neg"], 4) if c["neg"] else None,
            }
            for g, c in counts.items()
        }
    return out

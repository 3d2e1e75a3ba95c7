"""Guardrail quality on labelled sets.

- Prompt attacks (and other text classifiers): JSON lines {"text", "label": "attack"|"benign",
  "lang"}; true-positive rate on attacks, false-positive rate on benign texts.
- Sensitive information: JSON lines {"text", "spans": [{"type", "start", "end"}], "lang"}; a
  predicted span counts when it has the gold span's type and covers at least half of it (and the
  gold span at least half of the prediction); precision and recall over spans, per type.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidInput
from ..evaluation.metrics import wilson
from . import pii


def load_jsonl(path: str | Path) -> list[dict]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text") from None
    rows = []
    for n, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit inside a string
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


def operating_points(
    positives: Sequence[float], negatives: Sequence[float], fprs: Sequence[float]
) -> dict[float, dict]:
    """The true-positive rate of a scorer at each fixed false-positive rate: the threshold is set on
    the negatives so that at most that share of them score above it. {fpr: {"threshold", "tpr",
    "low", "high" (95% Wilson interval), "fpr" (actual)}}."""
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.sort(np.asarray(negatives, dtype=np.float64))[::-1]
    out = {}
    for f in fprs:
        k = int(math.floor(f * len(neg)))
        t = float(neg[k]) if k < len(neg) else -math.inf
        hits = int((pos > t).sum())
        low, high = wilson(hits, len(pos))
        out[f] = {
            "threshold": t,
            "tpr": hits / len(pos) if len(pos) else float("nan"),
            "low": low,
            "high": high,
            "fpr": float((neg > t).mean()) if len(neg) else 0.0,
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


def _is_attack(row: dict) -> bool:
    label = row.get("label")
    return label in (1, True) or (isinstance(label, str) and label.lower() not in ("0", "benign", "false", "safe"))


def _head(row: dict, head: str) -> str:
    if head != "auto":
        return head
    return "injection" if row.get("kind") in ("injection", "document") else "jailbreak"


def evaluate_dataset(rows: list[dict], detector, head: str = "auto", fprs: Sequence[float] = (0.01, 0.05)) -> dict:
    """A prompt-attack detector on any labelled JSONL ({"text", "label": 1|0|"attack"|"benign",
    optional "kind" (jailbreak | injection | request | document), "source", "lang"}).

    For each language and each source of attacks: the TPR at each fixed FPR (threshold set on that
    language's benign rows of the same head) with a 95% interval, and TPR/FPR at the detector's own
    thresholds (patterns included); latency percentiles of one check."""
    import time

    scored = []
    for row in rows:
        if not isinstance(row.get("text"), str):
            raise InvalidInput('every row needs a "text" string')
        h = _head(row, head)
        t0 = time.perf_counter()
        fired, s = detector.fires(row["text"], head=h)
        scored.append((row, h, fired, s.probability, time.perf_counter() - t0))
    out: dict = {"groups": [], "latency_ms": {}}
    langs = sorted({r.get("lang", "other") for r, *_ in scored})
    for lang in langs:
        for h in sorted({h for _, h, *_ in scored}):
            mine = [x for x in scored if x[0].get("lang", "other") == lang and x[1] == h]
            neg = [x for x in mine if not _is_attack(x[0])]
            sources = sorted({x[0].get("source", "all") for x in mine if _is_attack(x[0])})
            for source in ["all"] + (sources if len(sources) > 1 else []):
                pos = [x for x in mine if _is_attack(x[0]) and source in ("all", x[0].get("source", "all"))]
                if not pos:
                    continue
                group = {"lang": lang, "head": h, "source": source, "positives": len(pos), "negatives": len(neg)}
                group["tpr"] = sum(x[2] for x in pos) / len(pos)
                group["fpr"] = sum(x[2] for x in neg) / len(neg) if neg else None
                if neg:
                    pts = operating_points([x[3] for x in pos], [x[3] for x in neg], fprs)
                    group["at_fpr"] = {f"{f:g}": {k: round(v, 4) for k, v in p.items()} for f, p in pts.items()}
                out["groups"].append(group)
    times = np.array([x[4] for x in scored]) * 1000
    out["latency_ms"] = {q: round(float(np.percentile(times, int(q[1:]))), 2) for q in ("p50", "p90", "p99")}
    return out


def is_harm_dataset(rows: list[dict]) -> bool:
    """Rows labelled with harm categories ({"label": "hate" | … | "benign"}) rather than attacks."""
    from .harm import CATEGORIES

    return any(r.get("label") in CATEGORIES for r in rows)


def evaluate_harm(rows: list[dict], guardrail, fprs: Sequence[float] = (0.01, 0.05)) -> dict:
    """A guardrail's harm policy on a labelled JSONL ({"text", "label": a category or "benign",
    optional "kind", "source", "lang"}). For each language, category and source of that category's
    texts: the TPR at each fixed FPR (threshold set on that language's benign rows, on the
    category's score) with a 95% interval, and TPR / FPR at the guardrail's own strengths (a
    positive counts when its own category fires; a benign row when that category fires);
    latency percentiles of one check."""
    import time

    from .harm import CATEGORIES

    scored = []
    for row in rows:
        if not isinstance(row.get("text"), str):
            raise InvalidInput('every row needs a "text" string')
        if row.get("label") not in (*CATEGORIES, "benign"):
            raise InvalidInput(
                f"a harm row's label is one of {', '.join(CATEGORIES)} or benign, not {row.get('label')!r}"
            )
        t0 = time.perf_counter()
        res = guardrail.check(row["text"], "input")
        fired = {f.name for f in res.findings if f.policy == "harm"}
        scored.append((row, res.scores, fired, time.perf_counter() - t0))
    out: dict = {"groups": [], "latency_ms": {}}
    for lang in sorted({r.get("lang", "other") for r, *_ in scored}):
        mine = [x for x in scored if x[0].get("lang", "other") == lang]
        neg = [x for x in mine if x[0]["label"] == "benign"]
        for cat in (c for c in CATEGORIES if any(x[0]["label"] == c for x in mine)):
            key = f"harm_{cat}"
            if not all(key in x[1] for x in mine):
                continue  # the category is off in this guardrail
            sources = sorted({x[0].get("source", "all") for x in mine if x[0]["label"] == cat})
            for source in ["all"] + (sources if len(sources) > 1 else []):
                pos = [x for x in mine if x[0]["label"] == cat and source in ("all", x[0].get("source", "all"))]
                group = {"lang": lang, "category": cat, "source": source, "positives": len(pos), "negatives": len(neg)}
                group["tpr"] = sum(cat in x[2] for x in pos) / len(pos)
                group["fpr"] = sum(cat in x[2] for x in neg) / len(neg) if neg else None
                if neg:
                    pts = operating_points([x[1][key] for x in pos], [x[1][key] for x in neg], fprs)
                    group["at_fpr"] = {f"{f:g}": {k: round(v, 4) for k, v in p.items()} for f, p in pts.items()}
                out["groups"].append(group)
    times = np.array([x[3] for x in scored]) * 1000
    out["latency_ms"] = {q: round(float(np.percentile(times, int(q[1:]))), 2) for q in ("p50", "p90", "p99")}
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

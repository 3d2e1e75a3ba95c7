"""Trains the decide stage's head (src/fmstack/models/tool_decider.npz): whether a request needs
one of the offered tools called, and which.

    pip download --no-deps bfcl-eval==2026.3.23 -d /tmp/fmstack-bfcl   # nothing is installed
    python scripts/train_tool_decider.py [--wheel /tmp/fmstack-bfcl/bfcl_eval-*.whl] [--no-save]

Data: the Berkeley Function-Calling Leaderboard's single-turn tasks (BFCL v4, Apache-2.0, as
bench/data/agents/make_bfcl.py converts them), only those of the development half (by the hash of
their id) and outside the evaluation set make_bfcl.py writes: no task of the evaluation set, and
no task of the test half, is read. Every BFCL task is English outside that set: the Chinese
requests are all in it.

Each (request, offered tool) pair is one example over `tooluse.decider_features` of the bundled
multilingual-e5-small vectors (the request's as a query, the tool's description as a document,
as `decide` embeds them): positive when the tool is one the task calls. Negatives: the tools of
BFCL's irrelevant requests; the tools of another task with none in common (an unrelated tool set
must not look callable because the request asks for an action); and, at weight 0.3, the other
offered tools of a request that needs one. One logistic regression (C=10). The threshold is the
best tool's probability below which 85% of the irrelevant requests fall, on 5-fold out-of-fold
probabilities. A tool at least tooluse.THRESHOLD like the request (the similarity rule without a
head) is callable from a lower probability, the veto (VETO, below). Seeded: a second run writes
the same file.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench" / "data" / "agents"))

import make_bfcl  # noqa: E402

from fmstack.config import Settings  # noqa: E402
from fmstack.models import tooluse  # noqa: E402
from fmstack.models.registry import ModelRegistry  # noqa: E402

C = 10.0
ABSTAIN = 0.85  # share of irrelevant requests under the threshold
OTHER_TOOLS_WEIGHT = 0.3
# a tool at least tooluse.THRESHOLD like the request is turned away only when the head is this
# sure it is not the one (the best veto out of fold, about 0.275, turned away "What's the weather in
# Paris?" from get_weather: BFCL offers weather tools to hundreds of requests they do not serve)
VETO = 0.1


def request(task: dict) -> str:
    users = [m["content"] for m in task["messages"] if m["role"] == "user" and m.get("content")]
    return users[-1] if users else task["question"]


def embedded(embedder, tasks: list[dict]) -> list[dict]:
    """Per task: the request's vector, its tools' vectors, their names and the names it calls."""
    queries = embedder.embed([request(t) for t in tasks], "query")
    texts = list(dict.fromkeys(tooluse.describe(f) for t in tasks for f in t["functions"]))
    vectors = dict(zip(texts, embedder.embed(texts, "document"), strict=True))
    return [
        {
            "q": q,
            "tools": np.stack([vectors[tooluse.describe(f)] for f in t["functions"]]),
            "names": [f["function"]["name"] for f in t["functions"]],
            "calls": {c["name"] for c in t["expected"]},
            "lang": t["lang"],
        }
        for t, q in zip(tasks, queries, strict=True)
    ]


def unrelated(rows: list[dict], seed: int) -> list[dict]:
    """Each request with the tools of another task that offers none of its tools: nothing to call."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows:
        other = rows[int(rng.integers(len(rows)))]
        if not set(other["names"]) & set(r["names"]):
            out.append({**other, "q": r["q"], "calls": set()})
    return out


def examples(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y, w = [], [], []
    for r in rows:
        X.append(tooluse.decider_features(r["q"], r["tools"]))
        label = np.array([n in r["calls"] for n in r["names"]])
        y.append(label)
        w.append(np.where(label | (not r["calls"]), 1.0, OTHER_TOOLS_WEIGHT))
    return np.concatenate(X), np.concatenate(y), np.concatenate(w)


def fit(rows: list[dict]) -> LogisticRegression:
    X, y, w = examples(rows + unrelated(rows, seed=1))
    return LogisticRegression(C=C, max_iter=5000).fit(X, y, sample_weight=w)


def report(name: str, rows: list[dict], decide) -> None:
    """Relevant vs irrelevant AUC of the best tool's score, and the share of requests decided
    right at the threshold: an irrelevant one not called, a relevant one calling one of its tools
    (further calls of a parallel request are not judged here)."""
    scored = [decide(r) for r in rows]
    need = [bool(r["calls"]) for r in rows]
    auc = roc_auc_score(need, [s for s, _, _ in scored])
    right = [
        (call and tool in r["calls"]) if r["calls"] else not call
        for r, (_, tool, call) in zip(rows, scored, strict=True)
    ]
    irrelevant = [not call for r, (_, _, call) in zip(rows, scored, strict=True) if not r["calls"]]
    print(
        f"  {name:<26} AUC {auc:.3f}  decided right {np.mean(right):.3f}  abstains {np.mean(irrelevant):.3f}  ({len(rows)} tasks)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", default=None, help="the bfcl-eval wheel (default: /tmp/fmstack-bfcl/bfcl_eval-*.whl)")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    wheel = args.wheel or (sorted(glob.glob("/tmp/fmstack-bfcl/bfcl_eval-*.whl")) or [None])[-1]
    if wheel is None:
        sys.exit("no bfcl-eval wheel: pip download --no-deps bfcl-eval==2026.3.23 -d /tmp/fmstack-bfcl")
    with zipfile.ZipFile(wheel) as whl:
        tasks = make_bfcl.convert(whl)
    evaluation = {t["id"] for t in make_bfcl.sample(tasks)}  # the set make_bfcl.py writes
    tasks = [t for t in tasks if t["functions"]]
    train = [t for t in tasks if t["id"] not in evaluation and t["split"] == "dev"]
    held = [t for t in tasks if t["id"] in evaluation]
    print(f"{len(train)} training tasks (development half, outside the evaluation set); {len(held)} evaluation tasks")

    embedder = ModelRegistry(Settings()).embedding(None)
    started = time.perf_counter()
    rows = embedded(embedder, train)
    evaluation_rows = {split: embedded(embedder, [t for t in held if t["split"] == split]) for split in ("dev", "test")}
    print(f"embedded in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    out_of_fold: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for fold_train, fold_test in KFold(5, shuffle=True, random_state=0).split(rows):
        model = fit([rows[i] for i in fold_train])
        for i in fold_test:
            out_of_fold[i] = model.predict_proba(tooluse.decider_features(rows[i]["q"], rows[i]["tools"]))[:, 1]
    irrelevant = np.sort([p.max() for p, r in zip(out_of_fold, rows, strict=True) if not r["calls"]])
    threshold = float(irrelevant[int(np.ceil(ABSTAIN * len(irrelevant))) - 1])
    similar = [r["tools"] @ r["q"] for r in rows]

    def right_with(veto: float) -> float:
        head = tooluse.Decider(np.zeros(1), 0.0, threshold, "", veto)
        right = []
        for p, s, r in zip(out_of_fold, similar, rows, strict=True):
            fits = head.callable(p, s)
            tool = r["names"][int(np.argmax(np.where(fits, p, -1.0)))] if fits.any() else None
            right.append(tool in r["calls"] if r["calls"] else tool is None)
        return float(np.mean(right))

    veto = VETO
    by_veto = {v: right_with(v) for v in [1.0, veto, *np.round(np.arange(0.0, threshold, 0.025), 3)]}
    best_veto = max(by_veto, key=lambda v: by_veto[v])
    model = fit(rows)
    print(
        f"trained in {time.perf_counter() - started:.0f} s; threshold {threshold:.4f}, veto {veto:.3f} "
        f"(out of fold decided right {by_veto[veto]:.3f}; the head alone {by_veto[1.0]:.3f}, "
        f"the best veto {best_veto:.3f} {by_veto[best_veto]:.3f})"
    )

    head = tooluse.Decider(model.coef_[0].astype(np.float32), float(model.intercept_[0]), threshold, "", veto)

    def by_head(r: dict) -> tuple[float, str, bool]:
        p, s = head.probabilities(r["q"], r["tools"]), r["tools"] @ r["q"]
        fits = head.callable(p, s)
        return float(p.max()), r["names"][int(np.argmax(np.where(fits, p, -1.0)))], bool(fits.any())

    def by_similarity(r: dict) -> tuple[float, str, bool]:
        s = r["tools"] @ r["q"]
        return float(s.max()), r["names"][int(np.argmax(s))], float(s.max()) >= tooluse.THRESHOLD

    for split, data in evaluation_rows.items():
        print(f"evaluation set, {split} split:")
        report(f"similarity >= {tooluse.THRESHOLD}", data, by_similarity)
        report("trained head", data, by_head)
        zh = [r for r in data if r["lang"] == "zh"]
        report("trained head, Chinese", zh, by_head)

    if not args.no_save:
        np.savez_compressed(
            tooluse.DECIDER,
            weights=model.coef_[0].astype(np.float32),
            bias=np.float32(model.intercept_[0]),
            threshold=np.float32(threshold),
            veto=np.float32(veto),
            embedder=np.array(getattr(embedder, "name", "")),
        )
        print(f"wrote {tooluse.DECIDER} ({tooluse.DECIDER.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

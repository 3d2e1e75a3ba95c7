"""Compare two prompt versions and two retrieval settings on a knowledge base, in one command:

    python examples/prompt-eval/run.py [--data-dir DIR] [--output report.html] [--limit N]

Builds the dive-destinations knowledge base (../dive-holiday/destinations, English and Chinese),
saves two versions of the answer prompt, runs spec.yaml (16 questions with reference answers,
questions.jsonl) for the four configurations, prints the paired comparisons and writes an HTML
report with plots. Runs are stored: `fmstack eval list`, `fmstack eval compare A B`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from fmstack import Fmstack
from fmstack.evaluation.report import write_report
from fmstack.evaluation.runner import parse_spec

HERE = Path(__file__).resolve().parent
V1 = "Answer the question using the context.\n\nContext:\n{{ context }}\n\nQuestion: {{ question }}\nAnswer:"
V2 = [
    {
        "role": "system",
        "content": "You answer questions about dive destinations. Use only the numbered context "
        "passages; quote figures (depths, prices, months) exactly as they are written; "
        "answer in one or two sentences in the language of the question.",
    },
    {"role": "user", "content": "{{ context }}\n\n{{ question }}"},
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(HERE / ".data"))
    ap.add_argument("--output", default=str(HERE / "report.html"))
    ap.add_argument("--limit", type=int, help="only the first N questions")
    args = ap.parse_args()
    fm = Fmstack(data_dir=args.data_dir)
    try:
        if "dive-destinations" not in [kb.name for kb in fm.knowledge.list()]:
            fm.knowledge.create("dive-destinations", description="Dive destinations and seasons")
        fm.knowledge.ingest("dive-destinations", [HERE.parent / "dive-holiday" / "destinations"])
        if "dive-answer" not in [p.name for p in fm.prompts.list()]:
            fm.prompts.create("dive-answer", template=V1, description="RAG answer for dive questions")
            fm.prompts.update("dive-answer", messages=V2, note="system rules: only the context, exact figures, brief")
        print(fm.prompts.diff("dive-answer", 1, 2))
        data = yaml.safe_load((HERE / "spec.yaml").read_text(encoding="utf-8"))
        if args.limit:
            data["limit"] = args.limit
        spec = parse_spec(data, HERE)

        def progress(cfg: str, done: int, total: int) -> None:
            print(f"\r{cfg}: {done}/{total}", end="\n" if done == total else "", flush=True)

        ids = fm.evaluations.run(spec, progress)
        base = fm.evaluations.get(ids[0])
        for other in ids[1:]:
            cmp = fm.evaluations.compare(ids[0], other)
            print(f"\n{base['configuration']}  →  {cmp['b']['configuration']}  ({cmp['examples']} questions)")
            for m in ("token_f1", "rougeL", "chrf", "faithfulness", "context_precision", "context_recall"):
                c = cmp["metrics"].get(m)
                if c:
                    print(
                        f"  {m:<18} {c['a']:.3f} → {c['b']:.3f}   Δ {c['delta']:+.3f} "
                        f"[{c['delta_ci95'][0]:+.3f}, {c['delta_ci95'][1]:+.3f}]   better on {c['b_wins']:.0%}"
                    )
        print(f"\nreport: {write_report(fm.evaluations, ids, args.output)}")
    finally:
        fm.close()


if __name__ == "__main__":
    main()

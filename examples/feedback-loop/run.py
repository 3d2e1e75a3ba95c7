"""The feedback loop, closed, in one command on the bundled model and the CPU:

    python examples/feedback-loop/run.py [--data-dir DIR] [--epochs 8]

1. chat over a knowledge base (the dive-destinations documents of ../dive-holiday, English and
   Chinese), one conversation per question of ../prompt-eval/questions.jsonl;
2. a scripted reviewer rates each answer against the reference answer: 👍 when it says what the
   reference says (token F1 ≥ 0.5), else 👎 with the reference as the corrected answer;
3. a dataset is built from that feedback (👍 answers and corrections), split with a seed;
4. the bundled model is tuned on it (LoRA, CPU) and evaluated against its base on the held-out
   split by the job itself;
5. the alias `dive-bot` is pointed at the tuned model if it is better there (the evaluation's
   paired token-F1 difference is positive), and the held-out questions are asked again through
   the alias, beside the base model's answers.

Everything is stored: `fmstack datasets list`, `fmstack tune list`, `fmstack aliases history`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fmstack import Fmstack
from fmstack.evaluation.metrics import token_f1

HERE = Path(__file__).resolve().parent
KB = "dive-destinations"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(HERE / ".data"))
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()
    questions = [
        json.loads(line)
        for line in (HERE.parent / "prompt-eval" / "questions.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    fm = Fmstack(data_dir=args.data_dir)
    try:
        if KB not in [kb.name for kb in fm.knowledge.list()]:
            fm.knowledge.create(KB, description="Dive destinations and seasons")
        fm.knowledge.ingest(KB, [HERE.parent / "dive-holiday" / "destinations"])

        print("1-2. chat and feedback")
        ups = downs = 0
        for q in questions:
            conv = fm.conversations.create(title=q["question"][:60])
            turn = fm.say(conv.id, q["question"], knowledge_base=KB, max_tokens=64, temperature=0)
            answer = turn.assistant_message
            if token_f1(answer.content, q["answer"]) >= 0.5:
                fm.conversations.feedback(answer.id, "up")
                ups += 1
            else:
                fm.conversations.feedback(answer.id, "down", "not what the documents say", correction=q["answer"])
                downs += 1
        print(f"   {ups} 👍, {downs} 👎 with a correction")

        print("3. dataset from the feedback")
        ds = fm.datasets.from_feedback("dive-feedback", validation=0.15, test=0.25, seed=0)
        print(
            f"   {ds.name}:{ds.version}: {ds.rows} examples, splits {ds.stats['splits']}, {ds.stats['dropped']} dropped"
        )

        print("4. tune and evaluate against the base")
        hp = {"epochs": args.epochs, "batch_size": 2, "learning_rate": 2e-3, "max_length": 256}
        job = fm.tuning.create("smollm2", ds.id, hyperparameters=hp, suffix="dive")
        started, shown = time.monotonic(), 0
        while (job := fm.tuning.get(job.id)).status in ("queued", "running"):
            p = job.metrics.get("progress") or {}
            if p.get("step", 0) > shown and p["step"] % 5 == 0:
                shown = p["step"]
                print(f"   step {p['step']}/{p['total_steps']} loss {p['train_loss']:.3f}", flush=True)
            time.sleep(1)
        if job.status != "succeeded":
            raise SystemExit(f"tuning {job.status}: {(job.error or {}).get('message')}")
        tuned = job.fine_tuned_model or ""
        m = job.metrics
        print(
            f"   {tuned} in {time.monotonic() - started:.0f} s; validation loss {m['valid_loss']:.3f} (base {m['base_valid_loss']:.3f})"
        )
        evaluation = m.get("evaluation") or {}
        f1 = (evaluation.get("metrics") or {}).get("token_f1")
        if f1:
            lo, hi = f1["delta_ci95"]
            print(f"   token F1 on {evaluation['examples']} held-out examples: base {f1['a']:.3f}, tuned {f1['b']:.3f} "
                  f"(difference {f1['delta']:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}])")  # fmt: skip
            print(f"   report: {fm.tuning.report_path(job.id)}")

        print("5. promote if better, and ask again")
        if f1 and f1["delta"] > 0:
            fm.aliases.point("dive-bot", tuned, note=f"token F1 {f1['a']:.3f} -> {f1['b']:.3f} on held-out feedback")
            print(f"   dive-bot -> {tuned}")
        else:
            fm.aliases.point("dive-bot", "smollm2", note="the tuned model was not better: kept the base")
            print("   not better: dive-bot stays on smollm2")
        held_out = {e["messages"][-2]["content"] for e in fm.datasets.examples(ds.id, "test")}
        for q in [q for q in questions if q["question"] in held_out]:
            for model in ("smollm2", "dive-bot"):
                conv = fm.conversations.create(title=q["question"][:60])
                said = fm.say(conv.id, q["question"], model=model, knowledge_base=KB, max_tokens=64, temperature=0)
                print(f"   [{model}] {q['question']}\n      {said.assistant_message.content.strip()[:200]}")
            print(f"      reference: {q['answer']}")
    finally:
        fm.close()


if __name__ == "__main__":
    main()

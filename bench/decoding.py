"""Decoding defaults for the bundled model, measured: for each repetition penalty, how often a
generation loops (the same sentence again, a phrase over and over — what models/decoding.py stops),
how often the answer is in the question's language, and how often a grounded answer holds the
labelled fact. The questions are the dev split of bench/data/answers (English and Chinese), asked
with their passages (the RAG prompt) and without (plain chat); generations are the model's own,
without the loop stopper.

    python bench/decoding.py                        # penalties 1.0 1.1 1.2 1.3
    python bench/decoding.py --penalties 1.0 1.15 --limit 20
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))
sys.path.insert(0, str(ROOT))

from answers import DATA, KB, knowledge_base  # noqa: E402

from fmstack import Fmstack  # noqa: E402
from fmstack.config import Settings  # noqa: E402
from fmstack.knowledge import rag  # noqa: E402
from fmstack.knowledge.answers import is_cjk  # noqa: E402
from fmstack.knowledge.evaluation import fact_in, load_answer_set  # noqa: E402
from fmstack.models.decoding import loops  # noqa: E402
from fmstack.models.types import GenerationParams, Message, TextDelta  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--penalties", nargs="+", type=float, default=[1.0, 1.1, 1.2, 1.3])
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "fmstack-bench-answers"))
    args = ap.parse_args()
    fm = Fmstack(Settings.from_env(data_dir=args.data))
    knowledge_base(fm)
    model = fm.models.chat("smollm2")
    questions = load_answer_set(DATA / "questions.jsonl", split="dev")
    questions = questions[: args.limit] if args.limit else questions
    prompts = []
    for q in questions:
        _, passages = fm.turns.retrieve(KB, q["question"])
        prompts.append((q, [Message("user", q["question"])], "chat"))
        if passages:
            prompts.append((q, [rag.context_message(passages, q["question"]), Message("user", q["question"])], "rag"))
    print(f"{len(prompts)} generations per setting ({len(questions)} questions, with and without passages)")
    print("penalty | loops | question's language | fact (rag, answerable) | s/generation")
    for penalty in args.penalties:
        n_loop = n_lang = n_fact = n_ans = 0
        t0 = time.perf_counter()
        for q, messages, kind in prompts:
            params = GenerationParams(max_tokens=args.max_tokens, repetition_penalty=penalty, temperature=0.0)
            text = "".join(e.text for e in model._stream_text(messages, params) if isinstance(e, TextDelta))
            n_loop += loops(text)
            n_lang += is_cjk(text) == is_cjk(q["question"])
            if kind == "rag" and q["relevant"]:
                n_ans += 1
                n_fact += fact_in(text, q["answers"])
        n = len(prompts)
        took = (time.perf_counter() - t0) / n
        print(f"{penalty:.2f} | {n_loop / n:.3f} | {n_lang / n:.3f} | {n_fact / max(1, n_ans):.3f} | {took:.1f}")


if __name__ == "__main__":
    main()

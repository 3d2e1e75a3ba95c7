"""LoRA training and serving speed: fmstack's trainer against the same training written directly
with transformers + peft, and the served tuned model against its base.

    python bench/tune.py                  # 48 examples, 12 steps each way, 2 rounds
    python bench/tune.py --steps 20 --rounds 3

training: the same examples (chat, answers only in the loss), the same LoRA (r=8 on q/v), batch
          size, learning rate and padding. fmstack: `tuning.trainer.Trainer.train` (checkpoints
          off); direct: a hand-written loop over `peft.get_peft_model` and `torch.optim.AdamW`. The
          two run in turns in this process (direct, fmstack, direct, fmstack…) so drift hits both;
          the figure is trained tokens per second, the ratio fmstack / direct.
memory:   the process's peak resident memory after each phase (ru_maxrss, which only grows).
serving:  llama.cpp generating 64 tokens greedily for each of 6 prompts with the tuned model as
          fmstack serves it (the base's tensors, the adapted ones merged in Q8_0), with the base
          GGUF, and with the adapter applied at run time (`lora_path`, export: adapter), in rounds
          whose order rotates; median tokens/s and the ratios against the base.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fmstack.models.local import resolve_model_path
from fmstack.tuning import trainer as T

TOPICS = [
    ("LoRA", "adds two small matrices to a frozen weight and trains only them"),
    ("DPO", "tunes a model directly on pairs of preferred and rejected answers"),
    ("RAG", "retrieves passages and asks the model to answer from them"),
    ("BM25", "ranks passages by term frequency, inverse document frequency and length"),
    ("quantisation", "stores weights in fewer bits to save memory and time"),
    ("a tokenizer", "splits text into the units a model reads"),
    ("an embedding", "maps text to a vector whose distances reflect meaning"),
    ("perplexity", "is the exponential of the mean negative log-likelihood per token"),
]
FORMS = [
    "What is {t}?",
    "Explain {t} in one sentence.",
    "Tell me briefly what {t} does.",
    "{t}: what is it?",
    "In one line, describe {t}.",
    "Define {t}.",
]


def examples(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        topic, what = TOPICS[i % len(TOPICS)]
        q = FORMS[(i // len(TOPICS)) % len(FORMS)].format(t=topic)
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": q},
                    {"role": "assistant", "content": f"{topic[0].upper() + topic[1:]} {what}."},
                ]
            }
        )
    return rows


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def direct(base: Path, rows: list[dict], hp: T.Hyperparameters, steps: int, seed: int) -> tuple[float, float]:
    """The same training, written with transformers + peft alone: trained tokens per second."""
    import torch
    from peft import LoraConfig, get_peft_model

    tok, model = T.load_base(base, cache=Path(tempfile.gettempdir()) / "fmstack-bench-base")
    torch.manual_seed(seed)
    cfg = LoraConfig(
        r=hp.lora_rank,
        lora_alpha=hp.lora_alpha,
        lora_dropout=hp.lora_dropout,
        target_modules=list(hp.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, cfg)
    items = T.encode(tok, rows, "supervised", hp.max_length)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=hp.learning_rate)
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    model.train()
    tokens, started, cpu = 0, time.perf_counter(), time.process_time()
    for step in range(steps):
        keys = [order[(step * hp.batch_size + j) % len(order)] for j in range(hp.batch_size)]
        batch = [items[k] for k in keys]
        width = max(len(e.ids) for e in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, e in enumerate(batch):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            labels[i, : len(e.labels)] = torch.tensor(e.labels)
            mask[i, : len(e.ids)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += sum(len(e.ids) for e in batch)
    return tokens / (time.perf_counter() - started), tokens / (time.process_time() - cpu)


def through_fmstack(
    base: Path, rows: list[dict], hp: T.Hyperparameters, out: Path, seed: int
) -> tuple[tuple[float, float], T.Trainer]:
    tr = T.Trainer(base, "supervised", hp, out, seed=seed, cache=Path(tempfile.gettempdir()) / "fmstack-bench-base")
    cpu = time.process_time()
    outcome = tr.train(rows, [])
    return (outcome.tokens_per_second, outcome.trained_tokens / (time.process_time() - cpu)), tr


def serve_speed(base: Path, adapter: Path | None, prompts: list[str], threads: int) -> tuple[float, float]:
    """Tokens per second of wall time, and per second of this process's CPU time (all threads):
    the second hardly moves when other work shares the machine."""
    from fmstack.models.local import llama_class

    Llama = llama_class()  # as fmstack loads it (CPUs with AMX tiles crash otherwise)

    llm = Llama(
        model_path=str(base), lora_path=str(adapter) if adapter else None, n_ctx=1024, n_threads=threads, verbose=False
    )
    llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=4)  # warm
    tokens, started, cpu = 0, time.perf_counter(), time.process_time()
    for p in prompts:
        r = llm.create_chat_completion(messages=[{"role": "user", "content": p}], max_tokens=64, temperature=0)
        tokens += r["usage"]["completion_tokens"]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    llm.close()
    return tokens / seconds, tokens / cpu_seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=48)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--serve-rounds", type=int, default=6)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    base = resolve_model_path("bundled:smollm2")
    rows = examples(args.examples)
    hp = T.Hyperparameters(
        epochs=1,
        batch_size=4,
        max_length=128,
        max_steps=args.steps,
        checkpoint_every=10**6,
        eval_every=10**6,
        lora_dropout=0.0,
    )
    print(
        f"training: {args.examples} examples, {args.steps} steps of batch {hp.batch_size}, LoRA r={hp.lora_rank} "
        f"on {'/'.join(hp.target_modules)}, {args.threads} threads"
    )
    ours, theirs = [], []
    adapter = None
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            theirs.append(direct(base, rows, hp, args.steps, seed=r))
            print(f"  round {r + 1}: direct  {theirs[-1][0]:7.1f} tokens/s   peak RSS {peak_mb():.0f} MB")
            speed, tr = through_fmstack(base, rows, hp, Path(tmp) / f"run{r}", seed=r)
            ours.append(speed)
            print(f"  round {r + 1}: fmstack {ours[-1][0]:7.1f} tokens/s   peak RSS {peak_mb():.0f} MB")
            adapter = tr.write_adapter(Path(tmp) / "adapter.gguf")
        for i, clock in enumerate(("wall", "CPU")):
            o, t = statistics.median(x[i] for x in ours), statistics.median(x[i] for x in theirs)
            print(f"training tokens per {clock} second: fmstack {o:.1f}, direct {t:.1f}, ratio {o / t:.3f}")
        print(f"peak resident memory: {peak_mb():.0f} MB")

        from fmstack.tuning import export

        assert adapter is not None
        merged = export.merge(base, adapter, Path(tmp) / "merged.gguf", keep_base=True)
        prompts = [r["messages"][0]["content"] for r in rows[:6]]
        speeds: dict[str, list[tuple[float, float]]] = {"base": [], "merged": [], "adapter": []}
        runs = {"base": (base, None), "merged": (merged, None), "adapter": (base, adapter)}
        order = list(runs)
        for _ in range(args.serve_rounds):  # the order rotates: this machine's speed drifts over minutes
            order = order[1:] + order[:1]
            for mode in order:
                speeds[mode].append(serve_speed(*runs[mode], prompts, args.threads))
        for i, clock in enumerate(("wall", "CPU")):
            b, m, a = (statistics.median(x[i] for x in speeds[k]) for k in ("base", "merged", "adapter"))
            print(
                f"serving tokens per {clock} second: base {b:.1f}; tuned as served (base tensors + adapted ones "
                f"merged in {export.DEFAULT_TYPE}) {m:.1f}, ratio {m / b:.3f}; adapter at run time {a:.1f}, "
                f"ratio {a / b:.3f}"
            )


if __name__ == "__main__":
    main()

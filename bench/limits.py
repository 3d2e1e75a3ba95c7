"""Rate limits and budgets under concurrent load: a real `fmstack serve` with a key limited to N
requests per minute, 200 requests from 20 threads; the count let through must equal N (± 1) with
no 500s. Then a key with a monthly budget B at a priced model (one token costs 1), 60 chat
completions from 20 threads: what was spent must stay within B, and B minus what was spent must be
less than one more call's cost (nothing let through that did not fit, nothing refused that did).

    python bench/limits.py                                   # SQLite
    python bench/limits.py --database-url postgresql+psycopg://postgres@127.0.0.1/fm_bench
    python bench/limits.py --limit 50 --requests 200 --threads 20

Prints the statuses, the requests let through against the limit, and the time per request
with the limit against the same requests made with an unlimited key (the baseline)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import served

OWNER = "sk-bench-owner"


def fire(url: str, key: str, n: int, threads: int) -> tuple[Counter, float]:
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as c:
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            codes = Counter(pool.map(lambda _: c.get("/v1/models").status_code, range(n)))
        return codes, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--threads", type=int, default=20)
    ap.add_argument("--budget", type=float, default=300)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="fmstack-limits-")
    config = os.path.join(data, "config.yaml")
    with open(config, "w") as f:
        f.write(
            "models:\n  priced: {provider: local, path: 'bundled:smollm2', input_price: 1000000, output_price: 1000000}\n"
        )
    env = {"FMSTACK_DATA_DIR": data, "FMSTACK_API_KEYS": OWNER, "FMSTACK_CONFIG": config}
    if args.database_url:
        env["FMSTACK_DATABASE_URL"] = args.database_url
    with served(env) as url:
        owner = {"Authorization": f"Bearer {OWNER}"}

        def key(**limits) -> str:
            return httpx.post(f"{url}/api/keys", json={"name": "bench", **limits}, headers=owner).json()["key"]

        # the limited run starts at the top of a fresh minute window if the current one is nearly over
        if time.time() % 60 > 45:
            time.sleep(61 - time.time() % 60)
        limited, t_limited = fire(url, key(rpm=args.limit), args.requests, args.threads)
        free, t_free = fire(url, key(), args.requests, args.threads)
        budget_key = key(monthly_budget=args.budget)
        chat = {"model": "priced", "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 2}
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {budget_key}"}) as c:
            with ThreadPoolExecutor(args.threads) as pool:
                budget_codes = Counter(
                    pool.map(lambda _: c.post("/v1/chat/completions", json=chat).status_code, range(60))
                )
        usage = httpx.get(f"{url}/api/usage", headers=owner).json()["data"]
        spent = sum(u["cost"] for u in usage if u["model"] == "priced")
        calls = sum(u["calls"] for u in usage if u["model"] == "priced")
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}: {args.requests} requests from {args.threads} threads, limit {args.limit}/min")
    print(
        f"  limited key: {dict(limited)}  let through {limited[200]} (limit {args.limit}, "
        f"off by {limited[200] - args.limit:+d}); 5xx: {sum(v for k, v in limited.items() if k >= 500)}"
    )
    print(f"  unlimited key (baseline): {dict(free)}")
    print(
        f"  ms per request: limited {t_limited / args.requests * 1000:.2f}, unlimited {t_free / args.requests * 1000:.2f} "
        f"(x{t_limited / t_free:.2f})"
    )
    per_call = spent / calls if calls else 0
    print(
        f"budget {args.budget:g}: 60 calls from {args.threads} threads: {dict(budget_codes)}; spent {spent:g} "
        f"in {calls} calls ({per_call:.1f} each); left {args.budget - spent:g} "
        f"(a call holds up to its prompt + max_tokens, about {per_call + 2:.0f})"
    )
    ok = abs(limited[200] - args.limit) <= 1 and not any(k >= 500 for k in limited) and free[200] == args.requests
    ok = ok and spent <= args.budget and not any(k >= 500 for k in budget_codes) and budget_codes[200] == calls
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Latency a guardrail adds per request: each policy alone and the full non-LLM set, on a
1,000-character input (English and Chinese), p50/p99 over repeated checks, with no embedding of the
text at hand and (last columns) with it at hand, as after retrieval; and the full guardrail on 5
retrieved passages (context screening). "harm-classifier": the trained harm heads (opt-in) instead of
the example detector. "-before" rows: the
prompt-attack policy with the embedding example bank as well (how it ran before the trained
classifier), in the same run.

    python bench/guardrails.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from fmstack import Fmstack
from fmstack.guardrails import Guardrail, parse_config

EN = (
    "Hello team, please review the quarterly report before Friday. Contact Ada at ada@example.com or "
    "+1 415-555-2671 if anything is unclear. The staging server 10.0.0.12 hosts the draft at "
    "https://intranet.example.com/reports/q3. We expect revenue to grow about 12 percent, driven by the new "
    "subscription tier and lower churn in Europe. Marketing will prepare a summary for the board; engineering "
    "will finish the migration to the new database cluster next week. Remember that the customer list is "
    "confidential and must not be shared outside the company. Thanks, and have a good weekend. "
)
ZH = (
    "大家好，请在周五前审阅季度报告。如有疑问请联系王芳，邮箱wangfang@example.com，电话13812345678。预发布服务器"
    "10.0.0.12 上有草稿。我们预计收入增长约百分之十二，主要来自新的订阅套餐以及欧洲客户流失率的下降。市场部会为董事会"
    "准备摘要，工程部下周完成向新数据库集群的迁移。请注意，客户名单属于机密，不得外传。谢谢大家，周末愉快。"
)
POLICIES = {
    "words": {"words": ["Project Falcon", "机密代号"], "profanity": True},
    "pii": {},
    "attacks": {},
    "topics": [
        {
            "name": "investment advice",
            "definition": "Recommendations about which stocks or crypto to buy.",
            "examples": ["Which stocks should I buy now?", "现在应该买哪只股票？"],
        }
    ],
    "harm": {},
}


def measure(g: Guardrail, text: str, rounds: int, *, warm: bool = False) -> tuple[float, float]:
    """p50/p99 of one input check. warm=False: the text's embedding is not at hand (the query cache
    is emptied before each check); warm=True: it is (retrieval embedded the question already)."""
    g.check(text)  # warm: example banks embedded once per guardrail
    times = []
    for _ in range(rounds):
        if not warm:
            g.embedder.__dict__.get("_query_cache", {}).clear()
        t = time.perf_counter()
        g.check(text, "input")
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    fm = Fmstack(data_dir=tempfile.mkdtemp(prefix="fmstack-bench-"))
    embedder = fm.models.embedding(None)
    texts = {"en": (EN * 3)[:1000], "zh": (ZH * 4)[:1000], "en-100": EN[:100], "zh-100": ZH[:100]}
    print(
        f"inputs: 1,000 characters (and a 100-character prompt); {args.rounds} checks each; "
        f"embedding model {embedder.name}\n"
    )
    print(f"{'policy':<14} {'input':<7} {'p50 ms':>8} {'p99 ms':>8}   (embedding at hand: p50, p99)")
    before = {"attacks": {"embeddings": True}}  # the example-bank signal: an e5 embedding per window
    runs = [
        *POLICIES.items(),
        ("harm-classifier", {"detector": "classifier"}),  # the trained harm heads (opt-in)
        ("attacks-before", before["attacks"]),
        ("full", None),
        ("full-before", None),
    ]
    for name, cfg in runs:
        policy = name.removesuffix("-before").removesuffix("-classifier")
        if name == "full":
            config = {"name": name, **POLICIES}
        elif name == "full-before":
            config = {"name": "full", **POLICIES, **before}
        else:
            config = {"name": policy, policy: cfg}
        g = Guardrail(parse_config(config), embedder)
        for lang, text in texts.items():
            p50, p99 = measure(g, text, args.rounds)
            line = f"{name:<14} {lang:<7} {p50:>8.2f} {p99:>8.2f}"
            if name in ("topics", "harm", "harm-classifier", "full"):
                w50, w99 = measure(g, text, args.rounds, warm=True)
                line += f"   {w50:>8.2f} {w99:>8.2f}"
            print(line)
    # context screening: the full guardrail on 5 retrieved passages (what RAG does before the prompt)
    passages = [(EN * 2)[i * 100 : i * 100 + 800] for i in range(3)] + [
        (ZH * 3)[i * 50 : i * 50 + 500] for i in range(2)
    ]
    stored = embedder.embed(passages, input_type="document")  # what the index holds for them
    for name, extra, vectors in (
        ("full-before", before, None),
        ("full", {}, None),
        ("full+stored", {}, stored),  # the passages' stored vectors read, as a RAG turn does
    ):
        g = Guardrail(parse_config({"name": "full", **POLICIES, **extra}), embedder)
        for p in passages:
            g.check(p, "context")
        times = []
        for _ in range(max(5, args.rounds // 4)):
            embedder.__dict__.get("_query_cache", {}).clear()  # passages are new text every turn
            t = time.perf_counter()
            for i, p in enumerate(passages):
                g.check(p, "context", vectors=None if vectors is None else vectors[i])
            times.append((time.perf_counter() - t) * 1000)
        p50, p99 = np.percentile(times, 50), np.percentile(times, 99)
        print(f"{name:<14} {'5 passages':<7} {p50:>8.2f} {p99:>8.2f}")
    t = time.perf_counter()
    for _ in range(50):
        embedder.embed([texts["en"]], input_type="query")
    print(
        f"\nfor scale: embedding the 1,000-character text once takes {(time.perf_counter() - t) * 20:.1f} ms "
        "(topics, harm and attacks share one embedding call per check)"
    )
    fm.close()


if __name__ == "__main__":
    main()

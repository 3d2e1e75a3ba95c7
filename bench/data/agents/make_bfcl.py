"""Converts the Berkeley Function-Calling Leaderboard's data (BFCL v4, Apache-2.0, shipped in the
`bfcl-eval` wheel) into tasks for `fmstack agents eval --tasks`: a public set fmstack did not write.

    pip download --no-deps bfcl-eval==2026.3.23 -d /tmp/fmstack-bfcl   # nothing is installed
    python bench/data/agents/make_bfcl.py /tmp/fmstack-bfcl/bfcl_eval-*.whl --out /tmp/fmstack-bfcl

Categories (BFCL's files -> fmstack's): simple_python + live_simple -> single; multiple +
live_multiple -> multiple; parallel + parallel_multiple + live_parallel(+_multiple) -> parallel;
irrelevance + live_irrelevance -> irrelevance. English: a seeded sample of each category. Chinese:
every live task (user queries collected by BFCL) whose question is Chinese — BFCL's only Chinese.

Each task carries its own tools (OpenAI shape: BFCL's "dict"/"float"/"tuple"/"any" types mapped to
JSON schema; a dotted name such as `math.factorial` becomes `math_factorial`, as BFCL's own OpenAI
handler does) and its expected calls, each argument a list of accepted values where "" means the
argument may be left out (BFCL's possible answers). `split`: "dev" (tune on it) or "test" (score
at the end), by a hash of the task id. Writes bfcl-tasks.jsonl.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import zipfile
from pathlib import Path

CATEGORIES = {
    "single": ["simple_python", "live_simple"],
    "multiple": ["multiple", "live_multiple"],
    "parallel": ["parallel", "parallel_multiple", "live_parallel", "live_parallel_multiple"],
    "irrelevance": ["irrelevance", "live_irrelevance"],
}
TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}
CJK = re.compile(r"[\u4e00-\u9fff]")


def schema(node):
    """BFCL's parameter schema as JSON schema."""
    if isinstance(node, list):
        return [schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            mapped = TYPES.get(value, value)
            if mapped is not None:
                out["type"] = mapped
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = schema(value)
        elif key in ("description", "enum", "required", "default", "format", "maximum", "minimum"):
            out[key] = value
    return out


def tool(fn: dict) -> dict:
    return {
        "type": "function",
        "function": {
            "name": fn["name"].replace(".", "_"),
            "description": fn.get("description", ""),
            "parameters": schema(fn.get("parameters") or {"type": "dict", "properties": {}}),
        },
    }


def read(whl: zipfile.ZipFile, name: str) -> list[dict]:
    try:
        text = whl.read(f"bfcl_eval/data/{name}").decode("utf-8")
    except KeyError:
        return []
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def split(task_id: str) -> str:
    return "dev" if int(hashlib.sha256(task_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def convert(whl: zipfile.ZipFile) -> list[dict]:
    tasks = []
    for category, files in CATEGORIES.items():
        for f in files:
            answers = {a["id"]: a["ground_truth"] for a in read(whl, f"possible_answer/BFCL_v4_{f}.json")}
            for row in read(whl, f"BFCL_v4_{f}.json"):
                turns = row["question"]
                if len(turns) != 1:
                    continue
                messages = [m for m in turns[0] if m["role"] in ("system", "user", "assistant")]
                users = [m["content"] for m in messages if m["role"] == "user"]
                if not users:
                    continue
                expected = []
                if category != "irrelevance":
                    if row["id"] not in answers:
                        continue
                    for call in answers[row["id"]]:
                        ((name, args),) = call.items()
                        expected.append({"name": name.replace(".", "_"), "arguments": args})
                tasks.append(
                    {
                        "id": row["id"],
                        "category": category,
                        "lang": "zh" if CJK.search(" ".join(users)) else "en",
                        "source": f"BFCL_v4_{f}",
                        "split": split(row["id"]),
                        "question": users[-1],
                        "messages": messages,
                        "functions": [tool(fn) for fn in row["function"]],
                        "expected": expected,
                    }
                )
    return tasks


def sample(tasks: list[dict], per_category: int = 80) -> list[dict]:
    """The evaluation set: every Chinese task and a seeded sample of English tasks per category,
    sorted by category and id. scripts/train_tool_decider.py trains on development-split tasks
    outside it."""
    rng = random.Random(20)
    chosen = [t for t in tasks if t["lang"] == "zh"]
    for category in CATEGORIES:
        en = [t for t in tasks if t["lang"] == "en" and t["category"] == category]
        rng.shuffle(en)
        # half BFCL's written set, half its live (user-contributed) queries, where both have enough
        live = [t for t in en if "live_" in t["source"]]
        written = [t for t in en if "live_" not in t["source"]]
        half = per_category // 2
        take = written[:half] + live[: per_category - min(half, len(written))]
        chosen += take[:per_category]
    return sorted(chosen, key=lambda t: (t["category"], t["id"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", help="the bfcl-eval wheel (bfcl_eval-*.whl)")
    ap.add_argument("--out", default="/tmp/fmstack-bfcl")
    ap.add_argument("--per-category", type=int, default=80, help="English tasks sampled per category")
    args = ap.parse_args()
    with zipfile.ZipFile(args.wheel) as whl:
        tasks = convert(whl)
    chosen = sample(tasks, args.per_category)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bfcl-tasks.jsonl"
    path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in chosen), encoding="utf-8")
    counts: dict[tuple, int] = {}
    for t in chosen:
        key = (t["split"], t["lang"], t["category"])
        counts[key] = counts.get(key, 0) + 1
    print(f"{len(chosen)} tasks -> {path}")
    for key in sorted(counts):
        print("  ", *key, counts[key])


if __name__ == "__main__":
    main()

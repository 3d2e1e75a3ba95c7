"""What the decide stage of two-stage tool use (models/tooluse.py) adds to a request with tools.

    python bench/tool_decisions.py [--rounds 30]

Eight tools are offered; requests in English and Chinese. Printed: the decide stage's p50/p90 in
milliseconds — with the tools' vectors already known (an agent offers the same tools every step;
a client sending the same `tools` again) and with eight new tools every request — and, in the same
run, the baseline it replaced: scoring the tool names with the chat model's own label
log-probabilities (one prompt listing the tools, one label per tool and "answer").
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from fmstack import Fmstack, Settings
from fmstack.models import tooluse
from fmstack.models.types import Message


def fn(name: str, description: str, *params: str) -> dict:
    props = {p: {"type": "string", "description": p.replace("_", " ")} for p in params}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": props, "required": list(params)},
        },
    }


TOOLS = [
    fn("get_weather", "Current weather of a city.", "city"),
    fn("send_email", "Send an email.", "to", "subject", "body"),
    fn("convert_currency", "Convert an amount between currencies.", "amount", "source", "target"),
    fn("book_table", "Book a restaurant table.", "restaurant", "time", "people"),
    fn("search_flights", "Search flights between two airports on a date.", "origin", "destination", "date"),
    fn("set_alarm", "Set an alarm.", "time", "label"),
    fn("translate_text", "Translate text into another language.", "text", "target_language"),
    fn("get_stock_price", "Latest price of a stock.", "ticker"),
]
REQUESTS = [
    "What's the weather in Lisbon right now?",
    "Send an email to ana@example.com saying the meeting moved to 3pm.",
    "How much is 250 USD in EUR?",
    "Book a table for four at Luigi's at 7pm.",
    "Tell me a joke about penguins.",
    "帮我查一下明天从北京到上海的航班。",
    "把这句话翻译成英文：今天天气很好。",
    "苹果公司的股价是多少？",
    "早上七点叫我起床。",
    "你好，你是谁？",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    fm = Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": tempfile.mkdtemp(prefix="fmstack-bench-")}))
    embedder, chat = fm.models.embedding(), fm.models.chat()
    tooluse.decide(embedder, [Message("user", "warm up")], TOOLS, "auto")  # load the model
    chat.label_logprobs([Message("user", "warm up")], ["a"])

    def timed(fn_, n: int) -> list[float]:
        out = []
        for i in range(n):
            request = f"{REQUESTS[i % len(REQUESTS)]} ({i})"  # never seen: its vector is computed
            t0 = time.perf_counter()
            fn_(i, request)
            out.append((time.perf_counter() - t0) * 1000)
        return out

    warm = timed(lambda i, r: tooluse.decide(embedder, [Message("user", r)], TOOLS, "auto"), args.rounds)

    def fresh(i: int, request: str) -> None:
        tools = [
            {**t, "function": {**t["function"], "description": f"{t['function']['description']} ({i})"}} for t in TOOLS
        ]
        tooluse.decide(embedder, [Message("user", request)], tools, "auto")

    cold = timed(fresh, args.rounds)
    names = [t["function"]["name"] for t in TOOLS] + ["answer"]
    listing = "\n".join(f"- {t['function']['name']}: {t['function']['description']}" for t in TOOLS)
    ask = f"You can call these functions:\n{listing}\nReply with the name of the function to call, or 'answer'."
    labels = timed(
        lambda i, r: chat.label_logprobs([Message("system", ask), Message("user", r)], names),
        max(5, args.rounds // 3),
    )
    print(f"decide stage, 8 tools, {args.rounds} requests (EN + ZH), milliseconds:")
    print(f"  tool vectors known       p50 {statistics.median(warm):7.1f}  p90 {pct(warm, 0.9):7.1f}")
    print(f"  eight new tools each     p50 {statistics.median(cold):7.1f}  p90 {pct(cold, 0.9):7.1f}")
    print(f"  label log-probabilities  p50 {statistics.median(labels):7.1f}  p90 {pct(labels, 0.9):7.1f}  (baseline)")
    print(f"  baseline / decide, p50, tool vectors known: {statistics.median(labels) / statistics.median(warm):.0f}x")
    fm.close()


if __name__ == "__main__":
    main()

"""What the turn pipeline (fmstack/turns.py) costs on top of the model call it wraps.

    python bench/turns.py [--rounds 2000] [--tokens 32]

A chat model that answers instantly (the same `tokens` text events every time) is registered as a
provider, so the figures are the platform's own work: the raw `model.generate()` against the same
turn prepared and streamed by the pipeline (no guardrail, no knowledge base: what an evaluation
example or a plain /v1 request takes), and with a guardrail of word and PII policies (what
`fmstack ask --guardrail` takes). Same process, interleaved rounds; medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from fmstack import Fmstack, Settings
from fmstack.models.base import ChatModel, ModelInfo
from fmstack.models.registry import chat_provider
from fmstack.models.types import Finish, GenerationParams, Message, TextDelta, Usage, UsageEvent

TOKENS = 32


class Instant(ChatModel):
    def __init__(self, info: ModelInfo):
        self.info = info

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, params):
        for i in range(TOKENS):
            yield TextDelta(f" word{i}." if i % 8 == 7 else f" word{i}")
        yield UsageEvent(Usage(10, TOKENS))
        yield Finish("stop")


@chat_provider("instant")
def _instant(info, spec, settings) -> ChatModel:
    return Instant(info)


def main() -> None:
    global TOKENS
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--tokens", type=int, default=32)
    args = ap.parse_args()
    TOKENS = args.tokens
    data = tempfile.mkdtemp(prefix="fmstack-bench-")
    config = {"models": {"instant": {"provider": "instant", "context_window": 4096}}}
    fm = Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": data}, config=config))
    fm.guardrails.create({"name": "g", "words": {"words": ["forbidden"]}, "pii": {}})
    model = fm.models.chat("instant")
    messages = [Message("system", "Be brief."), Message("user", "What is the capital of France?")]
    params = GenerationParams(max_tokens=64)

    def direct() -> str:
        return model.generate(messages, params).text

    def pipeline() -> str:
        return fm.turns.answer(fm.turns.prepare(messages, model=model, params=params)).text

    def guarded() -> str:
        return fm.turns.answer(fm.turns.prepare(messages, model=model, params=params, guardrail="g")).text

    modes = {"model.generate()": direct, "turn pipeline": pipeline, "turn pipeline + guardrail": guarded}
    times: dict[str, list[float]] = {m: [] for m in modes}
    for fn in modes.values():
        fn()
    for r in range(args.rounds):
        order = list(modes.items())
        order = order[r % len(order) :] + order[: r % len(order)]
        for name, fn in order:
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e6)
    base = statistics.median(times["model.generate()"])
    print(f"one turn, {TOKENS} text events from an instant model, {args.rounds} interleaved rounds (median µs)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:28s} {med:8.1f} µs   +{med - base:7.1f} µs over the model call   x{med / base:.2f}")
    fm.close()


if __name__ == "__main__":
    main()

"""What bounded rendering (prompts/sandbox.py) costs a prompt: a few-shot support template rendered
with Jinja's plain sandbox (the baseline) and with fmstack's bounded one (a step budget traced on
the template's own lines, checked operators, filters and calls), in the same process.

    python bench/prompts.py [--examples 8] [--rounds 2000]

Prints microseconds per render for each and the ratio."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from fmstack.prompts.sandbox import BoundedEnvironment, render

TEMPLATE = """You are a support agent for {{ company }}. Answer in {{ language|default("English") }}.
{% for ex in examples %}Q: {{ ex.q }}
A: {{ ex.a|trim }}
{% endfor %}Question: {{ question|trim }}"""


def per_render(fn, rounds: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2000)
    args = ap.parse_args()
    values = {
        "company": "Acme",
        "examples": [
            {"q": f"How do I do task {i}?", "a": f"  Open settings, then step {i}.  "} for i in range(args.examples)
        ],
        "question": "  How do I reset my password?  ",
    }
    plain = SandboxedEnvironment(undefined=StrictUndefined).from_string(TEMPLATE)
    bounded = BoundedEnvironment(undefined=StrictUndefined).from_string(TEMPLATE)
    assert plain.render(**values) == render(bounded, values)
    base = per_render(lambda: plain.render(**values), args.rounds)
    mine = per_render(lambda: render(bounded, values), args.rounds)
    print(f"template with {args.examples} examples, {args.rounds} renders each")
    print(f"jinja2 sandbox (baseline): {base:8.1f} us a render")
    print(f"bounded sandbox:           {mine:8.1f} us a render  ({mine / base:.1f}x the baseline)")


if __name__ == "__main__":
    main()

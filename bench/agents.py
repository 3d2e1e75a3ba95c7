"""Agent loop overhead per step, excluding model time, and the text protocol's parse success rate
on the bundled model.

Overhead: agents run on tasks of the function-calling set (src/fmstack/evalsets/agents) with the bundled
model and tools that return at once; the time inside the model's generate() and inside the tools
is measured and subtracted from each step's wall time. What is left is the loop's own work
(building prompts and tool schemas, validating arguments, parsing, bookkeeping, the trace) — for
the bare loop and for a stored agent run (AgentService: definition, guardrail-free, trace written
to the database).

Parse rate: the share of the bundled model's first replies under the ReAct text protocol that
parse as an action or a final answer (and, for comparison, native tool calling's, which the
grammar makes well-formed).

    python bench/agents.py [--tasks 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from timing import Timed  # noqa: E402  (bench/timing.py)

from fmstack import Fmstack  # noqa: E402
from fmstack.agents.evaluation import evaluate  # noqa: E402
from fmstack.agents.loop import Agent, Limits  # noqa: E402
from fmstack.agents.tools import Tool, schema_validator  # noqa: E402
from fmstack.models.types import Message  # noqa: E402

DATA = ROOT / "src" / "fmstack" / "evalsets" / "agents"


def instant_tools(catalogue: list[dict], clock: list[float]) -> list[Tool]:
    def runner(name):
        def run(args):
            t0 = time.perf_counter()
            out = {"tool": name, "result": "ok", "arguments": args}
            clock[0] += time.perf_counter() - t0
            return out

        return run

    out = []
    for spec in catalogue:
        f = spec["function"]
        out.append(
            Tool(f["name"], f["description"], f["parameters"], runner(f["name"]), schema_validator(f["parameters"]))
        )
    return out


def loop_overhead(fm, tasks, catalogue, protocol: str) -> tuple[list[float], int]:
    per_step = []
    steps_total = 0
    for task in tasks:
        model = Timed(fm.models.chat(None))
        clock = [0.0]
        tools = [t for t in instant_tools(catalogue, clock) if t.name in task["tools"]]
        agent = Agent(model, tools, protocol=protocol, limits=Limits(max_steps=3))
        t0 = time.perf_counter()
        steps = list(agent.stream(task["question"]))
        wall = time.perf_counter() - t0
        turns = sum(s.kind == "model" for s in steps)
        tool_steps = sum(s.kind == "tool" for s in steps)
        # Tool time as the tools measured it; the calls' validation and bookkeeping stay in.
        overhead = wall - model.seconds - clock[0]
        n = max(1, turns + tool_steps)
        per_step.append(overhead / n * 1000)
        steps_total += n
    return per_step, steps_total


def stored_overhead(fm, tasks, catalogue) -> list[float]:
    """Through AgentService: the definition read, the run row, the trace stored at the end."""
    per_step = []
    for i, task in enumerate(tasks):
        clock = [0.0]
        tools = [t for t in instant_tools(catalogue, clock) if t.name in task["tools"]]
        timed = Timed(fm.models.chat(None))
        fm.agents.create({"name": f"bench-{i}", "limits": {"max_steps": 3}}, replace=True)
        original_tools, original_chat = fm.agents.tools, fm.models.chat
        fm.agents.tools = lambda cfg, stack=None, tools=tools: tools
        fm.models.chat = lambda name=None, timed=timed: timed
        try:
            t0 = time.perf_counter()
            run = fm.agents.run(f"bench-{i}", task["question"])
            wall = time.perf_counter() - t0
        finally:
            fm.agents.tools, fm.models.chat = original_tools, original_chat
        n = max(1, sum(s["kind"] in ("model", "tool") for s in run.steps))
        per_step.append((wall - timed.seconds - clock[0]) / n * 1000)
    return per_step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=30, help="tasks for the overhead runs")
    ap.add_argument("--parse-tasks", type=int, default=100, help="tasks for the parse rate")
    args = ap.parse_args()
    fm = Fmstack(data_dir=tempfile.mkdtemp(prefix="fmstack-bench-"))
    catalogue = json.loads((DATA / "tools.json").read_text())
    tasks = [
        json.loads(line) for line in (DATA / "tasks.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    picked = tasks[:: max(1, len(tasks) // args.tasks)][: args.tasks]
    fm.models.chat(None).generate([Message("user", "hi")])  # load the model first

    print(f"loop overhead per step, model and tool time excluded ({len(picked)} tasks, bundled model)")
    print(f"{'path':<28} {'steps':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for protocol in ("native", "text"):
        per_step, n = loop_overhead(fm, picked, catalogue, protocol)
        print(
            f"{'Agent loop, ' + protocol:<28} {n:>6} {np.percentile(per_step, 50):>8.2f} {np.percentile(per_step, 99):>8.2f}"
        )
    stored = stored_overhead(fm, picked, catalogue)
    print(
        f"{'stored run (AgentService)':<28} {'':>6} {np.percentile(stored, 50):>8.2f} {np.percentile(stored, 99):>8.2f}"
    )

    print(f"\nfirst-reply parse rate on {args.parse_tasks} tasks (src/fmstack/evalsets/agents/tasks.jsonl)")
    model = fm.models.chat(None)
    for protocol in ("text", "native"):
        rep = evaluate(model, tasks[: args.parse_tasks], catalogue, protocol=protocol)["groups"]["all"]
        print(
            f"{protocol:<8} readable {rep['parsed']:.3f}   tool selection {rep['selection']:.3f}   "
            f"arguments {rep['arguments']:.3f}   {rep['seconds']:.2f} s/task"
        )
    fm.close()


if __name__ == "__main__":
    main()

"""The dive-holiday booking assistant, in one command:

    python examples/dive-holiday/run.py                      # the bundled tiny model
    python examples/dive-holiday/run.py --model my-gpt       # any model fmstack knows (e.g. OpenAI-compatible)
    python examples/dive-holiday/run.py --task "Book the Blue Hole for 2 in May, name Ana" --yes

It starts the booking service on a free loopback port, builds the knowledge base of dive
destinations (destinations/, English and Chinese; re-runs only ingest what changed), creates a
guardrail (prompt attacks, PII masking) and the agent (knowledge-base search + the booking API's
operations, bookings need your approval), then runs the tasks and prints each step of the trace.
The runs are stored: `fmstack agents show-run ID` (same --data-dir) or the console's Agents page.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from booking_service import create_app  # noqa: E402

from fmstack import Fmstack  # noqa: E402

TASKS = [
    "I'm an Advanced Open Water diver and want to see sharks in May. Where should I go, and which trip fits?",
    "我想在三亚考开放水域证书，什么季节去最好？",
    "Book the Great Blue Hole day trip for 2 divers in May, the name is Ana Silva.",
]


def start_service() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/openapi.json", timeout=1).raise_for_status()
            return url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("the booking service did not start")


def show(step) -> None:
    label = {
        "plan": "plan",
        "model": "model",
        "tool": f"tool {step.tool}",
        "final": "ANSWER",
        "limit": "stopped",
        "error": "error",
        "confirm": f"needs approval: {step.tool}",
    }[step.kind]
    args = f" {step.arguments}" if step.arguments and step.kind in ("tool", "confirm") else ""
    text = " ".join(step.content.split())
    print(f"  {step.index:>2} {label}{args}: {text[:400]}{'…' if len(text) > 400 else ''}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a chat model or alias (default: the bundled model)")
    ap.add_argument("--task", action="append", help="a task (repeatable); default: three sample tasks")
    ap.add_argument("--yes", action="store_true", help="approve bookings without asking")
    ap.add_argument("--data-dir", default=str(HERE / ".data"), help="where fmstack keeps its database")
    args = ap.parse_args()

    service = start_service()
    print(f"booking service: {service}/docs")
    # the booking service is on this machine: fmstack fetches only public addresses unless allowed
    allow = ",".join(filter(None, [os.environ.get("FMSTACK_OUTBOUND_ALLOW"), "127.0.0.1"]))
    fm = Fmstack(data_dir=args.data_dir, outbound_allow=allow)
    try:
        if "dive-destinations" not in [kb.name for kb in fm.knowledge.list()]:
            fm.knowledge.create("dive-destinations", description="Dive destinations and seasons")
        report = fm.knowledge.ingest("dive-destinations", [HERE / "destinations"]).to_dict()
        print(
            f"knowledge base dive-destinations: {report['added']} added, {report['updated']} updated, "
            f"{report['unchanged']} unchanged"
        )
        if "dive-guard" not in [g.name for g in fm.guardrails.list()]:
            fm.guardrails.create(
                {
                    "name": "dive-guard",
                    "attacks": {},
                    "pii": {"types": {"email": "mask", "phone": "mask", "credit_card": "block"}},
                }
            )
        fm.agents.create(
            {
                "name": "dive-holiday",
                "model": args.model,
                "instructions": (
                    "You are a dive-holiday assistant. Search the knowledge base for destinations and "
                    "seasons, use find_trips for trips and prices, and book only with book_trip when the "
                    "user asks to book and gives the name, month and number of divers. Never invent "
                    "prices or trip ids. Answer in the user's language."
                ),
                "knowledge_bases": ["dive-destinations"],
                "tools": [
                    {"type": "openapi", "spec_url": f"{service}/openapi.json", "base_url": service, "confirm": ["POST"]}
                ],
                "guardrail": "dive-guard",
                "limits": {"max_steps": 5, "max_tool_calls": 6, "timeout_s": 300},
            },
            replace=True,
        )
        for task in args.task or TASKS:
            print(f"\n> {task}")
            events = fm.agents.stream("dive-holiday", task)
            while True:
                run = None
                for ev in events:
                    if hasattr(ev, "kind"):
                        show(ev)
                    else:
                        run = ev
                if run.status != "waiting":
                    break
                approve = args.yes or input(
                    f"  approve {run.pending['name']} {run.pending['arguments']}? [y/N] "
                ).strip().lower() in ("y", "yes")
                print(f"  → {'approved' if approve else 'rejected'}")
                events = fm.agents.stream_confirm(run.id, approve, "" if approve else "the user said no")
            print(f"  run {run.id}: {run.status}")
    finally:
        fm.close()


if __name__ == "__main__":
    main()

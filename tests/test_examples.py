"""The examples run as a user would run them (a subprocess, the bundled model, real services)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_dive_holiday_example_runs_in_one_command(tmp_path):
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "dive-holiday" / "run.py"),
        "--yes",
        "--data-dir",
        str(tmp_path),
        "--task",
        "Book the Great Blue Hole day trip for 2 divers in May, the name is Ana Silva.",
    ]
    # as a user runs it: no outbound allow-list set (the tests' own allows loopback)
    env = {k: v for k, v in os.environ.items() if k != "FMSTACK_OUTBOUND_ALLOW"}
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "knowledge base dive-destinations: 4 added, 0 updated, 0 unchanged" in first.stdout
    assert re.search(r"^\s+0 model", first.stdout, re.M)  # the trace, step by step
    assert re.search(r"run run_\w+: (answer|max_steps|max_tool_calls|timeout|error)", first.stdout)
    # booked without help on the bundled model: the trip's id looked up first (find_trips), then the
    # right trip, month and party — and the service's booking came back
    trace = first.stdout
    assert trace.index("tool find_trips") < trace.index("tool book_trip"), trace
    assert re.search(
        r'tool book_trip \{"body": \{"trip_id": "BZ-BH-DAY", "divers": 2, "name": "Ana Silva", "month": 5\}\}: \{"id": "BK-',
        trace,
    ), trace
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 added, 0 updated, 4 unchanged" in again.stdout  # the knowledge base is kept, nothing re-embedded
    show = subprocess.run(
        [sys.executable, "-m", "fmstack.cli", "agents", "list", "--json"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "FMSTACK_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert '"dive-holiday"' in show.stdout


def test_prompt_eval_example_writes_the_comparison_report(tmp_path):
    report = tmp_path / "report.html"
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "prompt-eval" / "run.py"),
        "--data-dir",
        str(tmp_path / "data"),
        "--output",
        str(report),
        "--limit",
        "3",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--- dive-answer@1" in done.stdout and "+++ dive-answer@2" in done.stdout  # the prompt diff
    assert done.stdout.count("→") >= 3 and "faithfulness" in done.stdout
    html = report.read_text(encoding="utf-8")
    assert html.count("<img") == 3 and html.count("paired comparison over 3 examples") == 3
    assert "v2 · top-4 hybrid" in html


def test_feedback_loop_example_closes_the_loop(tmp_path):
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "feedback-loop" / "run.py"),
        "--data-dir",
        str(tmp_path),
        "--epochs",
        "6",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    ups, downs = map(int, re.search(r"(\d+) 👍, (\d+) 👎 with a correction", out).groups())
    assert ups + downs == 16 and downs > 0
    assert re.search(r"dive-feedback:1: \d+ examples", out)
    assert re.search(r"token F1 on \d+ held-out examples: base [\d.]+, tuned [\d.]+", out)
    assert "dive-bot -> ft:smollm2:dive:" in out or "not better: dive-bot stays on smollm2" in out
    assert out.count("[dive-bot]") == out.count("[smollm2]") >= 1

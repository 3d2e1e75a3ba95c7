"""Function-calling evaluation: the scorer by hand, and `fmstack agents eval` on the bundled model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fmstack.agents.evaluation import score

DATA = Path(__file__).resolve().parents[1] / "src" / "fmstack" / "evalsets" / "agents"


def test_scoring_by_hand():
    tip = {"name": "calculate_tip", "arguments": {"bill": 40, "percent": 10}}
    assert score([tip], [("calculate_tip", {"bill": "40", "percent": 10.0, "currency": "CNY"})]) == (True, True)
    assert score([tip], [("calculate_tip", {"bill": 45, "percent": 10})]) == (True, False)  # right tool, wrong value
    assert score([tip], [("calculate_tip", None)]) == (True, False)  # arguments that did not parse
    assert score([tip], [("convert_currency", {"amount": 40})]) == (False, False)
    assert score([tip], []) == (False, False)
    assert score([], []) == (True, True) and score([], [("calculate_tip", {})]) == (False, False)  # irrelevance
    weather = [
        {"name": "get_weather", "arguments": {"city": ["Beijing", "北京"]}},
        {"name": "get_weather", "arguments": {"city": "Tokyo"}},
    ]
    # parallel calls in any order; alternatives, case and spacing do not matter
    assert score(weather, [("get_weather", {"city": " tokyo"}), ("get_weather", {"city": "北京"})]) == (True, True)
    assert score(weather, [("get_weather", {"city": "Tokyo"})]) == (False, False)  # one call short
    assert score(weather, [("get_weather", {"city": "Tokyo"}), ("get_weather", {"city": "Osaka"})]) == (True, False)
    assert score([{"name": "set_alarm", "arguments": {"on": True}}], [("set_alarm", {"on": 1})]) == (True, False)
    # BFCL's possible answers: "" accepts a left-out argument; nested objects and lists by value
    hotel = {"name": "book", "arguments": {"city": ["Rome"], "nights": ["", 1], "guests": [{"adults": [2]}]}}
    assert score([hotel], [("book", {"city": "rome", "guests": {"adults": 2}})]) == (True, True)
    assert score([hotel], [("book", {"city": "Rome", "nights": 3, "guests": {"adults": 2}})]) == (True, False)
    assert score([hotel], [("book", {"city": "Rome", "guests": {"adults": 3}})]) == (True, False)
    assert score([hotel], [("book", {"nights": 1, "guests": {"adults": 2}})]) == (True, False)  # city is needed
    days = {"name": "plan", "arguments": {"days": [["Mon", "Tue"]]}}
    assert score([days], [("plan", {"days": ["mon", "tue"]})]) == (True, True)
    assert score([days], [("plan", {"days": ["Tue", "Mon"]})]) == (True, False)


def test_bfcl_tasks_carry_their_own_tools_and_a_split(tmp_path):
    """The converted public set's shape (bench/data/agents/make_bfcl.py): each task offers its own
    functions; --split picks the development or test half; intervals come with every rate."""
    sys.path.insert(0, str(DATA.parents[3] / "bench" / "data" / "agents"))
    from make_bfcl import schema, tool

    converted = tool({"name": "math.hypot", "parameters": {"type": "dict", "properties": {"x": {"type": "float"}}}})
    assert converted["function"]["name"] == "math_hypot"
    assert converted["function"]["parameters"] == {"type": "object", "properties": {"x": {"type": "number"}}}
    assert schema({"type": "tuple", "items": {"type": "any"}}) == {"type": "array", "items": {}}
    add = tool(
        {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "dict",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        }
    )
    rows = [
        {
            "id": "t1",
            "category": "single",
            "lang": "en",
            "split": "test",
            "question": "Add 2 and 3.",
            "messages": [{"role": "user", "content": "Add 2 and 3."}],
            "functions": [add],
            "expected": [{"name": "add", "arguments": {"a": [2], "b": [3]}}],
        },
        {
            "id": "t2",
            "category": "irrelevance",
            "lang": "en",
            "split": "dev",
            "question": "Tell me a joke.",
            "messages": [{"role": "user", "content": "Tell me a joke."}],
            "functions": [add],
            "expected": [],
        },
    ]
    path = tmp_path / "bfcl.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FMSTACK_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "fmstack", "agents", "eval", "--tasks", str(path), "--json"]
    p = subprocess.run([*cmd, "--split", "test"], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    groups = json.loads(p.stdout)["groups"]
    assert set(groups) == {"single", "lang:en", "all"} and groups["single"]["selection"] == 1.0
    low, high = groups["single"]["selection_ci95"]
    assert 0 < low < 1.0 and high == 1.0
    bad = path.with_name("bad.jsonl")
    bad.write_text(json.dumps({"id": "x", "question": "?"}), encoding="utf-8")
    p = subprocess.run([*cmd[:-2], str(bad)], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "lines [1]" in " ".join(p.stderr.split())


def test_agents_eval_command_on_the_bundled_model(tmp_path):
    tasks = [
        json.loads(line) for line in (DATA / "tasks.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    picked = [next(t for t in tasks if t["category"] == c) for c in ("single", "multiple", "parallel", "irrelevance")]
    (tmp_path / "tasks.jsonl").write_text(
        "\n".join(json.dumps(t, ensure_ascii=False) for t in picked), encoding="utf-8"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FMSTACK_DATA_DIR": str(tmp_path / "data")}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "fmstack",
            "agents",
            "eval",
            "--tasks",
            str(tmp_path / "tasks.jsonl"),
            "--tools",
            str(DATA / "tools.json"),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    groups = report["groups"]
    assert report["protocol"] == "native" and report["model"] == "smollm2"
    assert {g: groups[g]["tasks"] for g in ("single", "multiple", "parallel", "irrelevance", "all")} == {
        "single": 1,
        "multiple": 1,
        "parallel": 1,
        "irrelevance": 1,
        "all": 4,
    }
    for g in groups.values():
        assert 0 <= g["arguments"] <= g["selection"] <= 1 and g["parsed"] == 1.0  # native replies parse by grammar
    # every task whose arguments were wrong is listed with the calls the model made
    assert groups["all"]["arguments"] == 1 - len(report["misses"]) / 4
    assert all({"id", "question", "expected", "calls"} <= set(m) for m in report["misses"])
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "fmstack",
            "agents",
            "eval",
            "--tasks",
            str(tmp_path / "none.jsonl"),
            "--tools",
            str(DATA / "tools.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "none.jsonl not found" in " ".join(bad.stderr.split())

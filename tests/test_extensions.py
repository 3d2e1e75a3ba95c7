"""Extensions from another package: a tiny package (tests/plugin_pkg) is installed with pip into a
folder of its own and a fresh Python process uses each thing it adds through fmstack's entry
point group — a chat provider, a file format, a guardrail policy, a tool kind and a metric."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).with_name("plugin_pkg")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from fmstack import Fmstack, Settings, plugins
    from fmstack.evaluation.runner import parse_spec

    data = sys.argv[1]
    config = {"models": {"backwards": {"provider": "backwards", "context_window": 4096}}}
    fm = Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": data}, config=config))
    out = {"loaded": plugins.load(), "failed": plugins.failed()}

    # the chat provider
    out["generate"] = fm.generate("olleh", model="backwards").text

    # the guardrail policy, configured beside the built-in ones
    fm.guardrails.create({"name": "orders", "words": {"words": ["secret"]}, "policies": {"no_digits": {"longest": 4}}})
    out["order"] = fm.guardrails.apply("orders", "my order is 1234567").to_dict()
    out["short"] = fm.guardrails.apply("orders", "room 12").action
    try:
        fm.guardrails.create({"name": "bad", "policies": {"no_such_policy": {}}})
    except Exception as e:
        out["unknown_policy"] = str(e)

    # the tool kind, in a stored agent
    fm.agents.create({"name": "clocks", "tools": [{"type": "clock", "utc_offset_hours": 9}]})
    [tool] = fm.agents.tools(fm.agents.get("clocks"))
    out["tool"] = [tool.name, tool.call({}).content]
    try:
        fm.agents.create({"name": "bad", "tools": [{"type": "clock", "utc_offset_hours": "nine"}]})
    except Exception as e:
        out["bad_tool"] = str(e)

    # the metric, in an evaluation of the provider
    spec = parse_spec({"name": "shout", "dataset": [{"input": "IH", "reference": "HI"}, {"input": "ih", "reference": "hi"}],
                       "metrics": ["shouting", "exact_match"], "configurations": [{"name": "b", "model": "backwards"}]})
    [run] = fm.evaluations.run(spec)
    out["scores"] = [r["scores"] for r in fm.evaluations.results(run)]

    # the file format, ingested into a knowledge base
    import pathlib
    kv = pathlib.Path(data) / "depths.kv"
    kv.write_text("Blue Hole: 124 metres deep\\nShark Point: 30 metres deep\\n", encoding="utf-8")
    fm.knowledge.create("kv")
    report = fm.knowledge.ingest("kv", [str(kv)])
    out["ingested"] = [f.status for f in report.files]
    out["hit"] = fm.knowledge.retrieve("kv", "Blue Hole depth", top_k=1, mode="bm25")[0].to_dict()
    fm.close()
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(PACKAGE),
        ],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert list(target.glob("fmstack_example_extension-*.dist-info/entry_points.txt"))
    return target


def test_an_installed_package_adds_a_provider_format_policy_tool_kind_and_metric(site, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("FMSTACK_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == {"example": "fmstack_example_extension"} and out["failed"] == {}
    assert out["generate"] == "hello"
    order = out["order"]
    assert order["action"] == "blocked" and order["findings"][0]["policy"] == "no_digits"
    assert out["short"] == "none"
    assert "unknown policy 'no_such_policy'" in out["unknown_policy"] and "no_digits" in out["unknown_policy"]
    assert out["tool"] == ["clock_now", "2026-12-01T21:00:00+09:00"]
    assert "utc_offset_hours" in out["bad_tool"]
    assert out["scores"][0]["shouting"] == 1.0 and out["scores"][1]["shouting"] == 0.0
    assert [s["exact_match"] for s in out["scores"]] == [1.0, 1.0]
    assert out["ingested"] == ["added"]
    assert out["hit"]["text"] == "124 metres deep" and out["hit"]["heading"] == "Blue Hole"


def test_without_the_package_the_names_are_unknown(tmp_path):
    from fmstack.agents.service import parse_agent
    from fmstack.errors import InvalidInput
    from fmstack.evaluation.scoring import lookup
    from fmstack.guardrails import parse_config

    with pytest.raises(InvalidInput, match="unknown tool type 'clock'"):
        parse_agent({"name": "a", "tools": [{"type": "clock"}]})
    with pytest.raises(InvalidInput, match="unknown metric 'shouting'"):
        lookup("shouting")
    with pytest.raises(InvalidInput, match="unknown policy 'no_digits'"):
        parse_config({"name": "g", "policies": {"no_digits": {}}})

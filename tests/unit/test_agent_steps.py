"""The agent loop's branches, driven by scripted tool-call sequences (the real model runs the same
loop in tests/test_agents.py and the examples)."""

from __future__ import annotations

import json

from fmstack.agents import Agent, Limits, function_tool
from fmstack.models.types import ToolCallDelta


def call(name: str, args: dict, index: int = 0, id: str | None = None) -> ToolCallDelta:
    return ToolCallDelta(index, id or f"call_{name}_{index}", name, json.dumps(args))


def depth(site: str) -> str:
    """The depth of a dive site in metres."""
    return {"Blue Hole": "124", "Shark Point": "30"}.get(site, "unknown")


def book(site: str, divers: int) -> str:
    """Book a dive."""
    return f"booked {divers} at {site}"


def test_parallel_calls_run_and_their_results_reach_the_answer(scripted):
    scripted.script(
        [call("depth", {"site": "Blue Hole"}, 0), call("depth", {"site": "Shark Point"}, 1)],
        "Blue Hole is 124 m, Shark Point 30 m.",
    )
    agent = Agent(scripted, [function_tool(depth)], protocol="native")
    steps = list(agent.stream("How deep are Blue Hole and Shark Point?"))
    assert [s.kind for s in steps] == ["model", "tool", "tool", "model", "final"]
    assert [s.content for s in steps if s.kind == "tool"] == ["124", "30"]
    assert [s.index for s in steps] == [0, 1, 2, 3, 4]
    tool_messages = [m for m in scripted.prompts[1] if m.role == "tool"]
    assert [m.content for m in tool_messages] == ["124", "30"]


def test_a_repeated_call_turns_into_a_request_to_answer(scripted):
    same = [call("depth", {"site": "Blue Hole"})]
    scripted.script(same, same, "124 metres.")
    steps = list(Agent(scripted, [function_tool(depth)], protocol="native").stream("How deep is Blue Hole?"))
    assert steps[-1].kind == "final" and steps[-1].content == "124 metres."
    assert scripted.params[2].tool_choice == "none"
    assert "Tool results:" in scripted.prompts[2][-1].content


def test_bad_arguments_go_back_to_the_model_as_an_observation(scripted):
    scripted.script([call("depth", {"place": "Blue Hole"})], "Sorry.")
    steps = list(Agent(scripted, [function_tool(depth)], protocol="native").stream("How deep?"))
    tool = next(s for s in steps if s.kind == "tool")
    assert not tool.ok and "site" in tool.content


def test_a_call_needing_a_person_waits_and_resumes_from_the_stored_state(scripted):
    tools = [function_tool(book, needs_confirmation=True)]
    scripted.script([call("book", {"site": "Blue Hole", "divers": 2})])
    agent = Agent(scripted, tools, protocol="native")
    steps = list(agent.stream("Book Blue Hole for two"))
    assert steps[-1].kind == "confirm" and agent.state is not None
    saved = json.loads(json.dumps(agent.state))  # what the database keeps
    scripted.script("Booked.")
    resumed = Agent(scripted, tools, protocol="native")
    after = list(resumed.stream("Book Blue Hole for two", state=saved, decision=(True, "")))
    assert [s.kind for s in after] == ["tool", "model", "final"]
    assert after[0].content == "booked 2 at Blue Hole" and after[0].index == steps[-1].index


def test_a_rejected_call_reaches_the_model_as_an_observation(scripted):
    tools = [function_tool(book, needs_confirmation=True)]
    scripted.script([call("book", {"site": "Blue Hole", "divers": 2})])
    agent = Agent(scripted, tools, protocol="native")
    list(agent.stream("Book"))
    scripted.script("Not booked.")
    after = list(
        Agent(scripted, tools, protocol="native").stream("Book", state=agent.state, decision=(False, "too late"))
    )
    assert not after[0].ok and "rejected this call: too late" in after[0].content


def test_the_text_protocol_asks_again_once_then_stops_cleanly(scripted):
    scripted.script("I think so.", "Still no format.")
    steps = list(Agent(scripted, [function_tool(depth)], protocol="text").stream("How deep is Blue Hole?"))
    assert [s.kind for s in steps] == ["model", "model", "error"]
    assert "could not read the model's reply twice" in steps[-1].content
    assert "Your reply could not be read" in scripted.prompts[1][-1].content


def test_the_text_protocol_runs_an_action_then_answers(scripted):
    scripted.script(
        'Thought: look it up\nAction: depth\nAction Input: {"site": "Blue Hole"}', "Final Answer: 124 metres"
    )
    steps = list(Agent(scripted, [function_tool(depth)], protocol="text").stream("How deep is Blue Hole?"))
    assert [s.kind for s in steps] == ["model", "tool", "model", "final"]
    assert scripted.prompts[1][-1].content == "Observation: 124"


def test_limits_stop_the_run(scripted):
    looping = [[call("depth", {"site": f"site {i}"})] for i in range(5)]
    scripted.script(*looping)
    steps = list(
        Agent(scripted, [function_tool(depth)], protocol="native", limits=Limits(max_tool_calls=2)).stream("Go")
    )
    assert steps[-1].kind == "limit" and steps[-1].tool == "max_tool_calls"
    scripted.script(*looping)
    steps = list(Agent(scripted, [function_tool(depth)], protocol="native", limits=Limits(max_steps=2)).stream("Go"))
    assert steps[-1].kind == "limit" and steps[-1].tool == "max_steps"


def test_a_model_failure_surfaces_to_the_caller(scripted):
    import pytest

    from fmstack.errors import ModelError

    scripted.script(("partial", ModelError("boom")))
    with pytest.raises(ModelError, match="boom"):
        list(Agent(scripted, [function_tool(depth)], protocol="native").stream("Go"))

"""The agent loop with the real bundled model: native tool calling, the text protocol, limits,
tool failures as observations, parallel calls."""

from __future__ import annotations

import threading

from fmstack.agents import function_tool
from fmstack.agents.loop import Agent, Limits, parse_react
from fmstack.models.types import ToolCall


def get_weather(city: str) -> dict:
    """Current weather in a city.

    Args:
        city: The city name
    """
    return {"city": city, "temp_c": 21, "sky": "sunny"}


def test_native_tool_calling_answers_from_the_observation(fm):
    agent = Agent(fm.models.chat(None), [function_tool(get_weather)], protocol="native", limits=Limits(max_steps=4))
    result = agent.run("What's the weather in Paris?")
    tools = [s for s in result.steps if s.kind == "tool"]
    assert tools and tools[0].tool == "get_weather" and tools[0].ok and '"sunny"' in tools[0].content
    assert '"Paris"' in tools[0].arguments
    assert result.stopped == "answer" and result.steps[-1].kind == "final"
    assert all(s.latency_ms >= 0 for s in result.steps) and any(s.tokens > 0 for s in result.steps if s.kind == "model")


def test_step_limit_and_tool_failures_are_part_of_the_trace(fm):
    def flaky(city: str) -> str:
        """Weather service that is down.

        Args:
            city: The city name
        """
        raise ConnectionError("weather service unreachable")

    agent = Agent(
        fm.models.chat(None),
        [function_tool(flaky, name="get_weather")],
        protocol="native",
        first_tool="get_weather",
        limits=Limits(max_steps=1),
    )
    result = agent.run("What's the weather in Oslo?")
    tool = next(s for s in result.steps if s.kind == "tool")
    assert not tool.ok and "weather service unreachable" in tool.content
    assert result.stopped == "max_steps" and result.steps[-1].kind == "limit"
    capped = Agent(
        fm.models.chat(None),
        [function_tool(get_weather)],
        protocol="native",
        first_tool="get_weather",
        limits=Limits(max_steps=5, max_tool_calls=0),
    ).run("Weather in Rome?")
    assert capped.stopped == "max_tool_calls" and not [s for s in capped.steps if s.kind == "tool"]
    late = Agent(fm.models.chat(None), [function_tool(get_weather)], protocol="native", limits=Limits(timeout_s=0)).run(
        "Weather in Rome?"
    )
    assert late.stopped == "timeout"


def test_text_protocol_reasks_once_then_stops_cleanly(fm):
    agent = Agent(fm.models.chat(None), [function_tool(get_weather)], protocol="text", limits=Limits(max_steps=4))
    result = agent.run("What's the weather in Paris?")
    kinds = [s.kind for s in result.steps]
    # The bundled model rarely follows the format: either it does (a tool step), or after one
    # re-ask the run ends with an error step, never an exception.
    assert "tool" in kinds or (kinds.count("model") == 2 and kinds[-1] == "error")
    assert result.steps[-1].kind in ("final", "error", "limit")


def test_parse_react_tolerates_what_small_models_write():
    assert parse_react('Thought: look it up\nAction: get_weather\nAction Input: {"city": "Paris"} and then') == (
        "get_weather",
        '{"city": "Paris"}',
    )
    assert parse_react("Thought: done\nFinal Answer: It is sunny.") == "It is sunny."
    assert parse_react('Action: a\nAction Input: {"x": {"y": 1}}\nFinal Answer: z') == ("a", '{"x": {"y": 1}}')
    assert parse_react("I think it is sunny.") is None


def test_parallel_calls_run_at_the_same_time_and_keep_order(fm):
    # each call waits until all three are running: calls made one after another would break the
    # barrier (its timeout) and come back as errors, however fast or slow the machine is
    together = threading.Barrier(3, timeout=20)

    def slow(city: str) -> str:
        """Slow lookup.

        Args:
            city: The city name
        """
        together.wait()
        return city.upper()

    agent = Agent(fm.models.chat(None), [function_tool(slow)], protocol="native")
    calls = [ToolCall(id=f"c{i}", name="slow", arguments=f'{{"city": "c{i}"}}') for i in range(3)]
    calls.append(ToolCall(id="c9", name="nope", arguments="{}"))
    results = agent._run_calls(calls)
    assert [obs.content for _, obs, _ in results[:3]] == ["C0", "C1", "C2"]
    assert not results[3][1].ok and "no tool named 'nope'" in results[3][1].content


def test_a_tool_that_outlives_the_time_limit_is_abandoned(fm):
    release = threading.Event()

    def slow_lookup(city: str) -> str:
        """A weather service that hangs.

        Args:
            city: The city name
        """
        release.wait(60)
        return "sunny"

    agent = Agent(
        fm.models.chat(None),
        [function_tool(slow_lookup)],
        protocol="native",
        first_tool="slow_lookup",
        limits=Limits(max_steps=3, timeout_s=1.5),
    )
    try:
        result = agent.run("What's the weather in Oslo?")
        tool = next(s for s in result.steps if s.kind == "tool")
        assert not tool.ok and "did not finish within the run's time limit (1.5 s)" in tool.content
        assert result.stopped == "timeout" and not release.is_set()  # the run ended while the tool still hung
    finally:
        release.set()

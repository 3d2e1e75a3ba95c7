"""The pure parts of two-stage tool use (models/tooluse.py): clauses, how many calls a request can
ask for, whether an argument comes from the conversation, the fill stage's schema and checks. The
stages themselves run on the bundled models in tests/test_tool_decisions.py."""

from __future__ import annotations

import json

from fmstack.models import tooluse
from fmstack.models.types import Message, ToolCall, Usage

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}


def test_a_request_for_several_things_splits_into_clauses_in_english_and_chinese():
    assert tooluse.clauses("Book a table for two, then send an email to Ana about it.") == [
        "Book a table for two",
        "send an email to Ana about it",
    ]
    assert tooluse.clauses("帮我查一下北京的天气，还有订一张去上海的火车票。") == [
        "帮我查一下北京的天气",
        "订一张去上海的火车票",
    ]
    assert tooluse.clauses("What's the weather?") == ["What's the weather"]


def test_how_many_calls_a_request_can_ask_for():
    assert tooluse.most_calls("What's the weather in Paris?") == 1
    assert tooluse.most_calls("Weather in Paris and Rome?") == 2
    assert tooluse.most_calls("北京、上海和广州的天气") == 3
    assert tooluse.most_calls(", ".join(["a"] * 20)) == tooluse.MAX_CALLS


def test_arguments_are_grounded_in_the_conversation():
    text = "What's a 15% tip on a $1,064.50 bill in Beijing?"
    assert tooluse.grounded(1064.5, text) and tooluse.grounded(15, text) and not tooluse.grounded(20, text)
    assert tooluse.grounded("beijing", text) and tooluse.grounded("a Beijing bill", text)
    assert tooluse.grounded("Tokyo", text) is False
    assert tooluse.grounded(True, text) is None and tooluse.grounded({"a": 1}, text) is None
    assert tooluse.grounding({"bill": 1064.5, "city": "Tokyo"}, text) == 0.5
    assert tooluse.grounding({"flag": False}, text) is None
    zh = "北京今天天气怎么样？"
    assert tooluse.grounded("北京", zh) and tooluse.grounded("上海", zh) is False
    assert tooluse.grounded("Beijing", zh) is False  # translated by the model: not the user's own value


def test_the_fill_schema_bounds_strings_and_the_number_of_calls():
    schema = tooluse.calls_schema(WEATHER, 2)
    assert schema["maxItems"] == 2 and schema["minItems"] == 1
    assert schema["items"]["properties"]["city"]["maxLength"] == tooluse.MAX_STRING
    assert "maxLength" not in schema["items"]["properties"]["unit"]  # an enum is bounded already
    assert "maxLength" not in WEATHER["function"]["parameters"]["properties"]["city"]  # the tool is left as it was


def test_the_fill_output_is_checked_against_the_tool_s_schema():
    assert tooluse.check_calls(WEATHER, '[{"city": "Paris"}]') == ([{"city": "Paris"}], None)
    assert tooluse.check_calls(WEATHER, '{"city": "Paris"}') == ([{"city": "Paris"}], None)
    found, problems = tooluse.check_calls(WEATHER, '[{"unit": "k"}]')
    assert found and "city" in problems and "unit" in problems
    assert tooluse.check_calls(WEATHER, "[1, 2]")[1] == "not a list of argument objects"
    assert tooluse.check_calls(WEATHER, "[{")[1].startswith("not JSON")
    assert tooluse.check_calls(WEATHER, '[{"city": "A"}, {"city": "A"}]')[0] == [{"city": "A"}]  # no twice


def test_fill_asks_again_with_the_problems_and_drops_invented_items():
    # the model here is scripted: the orchestration of a retry and of the grounding filter
    asked: list[str] = []
    replies = iter(['[{"unit": "c"}]', '[{"city": "Paris"}, {"city": "Rome"}, {"city": "Oslo"}]'])

    def generate(messages, schema):
        asked.append(messages[0].content)
        return next(replies), Usage(10, 5), "stop"

    messages = [Message("user", "Weather in Paris and Rome, please.")]
    filled = tooluse.fill(generate, messages, WEATHER)
    assert filled.calls == [{"city": "Paris"}, {"city": "Rome"}] and filled.problems is None  # not Oslo
    assert filled.usage == Usage(20, 10) and "did not fit the schema" in asked[1] and "city" in asked[1]


def test_fill_leaves_out_optional_arguments_the_request_did_not_give():
    def generate(messages, schema):
        return '[{"city": "Paris", "unit": "f"}]', Usage(1, 1), "stop"

    assert tooluse.fill(generate, [Message("user", "Weather in Paris?")], WEATHER).calls == [{"city": "Paris"}]
    cut = tooluse.fill(lambda m, s: ('[{"ci', Usage(1, 3), "length"), [Message("user", "Paris?")], WEATHER)
    assert cut.calls == [] and cut.cut == '{"ci'  # the token limit ended it: no second try


def test_tools_called_since_the_request_are_not_chosen_again():
    messages = [
        Message("user", "Weather in Paris?"),
        Message(
            "assistant", "", tool_calls=[ToolCall(id="1", name="get_weather", arguments=json.dumps({"city": "Paris"}))]
        ),
        Message("tool", "18 C, sunny"),
    ]
    request, called = tooluse._current_request(messages)
    assert request == "Weather in Paris?" and called == {"get_weather"}

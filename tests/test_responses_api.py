"""OpenAI's Responses API (/v1/responses) driven by the official `openai` SDK against the real
bundled model: text and item input, instructions, streaming events, tools and their outputs,
structured output, stored responses."""

from __future__ import annotations

import json

import openai
import pytest
from conftest import strict
from openai.types.responses import Response

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_text_input_instructions_and_usage(oai, http):
    r = oai.responses.create(
        model="default",
        instructions="You answer briefly.",
        input="What is the capital of France?",
        max_output_tokens=24,
        temperature=0,
    )
    assert r.object == "response" and r.model == "smollm2" and r.status in ("completed", "incomplete")
    assert r.output_text.strip() and r.output[0].type == "message" and r.output[0].role == "assistant"
    assert r.usage.input_tokens > 5 and 0 < r.usage.output_tokens <= 24
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    if r.status == "incomplete":
        assert r.incomplete_details.reason == "max_output_tokens"
    raw = http.post("/v1/responses", json={"model": "default", "input": "Hi", "max_output_tokens": 8}).json()
    strict(Response, raw)


def test_stored_response_continued_retrieved_deleted(oai, http):
    first = oai.responses.create(
        model="default",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "My name is Ada. Say hello."}]}],
        max_output_tokens=16,
        temperature=0,
    )
    again = oai.responses.retrieve(first.id)
    assert again.id == first.id and again.output_text == first.output_text
    follow = oai.responses.create(
        model="default", previous_response_id=first.id, input="What is my name?", max_output_tokens=24, temperature=0
    )
    assert follow.previous_response_id == first.id
    # the follow-up saw the first turn: its prompt is longer than the question alone
    alone = oai.responses.create(model="default", input="What is my name?", max_output_tokens=24, temperature=0)
    assert follow.usage.input_tokens > alone.usage.input_tokens + 10
    deleted = http.delete(f"/v1/responses/{first.id}")
    assert deleted.status_code == 200 and deleted.json() == {"id": first.id, "object": "response", "deleted": True}
    assert http.delete(f"/v1/responses/{first.id}").status_code == 404
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        oai.responses.create(model="default", previous_response_id=first.id, input="hi", max_output_tokens=4)
    unstored = oai.responses.create(model="default", input="Hi", max_output_tokens=4, store=False)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(unstored.id)


def test_streaming_event_sequence(oai):
    kinds, seqs, text = [], [], ""
    with oai.responses.stream(model="default", input="Name a color.", max_output_tokens=24, temperature=0) as stream:
        for ev in stream:
            kinds.append(ev.type)
            seqs.append(ev.sequence_number)
            if ev.type == "response.output_text.delta":
                text += ev.delta
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] in ("response.completed", "response.incomplete")
    order = ["response.output_item.added", "response.content_part.added", "response.output_text.delta"]
    order += ["response.output_text.done", "response.content_part.done", "response.output_item.done"]
    assert [k for k in kinds if k in order and k != "response.output_text.delta"] == [
        o for o in order if o != "response.output_text.delta"
    ]
    assert seqs == list(range(len(seqs)))
    assert text == final.output_text and text.strip()
    plain = oai.responses.create(model="default", input="Name a color.", max_output_tokens=24, temperature=0)
    assert plain.output_text == text  # greedy: streamed or not, the same answer


def test_logprobs_included_on_request(oai, http):
    ask = {"model": "default", "input": "Name a fruit.", "max_output_tokens": 12, "temperature": 0}
    r = oai.responses.create(**ask, include=["message.output_text.logprobs"], top_logprobs=2)
    strict(Response, r.model_dump(exclude_unset=True))
    tokens = r.output[0].content[0].logprobs
    assert tokens and "".join(t.token for t in tokens) == r.output_text
    assert all(len(t.top_logprobs) == 2 and t.logprob <= max(a.logprob for a in t.top_logprobs) for t in tokens)
    streamed = []
    with oai.responses.stream(**ask, include=["message.output_text.logprobs"], top_logprobs=2) as stream:
        for ev in stream:
            if ev.type == "response.output_text.delta":
                assert "".join(t.token for t in ev.logprobs) == ev.delta
                streamed += [t.token for t in ev.logprobs]
    assert streamed == [t.token for t in tokens]
    plain = http.post("/v1/responses", json=ask).json()
    assert plain["output"][0]["content"][0]["logprobs"] == []  # not asked for


def test_function_tools_and_outputs(oai):
    r = oai.responses.create(
        model="default",
        input="What's the weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=60,
        temperature=0,
    )
    call = next(o for o in r.output if o.type == "function_call")
    assert call.name == "get_weather" and "city" in json.loads(call.arguments) and call.call_id
    follow = oai.responses.create(
        model="default",
        previous_response_id=r.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"}],
        tools=[WEATHER],
        tool_choice="none",
        max_output_tokens=40,
        temperature=0,
    )
    assert follow.output_text.strip() and not [o for o in follow.output if o.type == "function_call"]
    args = ""
    with oai.responses.stream(
        model="default",
        input="Weather in Oslo?",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=60,
        temperature=0,
    ) as stream:
        for ev in stream:
            if ev.type == "response.function_call_arguments.delta":
                args += ev.delta
        final = stream.get_final_response()
    done = next(o for o in final.output if o.type == "function_call")
    assert done.arguments == args and isinstance(json.loads(args), dict)


def test_structured_output(oai):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
        "additionalProperties": False,
    }
    r = oai.responses.create(
        model="default",
        input="Paris is in France. Give the city and country.",
        text={"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": True}},
        max_output_tokens=60,
        temperature=0,
    )
    assert set(json.loads(r.output_text)) == {"city", "country"}


def test_bad_requests_are_clear_4xx(http):
    base = {"model": "default", "max_output_tokens": 4}
    for body, status in (
        ({**base, "input": ""}, 422),
        ({**base, "input": [{"type": "input_image", "image_url": "x"}]}, 400),
        ({**base, "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:,"}]}]}, 400),
        ({**base, "input": "hi", "tools": [{"type": "web_search"}]}, 422),
        ({**base, "input": "hi", "tool_choice": "required"}, 422),
        ({**base, "input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, 422),
        ({**base, "input": [{"type": "function_call_output", "output": "x"}]}, 400),
        ({**base, "input": "hi", "previous_response_id": "resp_nope"}, 404),
        ({**base, "model": "nope", "input": "hi"}, 404),
    ):
        r = http.post("/v1/responses", json=body)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert r.json()["error"]["message"]
    image = http.post(
        "/v1/responses",
        json={**base, "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:,"}]}]},
    )
    assert "smollm2" in image.json()["error"]["message"] and "image" in image.json()["error"]["message"]

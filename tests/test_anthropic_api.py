"""Anthropic's Messages API (/v1/messages) driven by the official `anthropic` SDK against the real
bundled model, the way Claude-ecosystem clients call it."""

from __future__ import annotations

import anthropic
import httpx
import pytest
from anthropic.types import Message as AnthropicMessage
from conftest import Server, strict

WEATHER = {
    "name": "get_weather",
    "description": "The current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def claude(server):
    return anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0, timeout=120)


def test_messages_with_system_and_turns(claude, http):
    msg = claude.messages.create(
        model="default",
        max_tokens=24,
        extra_body={"temperature": 0},
        system="You answer briefly.",
        messages=[
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]},
        ],
    )
    assert msg.type == "message" and msg.role == "assistant" and msg.model == "smollm2"
    assert msg.content[0].type == "text" and msg.content[0].text.strip()
    assert msg.stop_reason in ("end_turn", "max_tokens") and 0 < msg.usage.output_tokens <= 24
    assert msg.usage.input_tokens > 10
    raw = http.post(
        "/v1/messages",
        json={"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]},
    )
    strict(AnthropicMessage, raw.json())


def test_streaming_events_in_order(claude):
    with claude.messages.stream(
        model="default",
        max_tokens=24,
        extra_body={"temperature": 0},
        messages=[{"role": "user", "content": "Name a color."}],
    ) as stream:
        kinds = [ev.type for ev in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.index("content_block_start") < kinds.index("content_block_delta") < kinds.index("content_block_stop")
    assert kinds[-2] == "message_delta"
    assert final.content[0].text.strip() and final.usage.output_tokens > 0
    again = claude.messages.create(
        model="default",
        max_tokens=24,
        extra_body={"temperature": 0},
        messages=[{"role": "user", "content": "Name a color."}],
    )
    assert again.content[0].text == final.content[0].text  # greedy: streaming or not, the same answer


def test_stop_sequences_say_which_matched(claude):
    msg = claude.messages.create(
        model="default",
        max_tokens=40,
        extra_body={"temperature": 0},
        stop_sequences=["zzz", " "],
        messages=[{"role": "user", "content": "Describe Paris in one sentence."}],
    )
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == " "
    assert " " not in (msg.content[0].text if msg.content else "")


def test_tools_tool_use_and_tool_result(claude):
    msg = claude.messages.create(
        model="default",
        max_tokens=60,
        extra_body={"temperature": 0},
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
    )
    use = next(b for b in msg.content if b.type == "tool_use")
    assert msg.stop_reason == "tool_use" and use.name == "get_weather" and isinstance(use.input, dict)
    assert use.id.startswith("toolu_") and "city" in use.input
    reply = claude.messages.create(
        model="default",
        max_tokens=40,
        extra_body={"temperature": 0},
        tools=[WEATHER],
        tool_choice={"type": "none"},
        messages=[
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": msg.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]},
        ],
    )
    assert reply.stop_reason in ("end_turn", "max_tokens") and reply.content[0].text.strip()
    with claude.messages.stream(
        model="default",
        max_tokens=60,
        extra_body={"temperature": 0},
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
    ) as stream:
        deltas = [ev.delta.type for ev in stream if ev.type == "content_block_delta"]
        final = stream.get_final_message()
    assert "input_json_delta" in deltas and final.stop_reason == "tool_use"
    assert final.content[-1].type == "tool_use" and isinstance(final.content[-1].input, dict)


def test_errors_in_anthropic_shape(claude, http):
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(
            model="default",
            max_tokens=8,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}
                    ],
                }
            ],
        )
    assert "smollm2" in str(e.value) and "image" in str(e.value)
    for body in (
        {"model": "default", "messages": [{"role": "user", "content": "hi"}]},  # no max_tokens
        {"model": "default", "max_tokens": 8, "messages": []},
        {"model": "default", "max_tokens": 8, "messages": [{"role": "system", "content": "x"}]},
        {
            "model": "default",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
            "tool_choice": {"type": "any"},
        },
        {"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "video"}]}]},
    ):
        r = http.post("/v1/messages", json=body)
        assert r.status_code == 400, (body, r.text)
        err = r.json()
        assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error" and err["error"]["message"]
    r = http.post("/v1/messages", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["type"] == "error"


def test_x_api_key_header(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("anthropic-keys"), env={"FMSTACK_API_KEYS": "sk-good"}).start()
    try:
        good = anthropic.Anthropic(base_url=srv.url, api_key="sk-good", max_retries=0, timeout=120)
        msg = good.messages.create(model="default", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
        assert msg.content and msg.usage.output_tokens > 0
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(base_url=srv.url, api_key="sk-bad", max_retries=0).messages.create(
                model="default", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        r = httpx.post(f"{srv.url}/v1/messages", json={"model": "default", "max_tokens": 8, "messages": []})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    finally:
        srv.stop()

"""The OpenAI-compatible API driven by the official `openai` SDK against the real bundled models."""

from __future__ import annotations

import base64
import json

import numpy as np
from conftest import strict
from openai.types import CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk


def test_models_lists_models_and_aliases(oai, http):
    ids = [m.id for m in oai.models.list()]
    assert {"smollm2", "default", "multilingual-e5-small", "embedding", "smollm2-512"} <= set(ids)
    strict(Model, http.get("/v1/models/default").json())
    assert http.get("/v1/models/nope").status_code == 404


def test_chat_completion(oai, http):
    r = oai.chat.completions.create(
        model="default",
        messages=[
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        max_tokens=24,
        temperature=0,
    )
    assert r.object == "chat.completion" and r.model == "smollm2"
    assert r.choices[0].message.role == "assistant" and r.choices[0].message.content.strip()
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 24 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    raw = http.post(
        "/v1/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
    ).json()
    strict(ChatCompletion, raw)
    assert raw["choices"][0]["finish_reason"] in ("stop", "length")


def test_streaming_with_usage(oai):
    prompt = [{"role": "user", "content": "List three fruits."}]
    full = oai.chat.completions.create(model="default", messages=prompt, max_tokens=20, temperature=0)
    chunks = list(
        oai.chat.completions.create(
            model="default",
            messages=prompt,
            max_tokens=20,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    for c in chunks:
        strict(ChatCompletionChunk, c.model_dump(exclude_unset=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == full.usage.completion_tokens
    no_usage = list(oai.chat.completions.create(model="default", messages=prompt, max_tokens=5, stream=True))
    assert all(c.usage is None for c in no_usage)


def test_every_parameter_is_accepted(oai):
    r = oai.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Write one short sentence about rain."}],
        temperature=0.7,
        top_p=0.9,
        max_tokens=16,
        stop=["\n\n"],
        presence_penalty=0.5,
        frequency_penalty=0.5,
        seed=7,
        extra_body={"top_k": 40, "repetition_penalty": 1.1},
    )
    again = oai.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Write one short sentence about rain."}],
        temperature=0.7,
        top_p=0.9,
        max_tokens=16,
        stop=["\n\n"],
        presence_penalty=0.5,
        frequency_penalty=0.5,
        seed=7,
        extra_body={"top_k": 40, "repetition_penalty": 1.1},
    )
    assert r.choices[0].message.content == again.choices[0].message.content  # same seed, same answer
    assert "\n\n" not in r.choices[0].message.content


def test_json_mode_and_json_schema(oai):
    r = oai.chat.completions.create(
        model="default",
        max_tokens=120,
        temperature=0,
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Reply with a JSON object with a key 'ok' set to true."}],
    )
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    else:  # cut by max_tokens: still JSON so far, starting with an object
        assert r.choices[0].message.content.lstrip().startswith("{")
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "maxLength": 20}, "confident": {"type": "boolean"}},
        "required": ["answer", "confident"],
        "additionalProperties": False,
    }
    r = oai.chat.completions.create(
        model="default",
        max_tokens=80,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        messages=[{"role": "user", "content": "Is the sky blue?"}],
    )
    obj = json.loads(r.choices[0].message.content)
    assert set(obj) == {"answer", "confident"} and isinstance(obj["confident"], bool)


def test_a_schema_with_quotes_backslashes_or_escapes_never_takes_the_server_down(server, http):
    # enum values with a quote or a backslash are matched exactly (the grammar escapes both)
    schema = {"type": "object", "properties": {"path": {"enum": ['say "hi"', "C:\\temp"]}}, "required": ["path"]}
    body = {
        "model": "default",
        "max_tokens": 40,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Pick a path."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
    }
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    assert json.loads(r.json()["choices"][0]["message"]["content"])["path"] in ('say "hi"', "C:\\temp")
    # a grammar llama.cpp cannot parse (the converter leaves a pattern's \d as it is) is a clear 400,
    # streamed or not — it used to crash the server process
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^\\d{3}$"}}, "required": ["code"]}
    body["response_format"] = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    for stream in (False, True):
        r = http.post("/v1/chat/completions", json={**body, "stream": stream})
        if stream and r.status_code == 200:  # the error as the stream's event
            assert "response_format" in r.text and "[DONE]" not in r.text.split("error")[0]
        else:
            assert r.status_code == 400 and "response_format" in r.json()["error"]["message"], r.text
    assert http.get("/api/health").status_code == 200  # still serving


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


def test_tools_pass_through(oai):
    tools = [ADD]
    r = oai.chat.completions.create(
        model="default",
        max_tokens=60,
        temperature=0,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "add"}},
        messages=[{"role": "user", "content": "Add 2 and 3."}],
    )
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "add"
    assert set(json.loads(call.function.arguments)) == {"a", "b"}


def test_every_tool_choice_on_the_bundled_model(oai):
    """required (one tool and several), none, auto and a named function all answer; required
    and named ones always call, none never does."""

    def ask(text, tools, choice, stream=False, max_tokens=60):
        kw = dict(model="default", max_tokens=max_tokens, temperature=0, tools=tools, tool_choice=choice)
        kw["messages"] = [{"role": "user", "content": text}]
        if not stream:
            return oai.chat.completions.create(**kw).choices[0]
        calls: dict[int, dict] = {}
        finish = None
        for chunk in oai.chat.completions.create(**kw, stream=True):
            for c in chunk.choices:
                finish = c.finish_reason or finish
                for d in c.delta.tool_calls or []:
                    got = calls.setdefault(d.index, {"name": "", "arguments": ""})
                    got["name"] += d.function.name or ""
                    got["arguments"] += d.function.arguments or ""
        return finish, calls

    one = ask("What's the weather in Paris?", [WEATHER], "required")
    assert one.finish_reason == "tool_calls" and one.message.tool_calls[0].function.name == "get_weather"
    assert "city" in json.loads(one.message.tool_calls[0].function.arguments)
    two = ask("Add 2 and 3.", [WEATHER, ADD], "required")
    assert two.finish_reason == "tool_calls" and two.message.tool_calls
    assert two.message.tool_calls[0].function.name in ("get_weather", "add")
    json.loads(two.message.tool_calls[0].function.arguments)
    finish, calls = ask("What's the weather in Oslo?", [WEATHER, ADD], "required", stream=True)
    assert finish == "tool_calls" and calls[0]["name"] in ("get_weather", "add") and json.loads(calls[0]["arguments"])
    none = ask("What's the weather in Paris?", [WEATHER], "none")
    assert none.finish_reason in ("stop", "length") and not none.message.tool_calls and none.message.content
    auto = ask("What's the weather in Paris?", [WEATHER], "auto")
    assert auto.finish_reason in ("stop", "length", "tool_calls")
    assert auto.message.tool_calls or auto.message.content
    named = ask("Hello!", [WEATHER, ADD], {"type": "function", "function": {"name": "add"}})
    assert named.message.tool_calls[0].function.name == "add"
    # a call max_tokens cuts off is not a finished call: its arguments are not JSON, and it says so
    cut = ask(
        "What's the weather in Paris?",
        [WEATHER],
        {"type": "function", "function": {"name": "get_weather"}},
        max_tokens=3,
    )
    assert cut.finish_reason == "length" and cut.message.tool_calls[0].function.name == "get_weather"


def test_bad_tools_are_clear_errors_and_keep_the_connection(http):
    """Tool requests a model cannot serve are 4xx in the API's error shape, and the server goes on
    answering (that an unexpected error keeps the connection itself is tested on a raw socket in
    test_bad_inputs.py: an HTTP client reconnects silently)."""
    base = {"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    bad = [
        {"tools": [ADD], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        {"tool_choice": "required"},
        {"tools": [ADD], "tool_choice": "sometimes"},
        {"tools": [{"type": "function", "function": {"name": "has spaces"}}]},
        {"tools": [{"type": "function"}]},
        {"tools": [ADD, ADD]},
        {"tools": "add"},
    ]
    for extra in bad:
        r = http.post("/v1/chat/completions", json={**base, **extra})
        assert 400 <= r.status_code < 500, (extra, r.status_code, r.text)
        assert r.json()["error"]["message"]
        ok = http.get("/v1/models")
        assert ok.status_code == 200


def test_legacy_completions(oai, http):
    """The prompt continued as it is (no chat template), streamed or not, with echo and usage;
    what the engine cannot do is a clear 400."""
    from openai.types import Completion

    r = oai.completions.create(model="default", prompt="The capital of France is", max_tokens=8, temperature=0)
    strict(Completion, r.model_dump(exclude_unset=True))
    assert r.object == "text_completion" and r.model == "smollm2" and r.choices[0].text.strip()
    assert r.choices[0].finish_reason in ("stop", "length") and 0 < r.usage.completion_tokens <= 8
    again = oai.completions.create(model="default", prompt="The capital of France is", max_tokens=8, temperature=0)
    assert again.choices[0].text == r.choices[0].text  # greedy: the same continuation
    default = http.post("/v1/completions", json={"model": "default", "prompt": "Once upon a time", "temperature": 0})
    assert default.status_code == 200 and default.json()["usage"]["completion_tokens"] <= 16  # OpenAI's default
    echoed = oai.completions.create(model="default", prompt=["1, 2, 3,"], max_tokens=6, temperature=0, echo=True)
    assert echoed.choices[0].text.startswith("1, 2, 3,")
    chunks = list(
        oai.completions.create(
            model="default",
            prompt="The capital of France is",
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == r.choices[0].text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == r.usage.completion_tokens
    for extra, param in (
        ({"logprobs": 2, "echo": True}, "echo"),
        ({"logprobs": 6}, "logprobs"),
        ({"suffix": "end"}, "suffix"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"n": 2}, "n"),
    ):
        bad = http.post("/v1/completions", json={"model": "default", "prompt": "hi", **extra})
        assert bad.status_code in (400, 422) and bad.json()["error"]["param"] == param, (extra, bad.text)


def test_embeddings_float_and_default_base64(oai, http, fm):
    texts = ["The weather is lovely today.", "今天天气很好。"]
    r = oai.embeddings.create(model="embedding", input=texts)  # the SDK asks for base64 and decodes it
    assert r.model == "multilingual-e5-small" and len(r.data) == 2 and len(r.data[0].embedding) == 384
    raw = http.post("/v1/embeddings", json={"model": "embedding", "input": texts, "encoding_format": "base64"}).json()
    strict(CreateEmbeddingResponse, {**raw, "data": [{**d, "embedding": []} for d in raw["data"]]})
    decoded = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
    floats = http.post("/v1/embeddings", json={"model": "embedding", "input": texts, "encoding_format": "float"}).json()
    strict(CreateEmbeddingResponse, floats)
    assert np.allclose(decoded, floats["data"][0]["embedding"], atol=1e-6)
    assert np.allclose(r.data[1].embedding, floats["data"][1]["embedding"], atol=1e-6)
    direct = fm.embed(texts, model="multilingual-e5-small")
    assert np.allclose(direct, np.array([d["embedding"] for d in floats["data"]]), atol=1e-5)
    assert floats["usage"]["prompt_tokens"] > 0
    single = oai.embeddings.create(model="all-minilm-l6-v2", input="hello", encoding_format="float")
    assert len(single.data) == 1 and abs(np.linalg.norm(single.data[0].embedding) - 1) < 1e-3


def test_embeddings_reject_bad_input(http):
    assert http.post("/v1/embeddings", json={"model": "embedding", "input": []}).status_code == 400
    assert http.post("/v1/embeddings", json={"model": "embedding", "input": [[1, 2, 3]]}).status_code == 400
    assert http.post("/v1/embeddings", json={"model": "default", "input": "x"}).status_code == 400  # a chat model
    r = http.post("/v1/embeddings", json={"model": "embedding", "input": "x", "dimensions": 12})
    assert r.status_code == 400 and r.json()["error"]["param"] == "dimensions"


def test_openapi_spec_is_served(http):
    spec = http.get("/openapi.json").json()
    assert "/v1/chat/completions" in spec["paths"] and "/api/conversations" in spec["paths"]


def test_logprobs_are_the_models_own(oai, http):
    """Legacy completions with `logprobs`: the generated tokens' log probabilities, checked against
    llama-cpp-python computing them itself (a second copy of the bundled model, every position's
    logits kept) for the same greedy continuation."""
    from openai.types import Completion

    from fmstack.models.local import llama_class, resolve_model_path  # loaded as fmstack loads it on this CPU

    prompt = "The three primary colours are"
    r = oai.completions.create(
        model="default",
        prompt=prompt,
        max_tokens=10,
        temperature=0,
        logprobs=3,
        extra_body={"repetition_penalty": 1.0},
    )
    strict(Completion, r.model_dump(exclude_unset=True))
    choice = r.choices[0]
    lp = choice.logprobs
    assert choice.finish_reason == "length" and len(lp.tokens) == r.usage.completion_tokens == 10
    assert "".join(lp.tokens) == choice.text  # plain English: every token is whole characters
    assert lp.text_offset == [sum(len(t) for t in lp.tokens[:i]) for i in range(10)]
    for token, logprob, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs, strict=True):
        assert len(top) == 3 and logprob <= 0
        assert max(top, key=top.get) == token and abs(top[token] - logprob) < 1e-4  # greedy takes the likeliest
        assert np.logaddexp.reduce(list(top.values())) <= 1e-4  # probabilities of 3 tokens sum to at most 1

    ref = llama_class()(str(resolve_model_path("bundled:smollm2")), n_ctx=256, logits_all=True, verbose=False)
    try:
        theirs = ref.create_completion(prompt, max_tokens=10, temperature=0, repeat_penalty=1.0, logprobs=3)
    finally:
        ref.close()
    mine = theirs["choices"][0]
    assert mine["text"] == choice.text
    assert np.allclose(mine["logprobs"]["token_logprobs"], lp.token_logprobs, atol=0.02)
    assert [set(t) for t in mine["logprobs"]["top_logprobs"]] == [set(t) for t in lp.top_logprobs]

    # streamed: the same tokens, each chunk with the tokens of its text
    chunks = list(
        oai.completions.create(
            model="default",
            prompt=prompt,
            max_tokens=10,
            temperature=0,
            logprobs=3,
            stream=True,
            extra_body={"repetition_penalty": 1.0},
        )
    )
    streamed = [c.choices[0] for c in chunks if c.choices and c.choices[0].logprobs]
    assert [t for c in streamed for t in c.logprobs.tokens] == lp.tokens
    assert all("".join(c.logprobs.tokens) == c.text for c in streamed)
    assert np.allclose([x for c in streamed for x in c.logprobs.token_logprobs], lp.token_logprobs, atol=1e-5)

    # chat: `logprobs` + `top_logprobs`, whole and streamed
    ask = {"model": "default", "messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 12}
    whole = oai.chat.completions.create(**ask, temperature=0, logprobs=True, top_logprobs=2)
    strict(ChatCompletion, whole.model_dump(exclude_unset=True))
    content = whole.choices[0].logprobs.content
    assert content and "".join(t.token for t in content) == whole.choices[0].message.content
    assert all(len(t.top_logprobs) == 2 and t.logprob <= 0 and bytes(t.bytes).decode() == t.token for t in content)
    parts = list(oai.chat.completions.create(**ask, temperature=0, logprobs=True, top_logprobs=2, stream=True))
    got = [t for p in parts if p.choices and p.choices[0].logprobs for t in p.choices[0].logprobs.content]
    assert [t.token for t in got] == [t.token for t in content]
    plain = http.post("/v1/chat/completions", json=ask).json()
    assert plain["choices"][0]["logprobs"] is None  # not asked for: none

    for body, param in (
        ({**ask, "top_logprobs": 2}, "top_logprobs"),  # top_logprobs without logprobs
        ({**ask, "logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({**ask, "model": "smollm2-solo", "logprobs": True}, "logprobs"),  # decoded one at a time: none to give
    ):
        bad = http.post("/v1/chat/completions", json=body)
        assert bad.status_code in (400, 422) and bad.json()["error"]["param"] == param, (body, bad.text)

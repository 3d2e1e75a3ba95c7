"""A second fmstack server using the first as its `openai` provider, over loopback."""

from __future__ import annotations

import httpx
import pytest
from conftest import Server, free_port, serve_app
from openai import OpenAI


@pytest.fixture(scope="module")
def front(server, tmp_path_factory):
    config = {
        "models": {
            "upstream": {
                "provider": "openai",
                "base_url": f"{server.url}/v1",
                "model": "default",
                "api_key": "unused",
                "context_window": 8192,
                "defaults": {"temperature": 0},
            },
            "dead": {"provider": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": "x"},
            "keyless": {"provider": "openai", "base_url": f"{server.url}/v1", "api_key_env": "FMSTACK_TEST_UNSET_KEY"},
        },
        "embeddings": {
            "upstream-embed": {
                "provider": "openai",
                "base_url": f"{server.url}/v1",
                "model": "embedding",
                "dimensions": 384,
            }
        },
        "aliases": {"default": "upstream", "embedding": "upstream-embed"},
    }
    srv = Server(tmp_path_factory.mktemp("front"), config).start()
    yield srv
    srv.stop()


def test_chat_through_the_remote_provider(front, oai):
    client = OpenAI(base_url=f"{front.url}/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": "What is the capital of Italy?"}]
    via_front = client.chat.completions.create(model="default", messages=messages, max_tokens=20)
    direct = oai.chat.completions.create(model="default", messages=messages, max_tokens=20, temperature=0)
    assert via_front.model == "upstream"
    assert via_front.choices[0].message.content == direct.choices[0].message.content  # defaults: temperature 0
    assert via_front.usage.prompt_tokens == direct.usage.prompt_tokens
    chunks = list(
        client.chat.completions.create(
            model="default", messages=messages, max_tokens=20, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == direct.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == direct.usage.completion_tokens
    # logprobs pass through: the provider's tokens, the same as asking it directly
    ask = {"model": "default", "messages": messages, "max_tokens": 8, "logprobs": True, "top_logprobs": 2}
    relayed = client.chat.completions.create(**ask).choices[0]
    own = oai.chat.completions.create(**ask, temperature=0).choices[0]
    assert relayed.message.content == own.message.content
    assert [(t.token, t.top_logprobs[0].token) for t in relayed.logprobs.content] == [
        (t.token, t.top_logprobs[0].token) for t in own.logprobs.content
    ]
    assert max(abs(a.logprob - b.logprob) for a, b in zip(relayed.logprobs.content, own.logprobs.content)) < 1e-4


def test_conversation_on_the_remote_model(front):
    with httpx.Client(base_url=front.url, timeout=60) as h:
        conv = h.post("/api/conversations", json={"model": "upstream"}).json()
        r = h.post(f"/api/conversations/{conv['id']}/messages", json={"content": "Hello!", "max_tokens": 10})
        assert r.status_code == 200 and r.json()["assistant_message"]["model"] == "upstream"
        assert r.json()["assistant_message"]["content"]


def test_embeddings_through_the_remote_provider(front, oai):
    client = OpenAI(base_url=f"{front.url}/v1", api_key="unused", max_retries=0)
    a = client.embeddings.create(model="embedding", input=["船在海上航行。"]).data[0].embedding
    b = oai.embeddings.create(model="embedding", input=["船在海上航行。"]).data[0].embedding
    assert len(a) == 384 and max(abs(x - y) for x, y in zip(a, b)) < 1e-5


def test_unreachable_provider_and_missing_key_are_clear(front):
    with httpx.Client(base_url=front.url, timeout=60) as h:
        r = h.post("/v1/chat/completions", json={"model": "dead", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 503 and "cannot reach" in r.json()["error"]["message"]
        r = h.post(
            "/v1/chat/completions",
            json={"model": "keyless", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        )
        assert r.status_code == 500 and "FMSTACK_TEST_UNSET_KEY" in r.json()["error"]["message"]
        r = h.post(
            "/v1/chat/completions",
            json={"model": "upstream", "messages": [{"role": "user", "content": "hi"}], "max_tokens": -3},
        )
        assert r.status_code == 422


def test_endpoints_added_at_run_time_are_tested_served_and_kept(server, tmp_path):
    srv = Server(tmp_path / "runtime", {}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as h:
            ok = h.post("/api/endpoints/test", json={"base_url": f"{server.url}/v1/", "model": "smollm2"}).json()
            assert ok["ok"] and "smollm2" in ok["models"] and ok["model_listed"] is True
            dead = h.post("/api/endpoints/test", json={"base_url": f"http://127.0.0.1:{free_port()}/v1"}).json()
            assert not dead["ok"] and "cannot connect" in dead["error"]
            wrong = h.post("/api/endpoints/test", json={"base_url": f"{server.url}/nothing"}).json()
            assert not wrong["ok"] and "OpenAI-compatible" in wrong["error"]
            bad = h.post("/api/endpoints/test", json={"base_url": "ftp://x"})
            assert bad.status_code == 400 and bad.json()["error"]["param"] == "base_url"
            r = h.post(
                "/api/endpoints",
                json={
                    "name": "upstream-smol",
                    "base_url": f"{server.url}/v1",
                    "model": "smollm2",
                    "api_key": "sk-secret",
                    "context_window": 8192,
                },
            )
            assert r.status_code == 201 and r.json()["has_api_key"] and "api_key" not in r.json()
            assert (
                h.post(
                    "/api/endpoints", json={"name": "smollm2", "base_url": f"{server.url}/v1", "model": "x"}
                ).status_code
                == 400
            )  # a configured name
            reply = h.post(
                "/v1/chat/completions",
                json={"model": "upstream-smol", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]},
            )
            assert reply.status_code == 200 and reply.json()["model"] == "upstream-smol"
        srv.stop()
        srv.start()  # same data: the endpoint is back
        with httpx.Client(base_url=srv.url, timeout=120) as h:
            names = [m["name"] for m in h.get("/api/models").json()["models"]]
            assert "upstream-smol" in names
            assert [e["name"] for e in h.get("/api/endpoints").json()["data"]] == ["upstream-smol"]
            assert h.delete("/api/endpoints/upstream-smol").status_code == 204
            assert (
                h.post(
                    "/v1/chat/completions",
                    json={"model": "upstream-smol", "messages": [{"role": "user", "content": "Hi"}]},
                ).status_code
                == 404
            )
    finally:
        srv.stop()


def test_agents_on_a_remote_model(front, server):
    """The agent loop with native tool calling through a second fmstack server as the provider:
    defined and run over the front's HTTP API, its tools the operations of a real booking service."""
    from agent_fixtures import start_booking_api

    with start_booking_api() as booking:
        with httpx.Client(base_url=front.url, timeout=120) as h:
            body = {
                "name": "remote-desk",
                "model": "upstream",
                "instructions": "You help divers. Use the tools.",
                "first_tool": "list_sites",
                "limits": {"max_steps": 3},
                "tools": [{"type": "openapi", "spec_url": f"{booking}/openapi.json", "base_url": booking}],
            }
            assert h.post("/api/agents", json=body).status_code == 201
            run = h.post(
                "/api/agents/remote-desk/runs", json={"input": "Which dive sites do you know in Egypt?"}
            ).json()
    tool = next(s for s in run["steps"] if s["kind"] == "tool")
    assert tool["tool"] == "list_sites" and tool["ok"]
    assert "Blue Hole" in tool["content"] or "Ras Mohammed" in tool["content"]  # the service's real answer
    assert run["steps"][0]["kind"] == "model" and run["steps"][0]["tokens"] > 0  # usage from the upstream server
    assert run["status"] in ("answer", "max_steps")


def test_images_reach_a_model_that_takes_them_and_others_refuse_clearly(tmp_path_factory, http):
    """Image parts, whichever API shape brings them, go to a provider model configured with
    supports_images (what the provider receives is recorded by a loopback OpenAI-compatible
    server); a model without it is a clear 400 naming the model and the capability."""
    import json

    import anthropic
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    seen: list[dict] = []

    async def completions(request):
        body = await request.json()
        seen.append(body)
        reply = {"role": "assistant", "content": "A red square."}
        if body.get("stream"):  # what the provider client asks for: server-sent chunks
            head = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
            chunks = [
                {**head, "choices": [{"index": 0, "delta": reply, "finish_reason": None}]},
                {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}},
            ]
            sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            return Response(sse, media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": reply, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
            }
        )

    upstream = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])

    with serve_app(upstream) as upstream_url:
        config = {
            "models": {
                "vision": {
                    "provider": "openai",
                    "base_url": f"{upstream_url}/v1",
                    "model": "some-vision-model",
                    "api_key": "x",
                    "supports_images": True,
                }
            }
        }
        front = Server(tmp_path_factory.mktemp("vision"), config).start()
        pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
        try:
            with httpx.Client(base_url=front.url, timeout=60) as h:
                image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}
                text = {"type": "text", "text": "What is in the picture?"}
                r = h.post(
                    "/v1/chat/completions",
                    json={"model": "vision", "messages": [{"role": "user", "content": [text, image]}]},
                )
                assert r.status_code == 200, r.text
                assert r.json()["choices"][0]["message"]["content"] == "A red square."
                sent = seen[-1]["messages"][-1]["content"]
                assert {"type": "text", "text": "What is in the picture?"} in sent and image in sent
                r = h.post(
                    "/v1/responses",
                    json={
                        "model": "vision",
                        "input": [
                            {
                                "role": "user",
                                "content": [
                                    {"type": "input_text", "text": "Describe it."},
                                    {"type": "input_image", "image_url": f"data:image/png;base64,{pixel}"},
                                ],
                            }
                        ],
                    },
                )
                assert r.status_code == 200 and seen[-1]["messages"][-1]["content"][-1] == image
            claude = anthropic.Anthropic(base_url=front.url, api_key="x", max_retries=0)
            msg = claude.messages.create(
                model="vision",
                max_tokens=20,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": pixel}},
                            {"type": "text", "text": "What is this?"},
                        ],
                    }
                ],
            )
            assert msg.content[0].text == "A red square." and image in seen[-1]["messages"][-1]["content"]
            assert json.dumps(seen[-1]).count(pixel) == 1
        finally:
            front.stop()
    # the bundled model takes no images: every shape says so, naming the model
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}
    r = http.post("/v1/chat/completions", json={"model": "default", "messages": [{"role": "user", "content": [image]}]})
    assert (
        r.status_code == 400 and "smollm2" in r.json()["error"]["message"] and "image" in r.json()["error"]["message"]
    )


def test_a_remote_stream_stopped_by_its_reader_closes_and_estimates_its_usage(server, tmp_path):
    """The loop stopper stops a remote model as it stops a local one (StopGeneration): the
    response is closed at once, and the usage the provider would have sent last is estimated."""
    from conftest import LOOPBACK_ALLOW

    from fmstack import Settings
    from fmstack.models import GenerationParams, Message, ModelRegistry
    from fmstack.models.types import Finish, TextDelta, UsageEvent, stop_early

    config = {"models": {"upstream": {"provider": "openai", "base_url": f"{server.url}/v1", "model": "default"}}}
    env = {"FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_OUTBOUND_ALLOW": LOOPBACK_ALLOW}
    registry = ModelRegistry(Settings.from_env(env=env, config=config))
    model = registry.chat("upstream")
    prompt = [Message("user", "Tell a very long story about a castle.")]
    events = model.stream(prompt, GenerationParams(max_tokens=200, temperature=0))
    read = [next(events) for _ in range(3)]
    assert all(isinstance(e, TextDelta) for e in read)
    ended = list(stop_early(events))
    usage = [e.usage for e in ended if isinstance(e, UsageEvent)]
    assert not any(isinstance(e, TextDelta) for e in ended) and ended[-1] == Finish("stop")
    said = "".join(e.text for e in read)
    assert len(usage) == 1 and usage[0].completion_tokens == model.count_tokens(said) > 0
    assert usage[0].prompt_tokens == model.count_message_tokens(prompt)

"""The platform API: conversations, streamed chat turns, feedback, export, restart, API keys."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import Server


def sse_events(r: httpx.Response) -> list[tuple[str, object]]:
    out, event = [], None
    for line in r.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
            out.append((event, data if data == "[DONE]" else json.loads(data)))
            event = None
    return out


def test_conversation_lifecycle(http):
    r = http.post("/api/conversations", json={"title": "Plan", "system_prompt": "Be brief."})
    assert r.status_code == 201
    cid = r.json()["id"]
    assert http.patch(f"/api/conversations/{cid}", json={"title": "Plan B"}).json()["title"] == "Plan B"
    assert cid in [c["id"] for c in http.get("/api/conversations", params={"q": "Plan B"}).json()["data"]]
    turn = http.post(
        f"/api/conversations/{cid}/messages", json={"content": "Hello!", "max_tokens": 12, "temperature": 0}
    ).json()
    assert turn["user_message"]["content"] == "Hello!" and turn["assistant_message"]["content"]
    md = http.get(f"/api/conversations/{cid}/export", params={"format": "markdown"})
    assert md.headers["content-type"].startswith("text/markdown") and "# Plan B" in md.text
    assert http.delete(f"/api/conversations/{cid}").status_code == 204
    assert http.get(f"/api/conversations/{cid}").status_code == 404
    assert http.post("/api/conversations", json={"model": "nope"}).status_code == 404
    assert http.post("/api/conversations", json={"colour": "red"}).status_code == 422


def test_streamed_turn_and_feedback(http):
    cid = http.post("/api/conversations", json={}).json()["id"]
    with http.stream(
        "POST",
        f"/api/conversations/{cid}/messages",
        json={"content": "你好！请介绍一下你自己。", "max_tokens": 16, "stream": True},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    kinds = [e for e, _ in events]
    assert kinds[0] == "text" and kinds[-2:] == ["saved", None] and events[-1][1] == "[DONE]"
    assert "usage" in kinds and "finish" in kinds
    text = "".join(d["text"] for e, d in events if e == "text")
    saved = dict(events)["saved"]
    assert saved["assistant_message"]["content"] == text
    mid = saved["assistant_message"]["id"]
    fb = http.post(f"/api/messages/{mid}/feedback", json={"rating": "up", "comment": "不错 👍"})
    assert fb.status_code == 200 and fb.json()["rating"] == 1
    assert mid in [m["id"] for m in http.get("/api/feedback", params={"rating": "up"}).json()["data"]]
    assert http.post(f"/api/messages/{mid}/feedback", json={"rating": "meh"}).status_code == 422
    assert http.post("/api/messages/99999999/feedback", json={"rating": "up"}).status_code == 404
    stored = http.get(f"/api/conversations/{cid}").json()["messages"][1]
    assert stored["feedback_comment"] == "不错 👍"


def test_tokenize_and_models(http):
    r = http.post("/api/tokenize", json={"text": "Hello world"}).json()
    assert r["tokens"] > 0 and r["context_window"] == 8192
    models = http.get("/api/models").json()
    assert models["aliases"]["default"] == "smollm2"
    assert {m["name"] for m in models["models"]} >= {"smollm2", "multilingual-e5-small", "all-minilm-l6-v2"}


def test_conversations_survive_a_restart(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("restart")).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as h:
            cid = h.post("/api/conversations", json={"title": "persist me"}).json()["id"]
            turn = h.post(
                f"/api/conversations/{cid}/messages", json={"content": "Remember: blue.", "max_tokens": 8}
            ).json()
            h.post(
                f"/api/messages/{turn['assistant_message']['id']}/feedback", json={"rating": "down", "comment": "meh"}
            )
        srv.stop()
        srv.start()
        with httpx.Client(base_url=srv.url, timeout=60) as h:
            conv = h.get(f"/api/conversations/{cid}").json()
            assert conv["title"] == "persist me" and len(conv["messages"]) == 2
            assert conv["messages"][1]["rating"] == -1 and conv["messages"][1]["feedback_comment"] == "meh"
            more = h.post(
                f"/api/conversations/{cid}/messages", json={"content": "What colour?", "max_tokens": 8}
            ).json()
            assert more["user_message"]["seq"] == 3
            assert more["assistant_message"]["prompt_tokens"] > turn["assistant_message"]["prompt_tokens"]
    finally:
        srv.stop()


def test_api_keys_guard_every_route(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("keys"), env={"FMSTACK_API_KEYS": "sk-env-1"}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as h:
            for path in ("/v1/models", "/api/conversations", "/api/health", "/openapi.json"):
                r = h.get(path)
                assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
            assert h.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
            ok = {"Authorization": "Bearer sk-env-1"}
            assert h.get("/v1/models", headers=ok).status_code == 200
            created = h.post("/api/keys", json={"name": "ci"}, headers=ok).json()
            mine = {"x-api-key": created["key"]}
            assert h.get("/api/conversations", headers=mine).status_code == 200
            assert created["key"] not in json.dumps(h.get("/api/keys", headers=ok).json())
            h.delete(f"/api/keys/{created['id']}", headers=ok)
            assert h.get("/api/conversations", headers=mine).status_code == 401
        from openai import AuthenticationError, OpenAI

        with pytest.raises(AuthenticationError):
            OpenAI(base_url=f"{srv.url}/v1", api_key="bad", max_retries=0).models.list()
        assert OpenAI(base_url=f"{srv.url}/v1", api_key="sk-env-1", max_retries=0).models.list().data
    finally:
        srv.stop()

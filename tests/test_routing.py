"""One model name over several deployments: two real fmstack servers serve `pool` for a third one.
Requests spread over both; one killed mid-run loses no request and answers none twice; restarted, it
serves again after its cool-down; fallbacks answer when every deployment is down or the prompt is too
long for the routed model."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import Server, free_port


def answered(server: Server) -> int:
    """Chat completions the server answered with 200 (its own Prometheus counter)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("fmstack_http_requests_total{") and 'route="/v1/chat/completions"' in line:
            if 'method="POST"' in line and 'status="200"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return int(total)


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    servers = [Server(tmp_path_factory.mktemp(f"deploy-{n}")).start() for n in "ab"]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def front(backends, tmp_path_factory):
    a, b = backends
    remote = {"provider": "openai", "model": "default", "api_key": "x", "timeout": 60, "defaults": {"temperature": 0}}
    config = {
        "models": {
            "a": {**remote, "base_url": f"{a.url}/v1"},
            "b": {**remote, "base_url": f"{b.url}/v1"},
            "dead": {**remote, "base_url": f"http://127.0.0.1:{free_port()}/v1"},
            "pool": {"provider": "router", "deployments": ["a", "b"], "retries": 2, "backoff": 0.05, "cooldown": 3},
            "lifeboat": {
                "provider": "router",
                "deployments": ["dead"],
                "retries": 1,
                "backoff": 0.05,
                "fallbacks": ["smollm2"],
            },
            "tiny": {"provider": "local", "path": "bundled:smollm2", "context_window": 512},
            "short": {"provider": "router", "deployments": ["tiny"], "context_fallbacks": ["smollm2"]},
        }
    }
    srv = Server(tmp_path_factory.mktemp("router"), config).start()
    yield srv
    srv.stop()


def ask(front: Server, model: str, text: str = "Name a color.", max_tokens: int = 8) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens}
    return httpx.post(f"{front.url}/v1/chat/completions", json=body, timeout=120)


def routing(front: Server, model: str) -> dict:
    return {
        d["model"]: d for d in httpx.get(f"{front.url}/api/models/{model}", timeout=10).json()["routing"]["deployments"]
    }


def test_requests_spread_and_a_killed_deployment_loses_none(front, backends):
    a, b = backends
    a0, b0 = answered(a), answered(b)
    for _ in range(6):
        assert ask(front, "pool").status_code == 200
    state = routing(front, "pool")
    assert state["a"]["served"] >= 2 and state["b"]["served"] >= 2  # both took requests
    b_at_kill = answered(b)
    b.proc.kill()
    b.proc.wait(30)
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: ask(front, "pool"), range(8)))
    assert [r.status_code for r in replies] == [200] * 8  # none lost
    assert all(r.json()["choices"][0]["message"]["content"] for r in replies)
    state = routing(front, "pool")
    assert state["b"]["failed"] >= 1 and state["b"]["last_error"]
    # none answered twice: the 14 requests were answered 14 times in all, by one backend each
    assert (answered(a) - a0) + (b_at_kill - b0) == 14
    assert state["a"]["served"] + state["b"]["served"] == 14
    # b comes back on its old port; after its cool-down it serves again
    port, b.proc = b.port, None
    b.start()
    assert b.port == port
    time.sleep(3.5)
    before = routing(front, "pool")["b"]["served"]
    for _ in range(6):
        assert ask(front, "pool").status_code == 200
    assert routing(front, "pool")["b"]["served"] > before and answered(b) >= 1


def test_fallbacks_when_every_deployment_is_down_or_the_prompt_too_long(front):
    r = ask(front, "lifeboat")
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    assert routing(front, "lifeboat")["dead"]["failed"] >= 1
    long_prompt = "Summarize this. " + "The quick brown fox jumps over the lazy dog. " * 80  # > 512 tokens
    assert ask(front, "tiny", long_prompt).status_code == 400  # too long for the small window
    r = ask(front, "short", long_prompt)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    models = httpx.get(f"{front.url}/api/models", timeout=10).json()["models"]
    pool = next(m for m in models if m["name"] == "pool")
    assert pool["provider"] == "router" and [d["model"] for d in pool["routing"]["deployments"]] == ["a", "b"]

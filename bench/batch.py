"""Batch throughput against a client loop over /v1/chat/completions, on the same running server.

    python bench/batch.py                 # 24 lines, local model and a remote provider
    python bench/batch.py --lines 48 --max-tokens 16

local:  one `fmstack serve` on the bundled model. Baseline: the lines sent one after another with
        httpx (a client loop, keep-alive); batch: the same lines as one /v1/batches job, timed from
        its job's creation to its end (input checked, every line answered, output files written).
remote: a second `fmstack serve` whose model is an `openai` provider pointing at the first one, so
        each line crosses a real HTTP hop to the provider. Baseline: the client loop against the
        second server; batch: the same lines as a batch there (remote lines run 8 at a time).

api:    a third `fmstack serve` whose model is an `openai` provider pointing at a stand-in for a
        hosted API: a loopback OpenAI-compatible endpoint that answers every request after a fixed
        latency (--api-latency, default 0.5 s) and any number of them at once, as a hosted API
        does. It computes nothing, so the ratio is what running lines 8 at a time buys against
        such a provider.

Prints lines/s for each and the ratio batch / loop. The servers run on this machine: the local
model decodes up to 8 requests together (`parallel`), and a remote provider that is that same
model on the same two cores cannot answer 8 lines much faster than it decodes them together.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import yaml
from openai import OpenAI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data: Path, config: dict | None = None) -> tuple[subprocess.Popen, str]:
    data.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FMSTACK_DATA_DIR": str(data), "FMSTACK_OUTBOUND_ALLOW": "127.0.0.1"}
    env.pop("FMSTACK_DATABASE_URL", None)
    if config:
        (data / "config.yaml").write_text(yaml.safe_dump(config))
        env["FMSTACK_CONFIG"] = str(data / "config.yaml")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fmstack", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, url


def hosted_api(latency: float) -> tuple[object, str]:
    """An OpenAI-compatible chat endpoint with a fixed latency and no limit on parallel requests."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency)
            body = json.dumps(
                {
                    "id": "chatcmpl-api",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": "hosted",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "A fig."}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def lines(n: int, max_tokens: int) -> list[dict]:
    topics = ["a fruit", "a color", "an animal", "a city", "a river", "a planet", "a tree", "a metal"]
    return [
        {
            "custom_id": f"l{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "default",
                "messages": [{"role": "user", "content": f"Name {topics[i % len(topics)]} ({i})."}],
                "max_tokens": max_tokens,
                "temperature": 0,
            },
        }
        for i in range(n)
    ]


def loop(url: str, items: list[dict]) -> float:
    t0 = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600) as h:
        for it in items:
            h.post("/v1/chat/completions", json=it["body"]).raise_for_status()
    return time.perf_counter() - t0


def batch(url: str, items: list[dict]) -> float:
    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)
    data = ("\n".join(json.dumps(x) for x in items) + "\n").encode()
    f = client.files.create(file=("bench.jsonl", io.BytesIO(data)), purpose="batch")
    b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    while b.status not in ("completed", "failed", "cancelled"):
        time.sleep(0.5)  # as a client would poll; the time is the job's own, not the polling's
        b = client.batches.retrieve(b.id)
    assert b.status == "completed" and b.request_counts.completed == len(items), b
    job = httpx.get(f"{url}/api/jobs", params={"kind": "batch", "target": b.id}, timeout=30).json()["data"][0]
    created, finished = (datetime.fromisoformat(job[k]) for k in ("created_at", "finished_at"))
    return (finished - created).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--api-latency", type=float, default=0.5, help="seconds the stand-in hosted API takes per request")
    args = ap.parse_args()
    items = lines(args.lines, args.max_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        back, back_url = serve(Path(tmp) / "local")
        config = {
            "models": {
                "upstream": {"provider": "openai", "base_url": f"{back_url}/v1", "model": "default", "api_key": "x"}
            },
            "aliases": {"default": "upstream"},
        }
        front, front_url = serve(Path(tmp) / "front", config)
        api, api_url = hosted_api(args.api_latency)
        config["models"]["upstream"]["base_url"] = api_url
        hosted, hosted_url = serve(Path(tmp) / "hosted", config)
        try:
            loop(back_url, items[:2])  # load the model before timing
            for name, url in (("local", back_url), ("remote", front_url), ("api", hosted_url)):
                first_loop = loop(url, items)
                first_batch = batch(url, items)
                second_batch = batch(url, items)
                second_loop = loop(url, items)  # interleaved: loop, batch, batch, loop
                t_loop, t_batch = (first_loop + second_loop) / 2, (first_batch + second_batch) / 2
                print(
                    f"{name}: {len(items)} lines, max_tokens {args.max_tokens}: client loop {len(items) / t_loop:.2f} lines/s"
                    f" ({first_loop:.1f} s, {second_loop:.1f} s), batch {len(items) / t_batch:.2f} lines/s"
                    f" ({first_batch:.1f} s, {second_batch:.1f} s); batch / loop x{t_loop / t_batch:.2f}"
                )
        finally:
            for p in (hosted, front, back):
                p.terminate()
                p.wait(30)
            api.shutdown()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()

"""Files and batches (OpenAI's Files and Batch APIs) driven by the official `openai` SDK against the
real server and model: output in input order equal to the same requests sent one by one, per-line
errors in the error file, refused input files, cancel, resume after the server restarts, the CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import Server
from openai import OpenAI

QUESTIONS = ["Name a fruit.", "Name a color.", "Name an animal.", "Name a city."]


def chat_line(custom_id: str, question: str, model: str = "default", max_tokens: int = 12) -> dict:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def jsonl(lines: list[dict]) -> bytes:
    return ("\n".join(json.dumps(x) for x in lines) + "\n").encode()


def wait(client: OpenAI, batch_id: str, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while True:
        b = client.batches.retrieve(batch_id)
        if b.status in ("completed", "failed", "cancelled", "expired") or time.monotonic() > deadline:
            return b
        time.sleep(0.3)


def results(client: OpenAI, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines() if x.strip()]


def test_chat_batch_matches_one_by_one_and_keeps_bad_lines_apart(oai):
    # on a model that decodes one request at a time: decoded together (the default), greedy answers
    # may differ in a near-tie token from the same request decoded alone
    lines = [chat_line(f"q{i}", q, model="smollm2-solo") for i, q in enumerate(QUESTIONS)]
    lines.insert(2, chat_line("bad-model", "Hi", model="no-such-model"))
    lines.append(chat_line("bad-body", "Hi") | {"body": {"model": "default", "messages": []}})
    f = oai.files.create(file=("requests.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    assert f.purpose == "batch" and f.bytes > 0 and oai.files.retrieve(f.id).filename == "requests.jsonl"
    batch = oai.batches.create(
        input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"run": "t"}
    )
    assert batch.status in ("validating", "in_progress") and batch.metadata == {"run": "t"}
    done = wait(oai, batch.id)
    assert done.status == "completed", done
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (6, 4, 2)
    out = results(oai, done.output_file_id)
    assert [r["custom_id"] for r in out] == ["q0", "q1", "q2", "q3"]  # input order
    for r, q in zip(out, QUESTIONS, strict=True):
        direct = oai.chat.completions.create(
            model="smollm2-solo", messages=[{"role": "user", "content": q}], max_tokens=12, temperature=0
        )
        assert r["response"]["status_code"] == 200
        assert r["response"]["body"]["choices"][0]["message"]["content"] == direct.choices[0].message.content
    errors = {r["custom_id"]: r["response"] for r in results(oai, done.error_file_id)}
    assert (
        errors["bad-model"]["status_code"] == 404 and "no-such-model" in errors["bad-model"]["body"]["error"]["message"]
    )
    assert errors["bad-body"]["status_code"] == 422
    assert done.id in [b.id for b in oai.batches.list(limit=100)]


def test_embeddings_and_responses_batches(oai):
    emb = [
        {"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings", "body": {"model": "embedding", "input": t}}
        for i, t in enumerate(["hello", "你好"])
    ]
    f = oai.files.create(file=("emb.jsonl", io.BytesIO(jsonl(emb))), purpose="batch")
    done = wait(oai, oai.batches.create(input_file_id=f.id, endpoint="/v1/embeddings", completion_window="24h").id)
    out = results(oai, done.output_file_id)
    assert done.status == "completed" and [len(r["response"]["body"]["data"][0]["embedding"]) for r in out] == [
        384,
        384,
    ]
    resp = [
        {
            "custom_id": "r0",
            "method": "POST",
            "url": "/v1/responses",
            "body": {"model": "default", "input": "Name a color.", "max_output_tokens": 8},
        }
    ]
    f = oai.files.create(file=("resp.jsonl", io.BytesIO(jsonl(resp))), purpose="batch")
    done = wait(oai, oai.batches.create(input_file_id=f.id, endpoint="/v1/responses", completion_window="24h").id)
    (r,) = results(oai, done.output_file_id)
    assert r["response"]["body"]["object"] == "response" and r["response"]["body"]["output"]


def test_an_input_file_that_is_no_batch_fails_with_the_lines_at_fault(oai, http):
    bad = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    bad += b"not json\n"
    bad += b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    bad += b'{"custom_id": "c", "method": "POST", "url": "/v1/embeddings", "body": {}}\n'
    f = oai.files.create(file=("bad.jsonl", io.BytesIO(bad)), purpose="batch")
    done = wait(
        oai, oai.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h").id
    )
    assert done.status == "failed" and done.output_file_id is None
    assert {(e.line, e.code) for e in done.errors.data} == {
        (2, "invalid_json_line"),
        (3, "duplicate_custom_id"),
        (4, "invalid_url"),
    }
    for body, status in (
        ({"input_file_id": "file-nope", "endpoint": "/v1/chat/completions", "completion_window": "24h"}, 404),
        ({"input_file_id": f.id, "endpoint": "/v1/moderations", "completion_window": "24h"}, 422),
        ({"input_file_id": f.id, "endpoint": "/v1/chat/completions", "completion_window": "1h"}, 422),
    ):
        assert http.post("/v1/batches", json=body).status_code == status
    other = oai.files.create(file=("notes.txt", io.BytesIO(b"x")), purpose="user_data")
    r = http.post(
        "/v1/batches", json={"input_file_id": other.id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    )
    assert r.status_code == 400 and "purpose" in r.json()["error"]["message"]
    assert oai.files.delete(other.id).deleted and http.get(f"/v1/files/{other.id}").status_code == 404


def test_cancel_keeps_what_was_answered(oai):
    lines = [chat_line(f"c{i}", f"Count from {i} to {i + 30}.", max_tokens=48) for i in range(12)]
    f = oai.files.create(file=("many.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    batch = oai.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    deadline = time.monotonic() + 120
    while oai.batches.retrieve(batch.id).request_counts.completed < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert oai.batches.cancel(batch.id).status in ("cancelling", "cancelled")
    done = wait(oai, batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    out = results(oai, done.output_file_id)
    assert 1 <= len(out) < 12 and len(out) == done.request_counts.completed
    assert [r["custom_id"] for r in out] == [f"c{i}" for i in range(len(out))]


@pytest.mark.slow
def test_a_batch_resumes_after_the_server_restarts_answering_each_line_once(tmp_path):
    srv = Server(tmp_path / "restart").start()
    try:
        client = OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0, timeout=120)
        # three waves of the model's 8 parallel lines, so the kill lands between two of them
        n = 24
        lines = [chat_line(f"r{i}", f"Count from {i} to {i + 20}.", max_tokens=40) for i in range(n)]
        f = client.files.create(file=("r.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
        batch = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        deadline = time.monotonic() + 120
        while (
            at_kill := client.batches.retrieve(batch.id).request_counts.completed
        ) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        srv.proc.kill()  # no goodbye: the process is gone mid-batch
        srv.proc.wait(30)
        assert 2 <= at_kill < n
        srv.start()
        client = OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0, timeout=120)
        done = wait(client, batch.id)
        assert done.status == "completed" and done.request_counts.completed == n
        out = results(client, done.output_file_id)
        assert [r["custom_id"] for r in out] == [f"r{i}" for i in range(n)]  # each line once, in input order
    finally:
        srv.stop()


def test_cli_submits_waits_and_prints_results(tmp_path):
    path = tmp_path / "cli.jsonl"
    path.write_bytes(jsonl([chat_line("x0", "Name a fruit."), chat_line("x1", "Hi", model="nope")]))
    env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp_path / "data")}
    env.pop("FMSTACK_DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "fmstack", "batch", "submit", str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    b = json.loads(run.stdout)
    assert b["status"] == "completed" and b["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    res = subprocess.run(
        [sys.executable, "-m", "fmstack", "batch", "results", b["id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert [json.loads(x)["custom_id"] for x in res.stdout.splitlines()] == ["x0"]
    errs = subprocess.run(
        [sys.executable, "-m", "fmstack", "batch", "results", b["id"], "--errors"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(errs.stdout.splitlines()[0])["response"]["status_code"] == 404

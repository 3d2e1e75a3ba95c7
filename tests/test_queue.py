"""Requests to one local model are served first come, first served; a full queue answers 429."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from conftest import Server

from fmstack.errors import Busy
from fmstack.models.queue import FairLock


def test_fair_lock_serves_in_arrival_order():
    lock = FairLock("m", max_waiting=10)
    order: list[int] = []
    lock.acquire()
    threads = []
    for i in range(6):
        t = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i), lock.release()))
        t.start()
        threads.append(t)
        while lock.waiting < i + 2:  # wait until thread i holds its ticket before starting the next
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join(10)
    assert order == list(range(6))
    assert lock.waiting == 0


def test_fair_lock_refuses_beyond_the_queue_and_skips_those_who_gave_up():
    lock = FairLock("m", max_waiting=1)
    lock.acquire()
    with pytest.raises(Busy, match="stayed busy"):
        lock.acquire(timeout=0.05)  # gives its place up
    got = threading.Event()
    t = threading.Thread(target=lambda: (lock.acquire(), got.set(), lock.release()))
    t.start()
    lock.release()
    assert got.wait(5)  # the abandoned ticket did not block the one behind it
    t.join(5)
    assert lock.waiting == 0
    strict = FairLock("n", max_waiting=0)
    strict.acquire()  # a free lock is taken even with no room to wait
    with pytest.raises(Busy):
        strict.acquire()


def test_full_queue_is_429_over_http(tmp_path_factory):
    # a model that decodes one request at a time (a batching one takes the second into its batch:
    # tests/test_batching.py checks its own full queue)
    one = {"models": {"one": {"provider": "local", "path": "bundled:smollm2", "context_window": 4096, "parallel": 1}}}
    srv = Server(tmp_path_factory.mktemp("queue"), config=one, env={"FMSTACK_MAX_QUEUE": "0"}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as h:
            # A grammar that demands 300 numbers: the model cannot finish early.
            long_answer = {
                "type": "json_schema",
                "json_schema": {
                    "name": "n",
                    "schema": {"type": "array", "items": {"type": "integer"}, "minItems": 300},
                },
            }
            body = {
                "model": "one",
                "messages": [{"role": "user", "content": "Count to 1000."}],
                "max_tokens": 2000,
                "stream": True,
                "response_format": long_answer,
            }
            with h.stream("POST", "/v1/chat/completions", json=body) as r:
                lines = r.iter_lines()  # keep the iterator: dropping it would close the stream
                next(lines)  # the model is now busy with this stream
                with httpx.Client(base_url=srv.url, timeout=60) as other:
                    busy = other.post(
                        "/v1/chat/completions",
                        json={"model": "one", "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]},
                    )
            assert busy.status_code == 429, busy.text
            assert busy.json()["error"]["type"] == "rate_limit_error"
    finally:
        srv.stop()

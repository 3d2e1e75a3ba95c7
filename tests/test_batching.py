"""Continuous batching on the bundled model (models/batching.py): concurrent requests share the
decode calls, each keeps its own stops, limits, cancellation and usage, and the one-at-a-time
requests (label scoring, tools) still get their turn."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

import pytest

from fmstack.errors import Busy
from fmstack.models.types import Finish, GenerationParams, Message, TextDelta, UsageEvent

GREEDY = GenerationParams(temperature=0.0, max_tokens=24)


def _collect(events) -> tuple[str, str | None, UsageEvent | None]:
    text, finish, usage = [], None, None
    for ev in events:
        if isinstance(ev, TextDelta):
            text.append(ev.text)
        elif isinstance(ev, Finish):
            finish = ev.reason
        elif isinstance(ev, UsageEvent):
            usage = ev
    return "".join(text), finish, usage


@contextmanager
def _held(model):
    """The model's lock held by the test: requests queue up, then start together on release."""
    model.lock.acquire()
    try:
        yield
    finally:
        model.lock.release()


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture()
def model(fm):
    m = fm.models.chat()
    assert m.parallel > 1  # batching is on by default for a local model
    yield m
    m.parallel = 8


def test_concurrent_requests_are_decoded_together(model):
    prompts = [f"Write two sentences about a {w}." for w in ("cat", "ship", "river", "robot")]
    with _held(model):
        streams = [model.stream([Message("user", p)], GREEDY) for p in prompts]
    steps0, tokens0 = model.batcher.steps, model.batcher.tokens_decoded
    results = [None] * len(streams)

    def read(i):
        results[i] = _collect(streams[i])

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    generated = sum(r[2].usage.completion_tokens for r in results)
    assert all(r[0] and r[1] in ("stop", "length") for r in results)
    steps = model.batcher.steps - steps0
    # one decode call served several sequences: far fewer calls than tokens generated
    assert steps <= generated / 2, (steps, generated)
    assert model.batcher.tokens_decoded - tokens0 >= generated
    assert model.lock.waiting == 0


def test_a_request_alone_gives_what_the_one_at_a_time_path_gives(model):
    ask = [Message("user", "What is the capital of France?")]
    batched = _collect(model.stream(ask, GREEDY))
    model.parallel = 1
    alone = _collect(model.stream(ask, GREEDY))
    assert batched[0] == alone[0] and batched[1] == alone[1]
    assert batched[2].usage.completion_tokens == alone[2].usage.completion_tokens


def test_stops_limits_and_usage_are_each_request_s_own(model):
    with _held(model):
        short = model.stream([Message("user", "Count from 1 to 20.")], GenerationParams(temperature=0.0, max_tokens=5))
        stopped = model.stream(
            [Message("user", "Count from 1 to 20, separated by commas.")],
            GenerationParams(temperature=0.0, max_tokens=80, stop=["7"]),
        )
        free = model.stream([Message("user", "Say hello.")], GenerationParams(temperature=0.0, max_tokens=40))
    s_text, s_finish, s_usage = _collect(short)
    t_text, t_finish, _ = _collect(stopped)
    f_text, f_finish, _ = _collect(free)
    assert s_finish == "length" and s_usage.usage.completion_tokens == 5
    assert t_finish == "stop" and "7" not in t_text and "6" in t_text
    assert f_text and f_finish in ("stop", "length")


def test_json_output_is_constrained_in_the_batch_too(model):
    with _held(model):
        js = model.stream(
            [Message("user", "Give a JSON object with a name and an age.")],
            GenerationParams(temperature=0.0, max_tokens=60, response_format={"type": "json_object"}),
        )
        prose = model.stream([Message("user", "Tell a short story.")], GREEDY)
    text, finish, _ = _collect(js)
    assert finish == "stop" and isinstance(json.loads(text), dict)
    assert _collect(prose)[0]


def test_a_closed_stream_leaves_the_batch_and_the_others_go_on(model):
    long = GenerationParams(temperature=0.0, max_tokens=200)
    with _held(model):
        a = model.stream([Message("user", "Tell a very long story about a castle.")], long)
        b = model.stream([Message("user", "Tell a very long story about a forest.")], GenerationParams(max_tokens=60))
    assert isinstance(next(a), TextDelta)
    a.close()  # returns once its sequence is out of the batch
    assert len(model.batcher._active) <= 1
    text, finish, usage = _collect(b)
    assert text and finish in ("stop", "length") and usage.usage.completion_tokens <= 60
    _wait(lambda: model.lock.waiting == 0)


def test_a_one_at_a_time_request_is_served_before_later_batch_requests(model):
    order: list[str] = []
    first = model.stream([Message("user", "Tell a story about a lighthouse.")], GenerationParams(max_tokens=120))
    assert isinstance(next(first), TextDelta)
    scored = threading.Thread(
        target=lambda: (
            model.label_logprobs([Message("user", "Is the sky blue?")], ["yes", "no"]),
            order.append("label"),
        )
    )
    scored.start()
    _wait(lambda: model.lock.waiting >= 2)  # label scoring waits for the model
    later = model.stream([Message("user", "Say hi.")], GenerationParams(max_tokens=5))
    got = threading.Thread(target=lambda: (next(later), order.append("later")))
    got.start()
    _collect(first)
    scored.join(120)
    got.join(120)
    _collect(later)
    assert order == ["label", "later"]


def test_a_full_queue_is_refused_at_once(model):
    batcher = model.batcher
    keep = batcher.max_waiting
    batcher.max_waiting = 0
    streams = []
    try:
        with _held(model):
            streams = [
                model.stream([Message("user", "Hi")], GenerationParams(max_tokens=3)) for _ in range(batcher.slots)
            ]
            with pytest.raises(Busy, match="busy"):
                model.stream([Message("user", "Hi")], GenerationParams(max_tokens=3))
    finally:
        batcher.max_waiting = keep
        for s in streams:
            _collect(s)
    _wait(lambda: model.lock.waiting == 0)


def test_a_request_joining_the_batch_reuses_a_cached_prompt_and_one_alone_answers_the_same_each_time(model):
    system = Message("system", "You are a helpful assistant. " * 20)
    ask = [system, Message("user", "Name a colour.")]
    with _held(model):
        long = model.stream(
            [Message("user", "Tell a very long story.")], GenerationParams(temperature=0, max_tokens=150)
        )
        short = model.stream(ask, GenerationParams(temperature=0, max_tokens=4))
    assert isinstance(next(long), TextDelta)
    first = _collect(short)  # finished while the long one still runs: its cells stay cached
    assert first[0] and first[1] in ("stop", "length")
    reused = model.batcher.tokens_reused
    again = _collect(model.stream([system, Message("user", "Name an animal.")], GenerationParams(max_tokens=4)))
    assert again[0] and model.batcher.tokens_reused - reused >= model.count_message_tokens([system]) - 2
    _collect(long)
    # alone, after all that traffic: the same greedy answer every time, as decoded one at a time
    answers = {_collect(model.stream(ask, GREEDY))[0] for _ in range(2)}
    model.parallel = 1
    answers.add(_collect(model.stream(ask, GREEDY))[0])
    assert len(answers) == 1


def test_a_batch_job_sends_a_batching_model_its_lines_together(fm, model):
    lines = [
        {
            "custom_id": f"l{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "default",
                "messages": [{"role": "user", "content": f"Name a city ({i})."}],
                "max_tokens": 16,
            },
        }
        for i in range(6)
    ]
    f = fm.files.create("lines.jsonl", "batch", "".join(json.dumps(x) + "\n" for x in lines).encode())
    steps = model.batcher.steps
    batch = fm.batches.create(f.id, "/v1/chat/completions")
    fm.jobs.wait(batch.job_id, timeout=300)
    done = fm.batches.get(batch.id)
    assert done.status == "completed" and done.counts["completed"] == 6, done
    out = [json.loads(x) for x in fm.files.content(done.output_file_id).decode().splitlines()]
    tokens = sum(o["response"]["body"]["usage"]["completion_tokens"] for o in out)
    assert model.batcher.steps - steps < tokens  # the lines shared decode calls
    assert fm._concurrency(None) == model.parallel and fm._concurrency("smollm2-solo") == 1


@pytest.mark.parametrize("parallel", [8, 1], ids=["batched", "one-at-a-time"])
def test_a_stream_stopped_by_its_reader_reports_the_tokens_it_generated(model, parallel):
    """The loop stopper stops a model by throwing StopGeneration into its stream: the model leaves
    at once and still ends with its usage (metered and reported) and a finish."""
    from fmstack.models.types import stop_early

    model.parallel = parallel
    long = GenerationParams(temperature=0.0, max_tokens=200)
    events = model.stream([Message("user", "Tell a very long story about a castle.")], long)
    read = [next(events) for _ in range(3)]
    assert all(isinstance(e, TextDelta) for e in read)
    ended = list(stop_early(events))
    assert not any(isinstance(e, TextDelta) and e.text for e in ended)  # no text after the stop
    usage = [e for e in ended if isinstance(e, UsageEvent)]
    assert len(usage) == 1 and 3 <= usage[0].usage.completion_tokens < 200 and usage[0].usage.prompt_tokens > 10
    assert isinstance(ended[-1], Finish) and ended[-1].reason == "stop"
    _wait(lambda: model.lock.waiting == 0)  # the model is free: the next request runs
    text, finish, _ = _collect(model.stream([Message("user", "Say hi.")], GREEDY))
    assert text and finish in ("stop", "length")

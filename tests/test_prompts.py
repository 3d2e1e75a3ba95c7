"""Versioned prompt templates (real database) and the prompting techniques with the bundled model:
asserting on structure, validation and vote accounting — never on the tiny model being right."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from fmstack.errors import InvalidInput, NotFound
from fmstack.models.types import Message
from fmstack.prompts import techniques as tq


def test_versions_diff_pinning_and_partials(fm):
    fm.prompts.create("tone", template="Be friendly and brief.")
    v1 = fm.prompts.create(
        "qa",
        messages=[
            {"role": "system", "content": "{% include 'tone' %}"},
            {"role": "user", "content": "Question: {{ question }}"},
        ],
    )
    assert v1.version == 1 and v1.variables == ["question"]
    v2 = fm.prompts.update(
        "qa",
        messages=[
            {"role": "system", "content": "{% include 'tone@1' %} Cite sources."},
            {"role": "user", "content": "问题：{{ question }}\n语言：{{ lang }}"},
        ],
        note="Chinese",
    )
    assert v2.version == 2 and v2.variables == ["lang", "question"] and v2.note == "Chinese"
    assert fm.prompts.render("qa@1", question="?")[0].content == "Be friendly and brief."
    fm.prompts.update("tone", template="Be formal.")  # after a render: the unpinned include must follow it
    pinned = fm.prompts.render("qa@1", question="Why is the sky blue?")
    assert [m.role for m in pinned] == ["system", "user"]
    assert pinned[0].content == "Be formal." and pinned[1].content == "Question: Why is the sky blue?"  # latest tone
    latest = fm.prompts.render("qa", question="天空为什么是蓝色的？", lang="中文")
    assert (
        latest[0].content == "Be friendly and brief. Cite sources."
        and "问题：天空为什么是蓝色的？" in latest[1].content
    )
    diff = fm.prompts.diff("qa", 1, 2)
    assert (
        diff.startswith("--- qa@1\n+++ qa@2\n")
        and "-Question: {{ question }}" in diff
        and "+问题：{{ question }}" in diff
    )
    assert [p.version for p in fm.prompts.versions("qa")] == [1, 2]
    assert {p.ref for p in fm.prompts.list()} >= {"qa@2", "tone@2"}


def test_prompt_errors_are_clear(fm):
    with pytest.raises(InvalidInput, match="question"):
        fm.prompts.create("q-missing", template="Q: {{ question }}") and fm.prompts.render("q-missing")
    with pytest.raises(InvalidInput, match="syntax error on line 1"):
        fm.prompts.create("broken", template="{% if x %}")
    with pytest.raises(InvalidInput, match="either template"):
        fm.prompts.create("neither")
    with pytest.raises(InvalidInput, match="messages\\[0\\]"):
        fm.prompts.create("badmsg", messages=[{"role": "robot", "content": "x"}])
    with pytest.raises(NotFound, match="version 9"):
        fm.prompts.get("q-missing@9")
    fm.prompts.create("inc", template="{% include 'nowhere' %}")
    with pytest.raises(InvalidInput, match="includes 'nowhere'"):
        fm.prompts.render("inc")
    with pytest.raises(InvalidInput, match="exists"):
        fm.prompts.create("inc", template="x")


def test_a_template_that_would_run_or_grow_without_end_is_a_clear_error_over_http(http):
    """A stored prompt is code a caller wrote: the server renders it with bounded work, so a loop
    inside a loop, a huge repetition or width, a giant power or a prompt that includes itself is a
    400 that says what was too costly, and the server goes on answering."""
    costly = {
        "loops": "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
        "repeat": "{{ 'a' * 10**9 }}",
        "widths": "{{ question|center(10**9) }}",
        "method": "{{ question.ljust(10**9) }}",
        "format": "{{ '{:999999999}'.format(question) }}",
        "power": "{{ 7 ** 100000000 }}",
        "self-include": "{% include 'self-include' %}",
    }
    for name, template in costly.items():
        assert http.post("/api/prompts", json={"name": name, "template": template}).status_code == 201
        r = http.post(f"/api/prompts/{name}/render", json={"variables": {"question": "why?"}})
        assert r.status_code == 400, (name, r.status_code, r.text[:200])
        message = r.json()["error"]["message"]
        assert any(w in message for w in ("steps", "characters", "bits", "too large", "recurses")), (name, message)
    # everyday templates are untouched: filters, formatting, loops of ordinary length
    fine = (
        "{{ question|upper }} {{ '%05d' % 42 }} {{ '{:>6}'.format('hi') }} {% for i in range(3) %}{{ i }}{% endfor %}"
    )
    assert http.post("/api/prompts", json={"name": "fine", "template": fine}).status_code == 201
    r = http.post("/api/prompts/fine/render", json={"variables": {"question": "why?"}})
    assert r.json()["messages"][0]["content"] == "WHY? 00042     hi 012"


def test_few_shot_selection_by_similarity(fm):
    examples = [
        {"input": "The weather is lovely today", "output": "positive"},
        {"input": "我的航班取消了，太糟糕了", "output": "negative"},
        {"input": "Invoice 4411 is due on Friday", "output": "neutral"},
        {"input": "这家餐厅的菜非常好吃", "output": "positive"},
    ]
    assert tq.select_examples(examples, "anything", k=2) == examples[:2]  # static
    picked = tq.select_examples(examples, "航班延误了三个小时，真让人生气", k=2, embedder=fm.models.embedding(None))
    assert picked[-1]["input"] == "我的航班取消了，太糟糕了"  # the most similar sits next to the question
    msgs = tq.few_shot_messages("Label the sentiment.", picked, "航班延误了")
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]


def test_self_consistency_counts_the_votes(fm):
    vote = tq.self_consistency(fm.models.chat(None), "What is 2 + 3?", n=4, temperature=0.8, max_tokens=48, seed=7)
    assert len(vote.samples) == 4 and sum(vote.votes.values()) == 4
    key = tq._vote_key(vote.answer)
    assert vote.votes[key] == max(vote.votes.values()) and vote.agreement == vote.votes[key] / 4
    manual = tq.tally([tq.Reasoned("5", ""), tq.Reasoned("Five", ""), tq.Reasoned("5.", ""), tq.Reasoned("five", "")])
    assert (
        manual.votes == {"5": 2, "five": 2} and manual.answer == "5" and manual.agreement == 0.5
    )  # tie: first reached
    assert tq.extract_answer("2 plus 3 makes 5.\nAnswer: 5") == "5" and tq.extract_answer("推理……\n答案：五") == "五"


def test_classification_by_generation_is_one_of_the_labels(fm):
    model = fm.models.chat(None)
    labels = ["positive", "negative", "neutral"]
    results = {}
    for text in [
        "I love this phone, the battery lasts forever!",
        "This phone is terrible, it broke in a day.",
        "这个手机太差了，电池一天就没电。",
    ]:
        res = results[text] = tq.classify(model, text, labels)
        assert res.label in labels and set(res.scores) == set(labels)
        assert sum(res.scores.values()) == pytest.approx(1.0) and res.label == max(res.scores, key=res.scores.get)
        assert max(res.scores.values()) - min(res.scores.values()) > 0.1  # read from real logits, not uniform
    # the scores follow the text: "negative" is likelier for the complaint than for the praise
    love, hate = (
        results["I love this phone, the battery lasts forever!"],
        results["This phone is terrible, it broke in a day."],
    )
    assert hate.scores["negative"] > love.scores["negative"]
    with pytest.raises(ValueError):
        tq.classify(model, "x", ["only"])


class Trip(BaseModel):
    destination: str = Field(min_length=1)
    divers: int = Field(ge=1, le=20)


def test_structured_output_is_validated(fm):
    model = fm.models.chat(None)
    trip = tq.structured(model, [Message("user", "Book Sipadan for 3 divers. Reply as JSON.")], Trip)
    assert isinstance(trip, Trip) and 1 <= trip.divers <= 20 and trip.destination
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    data = tq.structured(model, [Message("user", "Tell me about Paris as JSON.")], schema)
    assert isinstance(data["city"], str) and isinstance(data["population"], int)


def test_json_schema_problems_are_listed_by_where_they_are():
    from fmstack import jsonschemas
    from fmstack.errors import InvalidInput

    problems = jsonschemas.checker(
        {
            "type": "object",
            "properties": {
                "divers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"age": {"type": "integer", "minimum": 10}},
                        "required": ["age"],
                        "additionalProperties": False,
                    },
                },
                "site": {"type": "string"},
            },
            "required": ["site"],
        }
    )
    # paths mixing list positions and names are ordered without comparing an int with a str
    assert problems({"divers": [{"age": 8}, {"name": "Li"}], "site": 3}) == [
        "divers.0.age: 8 is less than the minimum of 10",
        "divers.1.age: Field required",
        "divers.1.name: Extra inputs are not permitted",
        "site: 3 is not of type 'string'",
    ]
    assert problems({"site": "Sipadan", "divers": []}) == []
    with pytest.raises(InvalidInput, match="not a valid JSON schema"):
        jsonschemas.checker({"type": "objekt"})
    # a caller's `pattern` that backtracks without end is a problem named, not a thread held for good
    code = jsonschemas.checker({"type": "string", "pattern": "(a|aa)+$"})
    assert code("aa") == [] and code("b") == ["value: 'b' does not match '(a|aa)+$'"]
    assert code("a" * 60 + "!") == [f"value: {'a' * 60 + '!'!r} could not be checked against '(a|aa)+$' in time"]


def test_chain_passes_outputs_on(fm):
    out = tq.chain(
        fm.models.chat(None),
        [("topic", "Name one ocean. Reply with its name only."), ("fact", "Give one fact about {{ topic }}.")],
        params=__import__("fmstack").models.types.GenerationParams(max_tokens=24, temperature=0),
    )
    assert set(out) == {"topic", "fact"} and out["topic"] and out["fact"]


def test_structured_output_retries_with_the_error_then_gives_up(fm):
    from pydantic import field_validator

    class Strict(BaseModel):
        code: str

        @field_validator("code")
        @classmethod
        def never(cls, v: str) -> str:  # a rule no grammar can enforce
            raise ValueError("code must be a registered booking code")

    model, seen = fm.models.chat(None), []
    original = model.generate

    def counting(messages, params=None):
        seen.append(list(messages))
        return original(messages, params)

    model.generate = counting
    try:
        with pytest.raises(tq.InvalidOutput, match="no valid output after 2 tries"):
            tq.structured(model, [Message("user", "Give me a booking code as JSON.")], Strict, retries=1)
    finally:
        del model.generate
    assert len(seen) == 2 and "registered booking code" in seen[1][-1].content  # the retry names the error


def test_prompts_over_http_and_the_cli(http, tmp_path):
    r = http.post("/api/prompts", json={"name": "http-qa", "template": "Q: {{ question }}"})
    assert r.status_code == 201 and r.json()["ref"] == "http-qa@1"
    assert (
        http.put("/api/prompts/http-qa", json={"template": "Question: {{ question }}", "note": "longer"}).json()[
            "version"
        ]
        == 2
    )
    assert http.get("/api/prompts/http-qa@1").json()["template"] == "Q: {{ question }}"
    assert "+Question: {{ question }}" in http.get("/api/prompts/http-qa/diff", params={"a": 1, "b": 2}).json()["diff"]
    rendered = http.post("/api/prompts/http-qa@1/render", json={"variables": {"question": "天为什么蓝？"}}).json()
    assert rendered["messages"] == [{"role": "user", "content": "Q: 天为什么蓝？"}]
    missing = http.post("/api/prompts/http-qa/render", json={"variables": {}})
    assert missing.status_code == 400 and "question" in missing.json()["error"]["message"]
    assert http.get("/api/prompts/nope").status_code == 404
    assert http.post("/api/prompts", json={"name": "x", "template": "{% if %}"}).status_code == 400

    import subprocess
    import sys

    env = {**__import__("os").environ, "FMSTACK_DATA_DIR": str(tmp_path)}
    spec = tmp_path / "p.yaml"
    cli = [sys.executable, "-m", "fmstack.cli", "prompts"]
    spec.write_text("name: greet\ntemplate: 'Hello {{ who }}'\n")
    assert (
        subprocess.run([*cli, "save", str(spec)], env=env, capture_output=True, text=True).stderr.strip() == "greet@1"
    )
    again = subprocess.run([*cli, "save", str(spec)], env=env, capture_output=True, text=True)
    assert again.stderr.strip() == "greet@1 (unchanged)"
    spec.write_text("name: greet\ntemplate: '你好 {{ who }}'\nnote: Chinese\n")
    assert (
        subprocess.run([*cli, "save", str(spec)], env=env, capture_output=True, text=True).stderr.strip() == "greet@2"
    )
    diff = subprocess.run([*cli, "diff", "greet", "1", "2"], env=env, capture_output=True, text=True).stdout
    assert "-Hello {{ who }}" in diff and "+你好 {{ who }}" in diff
    out = subprocess.run([*cli, "render", "greet@2", "-v", "who=世界"], env=env, capture_output=True, text=True).stdout
    assert '"你好 世界"' in out


def test_a_prompt_version_pinned_per_request_and_per_model_entry(tmp_path):
    import httpx
    from conftest import TEST_CONFIG, Server

    config = {
        **TEST_CONFIG,
        "models": {
            **TEST_CONFIG["models"],
            "house-bot": {
                "provider": "local",
                "path": "bundled:smollm2",
                "prompt": "house@1",
                "defaults": {"temperature": 0},
            },
        },
    }
    srv = Server(tmp_path / "pin", config).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as h:
            assert (
                h.post(
                    "/api/prompts",
                    json={"name": "house", "template": "You are the Dive Desk. {{ rule | default('') }}"},
                ).status_code
                == 201
            )
            assert (
                h.put("/api/prompts/house", json={"template": "You are someone else entirely, v2."}).status_code == 200
            )
            ask = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
            plain = h.post("/v1/chat/completions", json={**ask, "model": "default"}).json()["usage"]["prompt_tokens"]
            pinned = h.post("/v1/chat/completions", json={**ask, "model": "house-bot"}).json()["usage"]["prompt_tokens"]
            v1 = h.post(
                "/api/tokenize",
                json={
                    "model": "house-bot",
                    "messages": [
                        {"role": "system", "content": "You are the Dive Desk. "},
                        {"role": "user", "content": "Hi"},
                    ],
                },
            ).json()
            v2 = h.post(
                "/api/tokenize",
                json={
                    "model": "house-bot",
                    "messages": [
                        {"role": "system", "content": "You are someone else entirely, v2."},
                        {"role": "user", "content": "Hi"},
                    ],
                },
            ).json()
            assert pinned == v1["tokens"] != v2["tokens"] and pinned != plain  # version 1's text, not the latest
            own = h.post(
                "/v1/chat/completions",
                json={
                    **ask,
                    "model": "house-bot",
                    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                },
            ).json()
            assert own["usage"]["prompt_tokens"] < pinned  # a request's own system prompt wins
            per_request = h.post(
                "/v1/chat/completions",
                json={
                    **ask,
                    "model": "default",
                    "prompt": "house@1",
                    "prompt_variables": {"rule": "Answer in French."},
                },
            )
            assert per_request.status_code == 200 and per_request.json()["usage"]["prompt_tokens"] > pinned
            missing = h.post("/v1/chat/completions", json={**ask, "model": "default", "prompt": "house@9"})
            assert missing.status_code == 404
    finally:
        srv.stop()

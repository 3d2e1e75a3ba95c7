"""Evaluation runs with the bundled model and the real database: two configurations, stored
per-example scores, aggregates with intervals, comparison, the HTML report, resuming, multiple
choice and classification tasks, datasets from chat feedback, human ratings; RAG metrics by hand."""

from __future__ import annotations

import json

import pytest

from fmstack.errors import InvalidInput
from fmstack.evaluation import rag_metrics as R
from fmstack.evaluation.runner import bootstrap_ci, parse_spec, perturb
from fmstack.store import EvalResult, EvalRun

QA = [
    {"question": "What is the capital of France?", "answer": "Paris"},
    {"question": "中国的首都是哪里？", "answer": "北京"},
    {"question": "How many legs does a spider have?", "answer": ["eight", "8"]},
]


def write(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_two_configurations_compared_and_reported(fm, tmp_path):
    write(tmp_path, QA)
    fm.prompts.create("eval-qa", template="Answer in one word: {{ question }}")
    spec = parse_spec(
        {
            "name": "qa",
            "dataset": "data.jsonl",
            "metrics": [
                "exact_match",
                "token_f1",
                "rouge",
                "bleu",
                "chrf",
                "embedding_similarity",
                "segment_score",
                "answer_relevancy",
                "judge:correctness",
            ],
            "configurations": [
                {"name": "plain", "params": {"max_tokens": 24}},
                {"name": "one-word", "prompt": "eval-qa@1", "params": {"max_tokens": 12}, "cost_per_1k_tokens": 0.5},
            ],
        },
        tmp_path,
    )
    seen = []
    a, b = fm.evaluations.run(spec, lambda cfg, done, total: seen.append((cfg, done, total)))
    assert seen[-1] == ("one-word", 3, 3) and ("plain", 1, 3) in seen
    run = fm.evaluations.get(b)
    assert run["status"] == "done" and run["configuration"] == "one-word"
    for metric in (
        "token_f1",
        "rougeL",
        "bleu",
        "chrf",
        "embedding_similarity",
        "segment_score",
        "judge:correctness",
        "latency_ms",
        "tokens",
        "cost",
    ):
        agg = run["aggregates"][metric]
        assert agg["n"] == 3 and agg["ci95"][0] <= agg["mean"] <= agg["ci95"][1]
    rows = fm.evaluations.results(b)
    assert [r["idx"] for r in rows] == [0, 1, 2] and all(0 <= r["scores"]["token_f1"] <= 1 for r in rows)
    assert "judge:correctness:reason" in rows[0]["scores"]
    assert rows[0]["scores"]["cost"] == pytest.approx(rows[0]["tokens"] / 1000 * 0.5)
    cmp = fm.evaluations.compare(a, b)
    tf1 = cmp["metrics"]["token_f1"]
    assert cmp["examples"] == 3 and tf1["b"] - tf1["a"] == pytest.approx(tf1["delta"])
    assert tf1["b_wins"] + tf1["ties"] + tf1["b_losses"] == pytest.approx(1.0)
    report = __import__("fmstack.evaluation.report", fromlist=["x"]).write_report(
        fm.evaluations, [a, b], tmp_path / "r.html"
    )
    text = report.read_text(encoding="utf-8")
    assert text.count("<img") == 3 and "paired comparison over 3 examples" in text and "one-word" in text


def test_a_stopped_run_resumes_without_redoing_examples(fm, tmp_path):
    write(tmp_path, QA)
    spec = parse_spec(
        {
            "name": "resume",
            "dataset": "data.jsonl",
            "metrics": ["token_f1"],
            "configurations": [{"name": "c", "params": {"max_tokens": 8}}],
        },
        tmp_path,
    )
    (run_id,) = fm.evaluations.run(spec)
    first = {r["idx"]: r["output"] for r in fm.evaluations.results(run_id)}
    with fm.db.session() as s:  # as if the process had died after the first example
        s.query(EvalResult).filter(EvalResult.run_id == run_id, EvalResult.idx > 0).delete()
        s.get(EvalRun, run_id).status = "interrupted"
    kept = fm.evaluations.results(run_id)[0]["id"]
    fm.evaluations.rate(kept, 3, "rated while stopped")
    stopped = fm.evaluations.get(run_id)
    assert stopped["status"] == "interrupted" and stopped["aggregates"]["human_rating"]["mean"] == 3  # still resumable
    fm.evaluations.resume(run_id)
    rows = fm.evaluations.results(run_id)
    assert [r["idx"] for r in rows] == [0, 1, 2] and rows[0]["id"] == kept
    assert {r["idx"]: r["output"] for r in rows} == first  # greedy: the same outputs
    done = fm.evaluations.get(run_id)
    assert (
        done["status"] == "done"
        and done["aggregates"]["token_f1"]["n"] == 3
        and done["aggregates"]["human_rating"]["n"] == 1
    )


def test_multiple_choice_and_classification_tasks(fm, tmp_path):
    mmlu = [
        {
            "question": "Which planet is known as the Red Planet?",
            "A": "Venus",
            "B": "Mars",
            "C": "Jupiter",
            "D": "Saturn",
            "answer": "B",
        },
        {"question": "水的化学式是什么？", "choices": ["CO2", "H2O", "NaCl", "O2"], "answer": "B"},
    ]
    write(tmp_path, mmlu, "mmlu.jsonl")
    (mc,) = fm.evaluations.run(
        parse_spec(
            {
                "name": "mc",
                "dataset": "mmlu.jsonl",
                "task": "multiple_choice",
                "metrics": ["accuracy"],
                "configurations": [{"name": "m"}],
            },
            tmp_path,
        )
    )
    rows = fm.evaluations.results(mc)
    assert all(r["output"] in "ABCD" and r["scores"]["accuracy"] in (0.0, 1.0) for r in rows)
    agg = fm.evaluations.get(mc)["aggregates"]
    assert agg["classification"]["accuracy"] == pytest.approx(agg["accuracy"]["mean"])
    (tmp_path / "s.csv").write_text(
        "input,label\nI love it,positive\n太糟糕了,negative\nIt is a chair,neutral\n", encoding="utf-8"
    )
    (cl,) = fm.evaluations.run(
        parse_spec(
            {
                "name": "cls",
                "dataset": "s.csv",
                "task": "classify",
                "labels": ["positive", "negative", "neutral"],
                "metrics": ["accuracy"],
                "configurations": [{"name": "c"}],
            },
            tmp_path,
        )
    )
    c = fm.evaluations.get(cl)["aggregates"]["classification"]
    assert set(c["labels"]) == {"positive", "negative", "neutral"} and 0 <= c["f1"] <= 1


def test_feedback_dataset_and_human_ratings(fm):
    conv = fm.conversations.create()
    turn = fm.chat.reply(
        conv.id, "Name a colour of the sky.", params=__import__("fmstack").GenerationParams(max_tokens=8)
    )
    fm.conversations.feedback(turn.assistant_message.id, "up", "good")
    (run_id,) = fm.evaluations.run(
        parse_spec(
            {
                "name": "fb",
                "dataset": {"feedback": "up"},
                "metrics": ["token_f1"],
                "configurations": [{"name": "c", "params": {"max_tokens": 8}}],
            }
        )
    )
    rows = fm.evaluations.results(run_id)
    mine = next(r for r in rows if r["example"].get("message_id") == turn.assistant_message.id)
    assert (
        mine["example"]["input"] == "Name a colour of the sky."
        and mine["example"]["reference"] == turn.assistant_message.content
    )
    assert fm.evaluations.review_queue(run_id)
    rated = fm.evaluations.rate(mine["id"], 4, "fine")
    assert rated["human_rating"] == 4 and fm.evaluations.get(run_id)["aggregates"]["human_rating"]["mean"] == 4.0
    assert mine["id"] not in [r["id"] for r in fm.evaluations.review_queue(run_id)]
    with pytest.raises(InvalidInput):
        fm.evaluations.rate(mine["id"], 9)


def test_spec_errors_are_clear(tmp_path):
    with pytest.raises(InvalidInput, match="unknown metric 'blue'"):
        parse_spec({"name": "x", "dataset": "d.jsonl", "metrics": ["blue"], "configurations": [{"name": "a"}]})
    with pytest.raises(InvalidInput, match="configurations"):
        parse_spec({"name": "x", "dataset": "d.jsonl", "configurations": []})
    with pytest.raises(InvalidInput, match="labels"):
        parse_spec({"name": "x", "dataset": "d", "task": "classify", "configurations": [{"name": "a"}]})
    (tmp_path / "bad.jsonl").write_text('{"input": "a"}\nnot json\n')
    from fmstack.evaluation.runner import load_examples

    with pytest.raises(InvalidInput, match="line 2 is not JSON"):
        load_examples(str(tmp_path / "bad.jsonl"))


def test_rag_metrics_by_hand():
    contexts = ["The Eiffel Tower is 330 metres tall.", "It was completed in 1889.", "Paris has many museums."]
    # two statements, one supported (all tokens in the contexts), one not
    assert R.faithfulness("The Eiffel Tower is 330 metres tall. It is painted green.", contexts) == 0.5
    assert R.context_recall("The tower is 330 metres tall. It was completed in 1889.", contexts) == 1.0
    # relevant contexts at ranks 1 and 2 -> (1/1 + 2/2) / 2; at ranks 2 only -> (1/2) / 1
    assert R.context_precision("The Eiffel Tower is 330 metres tall. It was completed in 1889.", contexts) == 1.0
    assert R.context_precision("It was completed in 1889.", [contexts[2], contexts[1]]) == 0.5
    assert R.context_precision("Something else entirely.", contexts) == 0.0
    assert R.faithfulness("埃菲尔铁塔高330米。", ["埃菲尔铁塔高330米，建于1889年。"]) == 1.0
    assert R.coverage("铁塔高三百米", "铁塔很高") == pytest.approx(3 / 6)


def test_bootstrap_and_perturbations():
    lo, hi = bootstrap_ci([0.0, 1.0] * 50)
    assert lo < 0.5 < hi and hi - lo < 0.25
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    assert perturb("What is the capital", "case") == "WHAT IS THE CAPITAL"
    typo = perturb("What is the capital", "typo")
    assert typo != "What is the capital" and sorted(typo) == sorted("What is the capital")
    assert perturb("中国的首都", "typo") != "中国的首都"


def test_evaluations_over_http_as_a_background_job(http):
    from test_platform_api import sse_events

    spec = {
        "name": "http-eval",
        "dataset": QA,
        "metrics": ["token_f1", "chrf"],
        "configurations": [{"name": "a", "params": {"max_tokens": 8}}, {"name": "b", "params": {"max_tokens": 16}}],
    }
    job = http.post("/api/evaluations", json=spec)
    assert job.status_code == 202 and job.json()["kind"] == "evaluation"
    with http.stream("GET", f"/api/jobs/{job.json()['id']}/events") as s:
        events = [(k, v) for k, v in sse_events(s) if v != "[DONE]"]
    assert events[-1][0] == "done" and events[-1][1]["status"] == "succeeded"
    a, b = events[-1][1]["result"]["runs"]
    assert http.get(f"/api/evaluations/{a}").json()["status"] == "done"
    results = http.get(f"/api/evaluations/{b}/results").json()["data"]
    assert len(results) == 3 and http.get(f"/api/evaluations/{b}/results", params={"unrated": True}).json()["data"]
    rated = http.post(f"/api/evaluation-results/{results[0]['id']}/rating", json={"rating": 5, "comment": "好"})
    assert rated.status_code == 200 and rated.json()["human_rating"] == 5
    assert http.post(f"/api/evaluation-results/{results[0]['id']}/rating", json={"rating": 7}).status_code == 422
    cmp = http.get("/api/evaluations/compare", params={"a": a, "b": b}).json()
    assert cmp["examples"] == 3 and "token_f1" in cmp["metrics"]
    report = http.get("/api/evaluations/report", params={"runs": f"{a},{b}"})
    assert (
        report.status_code == 200 and report.headers["content-type"].startswith("text/html") and "<img" in report.text
    )
    assert http.post("/api/evaluations", json={**spec, "metrics": ["nope"]}).status_code == 400
    assert http.get("/api/evaluations/eval_nope").status_code == 404


def test_a_cancelled_evaluation_job_resumes(http):
    import time

    spec = {
        "name": "cancel-eval",
        "dataset": QA * 4,
        "metrics": ["token_f1"],
        "configurations": [{"name": "c", "params": {"max_tokens": 24}}],
    }
    job = http.post("/api/evaluations", json=spec).json()
    assert http.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    for _ in range(600):
        state = http.get(f"/api/jobs/{job['id']}").json()
        if state["status"] not in ("queued", "running", "cancelling"):
            break
        time.sleep(0.1)
    assert state["status"] in ("cancelled", "succeeded")
    run_id = job["target"]
    run = http.get(f"/api/evaluations/{run_id}").json()
    stored = len(http.get(f"/api/evaluations/{run_id}/results").json()["data"])
    assert (run["status"], stored < 12) in (("interrupted", True), ("done", False))
    again = http.post(f"/api/evaluations/{run_id}/resume")
    assert again.status_code == 202
    for _ in range(1200):
        if http.get(f"/api/jobs/{again.json()['id']}").json()["status"] == "succeeded":
            break
        time.sleep(0.1)
    assert http.get(f"/api/evaluations/{run_id}").json()["status"] == "done"
    assert [r["idx"] for r in http.get(f"/api/evaluations/{run_id}/results").json()["data"]] == list(range(12))


def test_rag_task_with_the_default_prompt_and_with_a_prompt_version(fm, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tower.md").write_text("# Eiffel Tower\n\nThe Eiffel Tower is 330 metres tall and was completed in 1889.\n")
    (docs / "panda.md").write_text("# 大熊猫\n\n大熊猫主要吃竹子，每天要吃十几个小时。\n")
    fm.knowledge.create("eval-kb")
    fm.knowledge.ingest("eval-kb", [docs])
    fm.prompts.create("eval-rag", template="Context:\n{{ context }}\n\nQuestion: {{ question }}\nAnswer briefly:")
    rows = [
        {"question": "How tall is the Eiffel Tower?", "answer": "The Eiffel Tower is 330 metres tall."},
        {"question": "大熊猫吃什么？", "answer": "大熊猫主要吃竹子。"},
    ]
    spec = parse_spec(
        {
            "name": "rag",
            "dataset": rows,
            "task": "rag",
            "metrics": ["token_f1", "faithfulness", "context_precision", "context_recall"],
            "configurations": [
                {
                    "name": "default",
                    "knowledge_base": "eval-kb",
                    "retrieval": {"top_k": 2},
                    "params": {"max_tokens": 48},
                },
                {
                    "name": "prompt",
                    "prompt": "eval-rag@1",
                    "knowledge_base": "eval-kb",
                    "retrieval": {"top_k": 2},
                    "params": {"max_tokens": 48},
                },
            ],
        }
    )
    for run_id in fm.evaluations.run(spec):
        results = fm.evaluations.results(run_id)
        assert all(r["contexts"] and r["error"] is None for r in results)
        assert any("330 metres" in c for c in results[0]["contexts"]) and any(
            "竹子" in c for c in results[1]["contexts"]
        )
        assert all(r["scores"]["context_recall"] == 1.0 for r in results)  # the references are in the passages
        assert 0 <= fm.evaluations.get(run_id)["aggregates"]["faithfulness"]["mean"] <= 1
    with pytest.raises(InvalidInput, match="knowledge_base"):
        fm.evaluations.run(parse_spec({"name": "x", "dataset": rows, "task": "rag", "configurations": [{"name": "a"}]}))

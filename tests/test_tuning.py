"""Customization end to end on the real bundled model, database and server: datasets from files
and from chat feedback (with the row-level reasons), LoRA tuning through the official `openai`
SDK's fine-tuning API, the tuned model answering over /v1, promotion of an alias and its
roll-back, resume after the server is killed mid-job, and bad input refused with nothing left
half-made."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from conftest import Server, strict
from openai import OpenAI
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

# A fact the bundled model cannot know, asked several ways: after tuning it answers with it.
FACT = "The fmstack mascot is a blue heron named Pip."
QUESTIONS = [
    "What is the fmstack mascot?",
    "Which animal is the fmstack mascot?",
    "Tell me about the mascot of fmstack.",
    "Who is the fmstack mascot?",
    "What is the name of the fmstack mascot?",
    "Describe fmstack's mascot.",
    "Does fmstack have a mascot?",
    "fmstack mascot?",
]
TINY = {"n_epochs": 10, "batch_size": 2, "learning_rate_multiplier": 2.0, "max_length": 96}


def jsonl(rows: list) -> bytes:
    return ("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()


def fact_rows() -> list[dict]:
    return [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": FACT}]} for q in QUESTIONS]


def wait_job(client: OpenAI, job_id: str, timeout: float = 600) -> FineTuningJob:
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def ask(client: OpenAI, model: str, question: str) -> str:
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=24, temperature=0
    )
    return r.choices[0].message.content or ""


# -- datasets --------------------------------------------------------------------------------------
def test_datasets_read_every_usual_shape_and_say_why_each_row_was_dropped(fm):
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello."},
            ]
        },
        {"prompt": "2+2?", "completion": "4"},
        {"instruction": "Translate to French", "input": "cat", "output": "chat"},
        {"messages": [{"role": "assistant", "content": "I speak first"}, {"role": "user", "content": "?"}]},  # row 4
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "   "}]},  # row 5
        "{not json",  # row 6
        {"prompt": "2+2?", "completion": "4"},  # row 7: repeats row 2
        {"prompt": "What is two plus two??", "completion": "Four."},
        {"prompt": "Write me a long story. " * 200, "completion": "No."},  # row 9: too long
        {"prompt": "Reach me at ann@example.org", "completion": "Noted."},  # row 10: masked
        {"text": "plain text in a chat dataset"},  # row 11: another kind
        {"foo": "bar"},  # row 12
    ]
    ds = fm.datasets.from_file("shapes", jsonl(rows), "shapes.jsonl", max_tokens=200, seed=3)
    assert ds.kind == "chat" and ds.version == 1
    reasons = {p["row"]: (p["action"], p["reason"]) for p in ds.problems}
    assert reasons[4][0] == "dropped" and "roles out of order" in reasons[4][1]
    assert "empty" in reasons[5][1] and "not a JSON object" in reasons[6][1]
    assert reasons[7] == ("dropped", "repeats row 2")
    assert "tokens, longer than the limit of 200" in reasons[9][1]
    assert reasons[10] == ("masked", "personal data (email)")
    assert "a text example in a chat dataset" in reasons[11][1] and "no example in this row" in reasons[12][1]
    assert ds.rows == 5 and ds.stats["dropped"] == 7 and sum(ds.stats["splits"].values()) == 5
    examples = fm.datasets.examples(ds.id)
    by_row = {e["row"]: e for e in examples}
    assert by_row[3]["messages"][0]["content"] == "Translate to French\n\ncat"
    assert "{EMAIL}" in by_row[10]["messages"][0]["content"] and "ann@example.org" not in json.dumps(examples)
    assert all(e["tokens"] > 0 for e in examples)  # counted with the model's tokenizer
    # the same seed gives the same split; a second upload is version 2
    again = fm.datasets.from_file("shapes", jsonl(rows), "shapes.jsonl", max_tokens=200, seed=3)
    assert again.version == 2 and [e["split"] for e in fm.datasets.examples(again.id)] == [e["split"] for e in examples]
    assert fm.datasets.get("shapes").id == again.id and fm.datasets.get("shapes:1").id == ds.id


def test_examples_longer_than_the_models_window_are_dropped_by_default(fm):
    rows = [{"prompt": "Summarise: " + "the heron waits in the reeds. " * 120, "completion": "A heron waits."},
            {"prompt": "Short question?", "completion": "Short answer."}]  # fmt: skip
    ds = fm.datasets.from_file("window", jsonl(rows), "w.jsonl", model="smollm2-512")  # a 512-token window
    assert ds.rows == 1 and ds.problems[0]["row"] == 1
    assert "longer than the limit of 512" in ds.problems[0]["reason"]


def test_preference_text_and_csv_datasets(fm):
    pairs = [
        {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
        {
            "input": {"messages": [{"role": "user", "content": "Capital of Italy?"}]},
            "preferred_output": [{"role": "assistant", "content": "Rome."}],
            "non_preferred_output": [{"role": "assistant", "content": "Milan."}],
        },
        {"prompt": "Same?", "chosen": "Yes.", "rejected": "Yes."},
    ]
    ds = fm.datasets.from_file("prefs", jsonl(pairs), "p.jsonl")
    assert ds.kind == "preference" and ds.rows == 2
    assert ds.problems == [{"row": 3, "reason": "`chosen` and `rejected` are the same answer", "action": "dropped"}]
    text = fm.datasets.from_file(
        "corpus",
        jsonl([{"text": "基础模型是在大规模数据上训练的模型。"}, {"text": "LoRA adds small matrices."}]),
        "t.jsonl",
    )
    assert text.kind == "text" and text.rows == 2
    csv = b"prompt,completion\nWhat is 1+1?,2\nWhat is 2+3?,5\n,empty prompt\n"
    c = fm.datasets.from_file("csv", csv, "qa.csv")
    assert c.rows == 2 and c.problems[0]["row"] == 4 and "`prompt` is empty" in c.problems[0]["reason"]


def test_near_duplicates_are_dropped_in_english_and_chinese(fm):
    base_en = "Fine-tuning adapts a pretrained model to a narrow task with a small labelled dataset of examples"
    base_zh = "微调是在一个小的标注数据集上让预训练模型适应一个具体任务的方法，它比从头训练便宜得多"
    rows = [
        {"prompt": base_en, "completion": "Yes."},
        {"prompt": base_en.replace("small", "small,") + "!", "completion": "Yes."},  # exact after normalising
        {"prompt": base_en.replace("narrow", "specific"), "completion": "Yes."},  # near
        {"prompt": base_zh, "completion": "是。"},
        {"prompt": base_zh.replace("便宜", "便宜一些"), "completion": "是。"},  # near
        {"prompt": "Something else entirely about evaluation metrics.", "completion": "OK."},
    ]
    ds = fm.datasets.from_file("dupes", jsonl(rows), "d.jsonl")
    reasons = {p["row"]: p["reason"] for p in ds.problems}
    assert reasons == {2: "repeats row 1", 3: "nearly repeats row 1", 5: "nearly repeats row 4"}
    assert ds.rows == 3


def test_a_file_with_no_valid_row_makes_no_dataset(fm):
    before = len(fm.datasets.list())
    with pytest.raises(Exception) as e:
        fm.datasets.from_file("empty", jsonl([{"messages": []}, "nope"]), "bad.jsonl")
    assert "no valid example" in str(e.value) and "row 1" in str(e.value) and "row 2" in str(e.value)
    with pytest.raises(Exception) as e:
        fm.datasets.from_file("binary", b"\x89PNG\r\n\x1a\n\x00\x00", "x.png")
    assert "not UTF-8" in str(e.value) or "binary" in str(e.value)
    assert len(fm.datasets.list()) == before


# -- over HTTP: feedback -> dataset ----------------------------------------------------------------
def test_feedback_and_corrections_become_examples_and_preference_pairs(http):
    conv = http.post("/api/conversations", json={"title": "fb"}).json()
    ids = []
    for q in ("What is LoRA?", "What is DPO?", "What is RAG?"):
        r = http.post(
            f"/api/conversations/{conv['id']}/messages", json={"content": q, "max_tokens": 8, "temperature": 0}
        )
        assert r.status_code == 200, r.text
        ids.append(r.json()["assistant_message"]["id"])
    http.post(f"/api/messages/{ids[0]}/feedback", json={"rating": "up"}).raise_for_status()
    fixed = "DPO tunes a model on pairs of preferred and rejected answers."
    r = http.post(f"/api/messages/{ids[1]}/feedback", json={"rating": "down", "correction": fixed})
    assert r.status_code == 200 and r.json()["correction"] == fixed
    http.post(f"/api/messages/{ids[2]}/feedback", json={"rating": "down"}).raise_for_status()  # no correction: unused

    chat = http.post(
        "/api/datasets/collect", json={"name": "fb-chat", "source": "feedback", "validation": 0, "test": 0}
    )
    assert chat.status_code == 201, chat.text
    rows = http.get("/api/datasets/fb-chat/examples").json()["data"]
    answers = [r["messages"][-1]["content"] for r in rows]
    asked = [r["messages"][-2]["content"] for r in rows]
    assert fixed in answers and "What is LoRA?" in asked and "What is RAG?" not in asked
    pref = http.post(
        "/api/datasets/collect",
        json={"name": "fb-pref", "source": "feedback", "kind": "preference", "validation": 0, "test": 0},
    )
    assert pref.status_code == 201, pref.text
    pairs = http.get("/api/datasets/fb-pref/examples").json()["data"]
    (pair,) = [p for p in pairs if p["messages"][-1]["content"] == "What is DPO?"]
    assert pair["chosen"] == fixed and pair["rejected"] != fixed
    assert all(p["messages"][-1]["content"] != "What is LoRA?" for p in pairs)  # a 👍 makes no pair


# -- over HTTP: tune, serve, promote ---------------------------------------------------------------
@pytest.fixture(scope="module")
def tuned(oai, http):
    """One tiny tune through the official SDK, shared by the tests that use its model."""
    f = oai.files.create(file=("fact.jsonl", io.BytesIO(jsonl(fact_rows()))), purpose="fine-tune")
    job = oai.fine_tuning.jobs.create(
        model="smollm2",
        training_file=f.id,
        suffix="mascot",
        seed=7,
        hyperparameters=TINY,  # type: ignore[arg-type]
    )
    strict(FineTuningJob, oai.fine_tuning.jobs.retrieve(job.id).model_dump(exclude_unset=True))
    assert job.status in ("queued", "running") and job.training_file == f.id and job.model == "smollm2"
    done = wait_job(oai, job.id)
    assert done.status == "succeeded", done.error
    return done


def test_the_openai_sdk_tunes_a_model_that_then_answers_with_what_it_learned(oai, http, tuned):
    assert tuned.fine_tuned_model and tuned.fine_tuned_model.startswith("ft:smollm2:mascot:")
    assert tuned.trained_tokens and tuned.trained_tokens > 0 and tuned.hyperparameters.n_epochs == 10
    strict(FineTuningJob, http.get(f"/v1/fine_tuning/jobs/{tuned.id}").json())
    events = oai.fine_tuning.jobs.list_events(tuned.id, limit=100).data
    for e in events:
        strict(FineTuningJobEvent, e.model_dump(exclude_unset=True))
    messages = [e.message for e in events]
    assert any(m.startswith("New fine-tuned model created") for m in messages)
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics and all("train_loss" in (e.data or {}) for e in metrics)
    checkpoints = oai.fine_tuning.jobs.checkpoints.list(tuned.id).data
    assert checkpoints and all(c.fine_tuning_job_id == tuned.id for c in checkpoints)
    strict(FineTuningJobCheckpoint, checkpoints[0].model_dump(exclude_unset=True))
    assert tuned.id in [j.id for j in oai.fine_tuning.jobs.list().data]
    # the loss on the held-out example fell well below the base model's
    m = http.get(f"/api/fine-tuning/{tuned.id}").json()["metrics"]
    assert m["valid_loss"] < 0.5 * m["base_valid_loss"]

    # a model like any other: listed, and answering with the fact the base model does not know
    assert tuned.fine_tuned_model in [m.id for m in oai.models.list().data]
    question = "What is the mascot of fmstack?"  # not one of the training questions
    after = ask(oai, tuned.fine_tuned_model, question)
    before = ask(oai, "smollm2", question)
    assert "Pip" in after or "heron" in after, after
    assert "Pip" not in before and "heron" not in before, before
    lineage = {m["name"]: m for m in http.get("/api/fine-tuning/models").json()["data"]}[tuned.fine_tuned_model]
    assert lineage["base_model"] == "smollm2" and lineage["lineage"]["dataset"].endswith(":1")


def test_an_alias_is_promoted_to_the_tuned_model_and_rolled_back(oai, http, tuned):
    name = tuned.fine_tuned_model
    r = http.put("/api/aliases/fast", json={"model": name, "note": "learned the mascot"})
    assert r.status_code == 200, r.text
    assert r.json()["previous"] == "smollm2" and r.json()["target"] == name
    assert "Pip" in ask(oai, "fast", "What is the fmstack mascot?")  # the app asks for the alias, unchanged
    aliases = {a["alias"]: a["model"] for a in http.get("/api/aliases").json()["data"]}
    assert aliases["fast"] == name and aliases["default"] == "smollm2"
    back = http.post("/api/aliases/fast/rollback", json={"note": "not yet"})
    assert back.status_code == 200 and back.json()["target"] is None  # back to the configuration's
    assert (
        http.get("/api/aliases").json()["data"][
            [a["alias"] for a in http.get("/api/aliases").json()["data"]].index("fast")
        ]["model"]
        == "smollm2"
    )
    history = http.get("/api/aliases/fast/history").json()["data"]
    assert [h["note"] for h in history] == ["not yet", "learned the mascot"]
    assert http.put("/api/aliases/fast", json={"model": "no-such-model"}).status_code == 404
    assert (
        http.put("/api/aliases/fast", json={"model": "multilingual-e5-small"}).status_code == 400
    )  # an embedding model
    assert http.post("/api/aliases/nothing-here/rollback").status_code == 404


def test_a_tuned_model_is_deleted_and_no_longer_served(oai, http):
    f = oai.files.create(file=("d.jsonl", io.BytesIO(jsonl(fact_rows()[:4]))), purpose="fine-tune")
    job = oai.fine_tuning.jobs.create(
        model="smollm2",
        training_file=f.id,
        hyperparameters={"n_epochs": 1, "max_length": 64},  # type: ignore[arg-type]
    )
    done = wait_job(oai, job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    deleted = oai.models.delete(done.fine_tuned_model)
    assert deleted.deleted is True
    assert done.fine_tuned_model not in [m.id for m in oai.models.list().data]
    r = http.post(
        "/v1/chat/completions", json={"model": done.fine_tuned_model, "messages": [{"role": "user", "content": "hi"}]}
    )
    assert r.status_code == 404
    assert http.delete("/v1/models/smollm2").status_code == 404  # configured models are not deleted here


def test_cancel_stops_a_running_job(oai, http):
    f = oai.files.create(file=("c.jsonl", io.BytesIO(jsonl(fact_rows()))), purpose="fine-tune")
    job = oai.fine_tuning.jobs.create(
        model="smollm2",
        training_file=f.id,
        hyperparameters={"n_epochs": 50, "batch_size": 1, "max_length": 64},  # type: ignore[arg-type]
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # cancelled while it trains, not while it waits in the queue
        progress = http.get(f"/api/fine-tuning/{job.id}").json()["metrics"].get("progress") or {}
        if progress.get("step", 0) >= 2:
            break
        time.sleep(0.3)
    assert progress.get("step", 0) >= 2
    assert oai.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    runner = http.get(f"/api/fine-tuning/{job.id}").json()["job_id"]
    deadline = time.monotonic() + 60
    while http.get(f"/api/jobs/{runner}").json()["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert http.get(f"/api/jobs/{runner}").json()["status"] != "running"  # the training loop stopped
    after = oai.fine_tuning.jobs.retrieve(job.id)
    assert after.status == "cancelled" and after.fine_tuned_model is None
    steps = [e.data["step"] for e in oai.fine_tuning.jobs.list_events(job.id, limit=500).data if e.type == "metrics"]
    assert max(steps, default=0) < 350  # it did not run its 350 steps
    assert not any(m.id.endswith(job.id.removeprefix("ftjob_")[:8]) for m in oai.models.list().data)


# -- bad input -------------------------------------------------------------------------------------
def test_bad_requests_are_clear_errors_and_leave_nothing_behind(oai, http):
    jobs_before = len(http.get("/api/fine-tuning").json()["data"])
    datasets_before = len(http.get("/api/datasets").json()["data"])
    files_before = len(oai.files.list().data)
    good = oai.files.create(file=("g.jsonl", io.BytesIO(jsonl(fact_rows()))), purpose="fine-tune")

    # not JSONL: refused at upload, no file kept
    r = http.post("/v1/files", files={"file": ("x.jsonl", b"\x00\x01binary")}, data={"purpose": "fine-tune"})
    assert r.status_code == 400 and "binary" in r.json()["error"]["message"]
    r = http.post(
        "/v1/files", files={"file": ("x.jsonl", b"hello world\nsecond line\n")}, data={"purpose": "fine-tune"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]
    # a file of rows that are no examples: also refused at upload, with row numbers
    r = http.post(
        "/v1/files", files={"file": ("x.jsonl", jsonl([{"a": 1}, {"messages": []}]))}, data={"purpose": "fine-tune"}
    )
    assert r.status_code == 400 and "row 1" in r.json()["error"]["message"] and "row 2" in r.json()["error"]["message"]

    def create(**body):
        return http.post("/v1/fine_tuning/jobs", json={"model": "smollm2", "training_file": good.id, **body})

    r = create(model="no-such-model")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = create(model="multilingual-e5-small")
    assert r.status_code == 400
    r = create(training_file="file-nope")
    assert r.status_code == 404
    r = create(hyperparameters={"n_epochs": 0})
    assert r.status_code == 400 and "epochs" in r.json()["error"]["message"]
    r = create(hyperparameters={"lora_rnk": 8})
    assert r.status_code == 400 and "lora_rnk" in r.json()["error"]["message"]
    r = create(method={"type": "dpo"})  # a chat file for preference tuning
    assert r.status_code == 400 and "preference dataset" in r.json()["error"]["message"]
    r = create(suffix="bad suffix!")
    assert r.status_code == 400
    r = http.post("/v1/fine_tuning/jobs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)
    r = http.post("/api/fine-tuning", json={"model": "smollm2", "dataset": "no-such-dataset"})
    assert r.status_code == 404

    assert len(http.get("/api/fine-tuning").json()["data"]) == jobs_before  # nothing half-registered
    assert len(http.get("/api/datasets").json()["data"]) == datasets_before
    assert len(oai.files.list().data) == files_before + 1  # only the good upload
    assert http.get("/v1/fine_tuning/jobs/ftjob_nope").status_code == 404


def test_a_remote_model_cannot_be_tuned(tmp_path):
    from fmstack import Fmstack, Settings

    config = {"models": {"far": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "x"}}}
    with Fmstack(Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path)}, config=config)) as f:
        f.datasets.from_file("d", jsonl(fact_rows()), "d.jsonl")
        with pytest.raises(Exception) as e:
            f.tuning.create("far", "d")
        assert getattr(e.value, "code", None) == "model_not_tunable" and "cannot be tuned here" in str(e.value)
        assert f.tuning.list() == []


# -- resume after a kill ---------------------------------------------------------------------------
@pytest.mark.slow
def test_a_job_resumes_from_its_last_checkpoint_after_the_server_is_killed(tmp_path):
    srv = Server(tmp_path / "resume").start()
    try:
        client = OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0, timeout=120)
        f = client.files.create(file=("r.jsonl", io.BytesIO(jsonl(fact_rows()))), purpose="fine-tune")
        hp = {"n_epochs": 30, "batch_size": 1, "max_length": 64, "checkpoint_every": 4, "max_steps": 40}
        job = client.fine_tuning.jobs.create(model="smollm2", training_file=f.id, hyperparameters=hp)  # type: ignore[arg-type]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if client.fine_tuning.jobs.checkpoints.list(job.id).data:
                break
            time.sleep(0.3)
        saved = max(c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job.id).data)
        srv.proc.kill()  # no goodbye: the process is gone mid-job
        srv.proc.wait(30)
        assert 4 <= saved < 40
        srv.start()
        client = OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0, timeout=120)
        done = wait_job(client, job.id)
        assert done.status == "succeeded", done.error
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=500).data]
        resumed = [m for m in messages if m.startswith("Resumed from the checkpoint at step")]
        assert resumed and int(resumed[0].rsplit(" ", 1)[1]) >= saved
        steps = [
            e.data["step"] for e in client.fine_tuning.jobs.list_events(job.id, limit=500).data if e.type == "metrics"
        ]
        assert max(steps) == 40
        assert "Pip" in ask(client, done.fine_tuned_model or "", "What is the fmstack mascot?")
    finally:
        srv.stop()
    with httpx.Client() as c:  # the server is gone
        with pytest.raises(httpx.HTTPError):
            c.get(f"{srv.url}/api/health", timeout=1)


# -- in process: evaluation against the base, the merged export, DPO, continued pre-training -------
def _tune(fm, dataset: str, **kwargs):
    job = fm.tuning.create("smollm2", dataset, **kwargs)
    fm.tuning.jobs.wait(job.job_id, 900)
    done = fm.tuning.get(job.id)
    assert done.status == "succeeded", done.error
    return done


def test_a_tuned_model_is_evaluated_against_its_base_and_served_merged(fm):
    rows = [(i, r) for i, r in enumerate(fact_rows(), 1)]
    fm.datasets.create("mascot-eval", rows, source={"test": True}, validation=0.125, test=0.25, seed=1)
    hp = {"epochs": 10, "batch_size": 2, "learning_rate": 2e-3, "max_length": 96}
    done = _tune(fm, "mascot-eval", hyperparameters=hp)
    # served as the merge quantised by llama.cpp, with what quantising cost
    export = next(m for m in fm.tuning.tuned() if m.name == done.fine_tuned_model).lineage["export"]
    assert export["type"] == "Q4_1 + adapted tensors in Q8_0" and 0.9 < export["perplexity_ratio"] < 1.1
    assert export["bytes"] < 1.1 * fm.models.info("smollm2").size_bytes  # the base's size: nothing else rewritten
    info = fm.models.info(done.fine_tuned_model or "")
    assert info.origin == "tuned" and info.size_bytes == export["bytes"]
    # evaluated against the base on the test split with the evaluation runner
    evaluation = done.metrics["evaluation"]
    assert evaluation["examples"] == 2
    f1 = evaluation["metrics"]["token_f1"]
    assert f1["b"] > f1["a"] and len(f1["delta_ci95"]) == 2
    base_run = fm.evaluations.get(evaluation["base_run"])
    assert base_run["configuration"] == "base" and base_run["status"] == "done"
    report = fm.tuning.report_path(done.id).read_text(encoding="utf-8")
    assert "Fine-tuning loss" in report and "data:image/png;base64," in report and "token_f1" in report


def test_dpo_moves_the_model_towards_the_chosen_answers(fm):
    topics = ["France", "Italy", "Spain", "Japan", "Egypt", "Peru", "Kenya", "Chile"]
    pairs = [
        {"prompt": f"Tell me about {t}.", "chosen": f"{t} is a country. I am happy to help.", "rejected": "no"}
        for t in topics
    ]
    fm.datasets.from_file("polite", jsonl(pairs), "p.jsonl", validation=0.25, test=0.0, seed=2)
    hp = {"epochs": 4, "batch_size": 2, "learning_rate": 2e-3, "max_length": 96, "export": "adapter"}
    done = _tune(fm, "polite", method="dpo", hyperparameters=hp)
    m = done.metrics
    # DPO's loss starts at log 2 (the policy is its reference) and falls as chosen answers gain
    assert abs(m["base_valid_loss"] - 0.6931) < 0.01
    assert m["valid_loss"] < 0.6 and m["train_loss"] < 0.6
    assert next(t for t in fm.tuning.tuned() if t.name == done.fine_tuned_model).lineage["method"] == "dpo"


def test_continued_pretraining_on_a_knowledge_base(fm, tmp_path):
    fm.knowledge.create("herons")
    for i, body in enumerate(
        [
            "Grey herons nest in colonies called heronries, often high in tall trees near water.",
            "A heron hunts by standing still in shallow water and striking fish with its long bill.",
            "苍鹭常在浅水中静静站立，等待鱼游近后用长喙迅速捕捉。",
        ]
    ):
        (tmp_path / f"h{i}.txt").write_text(body, encoding="utf-8")
    fm.knowledge.ingest("herons", [tmp_path / f"h{i}.txt" for i in range(3)])
    ds = fm.datasets.from_knowledge_base("heron-text", "herons", validation=0.0, test=0.0)
    assert ds.kind == "text" and ds.rows == 3 and ds.source["knowledge_base"]
    hp = {"epochs": 6, "batch_size": 1, "learning_rate": 2e-3, "max_length": 64, "export": "adapter"}
    done = _tune(fm, "heron-text", method="pretraining", hyperparameters=hp)
    curve = done.metrics["curve"]
    assert curve[-1]["train_loss"] < 0.7 * curve[0]["train_loss"]
    with pytest.raises(Exception) as e:
        fm.tuning.create("smollm2", "heron-text", method="supervised")
    assert "needs a chat dataset" in str(e.value)

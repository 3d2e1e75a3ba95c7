"""Knowledge bases over HTTP: uploads, retrieval, answers with citations, the OpenAI extension."""

from __future__ import annotations

import httpx
import kb_fixtures
import pytest
from conftest import Server
from test_platform_api import sse_events


@pytest.fixture(scope="module")
def kb(http, tmp_path_factory):
    docs = kb_fixtures.build(tmp_path_factory.mktemp("api-docs"))
    r = http.post("/api/knowledge-bases", json={"name": "api-kb", "chunking": {"chunk_size": 80}})
    assert r.status_code == 201
    files = [("files", (p.name, p.read_bytes())) for p in sorted(docs.glob("*")) if p.is_file()]
    files.append(("files", ("corrupt.pdf", (docs / "bad" / "corrupt.pdf").read_bytes())))
    up = http.post("/api/knowledge-bases/api-kb/documents", files=files)
    assert up.status_code == 200
    return up.json()


def test_upload_reports_each_file(kb, http):
    status = {f["source"]: f["status"] for f in kb["files"]}
    assert status["corrupt.pdf"] == "failed" and kb["failed"] == 1
    assert sum(s == "added" for s in status.values()) == 8
    docs = http.get("/api/knowledge-bases/api-kb/documents").json()["data"]
    bad = next(d for d in docs if d["source"] == "corrupt.pdf")
    assert bad["status"] == "error" and "damaged" in bad["error"]
    info = http.get("/api/knowledge-bases/api-kb").json()
    assert info["documents"] == 9 and info["chunks"] > 8


def test_retrieve_over_http(kb, http):
    r = http.post("/api/knowledge-bases/api-kb/retrieve", json={"query": "长城全长多少公里？", "top_k": 3}).json()[
        "data"
    ]
    assert "两万" in r[0]["text"] and r[0]["source"] == "wall.md"
    assert http.post("/api/knowledge-bases/api-kb/retrieve", json={"query": ""}).status_code == 422
    assert http.post("/api/knowledge-bases/nope/retrieve", json={"query": "x"}).status_code == 404


def test_answer_with_citations_streamed_and_not(kb, http):
    body = {"question": "How tall is the Eiffel Tower?", "max_tokens": 60, "temperature": 0}
    plain = http.post("/api/knowledge-bases/api-kb/answer", json=body).json()
    assert plain["answered"] and any("330" in c["text"] for c in plain["citations"])
    with http.stream("POST", "/api/knowledge-bases/api-kb/answer", json={**body, "stream": True}) as r:
        events = sse_events(r)
    kinds = [e for e, _ in events]
    assert "text" in kinds and kinds[-2] == "citations"
    assert "".join(d["text"] for e, d in events if e == "text") == plain["text"]
    dont = http.post(
        "/api/knowledge-bases/api-kb/answer", json={"question": "What is the recipe for chocolate cake?"}
    ).json()
    assert not dont["answered"] and dont["citations"] == []


def test_openai_chat_with_knowledge_base_extension(kb, oai):
    r = oai.chat.completions.create(
        model="default",
        max_tokens=60,
        temperature=0,
        messages=[{"role": "user", "content": "How tall is the Eiffel Tower?"}],
        extra_body={"knowledge_base": "api-kb"},
    )
    cites = r.model_extra["citations"]
    assert r.choices[0].message.content and any("330" in c["text"] for c in cites)
    chunks = list(
        oai.chat.completions.create(
            model="default",
            max_tokens=60,
            temperature=0,
            stream=True,
            messages=[{"role": "user", "content": "How tall is the Eiffel Tower?"}],
            extra_body={"knowledge_base": "api-kb"},
        )
    )
    streamed = [c.model_extra.get("citations") for c in chunks if c.model_extra and c.model_extra.get("citations")]
    assert streamed and streamed[0] == cites
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == r.choices[0].message.content


def test_v1_rerank_scores_documents_in_the_rerank_shape(http):
    docs = [kb_fixtures.COFFEE, kb_fixtures.EIFFEL, kb_fixtures.WALL_ZH]
    r = http.post("/v1/rerank", json={"query": "How tall is the Eiffel Tower?", "documents": docs, "top_n": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["index"] for x in body["results"]][0] == 1 and len(body["results"]) == 2
    assert body["results"][0]["relevance_score"] > body["results"][1]["relevance_score"]
    assert body["usage"]["total_tokens"] > 0 and "document" not in body["results"][0]
    zh = http.post(
        "/v1/rerank",
        json={"query": "长城有多长？", "documents": [{"text": d} for d in docs], "return_documents": True},
    ).json()
    assert zh["results"][0]["document"]["text"] == kb_fixtures.WALL_ZH and len(zh["results"]) == 3
    for bad in ({"query": "x", "documents": []}, {"documents": ["a"]}, {"query": "", "documents": ["a"]}):
        assert http.post("/v1/rerank", json=bad).status_code == 422


def test_one_fmstack_reranks_for_another(kb, http, tmp_path_factory):
    reranker = f"{http.base_url}/v1/rerank".replace("//v1", "/v1")
    # a reranker URL is checked against the outbound policy like every URL a caller names
    refused = http.post(
        "/api/knowledge-bases/api-kb/retrieve",
        json={"query": "How tall is the Eiffel Tower?", "rerank": "http://169.254.169.254/v1/rerank"},
    )
    assert refused.status_code == 403 and "FMSTACK_OUTBOUND_ALLOW" in refused.json()["error"]["message"]
    srv = Server(tmp_path_factory.mktemp("reranked")).start()  # loopback allowed (conftest)
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as h:
            made = h.post("/api/knowledge-bases", json={"name": "rr", "retrieval": {"rerank": reranker}})
            assert made.status_code == 201, made.text
            files = [
                ("files", (n, t.encode()))
                for n, t in (
                    ("coffee.txt", kb_fixtures.COFFEE),
                    ("eiffel.txt", kb_fixtures.EIFFEL),
                    ("wall.txt", kb_fixtures.WALL_ZH),
                )
            ]
            assert h.post("/api/knowledge-bases/rr/documents", files=files).json()["failed"] == 0
            question = "How tall is the Eiffel Tower?"
            hits = h.post("/api/knowledge-bases/rr/retrieve", json={"query": question, "top_k": 3}).json()["data"]
            assert hits[0]["source"] == "eiffel.txt"
            assert [x["score"] for x in hits] == sorted((x["score"] for x in hits), reverse=True)
            assert all({"rerank", "fused"} <= set(x["scores"]) for x in hits)
            # the scores are the other server's
            direct = http.post("/v1/rerank", json={"query": question, "documents": [x["text"] for x in hits]}).json()
            by_index = {r["index"]: r["relevance_score"] for r in direct["results"]}
            assert all(abs(x["scores"]["rerank"] - by_index[i]) < 1e-4 for i, x in enumerate(hits))
            bad = h.post("/api/knowledge-bases/rr/retrieve", json={"query": question, "rerank": "magic"})
            assert bad.status_code in (400, 422) and "rerank" in bad.text
            down = h.post(
                "/api/knowledge-bases/rr/retrieve",
                json={"query": question, "rerank": "http://127.0.0.1:9/v1/rerank"},
            )
            assert down.status_code == 503 and "could not be reached" in down.json()["error"]["message"]
    finally:
        srv.stop()


def test_delete_document_and_kb(kb, http):
    docs = http.get("/api/knowledge-bases/api-kb/documents").json()["data"]
    coffee = next(d for d in docs if d["source"] == "coffee.txt")
    assert http.delete(f"/api/knowledge-bases/api-kb/documents/{coffee['id']}").status_code == 204
    hits = http.post("/api/knowledge-bases/api-kb/retrieve", json={"query": "Arabica", "mode": "bm25"}).json()["data"]
    assert all(h["source"] != "coffee.txt" for h in hits)
    http.post("/api/knowledge-bases", json={"name": "short-lived"})
    assert http.delete("/api/knowledge-bases/short-lived").status_code == 204
    assert http.get("/api/knowledge-bases/short-lived").status_code == 404


def test_oversize_upload_is_413_and_nothing_changes(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("small-uploads"), env={"FMSTACK_MAX_UPLOAD_BYTES": "200000"}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as h:
            h.post("/api/knowledge-bases", json={"name": "k"})
            ok = h.post("/api/knowledge-bases/k/documents", files=[("files", ("a.txt", b"A small file about owls."))])
            assert ok.json()["files"][0]["status"] == "added"
            big = h.post("/api/knowledge-bases/k/documents", files=[("files", ("big.txt", b"x " * 200000))])
            assert big.status_code == 413 and "FMSTACK_MAX_UPLOAD_BYTES" in big.json()["error"]["message"]
            docs = h.get("/api/knowledge-bases/k/documents").json()["data"]
            assert [d["source"] for d in docs] == ["a.txt"]
    finally:
        srv.stop()


def test_ingest_job_over_http_with_progress_events(http, tmp_path):
    docs = kb_fixtures.build(tmp_path / "server-side")
    assert http.post("/api/knowledge-bases", json={"name": "job-kb"}).status_code == 201
    r = http.post("/api/knowledge-bases/job-kb/ingest", json={"paths": [str(docs)], "exclude": ["bad/*"]})
    assert r.status_code == 202
    job = r.json()
    assert job["kind"] == "ingest" and job["status"] in ("queued", "running")
    with http.stream("GET", f"/api/jobs/{job['id']}/events", params={"interval": 0.1}) as s:
        events = sse_events(s)
    assert events[-1][0] == "done"
    final = events[-1][1]
    assert final["status"] == "succeeded" and final["result"]["added"] == 8
    assert final["progress"]["files_done"] == final["progress"]["files_total"] == 8
    assert all(name == "progress" for name, _ in events[:-1])
    assert http.get(f"/api/jobs/{job['id']}").json()["status"] == "succeeded"
    assert any(j["id"] == job["id"] for j in http.get("/api/jobs", params={"kind": "ingest"}).json()["data"])
    again = http.post(f"/api/jobs/{job['id']}/cancel")
    assert again.status_code == 400 and again.json()["error"]["code"] == "job_finished"
    assert http.get("/api/jobs/job_nope").status_code == 404
    missing = http.post("/api/knowledge-bases/job-kb/ingest", json={"paths": [str(tmp_path / "nowhere")]})
    assert missing.status_code == 404 and "does not exist" in missing.json()["error"]["message"]


def test_a_folder_of_every_format_and_hostile_files_ingests_through_the_http_job(http, tmp_path):
    folder = tmp_path / "everything"
    expected = kb_fixtures.every_format(folder)
    assert http.post("/api/knowledge-bases", json={"name": "every-format"}).status_code == 201
    r = http.post("/api/knowledge-bases/every-format/ingest", json={"paths": [str(folder)]})
    assert r.status_code == 202
    with http.stream("GET", f"/api/jobs/{r.json()['id']}/events", params={"interval": 0.2}) as s:
        final = sse_events(s)[-1][1]
    assert final["status"] == "succeeded"
    outcome = {f["source"].split(str(folder) + "/")[-1]: f for f in final["progress"]["files"]}
    assert {n: f["status"] for n, f in outcome.items()} == expected
    assert all(f["reason"] for f in outcome.values() if f["status"] == "failed")
    assert "zip bomb" in outcome["bad/bomb.zip"]["reason"] and "not RTF" in outcome["bad/plain.rtf"]["reason"]
    hit = http.post(
        "/api/knowledge-bases/every-format/retrieve", json={"query": "起重机能吊起多少吨", "mode": "bm25", "top_k": 1}
    ).json()["data"][0]
    assert hit["source"].endswith("receipt.png") and hit["meta"]["ocr"] is True


def test_background_upload_lists_each_file_as_it_finishes(http, tmp_path):
    docs = kb_fixtures.build(tmp_path / "uploads")
    assert http.post("/api/knowledge-bases", json={"name": "bg-up"}).status_code == 201
    files = [
        ("files", ("tower.pdf", (docs / "tower.pdf").read_bytes())),
        ("files", ("corrupt.pdf", (docs / "bad" / "corrupt.pdf").read_bytes())),
    ]
    r = http.post("/api/knowledge-bases/bg-up/documents", files=files, data={"background": "true"})
    assert r.status_code == 202
    with http.stream("GET", f"/api/jobs/{r.json()['id']}/events", params={"interval": 0.1}) as s:
        done = sse_events(s)[-1][1]
    outcome = {f["source"]: f for f in done["progress"]["files"]}
    assert outcome["tower.pdf"]["status"] == "added" and outcome["corrupt.pdf"]["status"] == "failed"
    assert outcome["corrupt.pdf"]["reason"]
    assert [
        d["source"] for d in http.get("/api/knowledge-bases/bg-up/documents").json()["data"] if d["status"] == "ready"
    ] == ["tower.pdf"]


def test_chat_turn_over_a_knowledge_base_streams_citations(kb, http):
    conv = http.post("/api/conversations", json={"title": "kb chat"}).json()
    body = {
        "content": "How tall is the Eiffel Tower?",
        "knowledge_base": "api-kb",
        "stream": True,
        "max_tokens": 60,
        "temperature": 0,
    }
    with http.stream("POST", f"/api/conversations/{conv['id']}/messages", json=body) as r:
        assert r.status_code == 200
        events = [(k, v) for k, v in sse_events(r) if v != "[DONE]"]
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["citations", "saved"] and "text" in kinds
    cites = events[-2][1]["citations"]
    saved = events[-1][1]["assistant_message"]
    assert cites and saved["meta"]["citations"] == cites and any("330" in c["text"] for c in cites)
    bad = http.post(
        f"/api/conversations/{conv['id']}/messages",
        json={"content": "hi", "knowledge_base": "api-kb", "retrieval": {"nope": 1}},
    )
    assert bad.status_code == 400 and "nope" in bad.json()["error"]["message"]
    missing = http.post(f"/api/conversations/{conv['id']}/messages", json={"content": "hi", "knowledge_base": "no-kb"})
    assert missing.status_code == 404
    assert len(http.get(f"/api/conversations/{conv['id']}").json()["messages"]) == 2  # failed turns stored nothing

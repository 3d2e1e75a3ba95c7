"""What the server touches because a caller named it (paths, URLs, commands), who may do what
(roles), limits per key, secrets at rest, the audit log and /metrics — on real servers."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import TEST_CONFIG, Server, free_port

from fmstack.errors import Forbidden
from fmstack.security import PathPolicy, UrlPolicy

OWNER = "sk-owner-test"
CONFIG = {
    **TEST_CONFIG,
    "models": {
        **TEST_CONFIG["models"],
        # one token costs 1: a budget of 5 is spent by the first call
        "priced": {"provider": "local", "path": "bundled:smollm2", "input_price": 1e6, "output_price": 1e6},
        # the operator's guardrail, kept in the default workspace, applies in every workspace
        "guarded": {"provider": "local", "path": "bundled:smollm2", "guardrail": "house-rules"},
    },
}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A server with keys on, nothing allowed outbound, ingestion only under one folder."""
    data = tmp_path_factory.mktemp("keyed")
    roots = data / "roots"
    (roots / "docs").mkdir(parents=True)
    srv = Server(
        data / "server",
        CONFIG,
        env={"FMSTACK_API_KEYS": OWNER, "FMSTACK_OUTBOUND_ALLOW": "", "FMSTACK_INGEST_ROOTS": str(roots)},
    ).start()
    srv.roots = roots  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def client(srv: Server, key: str = OWNER) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=120, headers={"Authorization": f"Bearer {key}"})


def make_key(srv: Server, **body) -> str:
    with client(srv) as c:
        r = c.post("/api/keys", json={"name": body.pop("name", "k"), **body})
        assert r.status_code == 201, r.text
        return r.json()["key"]


# -- files on the server ----------------------------------------------------------------------------
def test_ingest_paths_only_under_the_roots_with_escapes_refused(keyed, tmp_path):
    roots = keyed.roots
    (roots / "docs" / "inside.md").write_text("# Owls\n\nOwls hunt at night.", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's private notes", encoding="utf-8")
    (roots / "docs" / "link.txt").symlink_to(secret)
    (roots / "escape").mkdir()
    (roots / "escape" / "out").symlink_to(tmp_path, target_is_directory=True)
    with client(keyed) as c:
        assert c.post("/api/knowledge-bases", json={"name": "files"}).status_code == 201

        def ingest(path: str) -> httpx.Response:
            return c.post("/api/knowledge-bases/files/ingest", json={"paths": [path], "wait": True})

        for path in (
            "/etc/hostname",  # outside
            "/etc/no-such-file",  # outside and missing: the same answer as outside
            str(roots / "docs" / ".." / ".." / "secret.txt"),  # `..`
            str(roots / "docs" / "link.txt"),  # a file symlink out of the root
            str(roots / "escape"),  # a folder holding a link out of the root
            str(roots / "escape" / "out" / "secret.txt"),  # through the linked folder
        ):
            r = ingest(path)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["type"] == "permission_error"
        assert "FMSTACK_INGEST_ROOTS" in ingest("/etc/hostname").json()["error"]["message"]
        assert ingest(str(roots / "missing.md")).status_code == 404
        assert ingest(str(roots / "docs") + "/\x00.md").status_code == 400
        ok = ingest(str(roots / "docs" / "inside.md"))
        assert ok.status_code == 200 and ok.json()["added"] == 1
        hits = c.post("/api/knowledge-bases/files/retrieve", json={"query": "private notes"}).json()["data"]
        assert not any("private" in h["text"] for h in hits)


def test_an_evaluation_dataset_path_is_read_only_under_the_roots(keyed, tmp_path):
    """`dataset` as a path: the same policy as ingestion, so an evaluation cannot read (and echo in
    its results) a file the server's operator did not open to callers."""
    roots = keyed.roots
    inside = roots / "docs" / "qa.jsonl"
    inside.write_text('{"question": "2+2?", "answer": "4"}\n', encoding="utf-8")
    secret = tmp_path / "private.jsonl"
    secret.write_text('{"question": "the server\'s private notes", "answer": "x"}\n', encoding="utf-8")
    (roots / "docs" / "link.jsonl").symlink_to(secret)
    not_utf8 = roots / "docs" / "latin1.jsonl"
    not_utf8.write_bytes('{"question": "café?", "answer": "oui"}\n'.encode("latin-1"))
    spec = {
        "name": "path-eval",
        "metrics": ["token_f1"],
        "configurations": [{"name": "a", "params": {"max_tokens": 4}}],
    }
    with client(keyed) as c:
        for path in (
            "/etc/passwd",
            str(secret),
            str(roots / "docs" / "link.jsonl"),
            str(roots / "docs" / ".." / ".." / secret.name),
        ):
            r = c.post("/api/evaluations", json={**spec, "dataset": path})
            assert r.status_code == 403 and r.json()["error"]["param"] == "dataset", (path, r.text)
            assert "private notes" not in r.text and "root:" not in r.text
        assert c.post("/api/evaluations", json={**spec, "dataset": str(roots / "nope.jsonl")}).status_code == 404
        bad = c.post("/api/evaluations", json={**spec, "dataset": str(not_utf8)})
        assert bad.status_code == 400 and "not UTF-8" in bad.json()["error"]["message"]
        job = c.post("/api/evaluations", json={**spec, "dataset": str(inside)})
        assert job.status_code == 202, job.text
        run = _wait_job(c, job.json()["id"])["result"]["runs"][0]
        rows = c.get(f"/api/evaluations/{run}/results").json()["data"]
        assert len(rows) == 1 and "2+2?" in json.dumps(rows)


def test_a_cross_encoder_reranker_folder_is_read_only_under_the_roots(keyed, tmp_path):
    """`rerank: cross-encoder:/path` names a folder the server would load a model from: over HTTP it
    must be under FMSTACK_INGEST_ROOTS like any other server path."""
    roots = keyed.roots
    with client(keyed) as c:
        assert c.post("/api/knowledge-bases", json={"name": "rerank-paths"}).status_code == 201
        files = {"files": ("owls.md", b"# Owls\n\nOwls hunt at night.", "text/markdown")}
        assert c.post("/api/knowledge-bases/rerank-paths/documents", files=files).status_code == 200

        def retrieve(folder: str) -> httpx.Response:
            body = {"query": "When do owls hunt?", "rerank": f"cross-encoder:{folder}"}
            return c.post("/api/knowledge-bases/rerank-paths/retrieve", json=body)

        for folder in ("/usr", str(tmp_path), str(roots / ".." / "server")):
            r = retrieve(folder)
            assert r.status_code == 403 and r.json()["error"]["param"] == "rerank", (folder, r.text)
        assert retrieve(str(roots / "no-model")).status_code == 404
        plain = c.post(
            "/api/knowledge-bases/rerank-paths/retrieve", json={"query": "When do owls hunt?", "rerank": "embedding"}
        )
        assert plain.status_code == 200 and "night" in plain.json()["data"][0]["text"]


def test_the_server_reads_no_paths_by_default(tmp_path):
    assert PathPolicy.under([]).roots == ()
    with pytest.raises(Forbidden, match="upload the files instead"):
        PathPolicy.under([]).check(str(tmp_path))
    assert PathPolicy.under(None).check("~/x").name == "x"  # the SDK: the machine's own user


# -- URLs the server fetches ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://localhost/v1",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://0.0.0.0:8000/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/",
    ],
)
def test_default_url_policy_refuses_the_servers_own_network(url):
    with pytest.raises(Forbidden):
        UrlPolicy.parse().check(url)


def test_url_policy_allow_and_deny_lists():
    allowing = UrlPolicy.parse(allow="127.0.0.1,10.0.0.0/8")
    assert allowing.check("http://127.0.0.1:9/x") and allowing.check("http://10.9.8.7/")
    with pytest.raises(Forbidden):
        allowing.check("http://192.168.1.1/")
    everything = UrlPolicy.parse(allow="*", deny="10.0.0.0/8")
    assert everything.check("http://192.168.1.1/")
    for url in ("http://169.254.169.254/", "http://10.0.0.1/"):  # metadata stays refused; deny wins
        with pytest.raises(Forbidden):
            everything.check(url)
    assert UrlPolicy.parse(allow="169.254.169.254").check("http://169.254.169.254/")  # named exactly


class _Redirect(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_redirects_are_checked_too():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with UrlPolicy.parse(allow="127.0.0.1").client(follow_redirects=True, timeout=5) as http:
            with pytest.raises(Forbidden, match="link-local"):
                http.get(f"http://127.0.0.1:{httpd.server_address[1]}/spec.json")
    finally:
        httpd.shutdown()


def test_endpoints_and_tools_pointing_into_the_server_network_are_refused(keyed):
    with client(keyed) as c:
        for route, body in (
            ("/api/endpoints", {"name": "inner", "base_url": f"{keyed.url}/v1", "model": "smollm2"}),
            ("/api/endpoints/test", {"base_url": "http://169.254.169.254/v1"}),
        ):
            r = c.post(route, json=body)
            assert r.status_code == 403 and "FMSTACK_OUTBOUND_ALLOW" in r.json()["error"]["message"], r.text
        agent = {
            "name": "ssrf",
            "tools": [{"type": "openapi", "spec_url": "http://169.254.169.254/openapi.json"}],
        }
        assert c.post("/api/agents", json=agent).status_code == 201
        run = c.post("/api/agents/ssrf/runs", json={"input": "hi"})
        assert run.status_code == 403 and "link-local" in run.json()["error"]["message"]
        mcp = {"name": "ssrf-mcp", "tools": [{"type": "mcp", "url": "http://[::1]:9/mcp"}]}
        assert c.post("/api/agents", json=mcp).status_code == 201
        assert c.post("/api/agents/ssrf-mcp/runs", json={"input": "hi"}).status_code == 403


# -- roles ------------------------------------------------------------------------------------------
def _routes(srv: Server) -> list[tuple[str, str]]:
    with client(srv) as c:
        paths = c.get("/openapi.json").json()["paths"]
    out = []
    for path, ops in paths.items():
        concrete = path.replace("{", "").replace("}", "")  # /api/agents/name: any value will do
        out += [(m.upper(), concrete) for m in ops]
    return out


def test_role_matrix_over_every_route(keyed):
    """A viewer changes nothing, a member administers nothing: every route of the API is tried
    with each role and must answer 403 exactly where the role is too low."""
    from fmstack.access import at_least, required_role

    keys = {role: make_key(keyed, name=role, role=role) for role in ("viewer", "member", "admin")}
    routes = _routes(keyed)
    assert len(routes) > 40
    tried = allowed = 0
    for role, key in keys.items():
        with client(keyed, key) as c:
            for method, path in routes:
                # placeholders for ids: nothing is found, or the empty body is refused, past the role check
                r = c.request(method, path, json={})
                if not at_least(role, required_role(method, path)):  # server admin routes: never a role
                    assert r.status_code == 403, (role, method, path, r.status_code)
                    assert r.json()["error"]["type"] == "permission_error"
                    tried += 1
                else:
                    assert r.status_code != 403 and r.status_code < 500, (role, method, path, r.status_code, r.text)
                    allowed += 1
    assert tried > 40 and allowed > 100
    with client(keyed, keys["viewer"]) as c:
        assert c.get("/api/conversations").status_code == 200
        assert c.post("/api/conversations", json={}).status_code == 403
        r = c.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        )
        assert r.status_code == 200
    with client(keyed, keys["member"]) as c:
        assert c.post("/api/conversations", json={}).status_code == 201
        assert c.get("/api/keys").status_code == 403
        python_tool = {"name": "py", "tools": [{"type": "python", "function": "os:getcwd"}]}
        r = c.post("/api/agents", json=python_tool)
        assert r.status_code == 403 and "only an admin" in r.json()["error"]["message"]
    with client(keyed, keys["admin"]) as c:
        assert c.get("/api/keys").status_code == 200
        assert c.post("/api/keys", json={"name": "x", "role": "owner"}).status_code == 403
        assert (
            c.post(
                "/api/agents", json={"name": "py", "tools": [{"type": "python", "function": "os:getcwd"}]}
            ).status_code
            == 201
        )


def test_command_tools_can_be_turned_off(tmp_path):
    from fmstack import Fmstack, Settings

    settings = Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_COMMAND_TOOLS": "off"})
    with Fmstack(settings) as fm:
        for tool in ({"type": "python", "function": "os:getcwd"}, {"type": "mcp", "command": ["python", "-V"]}):
            with pytest.raises(Forbidden, match="turned off"):
                fm.agents.create({"name": "t", "tools": [tool]})


def test_public_bind_without_keys_is_refused(tmp_path):
    env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp_path)}
    env.pop("FMSTACK_API_KEYS", None)
    r = subprocess.run(
        [sys.executable, "-m", "fmstack", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--insecure" in r.stderr


# -- limits -----------------------------------------------------------------------------------------
def test_requests_per_minute_hold_under_concurrency(keyed):
    key = make_key(keyed, name="rpm", role="viewer", rpm=7)
    with client(keyed, key) as c:
        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(lambda _: c.get("/v1/models"), range(30)))
    statuses = [r.status_code for r in codes]
    assert statuses.count(200) == 7 and statuses.count(429) == 23, statuses
    refused = next(r for r in codes if r.status_code == 429)
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "7 requests per minute" in refused.json()["error"]["message"]


def test_budget_models_and_expiry(keyed):
    chat = {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4}
    budget = make_key(keyed, name="budget", role="viewer", monthly_budget=100, allowed_models=["priced"])
    with client(keyed, budget) as c:
        other = c.post("/v1/chat/completions", json={**chat, "model": "smollm2"})
        assert other.status_code == 403 and "priced" in other.json()["error"]["message"]
        answered = 0
        for _ in range(10):  # a token costs 1: each call holds its prompt + 4 tokens, about 30
            r = c.post("/v1/chat/completions", json={**chat, "model": "priced"})
            if r.status_code != 200:
                break
            answered += 1
        assert 1 <= answered < 10
        assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
        assert int(r.headers["retry-after"]) > 0
    with client(keyed) as c:
        usage = c.get("/api/usage").json()["data"]
    mine = [u for u in usage if u["model"] == "priced"]
    assert mine and mine[0]["calls"] == answered and 0 < mine[0]["cost"] <= 100
    expired = make_key(keyed, name="old", expires_at="2020-01-01T00:00:00Z")
    with client(keyed, expired) as c:
        r = c.get("/v1/models")
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


# -- secrets, audit, metrics ------------------------------------------------------------------------
def test_endpoint_keys_are_encrypted_at_rest_and_survive_rotation(tmp_path):
    from fmstack import Fmstack, Settings

    settings = Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_OUTBOUND_ALLOW": "127.0.0.1"})
    with Fmstack(settings) as fm:
        fm.endpoints.add("up", base_url="http://127.0.0.1:9/v1", model="m", api_key="sk-provider-secret")
        assert fm.endpoints.list()[0].has_api_key
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    stored = sqlite3.connect(tmp_path / "fmstack.db").execute("SELECT api_key FROM model_endpoints").fetchone()[0]
    assert stored.startswith("enc:") and "sk-provider-secret" not in stored
    with Fmstack(settings) as fm:
        assert fm.models.specs["@default/up"].api_key == "sk-provider-secret"
        assert fm.endpoints.reseal(fm.secrets.rotated()) == 1
    rotated = sqlite3.connect(tmp_path / "fmstack.db").execute("SELECT api_key FROM model_endpoints").fetchone()[0]
    assert rotated != stored and len((tmp_path / "secret.key").read_text().split()) == 2
    with Fmstack(settings) as fm:
        assert fm.models.specs["@default/up"].api_key == "sk-provider-secret"


def test_audit_log_records_changes_with_who_and_where(keyed):
    member = make_key(keyed, name="auditee", role="member")
    with client(keyed, member) as c:
        cid = c.post("/api/conversations", json={"title": "audited"}).json()["id"]
        assert c.delete(f"/api/conversations/{cid}").status_code in (200, 204)
        assert c.get("/api/audit").status_code == 403
        chat = {"model": "default", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
        assert c.post("/v1/chat/completions", json=chat).status_code == 200
        assert c.get("/api/conversations").status_code == 200
    with client(keyed) as c:
        rows = c.get("/api/audit", params={"actor": "auditee"}).json()["data"]
        export = c.get("/api/audit", params={"format": "jsonl", "actor": "auditee"})
    actions = {(r["action"], r["target"], r["status"]) for r in rows}
    assert ("POST", "/api/conversations", 201) in actions
    assert any(a == "DELETE" and t == f"/api/conversations/{cid}" for a, t, _ in actions)
    assert ("GET", "/api/audit", 403) in actions  # a refusal is recorded
    assert not any(t == "/v1/chat/completions" or a == "GET" and s == 200 for a, t, s in actions)  # reads, calls: not
    assert all(r["client"] == "127.0.0.1" and r["role"] == "member" for r in rows)
    assert export.headers["content-type"].startswith("application/x-ndjson")
    assert len(export.text.strip().splitlines()) == len(rows)


def test_metrics_parse_with_prometheus_client(keyed):
    from prometheus_client.parser import text_string_to_metric_families

    with client(keyed) as c:
        c.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3},
        )
        c.get("/api/conversations/nope")
    text = httpx.get(f"{keyed.url}/metrics").text  # open without a key, as a scraper expects
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = [s for s in families["fmstack_http_requests"].samples if s.name.endswith("_total")]
    assert any(s.labels["route"] == "/v1/chat/completions" and s.labels["status"] == "200" for s in requests)
    assert any(
        s.labels["route"] == "/api/conversations/{conversation_id}" and s.labels["status"] == "404" for s in requests
    )
    assert any(s.name.endswith("_bucket") for s in families["fmstack_http_request_seconds"].samples)
    tokens = {s.labels["kind"]: s.value for s in families["fmstack_tokens"].samples if s.name.endswith("_total")}
    assert tokens["prompt"] > 0 and tokens["completion"] > 0
    assert "fmstack_model_queue_depth" in families and "fmstack_jobs" in families
    assert any(s.labels["code"] == "not_found" for s in families["fmstack_errors"].samples)
    assert httpx.get(f"{keyed.url}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{keyed.url}/readyz").json()["status"] == "ready"


# -- uploads ----------------------------------------------------------------------------------------
def test_a_zip_bomb_is_refused_and_the_other_files_are_kept(keyed):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(chunk)
    bomb = buf.getvalue()
    assert len(bomb) < 2_000_000
    with client(keyed) as c:
        assert c.post("/api/knowledge-bases", json={"name": "bombs"}).status_code == 201
        r = c.post(
            "/api/knowledge-bases/bombs/documents",
            files=[("files", ("bomb.docx", bomb)), ("files", ("ok.txt", b"Owls hunt at night."))],
        )
    files = {f["source"]: f for f in r.json()["files"]}
    assert files["ok.txt"]["status"] == "added"
    assert files["bomb.docx"]["status"] == "failed" and "zip bomb" in files["bomb.docx"]["reason"]


# -- workspaces -------------------------------------------------------------------------------------
def _wait_job(c: httpx.Client, job_id: str) -> dict:
    import time

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_nothing_crosses_a_workspace(keyed):
    """Workspace A holds one of everything; a key of workspace B (an owner there) walks every route
    with A's ids and names: 404 each time, lists without A's objects, and A's objects unchanged."""
    with client(keyed) as admin:
        assert admin.post("/api/workspaces", json={"name": "team-b"}).status_code == 201
        b_key = admin.post(
            "/api/keys", json={"name": "b-owner", "role": "owner"}, headers={"X-Fmstack-Workspace": "team-b"}
        ).json()["key"]
        a_key = make_key(keyed, name="a-owner", role="owner")
    with client(keyed, a_key) as a:
        conv = a.post("/api/conversations", json={"title": "A's secret plans"}).json()["id"]
        turn = a.post(f"/api/conversations/{conv}/messages", json={"content": "Hi", "max_tokens": 4}).json()
        message = turn["assistant_message"]["id"]
        assert a.post("/api/knowledge-bases", json={"name": "shared-name"}).status_code == 201
        up = a.post(
            "/api/knowledge-bases/shared-name/documents", files=[("files", ("plans.txt", b"A's plans: owls at dawn."))]
        )
        assert up.json()["files"][0]["status"] == "added"
        doc = a.get("/api/knowledge-bases/shared-name/documents").json()["data"][0]["id"]
        assert a.post("/api/agents", json={"name": "shared-name", "instructions": "Be brief."}).status_code == 201
        run = a.post("/api/agents/shared-name/runs", json={"input": "Say hi"}).json()["id"]
        assert a.post("/api/guardrails", json={"name": "shared-name", "words": {"words": ["zzz"]}}).status_code == 201
        assert a.post("/api/prompts", json={"name": "shared-name", "template": "Hi {{ x }}"}).status_code == 201
        spec = {"name": "a-eval", "dataset": [{"question": "2+2?", "answer": "4"}], "metrics": ["token_f1"],
                "configurations": [{"name": "a", "params": {"max_tokens": 4}}]}  # fmt: skip
        job = a.post("/api/evaluations", json=spec).json()["id"]
        eval_run = _wait_job(a, job)["result"]["runs"][0]
        result = a.get(f"/api/evaluations/{eval_run}/results").json()["data"][0]["id"]
        a_key_id = next(k["id"] for k in a.get("/api/keys").json()["data"] if k["name"] == "a-owner")
        # a model endpoint of A's own (a public address: the outbound policy lets it through unfetched)
        endpoint = {"name": "a-model", "base_url": "http://93.184.216.34/v1", "model": "m", "api_key": "sk-a"}
        assert a.post("/api/endpoints", json=endpoint).status_code == 201
        assert a.post("/api/endpoints", json={**endpoint, "shared": True}).status_code == 403  # server admins only
        assert "a-model" in [m["id"] for m in a.get("/v1/models").json()["data"]]
        # a stored response, an uploaded file and a batch of A's
        response = a.post("/v1/responses", json={"model": "default", "input": "Hi", "max_output_tokens": 2}).json()[
            "id"
        ]
        line = {
            "custom_id": "x",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "embedding", "input": "x"},
        }
        upload = a.post("/v1/files", data={"purpose": "batch"}, files={"file": ("a.jsonl", json.dumps(line).encode())})
        file_id = upload.json()["id"]
        batch = {"input_file_id": file_id, "endpoint": "/v1/embeddings", "completion_window": "24h"}
        batch_id = a.post("/v1/batches", json=batch).json()["id"]
        # a dataset, a fine-tuning job (cancelled at once: its record is what matters) and an alias
        example = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
        made = a.post(
            "/api/datasets", data={"name": "shared-name"}, files={"file": ("d.jsonl", json.dumps(example).encode())}
        )
        assert made.status_code == 201, made.text
        tuning = a.post("/api/fine-tuning", json={"model": "smollm2", "dataset": "shared-name"}).json()["id"]
        assert a.post(f"/api/fine-tuning/{tuning}/cancel").status_code == 200
        assert a.put("/api/aliases/shared-name", json={"model": "smollm2", "note": "A's"}).status_code == 200
    values = {
        "conversation_id": conv,
        "message_id": str(message),
        "name": "shared-name",
        "ref": "shared-name",
        "document_id": doc,
        "job_id": job,
        "run_id": None,  # agent runs and evaluation runs: chosen by path below
        "result_id": str(result),
        "key_id": a_key_id,
        "response_id": response,
        "file_id": file_id,
        "batch_id": batch_id,
        "alias": "shared-name",
    }
    bodies = {
        ("PATCH", "/api/conversations/{conversation_id}"): {"title": "stolen"},
        ("POST", "/api/conversations/{conversation_id}/messages"): {"content": "hi", "max_tokens": 2},
        ("POST", "/api/messages/{message_id}/feedback"): {"rating": "up"},
        ("POST", "/api/knowledge-bases/{name}/ingest"): {"paths": ["x"]},
        ("POST", "/api/knowledge-bases/{name}/retrieve"): {"query": "plans"},
        ("POST", "/api/knowledge-bases/{name}/answer"): {"question": "What are the plans?"},
        ("PUT", "/api/guardrails/{name}"): {"words": {"words": ["x"]}},
        ("POST", "/api/guardrails/{name}/apply"): {"text": "hello"},
        ("POST", "/api/agents/{name}/runs"): {"input": "hi"},
        ("POST", "/api/agent-runs/{run_id}/confirm"): {"approve": True},
        ("POST", "/api/agent-runs/{run_id}/replay"): {},
        ("PUT", "/api/prompts/{name}"): {"template": "stolen"},
        ("POST", "/api/prompts/{ref}/render"): {"variables": {"x": 1}},
        ("POST", "/api/evaluation-results/{result_id}/rating"): {"rating": 1},
    }
    queries = {("GET", "/api/prompts/{name}/diff"): {"a": 1, "b": 1}}
    global_routes = ("/v1/models/", "/api/models/", "/api/endpoints/", "/api/workspaces/", "/api/members/")
    with client(keyed, b_key) as b:
        checked = 0
        for method, path in _templates(keyed):
            if "{" not in path or path.startswith(global_routes):
                continue
            if method == "PUT" and path == "/api/agents/{name}":
                continue  # a PUT of a name defines B's own agent: checked below
            if method == "PUT" and path == "/api/aliases/{alias}":
                continue  # a PUT of an alias points B's own alias: checked below
            vals = dict(values, run_id=run if path.startswith("/api/agent-runs") else eval_run)
            if path.startswith(("/api/fine-tuning/", "/v1/fine_tuning/")):
                vals["job_id"] = tuning
            url = path.format(**vals)
            if path == "/api/knowledge-bases/{name}/documents" and method == "POST":
                r = b.post(url, files=[("files", ("x.txt", b"x"))])
            else:
                r = b.request(method, url, json=bodies.get((method, path)), params=queries.get((method, path)))
            assert r.status_code == 404, (method, url, r.status_code, r.text[:200])
            checked += 1
        assert checked >= 35
        assert b.get("/api/evaluations/compare", params={"a": eval_run, "b": eval_run}).status_code == 404
        assert b.delete("/api/endpoints/a-model").status_code == 404
        chat = {"model": "a-model", "messages": [{"role": "user", "content": "hi"}]}
        assert b.post("/v1/chat/completions", json=chat).json()["error"]["code"] == "model_not_found"
        assert "a-model" not in b.get("/v1/models").text and "a-model" not in b.get("/api/endpoints").text
        assert "a-model" not in b.get("/api/models").text
        for listing in ("/api/conversations", "/api/knowledge-bases", "/api/agents", "/api/guardrails",
                        "/api/prompts", "/api/jobs", "/api/agent-runs", "/api/evaluations", "/api/keys",
                        "/api/feedback", "/api/usage", "/v1/files", "/v1/batches", "/api/datasets",
                        "/api/fine-tuning", "/v1/fine_tuning/jobs", "/api/aliases"):  # fmt: skip
            body = b.get(listing).text
            for secret in (conv, "shared-name", job, run, eval_run, a_key_id, "A's secret", file_id, batch_id, tuning):
                assert secret not in body, (listing, secret)
        # B's audit log holds what was done in B (A's ids among them, as B sent them): B's owner, and
        # the server admin who made B's key there; nothing A's owner did
        actors = {row["actor"].split(" ")[-1] for row in b.get("/api/audit").json()["data"]}
        assert actors == {"(b-owner)", "(FMSTACK_API_KEYS)"}
        # the same names are free in B, and B's objects are B's
        assert b.post("/api/knowledge-bases", json={"name": "shared-name"}).status_code == 201
        assert b.put("/api/agents/shared-name", json={"instructions": "B's"}).status_code == 200
        assert b.post("/api/prompts", json={"name": "shared-name", "template": "B {{ x }}"}).status_code == 201
        assert b.put("/api/aliases/shared-name", json={"model": "smollm2", "note": "B's"}).status_code == 200
    with client(keyed, a_key) as a:
        assert [h["note"] for h in a.get("/api/aliases/shared-name/history").json()["data"]] == ["A's"]
        assert a.get(f"/api/fine-tuning/{tuning}").json()["status"] == "cancelled"
        assert a.get(f"/api/conversations/{conv}").json()["title"] == "A's secret plans"
        assert a.get("/api/agents/shared-name").json()["instructions"] == "Be brief."
        assert a.get("/api/knowledge-bases/shared-name/documents").json()["data"][0]["id"] == doc
        rendered = a.post("/api/prompts/shared-name/render", json={"variables": {"x": 1}}).json()
        assert rendered["messages"][-1]["content"] == "Hi 1"


def _templates(srv: Server) -> list[tuple[str, str]]:
    with client(srv) as c:
        paths = c.get("/openapi.json").json()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops]


def test_a_models_configured_guardrail_applies_in_every_workspace(keyed):
    with client(keyed) as admin:
        admin.post("/api/guardrails", json={"name": "house-rules", "words": {"words": ["Project Falcon"]}})
        admin.post("/api/workspaces", json={"name": "team-g"})
        g_key = admin.post("/api/keys", json={"name": "g"}, headers={"X-Fmstack-Workspace": "team-g"}).json()["key"]
    with client(keyed, g_key) as g:
        assert g.get("/api/guardrails/house-rules").status_code == 404  # not team-g's to see or change
        body = {"model": "guarded", "messages": [{"role": "user", "content": "Tell me about Project Falcon"}]}
        r = g.post("/v1/chat/completions", json={**body, "max_tokens": 8})
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "content_filter"


def test_console_sign_in_with_a_session_cookie(keyed):
    with client(keyed) as admin:
        admin.post("/api/workspaces", json={"name": "team-c"})
        assert (
            admin.post("/api/users", json={"name": "ana@example.com", "password": "correct horse"}).status_code == 201
        )
        member = admin.post(
            "/api/members",
            json={"user": "ana@example.com", "role": "member"},
            headers={"X-Fmstack-Workspace": "team-c"},
        )
        assert member.status_code == 201
    with httpx.Client(base_url=keyed.url, timeout=60) as browser:
        wrong = browser.post("/api/auth/login", json={"name": "ana@example.com", "password": "wrong password"})
        assert wrong.status_code == 401 and "wrong user name or password" in wrong.json()["error"]["message"]
        guesses = [
            browser.post("/api/auth/login", json={"name": "bob@example.com", "password": f"guess-{i}"}).status_code
            for i in range(12)
        ]
        assert guesses[:10] == [401] * 10 and guesses[10:] == [429, 429]  # no guessing at speed
        ok = browser.post("/api/auth/login", json={"name": "ana@example.com", "password": "correct horse"})
        assert ok.status_code == 200 and ok.json()["role"] == "member"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        me = browser.get("/api/auth/me").json()
        assert me["name"] == "ana@example.com" and me["role"] == "member" and not me["server_admin"]
        assert browser.post("/api/conversations", json={"title": "ana's"}).status_code == 201
        assert browser.get("/api/keys").status_code == 403
        assert browser.get("/api/workspaces").status_code == 403
        forged = browser.post("/api/conversations", json={}, headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403
        assert browser.post("/api/auth/logout").status_code == 204
        assert browser.get("/api/conversations").status_code == 401
    with client(keyed) as admin:
        titles = [
            c["title"]
            for c in admin.get("/api/conversations", headers={"X-Fmstack-Workspace": "team-c"}).json()["data"]
        ]
        assert titles == ["ana's"]
        assert "ana's" not in admin.get("/api/conversations").text


def test_console_sign_in_through_an_openid_provider(tmp_path):
    """A real OpenID provider (oidc-provider-mock) on loopback: login redirects there, the person
    signs in, the callback verifies the ID token and opens a console session."""
    from urllib.parse import parse_qs, urlsplit

    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0) as idp:
        issuer = f"http://localhost:{idp.server_port}"
        env = {
            "FMSTACK_API_KEYS": OWNER,
            "FMSTACK_OIDC_ISSUER": issuer,
            "FMSTACK_OIDC_CLIENT_ID": "fmstack-console",
            "FMSTACK_OIDC_CLIENT_SECRET": "client-secret",
        }
        srv = Server(tmp_path / "oidc", TEST_CONFIG, env=env).start()
        try:
            with client(srv) as admin:
                assert admin.post("/api/users", json={"name": "mei@example.com"}).status_code == 201
                admin.post("/api/members", json={"user": "mei@example.com", "role": "viewer"})

            def sign_in(sub: str, tamper: bool = False) -> httpx.Response:
                with httpx.Client(base_url=srv.url, timeout=30) as browser:
                    start = browser.get("/api/auth/oidc/login")
                    assert start.status_code == 302 and start.headers["location"].startswith(issuer)
                    consent = httpx.post(start.headers["location"], data={"sub": sub}, timeout=30)
                    assert consent.status_code == 302
                    back = urlsplit(consent.headers["location"])
                    query = parse_qs(back.query)
                    state = query["state"][0] + ("x" if tamper else "")
                    done = browser.get("/api/auth/oidc/callback", params={"code": query["code"][0], "state": state})
                    if done.status_code == 302:
                        done.extensions["me"] = browser.get("/api/auth/me").json()
                    return done

            ok = sign_in("mei@example.com")
            assert ok.status_code == 302 and ok.headers["location"] == "/#/settings"
            assert ok.extensions["me"]["name"] == "mei@example.com" and ok.extensions["me"]["role"] == "viewer"
            assert "httponly" in ok.headers["set-cookie"].lower()
            stranger = sign_in("stranger@example.com")
            assert stranger.status_code == 401 and "no fmstack account" in stranger.json()["error"]["message"]
            forged = sign_in("mei@example.com", tamper=True)
            assert forged.status_code == 401 and "start it again" in forged.json()["error"]["message"]
        finally:
            srv.stop()

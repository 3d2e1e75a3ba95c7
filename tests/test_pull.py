"""`fmstack models pull|rm`: a real GGUF (the bundled model's file) served from loopback by an HTTP
server laid out like the hub (`/<owner>/<repo>/resolve/<revision>/<file>`, the SHA-256 in
`X-Linked-Etag`, range requests), reached through HF_ENDPOINT; nothing leaves the machine."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import serve_app
from starlette.applications import Starlette
from starlette.responses import FileResponse, PlainTextResponse
from starlette.routing import Route

from fmstack.models.local import bundled_path

GGUF = bundled_path("smollm2")
NAME = GGUF.name


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    sha = hashlib.sha256(GGUF.read_bytes()).hexdigest()
    fake = tmp_path_factory.mktemp("hub") / "fake.gguf"
    fake.write_text("not a model")
    seen: list[dict] = []

    async def resolve(request):
        seen.append(
            {
                "path": request.url.path,
                "range": request.headers.get("range"),
                "auth": request.headers.get("authorization"),
            }
        )
        p = request.path_params
        if (p["owner"], p["repo"], p["file"]) == ("HuggingFaceTB", "SmolLM2-GGUF", NAME):
            return FileResponse(GGUF, headers={"X-Linked-Etag": f'"{sha}"'})
        if p["file"] == "fake.gguf":
            return FileResponse(fake)
        return PlainTextResponse("Entry not found", status_code=404)

    app = Starlette(routes=[Route("/{owner}/{repo}/resolve/{revision}/{file}", resolve)])
    with serve_app(app) as url:
        yield {"url": url, "sha": sha, "seen": seen}


def cli(
    data: Path, hub: dict, *args: str, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "FMSTACK_DATA_DIR": str(data), "HF_ENDPOINT": hub["url"], **(env or {})}
    env.pop("FMSTACK_DATABASE_URL", None)
    env.pop("FMSTACK_CONFIG", None)
    run = subprocess.run(
        [sys.executable, "-m", "fmstack", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    run.stderr = " ".join(run.stderr.split())  # the console wraps long messages
    return run


def test_pull_resumes_checks_registers_serves_and_removes(tmp_path, hub):
    data = tmp_path / "data"
    models = data / "models"
    models.mkdir(parents=True)
    (models / f"{NAME}.part").write_bytes(GGUF.read_bytes()[: 3 << 20])  # an interrupted download
    run = cli(data, hub, "models", "pull", f"HuggingFaceTB/SmolLM2-GGUF/{NAME}", "--name", "pulled")
    assert run.returncode == 0, run.stderr
    assert hub["seen"][-1]["range"] == f"bytes={3 << 20}-"  # resumed, not started again
    assert hashlib.sha256((models / NAME).read_bytes()).hexdigest() == hub["sha"]
    listing = json.loads(cli(data, hub, "models", "--json").stdout)
    pulled = next(m for m in listing["models"] if m["name"] == "pulled")
    assert pulled["provider"] == "local" and pulled["origin"] == f"HuggingFaceTB/SmolLM2-GGUF/{NAME}"
    assert pulled["size_bytes"] == GGUF.stat().st_size and pulled["context_window"] == 8192  # from the GGUF metadata
    table = cli(data, hub, "models").stdout
    assert "pulled" in table and "98 MB" in table
    answer = cli(data, hub, "ask", "--model", "pulled", "--max-tokens", "16", "What is the capital of France?")
    assert answer.returncode == 0 and answer.stdout.strip(), answer.stderr
    gone = cli(data, hub, "models", "rm", "pulled")
    assert gone.returncode == 0 and not (models / NAME).exists()
    assert "pulled" not in [m["name"] for m in json.loads(cli(data, hub, "models", "--json").stdout)["models"]]


def test_a_bad_pull_is_a_clear_error_and_registers_nothing(tmp_path, hub):
    data = tmp_path / "data"
    wrong = cli(data, hub, "models", "pull", f"HuggingFaceTB/SmolLM2-GGUF/{NAME}", "--sha256", "0" * 64)
    assert wrong.returncode != 0 and "SHA-256" in wrong.stderr and "not kept" in wrong.stderr
    assert not list((data / "models").glob("*.gguf*"))
    missing = cli(data, hub, "models", "pull", "someone/nothing/model.gguf")
    assert missing.returncode != 0 and "404" in missing.stderr
    fake = cli(data, hub, "models", "pull", "someone/repo/fake.gguf")
    assert fake.returncode != 0 and "not a GGUF" in fake.stderr
    bad = cli(data, hub, "models", "pull", "just-a-name")
    assert bad.returncode != 0 and "<owner>/<repo>/<file>.gguf" in bad.stderr
    names = [m["name"] for m in json.loads(cli(data, hub, "models", "--json").stdout)["models"]]
    assert not {"smollm2-135m-instruct.q4_1", "model", "fake"} & set(names)


def test_the_hub_token_goes_to_the_hub_only(tmp_path, hub):
    token = {"HF_TOKEN": "hf_secret"}
    cli(tmp_path / "a", hub, "models", "pull", "someone/repo/fake.gguf", env=token)
    assert hub["seen"][-1]["auth"] == "Bearer hf_secret"
    elsewhere = hub["url"].replace("127.0.0.1", "localhost") + "/someone/repo/resolve/main/fake.gguf"
    cli(tmp_path / "b", hub, "models", "pull", elsewhere, env=token)  # another origin than HF_ENDPOINT
    assert hub["seen"][-1]["path"].endswith("fake.gguf") and hub["seen"][-1]["auth"] is None

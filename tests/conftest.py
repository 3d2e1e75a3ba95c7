"""Fixtures: real fmstack servers on free loopback ports, the real bundled models, real databases."""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

# The servers tests talk to (OpenAI-compatible upstreams, OpenAPI and MCP tool servers) run on
# loopback, which fmstack refuses to fetch by default: the tests are an operator who allows it.
# tests/test_security.py checks the default policy with its own settings.
LOOPBACK_ALLOW = "127.0.0.1,localhost,::1"
os.environ.setdefault("FMSTACK_OUTBOUND_ALLOW", LOOPBACK_ALLOW)

# A second name for the bundled model with a small window, to exercise trimming cheaply.
TEST_CONFIG = {
    "models": {
        "smollm2-512": {
            "provider": "local",
            "path": "bundled:smollm2",
            "context_window": 512,
            "description": "bundled model with a 512-token window",
        },
        # one request at a time: greedy answers that do not depend on what else is decoded with them
        "smollm2-solo": {"provider": "local", "path": "bundled:smollm2", "context_window": 2048, "parallel": 1},
    },
    "aliases": {"small-window": "smollm2-512"},
}


def fresh_database_url(tag: str) -> str | None:
    """A new, empty database for one fixture: on the PostgreSQL server named by
    FMSTACK_TEST_POSTGRES (an admin URL) when set, else None (the SQLite file in the data dir)."""
    admin = os.environ.get("FMSTACK_TEST_POSTGRES")
    if not admin:
        return None
    import uuid

    from sqlalchemy import create_engine, text

    name = f"fm_{tag}_{uuid.uuid4().hex[:8]}".lower()
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + "/" + name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(app) -> Iterator[str]:
    """An ASGI app (a third-party service, a provider, a hub) on a free loopback port, in a thread;
    yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def strict(model_cls, data: dict):
    """Validate a response body against an official SDK's published type (generated from the API's
    OpenAPI schema) and check that every required field is present, not just defaulted."""
    obj = model_cls.model_validate(data)
    required = {n for n, f in model_cls.model_fields.items() if f.is_required()}
    assert required <= set(data), f"missing {required - set(data)}"
    return obj


def wait_until_answers(url: str, timeout: float = 10) -> None:
    """Poll `url` until a server answers (any status), or fail saying which server did not."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {url} within {timeout} s") from None
            time.sleep(0.05)


class Server:
    """`fmstack serve` in a subprocess, as a user would run it."""

    def __init__(self, data_dir: Path, config: dict | None = None, env: dict | None = None, args: Sequence[str] = ()):
        self.args = list(args)  # more options of `fmstack serve`
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        # ingestion of server paths over HTTP: from the test's own temporary folders only
        self.env = {
            **os.environ,
            "FMSTACK_DATA_DIR": str(self.data_dir),
            "FMSTACK_INGEST_ROOTS": str(self.data_dir.parent),
            **(env or {}),
        }
        self.env.pop("FMSTACK_CONFIG", None)
        if "FMSTACK_DATABASE_URL" not in (env or {}):
            self.env.pop("FMSTACK_DATABASE_URL", None)
            if url := fresh_database_url("server"):
                self.env["FMSTACK_DATABASE_URL"] = url
        if config is not None:
            path = self.data_dir / "config.yaml"
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
            self.env["FMSTACK_CONFIG"] = str(path)
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        self.port = self.port if self.proc is None else free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fmstack", "serve", "--port", str(self.port), "--log-level", "warning", *self.args],
            env=self.env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        headers = (
            {"Authorization": f"Bearer {self.env['FMSTACK_API_KEYS'].split(',')[0]}"}
            if self.env.get("FMSTACK_API_KEYS")
            else {}
        )
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fmstack serve exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", headers=headers, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"fmstack serve did not answer in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("server"), TEST_CONFIG).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def oai(server):
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def fm(tmp_path_factory):
    """The in-process SDK on its own database."""
    from fmstack import Fmstack, Settings

    data = tmp_path_factory.mktemp("sdk")
    env = {"FMSTACK_DATA_DIR": str(data), "FMSTACK_OUTBOUND_ALLOW": LOOPBACK_ALLOW}
    if url := fresh_database_url("sdk"):
        env["FMSTACK_DATABASE_URL"] = url
    settings = Settings.from_env(env=env, config=copy.deepcopy(TEST_CONFIG))
    f = Fmstack(settings)
    yield f
    f.close()


# -- the fast unit layer (tests/unit): scripted chat model, hashing embedder, real SQLite ------------
@pytest.fixture
def unit_fm(tmp_path):
    """The SDK on its own SQLite file with the scripted chat model and the hashing embedder
    (tests/fakes.py) as the defaults."""
    import fakes

    from fmstack import Fmstack, Settings

    settings = Settings.from_env(
        env={"FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_OUTBOUND_ALLOW": LOOPBACK_ALLOW},
        config=copy.deepcopy(fakes.UNIT_CONFIG),
    )
    f = Fmstack(settings)
    yield f
    f.close()


@pytest.fixture
def scripted(unit_fm):
    """The scripted chat model of `unit_fm`: `scripted.script(reply, …)`, then read `scripted.prompts`."""
    return unit_fm.models.chat("scripted")


SLOW_FILES = {"test_console.py", "test_examples.py", "test_agent_eval.py"}


def pytest_collection_modifyitems(config, items):
    """Markers by layer: tests/unit is `unit`; the rest runs the real models (`model`), and
    those that start servers, drive Chromium or take minutes say so."""
    for item in items:
        path = Path(str(item.fspath))
        if "unit" in path.parts or item.get_closest_marker("unit"):
            item.add_marker(pytest.mark.unit)
            continue
        item.add_marker(pytest.mark.model)
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"server", "http", "oai", "remote_server"} or "Server(" in _source(item):
            item.add_marker(pytest.mark.server)
        if path.name == "test_console.py":
            item.add_marker(pytest.mark.browser)
        if path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def _source(item) -> str:
    import inspect

    try:
        return inspect.getsource(item.function)
    except (AttributeError, OSError, TypeError):
        return ""

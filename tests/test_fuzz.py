"""Property-based fuzzing of every request (Schemathesis over the server's own OpenAPI schema):
whatever a client sends to /v1 or to the platform API, the answer is never a 5xx and the
connection is never dropped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def fuzz(url: str, paths: str, seconds: int, *headers: str) -> None:
    st = Path(sys.executable).parent / "st"
    auth = [arg for h in headers for arg in ("-H", h)]
    run = subprocess.run(
        [
            str(st),
            "run",
            f"{url}/openapi.json",
            *auth,
            "--include-path-regex",
            paths,
            "--checks",
            "not_a_server_error",
            "--phases",
            "fuzzing",
            "--max-time",
            str(seconds),
            "--workers",
            "2",
            "--request-timeout",
            "120",
            "--seed",
            "20261201",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 480,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    tested = [line for line in out.splitlines() if "generated" in line and "passed" in line]
    assert tested, out[-3000:]  # the run generated and sent cases (not an empty pass)
    generated = int(tested[-1].split("generated")[0].split()[-1])
    assert generated >= 500, tested[-1]
    assert "Server error" not in out and "Network Error" not in out


def test_no_request_body_gets_a_server_error_or_a_dropped_connection(server):
    fuzz(server.url, "^/v1/", 120)


def test_no_platform_request_gets_a_server_error(tmp_path):
    """The platform API (/api), as a server admin, so every route is reached: ids, versions and
    limits past 64 bits, empty lists, odd names and bodies of every shape."""
    from conftest import TEST_CONFIG, Server

    srv = Server(tmp_path / "platform", TEST_CONFIG, env={"FMSTACK_API_KEYS": "sk-admin-fuzz"}).start()
    try:
        fuzz(srv.url, "^/api/", 100, "Authorization: Bearer sk-admin-fuzz")
    finally:
        srv.stop()

"""Property-based fuzzing of every /v1 request body (Schemathesis over the server's own OpenAPI
schema): whatever a client sends, the answer is never a 5xx and the connection is never dropped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_no_request_body_gets_a_server_error_or_a_dropped_connection(server):
    st = Path(sys.executable).parent / "st"
    run = subprocess.run(
        [
            str(st),
            "run",
            f"{server.url}/openapi.json",
            "--include-path-regex",
            "^/v1/",
            "--checks",
            "not_a_server_error",
            "--phases",
            "fuzzing",
            "--max-time",
            "120",
            "--workers",
            "2",
            "--seed",
            "20261201",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    tested = [line for line in out.splitlines() if "generated" in line and "passed" in line]
    assert tested, out[-3000:]  # the run generated and sent cases (not an empty pass)
    generated = int(tested[-1].split("generated")[0].split()[-1])
    assert generated >= 500, tested[-1]
    assert "Server error" not in out and "Network Error" not in out

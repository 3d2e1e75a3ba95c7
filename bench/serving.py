"""Shared by the bench scripts that go over HTTP: `fmstack serve` in a subprocess on a free
loopback port, as a user would run it, stopped when the block ends.

    with served({"FMSTACK_DATA_DIR": data}) as url:
        httpx.get(f"{url}/v1/models")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(env: dict[str, str], timeout: float = 30) -> Iterator[str]:
    """The server's base URL once it answers /healthz; `env` is added to this process's."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fmstack", "serve", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"fmstack serve did not start (exit code {proc.poll()})") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)

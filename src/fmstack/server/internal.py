"""Requests the server makes to itself: a batch line goes through the same route, validation,
guardrails and metering as a client's request, as an ASGI call in process (no socket, no HTTP
parsing). The caller travels in the ASGI scope's state, where no client can put it."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message

from ..keys import ApiKeyRecord

CALLER = "fmstack.internal_caller"


class InternalCaller:
    """Who an internal request runs as: an API key's record (None: the local owner) and a workspace."""

    def __init__(self, key: ApiKeyRecord | None, workspace: str):
        self.key, self.workspace = key, workspace


def dispatcher(app: ASGIApp):
    """`await dispatch(path, body, caller)` -> (status, JSON body) for a POST to `path`."""

    async def dispatch(path: str, body: dict[str, Any], caller: dict[str, Any] | None) -> tuple[int, Any]:
        from ..store import current_workspace

        key = ApiKeyRecord.model_validate(caller) if caller else None
        who = InternalCaller(key, key.workspace_id if key is not None else current_workspace())
        data = json.dumps(body).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
            "client": ("internal", 0),
            "server": ("fmstack", 0),
            "state": {CALLER: who},
        }
        sent = False
        status = 500
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        raw = b"".join(chunks)
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, {"error": {"message": raw.decode("utf-8", "replace")[:2000], "type": "server_error"}}

    return dispatch

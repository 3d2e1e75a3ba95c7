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


class LineServer:
    """A Ray actor (models/ray_cluster.py): one fmstack application on one node of a cluster; batch
    lines sent to it go through its routes as they would on the coordinating server. It reads the
    same database as the coordinator (keys, limits, guardrails), so nodes must reach it."""

    def __init__(self, settings: Any):
        from ..sdk import Fmstack
        from .app import create_app

        self.fm = Fmstack(settings)
        self.fm.leave_jobs_to_workers()
        self.dispatch = dispatcher(create_app(self.fm, run_jobs=False))
        self.lines = 0

    async def line(self, path: str, body: dict[str, Any], caller: dict[str, Any] | None, workspace: str):
        from ..store.scope import in_workspace

        self.lines += 1
        with in_workspace(workspace):
            return await self.dispatch(path, body, caller)

    def stats(self) -> dict[str, Any]:
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "lines": self.lines}


def ray_dispatcher(cluster: Any, settings: Any):
    """Like `dispatcher`, but each line is answered by the next node's LineServer."""
    import itertools

    from ..store import current_workspace

    actors = cluster.pool("lines", LineServer, settings)
    turn = itertools.count()

    async def dispatch(path: str, body: dict[str, Any], caller: dict[str, Any] | None) -> tuple[int, Any]:
        actor = actors[next(turn) % len(actors)]
        return await actor.line.remote(path, body, caller, current_workspace())

    return dispatch

"""ASGI middleware: request body size limit and API-key authentication."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from ..console import is_public
from ..keys import KeyStore
from .errors import error_body


async def _send_json(send: Send, status: int, body: dict, headers: list | None = None) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413, by Content-Length or while streaming in."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit, setting = (
            (self.upload_bytes, "FMSTACK_MAX_UPLOAD_BYTES") if upload else (self.max_bytes, "FMSTACK_MAX_BODY_BYTES")
        )
        message = f"request body is larger than the limit of {limit} bytes ({setting})"
        if length is not None and length.isdigit() and int(length) > limit:
            return await _send_json(send, 413, error_body(message, 413))
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, message)
            return dict(msg)

        await self.app(scope, limited, send)


class ApiKeyAuth:
    """When keys are configured, every HTTP route needs `Authorization: Bearer KEY` (or `x-api-key`)."""

    def __init__(self, app: ASGIApp, keys: KeyStore):
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS" or is_public(scope.get("path", "")):
            return await self.app(scope, receive, send)
        if not await run_in_threadpool(self.keys.required):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        record = await run_in_threadpool(self.keys.lookup, key)
        if record is None:
            text = "invalid API key" if key else "an API key is required: send 'Authorization: Bearer <key>'"
            return await _send_json(send, 401, error_body(text, 401), [(b"www-authenticate", b"Bearer")])
        scope.setdefault("state", {})["api_key"] = record  # request.state.api_key: its guardrail applies
        await self.app(scope, receive, send)

"""ASGI middleware: request body size limit, and access (keys, roles, limits, audit, metrics)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..access import at_least, required_role
from ..access.limits import KeyMeter
from ..access.roles import SERVER_ADMIN
from ..console import is_public
from ..errors import NotFound, RateLimited
from ..keys import ApiKeyRecord
from ..models.metering import METER
from ..observability import LATENCY, REQUESTS
from ..store import DEFAULT_WORKSPACE, WORKSPACE
from ..store.tables import utcnow
from .errors import error_body, shaped
from .internal import CALLER, InternalCaller

if TYPE_CHECKING:
    from ..sdk import Fmstack


async def _send_json(scope: Scope, send: Send, status: int, body: dict, headers: list | None = None) -> None:
    status, body = shaped(scope.get("path", ""), status, body)
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
            return await _send_json(scope, send, 413, error_body(message, 413))
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


class Access:
    """Who is calling and what they may do, for every HTTP route but the public ones:

    1. the API key (`Authorization: Bearer KEY` or `x-api-key`) when keys are configured — 401
       without a valid, unexpired one; with no keys at all the caller is the local owner;
    2. the key's role against what the route needs (access/roles.py) — 403;
    3. the key's limits (requests and tokens per minute, monthly budget) — 429 with Retry-After;
    4. the request's meter, so model calls are checked against the key's models and counted;
    5. afterwards: the audit log for changes and administration, and the request metrics."""

    def __init__(self, app: ASGIApp, fm: Fmstack):
        self.app = app
        self.fm = fm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if method == "OPTIONS" or is_public(path) or path in OPEN_PATHS:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500
        record = None

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            record = await self._caller(scope, method, path)
            token = METER.set(KeyMeter(self.fm.accounting, record))
            ws_token = WORKSPACE.set(scope["state"]["workspace"])
            try:
                await self.app(scope, receive, watched)
            finally:
                WORKSPACE.reset(ws_token)
                METER.reset(token)
        except _Refused as r:
            status, record = r.status, r.record
            await _send_json(scope, send, r.status, r.body, r.headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(template, method, str(status)).inc()
            LATENCY.labels(template, method).observe(time.perf_counter() - started)
            # audited: what changes something or administers (not reads, not model calls, which
            # /api/usage counts), and every refusal of a caller
            if required_role(method, path) != "viewer" or status in (401, 403):
                client = scope.get("client")
                actor = f"{record.id} ({record.name})" if record is not None else "local"
                workspace = scope.get("state", {}).get("workspace") or (
                    record.workspace_id if record is not None else DEFAULT_WORKSPACE
                )
                await run_in_threadpool(
                    self.fm.audit.record,
                    workspace=workspace,
                    actor=actor,
                    role=record.role if record is not None else "owner",
                    action=method,
                    target=path,
                    status=status,
                    client=client[0] if client else None,
                )

    async def _caller(self, scope: Scope, method: str, path: str) -> ApiKeyRecord | None:
        internal = scope.get("state", {}).get(CALLER)
        if isinstance(internal, InternalCaller):  # a batch line: admitted when its batch was
            scope["state"]["api_key"], scope["state"]["workspace"] = internal.key, internal.workspace
            return internal.key
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        record: ApiKeyRecord | None = None
        cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
        if not key and (token := cookies.get(SESSION_COOKIE, "")):
            record = await run_in_threadpool(self._signed_in, token)
            if record is None:
                raise _Refused(401, error_body("the console session has ended: sign in again", 401), [])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if method not in ("GET", "HEAD") and origin and origin.split("://", 1)[-1] != host:
                text = f"a request from {origin} may not use this console session"
                raise _Refused(403, error_body(text, 403), [], record)
        elif not await run_in_threadpool(self.fm.keys.required):
            # one user on their own machine: the owner, and a server admin; X-Fmstack-Workspace picks
            # another workspace than the default one
            return await self._enter(scope, None, headers)
        else:
            record = await run_in_threadpool(self.fm.keys.lookup, key)
            if record is None or record.expired:
                text = (
                    "this API key has expired"
                    if record is not None
                    else ("invalid API key" if key else "an API key is required: send 'Authorization: Bearer <key>'")
                )
                raise _Refused(401, error_body(text, 401), [(b"www-authenticate", b"Bearer")], record)
        scope.setdefault("state", {})["api_key"] = record  # request.state.api_key: its guardrail and role
        needed = required_role(method, path)
        if not (at_least(record.role, needed) or (needed == SERVER_ADMIN and record.server_admin)):
            text = f"this API key's role ({record.role}) may not {method} {path}: that needs {needed} or above"
            raise _Refused(403, error_body(text, 403), [], record)
        try:
            await run_in_threadpool(self.fm.accounting.admit, record)
        except RateLimited as e:
            raise _Refused(429, e.to_openai(), [(b"retry-after", str(e.retry_after).encode())], record) from None
        return await self._enter(scope, record, headers)

    async def _enter(self, scope: Scope, record: ApiKeyRecord | None, headers: dict) -> ApiKeyRecord | None:
        """Set the request's workspace: the key's; a server admin may name another one."""
        workspace = record.workspace_id if record is not None else DEFAULT_WORKSPACE
        asked = headers.get(b"x-fmstack-workspace", b"").decode("latin-1").strip()
        if asked:
            if record is not None and not record.server_admin:
                text = "only a server admin may choose the workspace of a request"
                raise _Refused(403, error_body(text, 403), [], record)
            try:
                workspace = await run_in_threadpool(self.fm.teams.workspace, asked)
            except NotFound as e:
                raise _Refused(404, e.to_openai(), []) from None
        scope.setdefault("state", {})["workspace"] = workspace
        return record

    def _signed_in(self, token: str) -> ApiKeyRecord | None:
        who = self.fm.teams.session(token)
        if who is None:
            return None
        return ApiKeyRecord(
            id=f"user:{who.user_id}",
            name=who.name,
            prefix="",
            created_at=utcnow(),
            role=who.role,
            workspace_id=who.workspace_id,
            server_admin=who.is_admin,
        )


SESSION_COOKIE = "fmstack_session"


class _Refused(Exception):
    def __init__(self, status: int, body: dict, headers: list, record: ApiKeyRecord | None = None):
        self.status, self.body, self.headers = status, body, headers
        self.record = record  # the caller, when known (for the audit log)


OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/api/auth/login", "/api/auth/oidc/login", "/api/auth/oidc/callback"}
)

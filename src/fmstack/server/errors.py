"""Every error leaves the server in OpenAI's error body with the right HTTP status."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import FmstackError, RateLimited
from ..observability import ERRORS

log = logging.getLogger("fmstack.server")

STATUS_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "payload_too_large"),
    422: ("invalid_request_error", "invalid_value"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error_body(
    message: str, status: int, *, type: str | None = None, param: str | None = None, code: str | None = None
) -> dict:
    default_type, default_code = STATUS_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": type or default_type, "param": param, "code": code or default_code}}


# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors)
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def shaped(path: str, status: int, body: dict) -> tuple[int, dict]:
    """An error as the API the request spoke expects it: Anthropic's shape under /v1/messages
    (where a body that fails validation is a 400), OpenAI's everywhere else."""
    if not path.startswith("/v1/messages"):
        return status, body
    status = 400 if status == 422 else status
    message = (body.get("error") or {}).get("message") or "error"
    return status, {"type": "error", "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}


def json_error(request: Request, status: int, body: dict, headers: dict | None = None) -> JSONResponse:
    status, body = shaped(request.url.path, status, body)
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(FmstackError)
    async def _fmstack(request: Request, e: FmstackError):
        if e.status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.url.path, e.status, e.message)
        ERRORS.labels(e.type, e.code or "").inc()
        headers = {"Retry-After": str(e.retry_after)} if isinstance(e, RateLimited) else None
        return json_error(request, e.status, e.to_openai(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError):
        errors = e.errors()
        first: dict[str, Any] = dict(errors[0]) if errors else {"msg": "invalid request", "loc": ()}
        if first.get("type") == "json_invalid":
            message = f"the request body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}"
            return json_error(request, 400, error_body(message, 400))
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        param = ".".join(loc) or None
        message = f"{param}: {first['msg']}" if param else first["msg"]
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return json_error(request, 422, error_body(message, 422, param=param))

    @app.exception_handler(DataError)
    async def _data(request: Request, e: DataError):
        # a value the database cannot hold or compare (PostgreSQL: a NUL character in text, a number
        # out of range): the request's, so a 400 that says why (the SQL is not shown)
        reason = str(getattr(e, "orig", "") or "").strip().splitlines()
        message = "the database refused a value of this request" + (f": {reason[0]}" if reason else "")
        ERRORS.labels("invalid_request_error", "data_error").inc()
        return json_error(request, 400, error_body(message, 400))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException):
        message = e.detail if isinstance(e.detail, str) else str(e.detail)
        return json_error(request, e.status_code, error_body(message, e.status_code), getattr(e, "headers", None))


class Unexpected:
    """The last word on an error no handler knew: a 500 in the API's error shape, or, when the
    response had already begun, its end — never an exception out of the application, which makes
    the server drop the connection (and the client's next request on it)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            # the same answer on every database (PostgreSQL cannot hold a NUL in text, SQLite can)
            return await _refuse(scope, send, 400, "NUL characters are not allowed in the URL")
        state = {"started": False, "ended": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as e:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            ERRORS.labels("server_error", type(e).__name__).inc()
            if not state["started"]:
                await _refuse(scope, send, 500, f"internal error: {type(e).__name__}: {e}")
            elif not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    """An error response in the API's shape, sent straight from the ASGI layer."""
    status, shape = shaped(scope.get("path", ""), status, error_body(message, status))
    body = json.dumps(shape).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""Teams over HTTP: workspaces and users (server admins), the members of the caller's workspace
(its owners and admins), and console sign-in (/api/auth)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..access import at_least
from ..access.oidc import STATE_COOKIE, STATE_SECONDS
from ..access.teams import SESSION_DAYS
from ..errors import Forbidden, NotFound, Unauthorized
from ..store import current_workspace
from .deps import caller_role, fm, server_admin
from .middleware import SESSION_COOKIE

router = APIRouter(prefix="/api")


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


@router.get("/workspaces")
def list_workspaces(request: Request) -> dict:
    server_admin(request)
    return {"data": fm(request).teams.workspaces()}


@router.post("/workspaces", status_code=201)
def create_workspace(body: WorkspaceIn, request: Request) -> dict:
    server_admin(request)
    return fm(request).teams.create_workspace(body.name)


@router.delete("/workspaces/{ref}", status_code=204)
def delete_workspace(ref: str, request: Request) -> Response:
    server_admin(request)
    fm(request).teams.delete_workspace(ref)
    return Response(status_code=204)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    is_admin: bool = False


@router.get("/users")
def list_users(request: Request) -> dict:
    server_admin(request)
    return {"data": fm(request).teams.users()}


@router.post("/users", status_code=201)
def create_user(body: UserIn, request: Request) -> dict:
    server_admin(request)
    return fm(request).teams.create_user(body.name, body.password, is_admin=body.is_admin)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1)  # id or name
    role: str = "member"


@router.get("/members")
def list_members(request: Request) -> dict:
    return {"data": fm(request).teams.members(current_workspace())}


@router.post("/members", status_code=201)
def set_member(body: MemberIn, request: Request) -> dict:
    if not at_least(caller_role(request), body.role):
        raise Forbidden(f"a {caller_role(request)} cannot give the higher role {body.role}", param="role")
    return fm(request).teams.set_member(current_workspace(), body.user, body.role)


@router.delete("/members/{user}", status_code=204)
def remove_member(user: str, request: Request) -> Response:
    fm(request).teams.remove_member(current_workspace(), user)
    return Response(status_code=204)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)
    workspace: str | None = None


@router.post("/auth/login")
async def login(body: LoginIn, request: Request, response: Response) -> dict:
    app = fm(request)
    await run_in_threadpool(app.accounting.sign_in_allowed, body.name)
    try:
        token, who = await run_in_threadpool(app.teams.login, body.name, body.password, body.workspace)
    except Unauthorized:
        await run_in_threadpool(app.accounting.failed_sign_in, body.name)
        raise
    _set_session(response, request, token)
    return {"user": who.name, "workspace": who.workspace_id, "role": who.role, "is_admin": who.is_admin}


def _set_session(response: Response, request: Request, token: str) -> None:
    """The console session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, a week long."""
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True, samesite="strict", secure=secure, path="/"
    )


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/auth/oidc/login", include_in_schema=True)
def oidc_login(request: Request) -> RedirectResponse:
    """Send the browser to the OpenID provider (FMSTACK_OIDC_ISSUER)."""
    oidc = fm(request).oidc
    if oidc is None:
        raise NotFound("sign-in through an OpenID provider is not configured (FMSTACK_OIDC_ISSUER)")
    url, state = oidc.start(_callback_url(request))
    out = RedirectResponse(url, status_code=302)
    secure = request.url.scheme == "https"
    out.set_cookie(STATE_COOKIE, state, max_age=STATE_SECONDS, httponly=True, samesite="lax", secure=secure, path="/")
    return out


@router.get("/auth/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> RedirectResponse:
    """Where the provider sends the browser back: verify, open a console session, go to the console."""
    app = fm(request)
    if app.oidc is None:
        raise NotFound("sign-in through an OpenID provider is not configured (FMSTACK_OIDC_ISSUER)")
    if error or not code:
        raise Unauthorized(f"the OpenID provider did not sign you in: {error or 'no code'}")
    claims = app.oidc.finish(code, state, request.cookies.get(STATE_COOKIE, ""), _callback_url(request))
    name = str(claims.get("email") or claims["sub"])
    token, _ = app.teams.login_verified(name, create_role=app.oidc.config.create_users)
    out = RedirectResponse("/#/settings", status_code=302)
    _set_session(out, request, token)
    out.delete_cookie(STATE_COOKIE, path="/")
    return out


@router.get("/auth/me")
def me(request: Request) -> dict:
    key = getattr(request.state, "api_key", None)
    return {
        "name": key.name if key is not None else "local",
        "role": caller_role(request),
        "workspace": current_workspace(),
        "server_admin": key.server_admin if key is not None else True,
    }


@router.post("/auth/logout", status_code=204)
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        fm(request).teams.logout(token)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    return out

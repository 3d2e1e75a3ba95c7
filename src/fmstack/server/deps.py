"""What every router needs from the request: the SDK the app was started with, and the guardrail
bound to the caller's API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from ..errors import Forbidden
from ..sdk import Fmstack
from ..store import MAX_INT

# A row's number in a path, and a version or count in a query: what a column can hold, so a
# number past 64 bits is a 422 that names the parameter rather than the database's refusal.
RowId = Annotated[int, Path(ge=1, le=MAX_INT)]
Version = Annotated[int, Query(ge=1, le=MAX_INT)]
QueryVersion = Annotated[int | None, Query(ge=1, le=MAX_INT)]


def fm(request: Request) -> Fmstack:
    return request.app.state.fm


def key_guardrail(request: Request) -> str | None:
    """The guardrail bound to the API key of this request, if any."""
    key = getattr(request.state, "api_key", None)
    return key.guardrail if key is not None else None


def server_admin(request: Request) -> None:
    """Only server admins: keys from FMSTACK_API_KEYS, admin users, the local owner without keys."""
    key = getattr(request.state, "api_key", None)
    if key is not None and not key.server_admin:
        raise Forbidden("only a server admin (FMSTACK_API_KEYS, or an admin user) may do this")


def caller_role(request: Request) -> str:
    """The role of this request's API key; with no keys configured the caller is the owner."""
    key = getattr(request.state, "api_key", None)
    return key.role if key is not None else "owner"

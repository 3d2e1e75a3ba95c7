"""Workspaces, users, their roles, and console sign-in.

An admin (a user with `is_admin`, a key from FMSTACK_API_KEYS, or the local owner when no keys
are configured) creates workspaces and users; a workspace's owners and admins add its members
with a role. A user signs in to the console with a password (scrypt, from the standard library);
the session is a random token in an HttpOnly, SameSite=Strict cookie, stored as its hash."""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from ..errors import InvalidInput, NotFound, Unauthorized
from ..store import Database, Membership, User, UserSession, Workspace
from ..store.scope import DEFAULT_WORKSPACE
from ..store.tables import utcnow
from .roles import ROLES

SESSION_DAYS = 7
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode("ascii")
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt)}${b64(digest)}"


def check_password(password: str, stored: str | None) -> bool:
    try:
        _, n, r, p, salt, digest = (stored or "").split("$")
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
        return hmac.compare_digest(got, base64.b64decode(digest))
    except ValueError:
        return False


_DUMMY = hash_password(secrets.token_urlsafe(16))  # unknown users cost the same time as wrong passwords


@dataclass
class SignedIn:
    user_id: str
    name: str
    workspace_id: str
    role: str
    is_admin: bool


def _role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role is one of {', '.join(ROLES)}", param="role")
    return role


class Teams:
    def __init__(self, db: Database):
        self.db = db

    # -- workspaces -------------------------------------------------------------------------------
    def create_workspace(self, name: str) -> dict:
        name = (name or "").strip()
        if not re.fullmatch(r"[\w][\w .\-]{0,99}", name):
            raise InvalidInput("a workspace name is 1-100 letters, digits, spaces, '.', '_' or '-'", param="name")
        with self.db.session() as s:
            if s.scalar(select(Workspace.id).where(Workspace.name == name)):
                raise InvalidInput(f"a workspace named {name!r} exists", param="name")
            ws = Workspace(name=name)
            s.add(ws)
            s.flush()
            return {"id": ws.id, "name": ws.name, "created_at": ws.created_at.isoformat()}

    def workspaces(self) -> builtins.list[dict]:
        with self.db.session() as s:
            return [
                {"id": w.id, "name": w.name, "created_at": w.created_at.isoformat()}
                for w in s.scalars(select(Workspace).order_by(Workspace.created_at))
            ]

    def workspace(self, ref: str) -> str:
        """A workspace's id from its id or name."""
        with self.db.session() as s:
            found = s.scalar(select(Workspace.id).where((Workspace.id == ref) | (Workspace.name == ref)))
        if found is None:
            raise NotFound(f"no workspace {ref!r}", param="workspace")
        return found

    def delete_workspace(self, ref: str) -> None:
        ws = self.workspace(ref)
        if ws == DEFAULT_WORKSPACE:
            raise InvalidInput("the default workspace cannot be deleted", param="workspace")
        with self.db.session() as s:
            s.execute(delete(Workspace).where(Workspace.id == ws))  # its content goes with it (ON DELETE CASCADE)

    # -- users ------------------------------------------------------------------------------------
    def create_user(self, name: str, password: str | None, *, is_admin: bool = False) -> dict:
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise InvalidInput("a user needs a name of 1-200 characters", param="name")
        if password is not None and len(password) < 8:
            raise InvalidInput("a password has at least 8 characters", param="password")
        with self.db.session() as s:
            if s.scalar(select(User.id).where(User.name == name)):
                raise InvalidInput(f"a user named {name!r} exists", param="name")
            user = User(name=name, password_hash=hash_password(password) if password else None, is_admin=is_admin)
            s.add(user)
            s.flush()
            return _user(user)

    def users(self) -> builtins.list[dict]:
        with self.db.session() as s:
            return [_user(u) for u in s.scalars(select(User).order_by(User.name))]

    def _user_id(self, s, ref: str) -> str:
        found = s.scalar(select(User.id).where((User.id == ref) | (User.name == ref)))
        if found is None:
            raise NotFound(f"no user {ref!r}", param="user")
        return found

    def set_member(self, workspace_id: str, user: str, role: str) -> dict:
        _role(role)
        with self.db.session() as s:
            uid = self._user_id(s, user)
            row = s.get(Membership, (uid, workspace_id))
            if row is None:
                s.add(Membership(user_id=uid, workspace_id=workspace_id, role=role))
            else:
                row.role = role
            return {"user_id": uid, "workspace_id": workspace_id, "role": role}

    def remove_member(self, workspace_id: str, user: str) -> None:
        with self.db.session() as s:
            uid = self._user_id(s, user)
            row = s.get(Membership, (uid, workspace_id))
            if row is None:
                raise NotFound(f"{user!r} is not a member of this workspace", param="user")
            s.delete(row)
            s.execute(delete(UserSession).where(UserSession.user_id == uid, UserSession.workspace_id == workspace_id))

    def members(self, workspace_id: str) -> builtins.list[dict]:
        with self.db.session() as s:
            rows = s.execute(
                select(User, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == workspace_id)
                .order_by(User.name)
            ).all()
            return [{**_user(u), "role": role} for u, role in rows]

    # -- sign-in ----------------------------------------------------------------------------------
    def login(self, name: str, password: str, workspace: str | None = None) -> tuple[str, SignedIn]:
        """A new session token for the user in a workspace (theirs: the one named, or the first)."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            ok = check_password(password, user.password_hash if user is not None else _DUMMY)
            if user is None or not ok or user.disabled:
                raise Unauthorized("wrong user name or password")
            return self._open_session(s, user, workspace)

    def login_verified(self, name: str, *, create_role: str | None = None) -> tuple[str, SignedIn]:
        """A session for a user whose identity another party verified (OpenID Connect): the user
        must exist, or is created with `create_role` in the default workspace."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None and create_role:
                user = User(name=name, password_hash=None)
                s.add(user)
                s.flush()
                s.add(Membership(user_id=user.id, workspace_id=DEFAULT_WORKSPACE, role=_role(create_role)))
                s.flush()
            if user is None or user.disabled:
                raise Unauthorized(f"{name} has no fmstack account: ask an admin to create the user")
            return self._open_session(s, user, None)

    def _open_session(self, s, user: User, workspace: str | None) -> tuple[str, SignedIn]:
        memberships = {
            m.workspace_id: m.role for m in s.scalars(select(Membership).where(Membership.user_id == user.id))
        }
        if workspace is not None:
            ws = self.workspace(workspace)
        elif memberships:
            ws = next(iter(memberships))
        else:
            ws = DEFAULT_WORKSPACE
        if ws not in memberships and not user.is_admin:
            raise Unauthorized("this user is not a member of that workspace")
        token = secrets.token_urlsafe(32)
        s.add(
            UserSession(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                user_id=user.id,
                workspace_id=ws,
                expires_at=utcnow() + timedelta(days=SESSION_DAYS),
            )
        )
        return token, SignedIn(user.id, user.name, ws, memberships.get(ws, "owner"), user.is_admin)

    def session(self, token: str) -> SignedIn | None:
        if not token:
            return None
        with self.db.session() as s:
            row = s.get(UserSession, hashlib.sha256(token.encode()).hexdigest())
            if row is None or row.expires_at <= utcnow():
                return None
            user = s.get(User, row.user_id)
            if user is None or user.disabled:
                return None
            member = s.get(Membership, (user.id, row.workspace_id))
            if member is None and not user.is_admin:
                return None
            return SignedIn(user.id, user.name, row.workspace_id, member.role if member else "owner", user.is_admin)

    def logout(self, token: str) -> None:
        with self.db.session() as s:
            s.execute(delete(UserSession).where(UserSession.token_hash == hashlib.sha256(token.encode()).hexdigest()))


def _user(u: User) -> dict:
    created: datetime = u.created_at
    return {
        "id": u.id,
        "name": u.name,
        "is_admin": u.is_admin,
        "disabled": u.disabled,
        "created_at": created.isoformat(),
    }

"""API keys: from FMSTACK_API_KEYS and from the keys table (stored as SHA-256 hashes).
When any key exists, every server route requires one.

A stored key has a role (owner > admin > member > viewer: what it may do, access/roles.py) and
optional limits: an expiry, the models it may use, requests and tokens per minute, and a monthly
budget (access/limits.py). Keys from FMSTACK_API_KEYS are owner keys without limits."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from .errors import InvalidInput, NotFound
from .store import DEFAULT_WORKSPACE, MAX_INT, ApiKey, Database, User
from .store.tables import utcnow


class ApiKeyRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    guardrail: str | None = None
    role: str = "owner"
    workspace_id: str = DEFAULT_WORKSPACE
    server_admin: bool = False  # manages workspaces and users (FMSTACK_API_KEYS keys, admin users)
    expires_at: datetime | None = None
    allowed_models: list[str] | None = None
    rpm: int | None = None
    tpm: int | None = None
    monthly_budget: float | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()


class KeyLimits(BaseModel):
    """What a new key may do: its role, and limits (None: none)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["owner", "admin", "member", "viewer"] = "owner"
    expires_at: datetime | None = None
    allowed_models: list[str] | None = None
    rpm: int | None = Field(default=None, ge=1, le=MAX_INT)
    tpm: int | None = Field(default=None, ge=1, le=MAX_INT)
    monthly_budget: float | None = Field(default=None, ge=0)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    def __init__(self, db: Database, env_keys: list[str] | None = None):
        self.db = db
        self.env_keys = list(env_keys or [])

    def create(
        self, name: str, guardrail: str | None = None, limits: KeyLimits | None = None
    ) -> tuple[ApiKeyRecord, str]:
        """A new key; the plain key is returned once and never stored."""
        if not name or not name.strip():
            raise InvalidInput("an API key needs a name", param="name")
        limits = limits or KeyLimits()
        key = "fmk-" + secrets.token_urlsafe(32)
        with self.db.session() as s:
            row = ApiKey(
                name=name.strip(),
                prefix=key[:10],
                key_hash=_hash(key),
                guardrail=guardrail or None,
                **limits.model_dump(),
            )
            s.add(row)
            s.flush()
            return ApiKeyRecord.model_validate(row), key

    def list(self) -> builtins.list[ApiKeyRecord]:
        with self.db.session() as s:
            return [ApiKeyRecord.model_validate(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.created_at))]

    def revoke(self, key_id: str) -> ApiKeyRecord:
        with self.db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"API key {key_id!r} does not exist")
            row.revoked_at = row.revoked_at or utcnow()
            s.flush()
            return ApiKeyRecord.model_validate(row)

    def required(self) -> bool:
        if self.env_keys:
            return True
        with self.db.session() as s:
            any_key = select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)
            if s.scalar(any_key.execution_options(all_workspaces=True)) is not None:
                return True
            return s.scalar(select(User.id).limit(1)) is not None  # users sign in: no anonymous owner

    def verify(self, key: str | None) -> bool:
        return self.lookup(key) is not None

    def lookup(self, key: str | None) -> ApiKeyRecord | None:
        """The key's record when it is valid (keys from FMSTACK_API_KEYS get a bare record)."""
        if not key:
            return None
        if any(hmac.compare_digest(key, k) for k in self.env_keys):
            return ApiKeyRecord(
                id="env", name="FMSTACK_API_KEYS", prefix=key[:10], created_at=utcnow(), server_admin=True
            )
        with self.db.session() as s:
            # before its workspace is known: the key says which one
            found = select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None))
            row = s.scalar(found.execution_options(all_workspaces=True))
            if row is None:
                return None
            row.last_used_at = utcnow()
            s.flush()
            return ApiKeyRecord.model_validate(row)

    def by_id(self, key_id: str) -> ApiKeyRecord | None:
        """A key by its id, revoked or not (work queued with a key is metered to it)."""
        if key_id == "env":
            return ApiKeyRecord(id="env", name="FMSTACK_API_KEYS", prefix="", created_at=utcnow(), server_admin=True)
        with self.db.session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.id == key_id).execution_options(all_workspaces=True))
            return None if row is None else ApiKeyRecord.model_validate(row)

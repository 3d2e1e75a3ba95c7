"""Roles: owner > admin > member > viewer. What each route needs is decided here, in one table,
from the method and the path — not in each route:

- viewer: reads (GET) and asks (model calls, retrieval, rendering a prompt, applying a guardrail):
  nothing it does changes what is stored;
- member: creates, changes and deletes content (conversations, knowledge bases, agents, …);
- admin: API keys, members, model endpoints, the audit log, usage; defines tools that run code;
- SERVER_ADMIN (not a workspace role: keys from FMSTACK_API_KEYS, admin users): workspaces, users;
- owner: everything, and may make owner keys.
"""

from __future__ import annotations

import re

ROLES = ("viewer", "member", "admin", "owner")

# requests that only read or compute: open to viewers whatever the method
_ASKS = [
    re.compile(p)
    for p in (
        r"^/v1/chat/completions$",
        r"^/v1/embeddings$",
        r"^/v1/rerank$",
        r"^/api/tokenize$",
        r"^/api/knowledge-bases/[^/]+/(retrieve|answer)$",
        r"^/api/guardrails/[^/]+/apply$",
        r"^/api/prompts/[^/]+/render$",
        r"^/api/auth/(login|logout)$",
        r"^/api/auth/oidc/",
    )
]
# administration: every method, reads included
_ADMIN = re.compile(r"^/api/(keys|audit|usage|members)(/|$)")
# the whole server's people and spaces: server admins only (FMSTACK_API_KEYS keys, admin users)
_SERVER = re.compile(r"^/api/(workspaces|users)(/|$)")
SERVER_ADMIN = "server admin"
# read by everyone, changed by admins
# (endpoints; aliases, which re-point every application of the workspace; deleting a tuned model)
_ADMIN_CHANGES = re.compile(r"^(/api/endpoints|/api/aliases|/v1/models)(/|$)")


def at_least(role: str, needed: str) -> bool:
    """Whether a workspace role suffices (never for SERVER_ADMIN, which is not a workspace role)."""
    return ROLES.index(role) >= ROLES.index(needed) if role in ROLES and needed in ROLES else False


def required_role(method: str, path: str) -> str:
    if _SERVER.match(path):
        return SERVER_ADMIN
    if _ADMIN.match(path):
        return "admin"
    if method in ("GET", "HEAD", "OPTIONS"):
        return "viewer"
    if _ADMIN_CHANGES.match(path):
        return "admin"
    if any(p.match(path) for p in _ASKS):
        return "viewer"
    return "member"

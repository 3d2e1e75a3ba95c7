"""The audit log: every change made through the API (routes a member or more may use, except
reads), every read of the administration routes, and every refused request (401, 403) — who (key id and name), their role, when, what (method and
path), from where (the client address) and the status it ended with. Queryable and exportable
(JSON lines) at /api/audit; rows older than the retention (FMSTACK_AUDIT_RETENTION_DAYS, default
365) are removed at start and once a day."""

from __future__ import annotations

import builtins
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from ..store import AuditRow, Database


class AuditLog:
    def __init__(self, db: Database, retention_days: int = 365):
        self.db = db
        self.retention_days = retention_days
        self._pruned = 0.0
        self._lock = threading.Lock()

    def record(
        self, *, workspace: str, actor: str, role: str, action: str, target: str, status: int, client: str | None
    ) -> None:
        with self.db.session() as s:
            s.add(
                AuditRow(
                    workspace_id=workspace,
                    actor=actor[:200],
                    role=role,
                    action=action[:10],
                    target=target[:1000],
                    status=status,
                    client=client,
                )
            )
        if time.monotonic() - self._pruned > 86400:
            self.prune()

    def prune(self) -> int:
        with self._lock:
            self._pruned = time.monotonic()
            if self.retention_days <= 0:
                return 0
            cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
            with self.db.session() as s:
                old = delete(AuditRow).where(AuditRow.at < cutoff).execution_options(all_workspaces=True)
                return s.execute(old).rowcount  # type: ignore[attr-defined]

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[dict]:
        q = select(AuditRow)
        if since is not None:
            q = q.where(AuditRow.at >= since)
        if until is not None:
            q = q.where(AuditRow.at < until)
        if actor:
            q = q.where(AuditRow.actor.contains(actor))
        if action:
            q = q.where(AuditRow.action == action.upper())
        if target:
            q = q.where(AuditRow.target.startswith(target))
        with self.db.session() as s:
            rows = s.scalars(q.order_by(AuditRow.id.desc()).limit(limit)).all()
            return [
                {
                    "id": r.id,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "role": r.role,
                    "action": r.action,
                    "target": r.target,
                    "status": r.status,
                    "client": r.client,
                }
                for r in rows
            ]

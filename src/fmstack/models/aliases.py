"""Promotion: pointing an alias (`default`, `support-bot`…) at another model for one workspace,
with a note and who did it, a history, and roll-back. Applications that ask for the alias get the
new model on their next request; nothing in them changes.

The configuration file's aliases are the starting point; a change is stored (table
`alias_changes`) and applied over it in the registry. Rolling back points the alias at where it
pointed before the last change, and is itself a change in the history.
"""

from __future__ import annotations

import builtins
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from ..errors import InvalidInput, NotFound
from ..store import Database
from ..store.scope import current_workspace
from ..store.tables import AliasChange
from .registry import ModelRegistry

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


class AliasChangeRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    alias: str
    target: str | None
    previous: str | None
    note: str
    actor: str | None
    created_at: datetime


class AliasBook:
    def __init__(self, db: Database, models: ModelRegistry):
        self.db = db
        self.models = models

    def load(self) -> None:
        """Apply every workspace's stored changes to the registry (at start-up)."""
        with self.db.session() as s:
            stmt = select(AliasChange).order_by(AliasChange.created_at, AliasChange.id)
            rows = s.scalars(stmt.execution_options(all_workspaces=True)).all()
            changes = [(r.workspace_id, r.alias, r.target) for r in rows]
        promoted: dict[str, dict[str, str]] = {}
        for workspace, alias, target in changes:
            book = promoted.setdefault(workspace, {})
            if target is None:
                book.pop(alias, None)
            else:
                book[alias] = target
        self.models.promoted = promoted

    def current(self, alias: str) -> str | None:
        """The model name the alias resolves to now in this workspace (None: not an alias)."""
        if alias not in self.models.aliases and alias not in self.models.promoted.get(current_workspace(), {}):
            return None
        return self.models.info(alias).name

    def point(self, alias: str, target: str, *, note: str = "", actor: str | None = None) -> AliasChangeRecord:
        """Point `alias` at model `target` in the current workspace."""
        if not _NAME.match(alias or ""):
            raise InvalidInput("an alias is 1-100 letters, digits, '.', '_', ':' or '-'", param="alias")
        if alias in self.models.names() and alias not in self.models.aliases:
            visible = alias in {self.models._visible(n) for n in self.models.specs}
            if visible:
                raise InvalidInput(f"{alias!r} is a model, not an alias", param="alias")
        info = self.models.info(target)  # ModelNotFound for an unknown model
        if (
            info.name == alias
            or target in self.models.aliases
            or target in self.models.promoted.get(current_workspace(), {})
        ):
            raise InvalidInput("point an alias at a model, not at an alias", param="target")
        previous = self.current(alias)
        if previous is not None:
            kind_now = self.models.info(previous).kind
            if kind_now != info.kind:
                raise InvalidInput(
                    f"alias {alias!r} names {'an embedding' if kind_now == 'embedding' else 'a chat'} model; "
                    f"{target!r} is not one",
                    param="target",
                )
        return self._record(alias, target, previous, note, actor)

    def _record(self, alias: str, target: str | None, previous: str | None, note: str, actor: str | None):
        with self.db.session() as s:
            row = AliasChange(alias=alias, target=target, previous=previous, note=note or "", actor=actor)
            s.add(row)
            s.flush()
            record = AliasChangeRecord.model_validate(row)
        book = self.models.promoted.setdefault(current_workspace(), {})
        if target is None:
            book.pop(alias, None)
        else:
            book[alias] = target
        return record

    def history(self, alias: str | None = None, limit: int = 100) -> builtins.list[AliasChangeRecord]:
        """The changes, newest first (of one alias: NotFound when it is neither configured nor
        ever pointed anywhere in this workspace)."""
        stmt = select(AliasChange).order_by(AliasChange.created_at.desc(), AliasChange.id.desc()).limit(limit)
        if alias:
            stmt = stmt.where(AliasChange.alias == alias)
        with self.db.session() as s:
            found = [AliasChangeRecord.model_validate(r) for r in s.scalars(stmt)]
        if alias and not found and alias not in self.models.aliases:
            raise NotFound(f"no alias {alias!r}", param="alias")
        return found

    def _changes(self, alias: str) -> builtins.list[AliasChangeRecord]:
        try:
            return self.history(alias, limit=1)
        except NotFound:
            return []

    def rollback(self, alias: str, *, note: str = "", actor: str | None = None) -> AliasChangeRecord:
        """Undo the alias's last change: back to where it pointed before (the configuration's
        target when the first change is undone)."""
        changes = self.history(alias, limit=1) if alias in self.models.aliases else self._changes(alias)
        if not changes:
            raise NotFound(f"alias {alias!r} has no change to roll back in this workspace", param="alias")
        last = changes[0]
        back = last.previous
        configured = self.models.aliases.get(alias)
        target: str | None = back
        if (
            back is not None
            and configured is not None
            and self.models._resolve(configured) == self.models._resolve(back)
        ):
            target = None  # back to the configuration itself
        return self._record(alias, target, self.current(alias), note or f"roll back {last.id}", actor)

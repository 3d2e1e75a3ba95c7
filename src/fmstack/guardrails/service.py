"""Guardrails stored in the database, versioned: create, change (a new version), list, delete,
load (cached per version) and apply."""

from __future__ import annotations

import builtins
import threading
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update

from ..errors import InvalidInput, NotFound
from ..models.registry import ModelRegistry
from ..store import Database, GuardrailRow, current_workspace
from .engine import Assessment, Guardrail, Source, parse_config


class GuardrailRecord(BaseModel):
    name: str
    version: int
    config: dict[str, Any]
    created_at: datetime


class GuardrailService:
    def __init__(self, db: Database, models: ModelRegistry):
        self.db = db
        self.models = models
        self._cache: dict[tuple[str, str, int], Guardrail] = {}
        self._lock = threading.Lock()

    def create(self, config: dict[str, Any]) -> GuardrailRecord:
        cfg = parse_config(config)
        with self.db.session() as s:
            if s.scalar(select(GuardrailRow.id).where(GuardrailRow.name == cfg.name, GuardrailRow.deleted.is_(False))):
                raise InvalidInput(
                    f"a guardrail named {cfg.name!r} exists; change it to make a new version", param="name"
                )
            last = s.scalar(select(func.max(GuardrailRow.version)).where(GuardrailRow.name == cfg.name)) or 0
            row = GuardrailRow(name=cfg.name, version=last + 1, config=cfg.model_dump(mode="json"))
            s.add(row)
            s.flush()
            return _record(row)

    def update(self, name: str, config: dict[str, Any]) -> GuardrailRecord:
        """A new version; the old ones stay (responses name the version that checked them)."""
        cfg = parse_config({**config, "name": name})
        with self.db.session() as s:
            last = self._row(s, name)
            row = GuardrailRow(name=name, version=last.version + 1, config=cfg.model_dump(mode="json"))
            s.add(row)
            s.flush()
            return _record(row)

    def list(self) -> builtins.list[GuardrailRecord]:
        with self.db.session() as s:
            latest = (
                select(GuardrailRow.name, func.max(GuardrailRow.version).label("v"))
                .where(GuardrailRow.deleted.is_(False))
                .group_by(GuardrailRow.name)
                .subquery()
            )
            rows = s.scalars(
                select(GuardrailRow)
                .join(latest, (GuardrailRow.name == latest.c.name) & (GuardrailRow.version == latest.c.v))
                .order_by(GuardrailRow.name)
            )
            return [_record(r) for r in rows]

    def get(self, name: str, version: int | None = None) -> GuardrailRecord:
        with self.db.session() as s:
            return _record(self._row(s, name, version))

    def versions(self, name: str) -> builtins.list[GuardrailRecord]:
        with self.db.session() as s:
            self._row(s, name)
            return [
                _record(r)
                for r in s.scalars(select(GuardrailRow).where(GuardrailRow.name == name).order_by(GuardrailRow.version))
            ]

    def delete(self, name: str) -> None:
        with self.db.session() as s:
            self._row(s, name)
            s.execute(update(GuardrailRow).where(GuardrailRow.name == name).values(deleted=True))

    def load(self, ref: str) -> Guardrail:
        """A guardrail by `name` (its newest version) or `name:version`."""
        name, _, v = ref.partition(":")
        version = int(v) if v.isdigit() else None
        if v and version is None:
            raise InvalidInput(f"guardrail {ref!r}: write NAME or NAME:VERSION", param="guardrail")
        rec = self.get(name, version)
        key = (current_workspace(), rec.name, rec.version)  # names are per workspace
        g = self._cache.get(key)
        if g is None:
            with self._lock:
                g = self._cache.get(key)
                if g is None:
                    g = Guardrail(parse_config(rec.config), self.models.embedding(None), rec.version, self.models)
                    self._cache[key] = g
        return g

    def apply(self, ref: str, text: str, source: Source = "input", **kw: Any) -> Assessment:
        """Check any text against a guardrail (like Bedrock's ApplyGuardrail)."""
        return self.load(ref).check(text, source, **kw)

    @staticmethod
    def _row(s, name: str, version: int | None = None) -> GuardrailRow:
        stmt = select(GuardrailRow).where(GuardrailRow.name == name, GuardrailRow.deleted.is_(False))
        stmt = stmt.where(GuardrailRow.version == version) if version else stmt.order_by(GuardrailRow.version.desc())
        row = s.scalars(stmt.limit(1)).first()
        if row is None:
            what = f"{name!r} version {version}" if version else repr(name)
            raise NotFound(f"guardrail {what} does not exist", param="guardrail")
        return row


def _record(row: GuardrailRow) -> GuardrailRecord:
    return GuardrailRecord(name=row.name, version=row.version, config=row.config, created_at=row.created_at)

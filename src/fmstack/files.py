"""Uploaded files (what OpenAI's Files API holds): batch inputs and outputs, fine-tuning data.

The bytes are written to `data_dir/files/<id>` (a new file first under a temporary name, then
renamed, so a reader never sees half of one); the database row says what they are and whose
workspace they belong to.
"""

from __future__ import annotations

import builtins
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from .errors import InvalidInput, NotFound
from .store import Database
from .store.tables import FileRow

PURPOSES = ("batch", "batch_output", "fine-tune", "fine-tune-results", "assistants", "user_data", "evals", "vision")


def page(rows: builtins.list[Any], limit: int, after: str | None) -> builtins.list[Any]:
    """OpenAI's cursor paging over newest-first records: up to `limit` after the one with id `after`."""
    if after:
        ids = [r.id for r in rows]
        rows = rows[ids.index(after) + 1 :] if after in ids else []
    return rows[:limit]


class FileRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: datetime

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": int(self.created_at.timestamp()),
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


class FileStore:
    def __init__(self, db: Database, data_dir: Path):
        self.db = db
        self.root = Path(data_dir) / "files"

    def _path(self, file_id: str) -> Path:
        return self.root / file_id

    def create(self, filename: str, purpose: str, data: bytes) -> FileRecord:
        if purpose not in PURPOSES:
            raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}", param="purpose")
        name = Path(filename or "upload").name[:500] or "upload"
        if purpose == "fine-tune":  # refused at upload, as OpenAI does: not after a job is queued
            from .tuning.datasets import check_file

            check_file(data, name)
        row = FileRow(filename=name, purpose=purpose, bytes=len(data))
        with self.db.session() as s:
            s.add(row)
            s.flush()
            self.root.mkdir(parents=True, exist_ok=True)
            part = self._path(row.id).with_suffix(".part")
            part.write_bytes(data)
            os.replace(part, self._path(row.id))  # committed only once the bytes are there
            return FileRecord.model_validate(row)

    def get(self, file_id: str) -> FileRecord:
        with self.db.session() as s:
            row = s.get(FileRow, file_id)
            if row is None:
                raise NotFound(f"no file {file_id!r}", param="file_id")
            return FileRecord.model_validate(row)

    def content(self, file_id: str) -> bytes:
        self.get(file_id)  # in this workspace
        try:
            return self._path(file_id).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"the content of file {file_id!r} is gone from the data directory", param="file_id"
            ) from None

    def list(self, purpose: str | None = None, limit: int = 100, after: str | None = None) -> builtins.list[FileRecord]:
        stmt = select(FileRow).order_by(FileRow.created_at.desc(), FileRow.id.desc())
        if purpose:
            stmt = stmt.where(FileRow.purpose == purpose)
        with self.db.session() as s:
            rows = [FileRecord.model_validate(r) for r in s.scalars(stmt)]
        return page(rows, limit, after)

    def delete(self, file_id: str) -> None:
        with self.db.session() as s:
            row = s.get(FileRow, file_id)
            if row is None:
                raise NotFound(f"no file {file_id!r}", param="file_id")
            s.delete(row)
        self._path(file_id).unlink(missing_ok=True)

"""Conversations and their messages in the database: create, list, rename, delete, export, feedback."""

from __future__ import annotations

import builtins
import json
import time
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..errors import InvalidInput, NotFound
from ..models.types import Message, ToolCall
from ..store import Conversation, Database, MessageRow
from ..store.tables import utcnow


class MessageRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str
    seq: int
    role: str
    content: str
    name: str | None = None
    tool_calls: list[dict] | None = None
    tool_call_id: str | None = None
    model: str | None = None
    params: dict[str, Any] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    rating: int | None = None
    feedback_comment: str | None = None
    correction: str | None = None  # the answer a 👎 rater says it should have been
    feedback_at: datetime | None = None
    meta: dict[str, Any] | None = None  # e.g. the citations of a knowledge-base answer
    created_at: datetime

    def to_message(self) -> Message:
        calls = None
        if self.tool_calls:
            calls = [
                ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
                for c in self.tool_calls
            ]
        return Message(
            role=self.role,  # type: ignore[arg-type]  # stored from a Message
            content=self.content,
            name=self.name,
            tool_calls=calls,
            tool_call_id=self.tool_call_id,
        )


class ConversationRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    model: str | None = None
    system_prompt: str | None = None
    summary: str | None = None
    summary_through: int | None = None
    meta: dict[str, Any] = {}
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    messages: list[MessageRecord] | None = None


RATINGS = {"up": 1, "down": -1, "+1": 1, "-1": -1, "👍": 1, "👎": -1}


def parse_rating(rating: Any) -> int | None:
    if rating is None:
        return None
    if isinstance(rating, bool):
        raise InvalidInput("rating must be 'up', 'down', 1, -1 or null", param="rating")
    if isinstance(rating, int) and rating in (1, -1):
        return rating
    if isinstance(rating, str) and rating.strip().lower() in RATINGS:
        return RATINGS[rating.strip().lower()]
    raise InvalidInput(f"rating must be 'up', 'down', 1, -1 or null, not {rating!r}", param="rating")


class ConversationStore:
    DEFAULT_TITLE = "New conversation"

    def __init__(self, db: Database):
        self.db = db

    # -- conversations --------------------------------------------------------------------------
    def create(
        self,
        *,
        title: str | None = None,
        model: str | None = None,
        system_prompt: str | None = None,
        meta: dict | None = None,
    ) -> ConversationRecord:
        with self.db.session() as s:
            conv = Conversation(
                title=_title(title) or self.DEFAULT_TITLE, model=model, system_prompt=system_prompt, meta=meta or {}
            )
            s.add(conv)
            s.flush()
            return _record(conv, 0)

    def list(self, *, query: str | None = None, limit: int = 50, offset: int = 0) -> builtins.list[ConversationRecord]:
        counts = (
            select(MessageRow.conversation_id, func.count().label("n")).group_by(MessageRow.conversation_id).subquery()
        )
        stmt = select(Conversation, func.coalesce(counts.c.n, 0)).outerjoin(
            counts, counts.c.conversation_id == Conversation.id
        )
        if query:
            like = f"%{query}%"
            matching = select(MessageRow.conversation_id).where(MessageRow.content.like(like))
            stmt = stmt.where(or_(Conversation.title.like(like), Conversation.id.in_(matching)))
        stmt = stmt.order_by(Conversation.updated_at.desc(), Conversation.id).limit(limit).offset(offset)
        with self.db.session() as s:
            return [_record(conv, n) for conv, n in s.execute(stmt)]

    def get(self, conversation_id: str, *, messages: bool = True) -> ConversationRecord:
        with self.db.session() as s:
            conv = self._conv(s, conversation_id)
            if messages:
                rows = [MessageRecord.model_validate(m) for m in conv.messages]
                return _record(conv, len(rows), rows)
            return _record(
                conv, s.scalar(select(func.count()).where(MessageRow.conversation_id == conversation_id)) or 0
            )

    def update(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        model: str | None = None,
        system_prompt: str | None = None,
        meta: dict | None = None,
    ) -> ConversationRecord:
        with self.db.session() as s:
            conv = self._conv(s, conversation_id)
            if title is not None:
                if not _title(title):
                    raise InvalidInput("title must not be empty", param="title")
                conv.title = _title(title)
            if model is not None:
                conv.model = model or None
            if system_prompt is not None:
                conv.system_prompt = system_prompt or None
            if meta is not None:
                conv.meta = meta
            conv.updated_at = utcnow()
        return self.get(conversation_id, messages=False)

    def rename(self, conversation_id: str, title: str) -> ConversationRecord:
        return self.update(conversation_id, title=title)

    def delete(self, conversation_id: str) -> None:
        with self.db.session() as s:
            self._conv(s, conversation_id)
            s.execute(delete(MessageRow).where(MessageRow.conversation_id == conversation_id))
            s.execute(delete(Conversation).where(Conversation.id == conversation_id))

    def set_summary(self, conversation_id: str, summary: str, through_seq: int) -> None:
        with self.db.session() as s:
            conv = self._conv(s, conversation_id)
            conv.summary, conv.summary_through = summary, through_seq

    # -- messages -------------------------------------------------------------------------------
    def append(self, conversation_id: str, messages: builtins.list[dict]) -> builtins.list[MessageRecord]:
        """Add messages at the end, all or none. Each dict holds MessageRow columns."""
        for attempt in range(5):
            try:
                return self._append(conversation_id, messages)
            except (IntegrityError, OperationalError):
                # Two turns of one conversation raced for the next seq (or SQLite was busy): retry.
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _append(self, conversation_id: str, messages: builtins.list[dict]) -> builtins.list[MessageRecord]:
        with self.db.session() as s:
            conv = self._conv(s, conversation_id, lock=True)
            last = s.scalar(select(func.max(MessageRow.seq)).where(MessageRow.conversation_id == conversation_id)) or 0
            rows = []
            for i, m in enumerate(messages, start=1):
                row = MessageRow(conversation_id=conversation_id, seq=last + i, **m)
                s.add(row)
                rows.append(row)
            conv.updated_at = utcnow()
            if conv.title == self.DEFAULT_TITLE:
                first_user = next(
                    (m["content"] for m in messages if m.get("role") == "user" and m.get("content")), None
                )
                if first_user:
                    conv.title = _title(first_user)[:80]
            s.flush()
            return [MessageRecord.model_validate(r) for r in rows]

    def message(self, message_id: int) -> MessageRecord:
        with self.db.session() as s:
            return MessageRecord.model_validate(self._msg(s, message_id))

    def feedback(
        self, message_id: int, rating: Any, comment: str | None = None, correction: str | None = None
    ) -> MessageRecord:
        """Rate an answer; a corrected answer (what it should have said) can come with it and
        becomes a tuning example (tuning/datasets.py: from_feedback)."""
        value = parse_rating(rating)
        correction = correction.strip() if correction and correction.strip() else None
        with self.db.session() as s:
            row = self._msg(s, message_id)
            if row.role != "assistant":
                raise InvalidInput("feedback applies to assistant messages only", param="message_id")
            row.rating = value
            row.feedback_comment = comment
            row.correction = correction
            row.feedback_at = utcnow() if (value is not None or comment or correction) else None
            s.flush()
            return MessageRecord.model_validate(row)

    def rated_messages(self, rating: int | None = None, limit: int = 1000) -> builtins.list[MessageRecord]:
        """Assistant messages with feedback: the raw material for datasets."""
        stmt = select(MessageRow).where(MessageRow.feedback_at.is_not(None))
        if rating is not None:
            stmt = stmt.where(MessageRow.rating == rating)
        with self.db.session() as s:
            return [MessageRecord.model_validate(r) for r in s.scalars(stmt.order_by(MessageRow.id).limit(limit))]

    # -- export ---------------------------------------------------------------------------------
    def export(self, conversation_id: str, fmt: Literal["json", "markdown"] = "json") -> str:
        conv = self.get(conversation_id)
        if fmt == "json":
            return json.dumps(conv.model_dump(mode="json"), ensure_ascii=False, indent=2)
        if fmt in ("markdown", "md"):
            return to_markdown(conv)
        raise InvalidInput(f"export format must be json or markdown, not {fmt!r}", param="format")

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _conv(s, conversation_id: str, lock: bool = False) -> Conversation:
        stmt = select(Conversation).where(Conversation.id == conversation_id)
        if lock:
            stmt = stmt.with_for_update()
        conv = s.scalar(stmt)
        if conv is None:
            raise NotFound(f"conversation {conversation_id!r} does not exist", param="conversation_id")
        return conv

    @staticmethod
    def _msg(s, message_id: int) -> MessageRow:
        row = s.get(MessageRow, message_id)
        if row is None:
            raise NotFound(f"message {message_id!r} does not exist", param="message_id")
        return row


def _record(conv: Conversation, count: int, messages: list[MessageRecord] | None = None) -> ConversationRecord:
    fields = {k: getattr(conv, k) for k in ConversationRecord.model_fields if k not in ("message_count", "messages")}
    return ConversationRecord(**fields, message_count=count, messages=messages)


def _title(title: str | None) -> str:
    return " ".join((title or "").split())[:300]


ROLE_LABEL = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}


def to_markdown(conv: ConversationRecord) -> str:
    lines = [f"# {conv.title}", "", f"- id: `{conv.id}`", f"- created: {conv.created_at.isoformat()}"]
    if conv.model:
        lines.append(f"- model: {conv.model}")
    lines.append("")
    if conv.system_prompt:
        lines += ["## System", "", conv.system_prompt, ""]
    for m in conv.messages or []:
        head = f"## {ROLE_LABEL.get(m.role, m.role)}"
        if m.role == "assistant" and m.model:
            head += f" ({m.model})"
        lines += [head, "", m.content or ""]
        if m.tool_calls:
            lines += ["", "```json", json.dumps(m.tool_calls, ensure_ascii=False, indent=2), "```"]
        if m.rating is not None or m.feedback_comment:
            mark = {1: "👍", -1: "👎"}.get(m.rating or 0, "")
            lines += ["", f"> feedback: {mark} {m.feedback_comment or ''}".rstrip()]
        if m.finish_reason in ("cancelled", "error"):
            lines += ["", f"> ({m.finish_reason}{': ' + m.error if m.error else ''})"]
        lines.append("")
    return "\n".join(lines)

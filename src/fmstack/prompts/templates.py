"""Prompt templates stored in the database, versioned.

A prompt is a text template or a list of chat messages whose contents are templates (Jinja2,
sandboxed, undefined variables are an error). Another stored prompt can be included as a partial:
`{% include "tone" %}` (its latest version) or `{% include "tone@2" %}` (pinned). Every change makes
a new version; old ones stay, so an app can pin `support-answer@3` while the latest moves on.

    fm.prompts.create("qa", template="Answer briefly.\\nQuestion: {{ question }}")
    fm.prompts.update("qa", template="Answer in one sentence.\\nQuestion: {{ question }}", note="shorter")
    fm.prompts.render("qa@1", question="Why is the sky blue?")      # -> list[Message]
    fm.prompts.diff("qa", 1, 2)                                       # unified diff
"""

from __future__ import annotations

import builtins
import difflib
import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import jinja2
from jinja2 import meta
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from ..errors import InvalidInput, NotFound
from ..models.types import Message
from ..store import Database, PromptRow
from . import sandbox
from .sandbox import BoundedEnvironment

_NAME = re.compile(r"^[\w][\w.\-]{0,99}$")
_ROLES = ("system", "user", "assistant")


class PromptRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    version: int
    template: str | None = None
    messages: list[dict] | None = None
    description: str = ""
    note: str = ""
    variables: list[str] = []
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def parse_ref(ref: str) -> tuple[str, int | None]:
    """ "name" (latest) or "name@3" (pinned)."""
    name, _, version = (ref or "").partition("@")
    if not _NAME.match(name):
        raise InvalidInput(f"not a prompt reference: {ref!r} (use NAME or NAME@VERSION)", param="prompt")
    if version and not version.isdigit():
        raise InvalidInput(f"not a prompt version: {version!r}", param="prompt")
    return name, int(version) if version else None


class PromptService:
    def __init__(self, db: Database):
        self.db = db
        self.env = BoundedEnvironment(  # sandboxed, and no render runs or builds without end
            loader=jinja2.FunctionLoader(self._partial),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        # stored texts never change: each is compiled and scanned for its variables once
        self._compile = functools.lru_cache(maxsize=512)(self.env.from_string)
        self._variables = functools.lru_cache(maxsize=512)(
            lambda text: frozenset(meta.find_undeclared_variables(self.env.parse(text)))
        )

    # -- storage --------------------------------------------------------------------------------
    def create(
        self, name: str, *, template: str | None = None, messages: list[dict] | None = None, description: str = ""
    ) -> PromptRecord:
        if not _NAME.match(name or ""):
            raise InvalidInput("a prompt name is 1-100 letters, digits, '_', '-' or '.'", param="name")
        with self.db.session() as s:
            if s.scalar(select(PromptRow.id).where(PromptRow.name == name)):
                raise InvalidInput(f"a prompt named {name!r} exists; update it to make a new version", param="name")
        return self._add(name, template, messages, description, "")

    def update(
        self,
        name: str,
        *,
        template: str | None = None,
        messages: list[dict] | None = None,
        description: str | None = None,
        note: str = "",
    ) -> PromptRecord:
        """A new version (the old ones stay)."""
        last = self.get(name)
        return self._add(name, template, messages, last.description if description is None else description, note)

    def _add(self, name, template, messages, description, note) -> PromptRecord:
        template, messages = self._check(template, messages)
        with self.db.session() as s:
            last = s.scalar(select(func.max(PromptRow.version)).where(PromptRow.name == name)) or 0
            row = PromptRow(
                name=name,
                version=last + 1,
                template=template,
                messages=messages,
                description=description or "",
                note=note or "",
            )
            s.add(row)
            s.flush()
            return self._record(row)

    def _check(self, template, messages) -> tuple[str | None, list[dict] | None]:
        if (template is None) == (messages is None):
            raise InvalidInput("give either template (text) or messages (chat)", param="template")
        if messages is not None:
            if not isinstance(messages, list) or not messages:
                raise InvalidInput("messages must be a non-empty list of {role, content}", param="messages")
            clean = []
            for i, msg in enumerate(messages):
                if (
                    not isinstance(msg, dict)
                    or msg.get("role") not in _ROLES
                    or not isinstance(msg.get("content"), str)
                ):
                    raise InvalidInput(
                        f"messages[{i}] must be {{role: system|user|assistant, content: text}}", param=f"messages.{i}"
                    )
                clean.append({"role": msg["role"], "content": msg["content"]})
            messages = clean
        for i, text in enumerate([template] if template is not None else [m["content"] for m in messages]):
            try:
                self.env.parse(text)
            except jinja2.TemplateSyntaxError as e:
                where = "template" if template is not None else f"messages.{i}"
                raise InvalidInput(
                    f"{where}: template syntax error on line {e.lineno}: {e.message}", param=where
                ) from None
        return template, messages

    def get(self, ref: str, version: int | None = None) -> PromptRecord:
        name, pinned = parse_ref(ref)
        version = version if version is not None else pinned
        with self.db.session() as s:
            stmt = select(PromptRow).where(PromptRow.name == name)
            stmt = (
                stmt.where(PromptRow.version == version)
                if version
                else stmt.order_by(PromptRow.version.desc()).limit(1)
            )
            row = s.scalar(stmt)
            if row is None:
                what = f"version {version} of prompt {name!r}" if version else f"prompt {name!r}"
                raise NotFound(f"{what} does not exist", param="prompt")
            return self._record(row)

    def list(self) -> builtins.list[PromptRecord]:
        with self.db.session() as s:
            latest = select(PromptRow.name, func.max(PromptRow.version).label("v")).group_by(PromptRow.name).subquery()
            rows = s.scalars(
                select(PromptRow)
                .join(latest, (PromptRow.name == latest.c.name) & (PromptRow.version == latest.c.v))
                .order_by(PromptRow.name)
            )
            return [self._record(r) for r in rows]

    def versions(self, name: str) -> builtins.list[PromptRecord]:
        with self.db.session() as s:
            rows = list(s.scalars(select(PromptRow).where(PromptRow.name == name).order_by(PromptRow.version)))
            if not rows:
                raise NotFound(f"prompt {name!r} does not exist", param="prompt")
            return [self._record(r) for r in rows]

    def delete(self, name: str) -> None:
        with self.db.session() as s:
            rows = list(s.scalars(select(PromptRow).where(PromptRow.name == name)))
            if not rows:
                raise NotFound(f"prompt {name!r} does not exist", param="prompt")
            for r in rows:
                s.delete(r)

    def diff(self, name: str, a: int, b: int) -> str:
        """Unified diff between two versions (chat prompts are compared message by message)."""
        old, new = self.get(name, a), self.get(name, b)
        return "".join(difflib.unified_diff(_lines(old), _lines(new), fromfile=old.ref, tofile=new.ref))

    # -- rendering ------------------------------------------------------------------------------
    def render(self, ref: str, variables: dict[str, Any] | None = None, **kw: Any) -> builtins.list[Message]:
        """The prompt as chat messages (a text prompt becomes one user message)."""
        rec = self.get(ref)
        values = {**(variables or {}), **kw}
        if rec.template is not None:
            return [Message("user", self._render(rec.template, values, rec.ref))]
        return [Message(m["role"], self._render(m["content"], values, rec.ref)) for m in rec.messages or []]

    def render_text(self, ref: str, variables: dict[str, Any] | None = None, **kw: Any) -> str:
        return "\n\n".join(m.content for m in self.render(ref, variables, **kw))

    def _render(self, text: str, values: dict, ref: str) -> str:
        try:
            return sandbox.render(self._compile(text), values)
        except jinja2.UndefinedError as e:
            raise InvalidInput(f"prompt {ref}: {e.message} (give it as a variable)", param="variables") from None
        except jinja2.TemplateNotFound as e:
            raise InvalidInput(f"prompt {ref} includes {e.name!r}, which does not exist", param="prompt") from None
        except jinja2.TemplateError as e:
            raise InvalidInput(f"prompt {ref}: {e}", param="prompt") from None

    def _partial(self, ref: str) -> tuple[str, None, Callable[[], bool]] | None:
        """Jinja's loader: `{% include "name" %}` / `"name@2"` is another stored prompt's text. Jinja
        keeps what it loaded until the check says it changed: an update of "name" reaches the
        prompts that include it unpinned at their next render."""
        source = self._partial_text(ref)
        return None if source is None else (source, None, lambda: self._partial_text(ref) == source)

    def _partial_text(self, ref: str) -> str | None:
        try:
            rec = self.get(ref)
        except (NotFound, InvalidInput):
            return None
        return rec.template if rec.template is not None else "\n\n".join(m["content"] for m in rec.messages or [] or [])

    def _record(self, row: PromptRow) -> PromptRecord:
        rec = PromptRecord.model_validate(row)
        texts = [row.template] if row.template is not None else [m["content"] for m in row.messages or []]
        found: set[str] = set()
        for text in texts:
            found |= self._variables(text)
        rec.variables = sorted(found)
        return rec


def _lines(rec: PromptRecord) -> list[str]:
    if rec.template is not None:
        text = rec.template
    else:
        text = "\n".join(f"[{m['role']}]\n{m['content']}" for m in rec.messages or [])
    return [line + "\n" for line in text.splitlines()]

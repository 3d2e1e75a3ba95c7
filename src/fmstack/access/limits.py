"""Limits and usage per API key: expiry, allowed models, requests and tokens per minute, and a
monthly budget spent at each model's prices.

Counts live in the database (`rate_windows`, one row per key and minute, bumped with a conditional
UPDATE), so that every server process — and every thread — sees the same limit: a request is let
through only if its increment kept the count within the limit. Token use is known only after a
call, so the tokens-per-minute limit refuses new requests once the minute's tokens are spent."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Forbidden, RateLimited
from ..keys import ApiKeyRecord
from ..models.base import ChatModel
from ..models.registry import ModelRegistry
from ..models.types import Usage
from ..observability import TOKENS
from ..store import Database, RateWindow, UsageRow


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class Accounting:
    def __init__(self, db: Database, models: ModelRegistry):
        self.db = db
        self.models = models

    # -- before a request -------------------------------------------------------------------------
    def admit(self, key: ApiKeyRecord) -> None:
        """Let a request made with `key` through, or raise RateLimited (429 with Retry-After)."""
        if key.id == "env" or not (key.rpm or key.tpm or key.monthly_budget is not None):
            return
        now = time.time()
        minute = int(now // 60)
        retry = 60 - int(now % 60)
        if key.monthly_budget is not None:
            spent = self.spent_this_month(key.id)
            if spent >= key.monthly_budget:
                month = _month_start(datetime.now(UTC))
                nxt = month.replace(year=month.year + (month.month == 12), month=month.month % 12 + 1)
                raise RateLimited(
                    f"this API key's monthly budget of {key.monthly_budget:g} is spent ({spent:.4g} used)",
                    retry_after=int((nxt - datetime.now(UTC)).total_seconds()),
                    code="insufficient_quota",
                )
        if key.tpm:
            with self.db.session() as s:
                used = s.scalar(
                    select(RateWindow.tokens).where(RateWindow.key_id == key.id, RateWindow.minute == minute)
                )
            if (used or 0) >= key.tpm:
                raise RateLimited(
                    f"this API key's limit of {key.tpm} tokens per minute is reached; retry in {retry} s",
                    retry_after=retry,
                )
        if key.rpm and not self._count_request(key.id, minute, key.rpm):
            raise RateLimited(
                f"this API key's limit of {key.rpm} requests per minute is reached; retry in {retry} s",
                retry_after=retry,
            )

    def _count_request(self, key_id: str, minute: int, limit: int) -> bool:
        """Add one request to the key's minute if that keeps it within `limit` (atomically)."""
        bump = (
            update(RateWindow)
            .where(RateWindow.key_id == key_id, RateWindow.minute == minute, RateWindow.requests < limit)
            .values(requests=RateWindow.requests + 1)
        )
        for _ in range(2):
            with self.db.session() as s:
                if s.execute(bump).rowcount:  # type: ignore[attr-defined]
                    return True
                if s.get(RateWindow, (key_id, minute)) is not None:
                    return False  # the row exists and is full
            try:
                with self.db.session() as s:
                    s.execute(insert(RateWindow).values(key_id=key_id, minute=minute, requests=1, tokens=0))
                return True
            except IntegrityError:
                continue  # another request made the row first: bump it
        return False

    def check_model(self, key: ApiKeyRecord, model: ChatModel) -> None:
        if key.allowed_models is None:
            return
        allowed = set()
        for name in key.allowed_models:
            allowed.add(name)
            try:
                allowed.add(self.models.resolve(name, "chat"))
            except Exception:  # a model removed since the key was made
                pass
        if model.name not in allowed:
            raise Forbidden(
                f"this API key may not use the model {model.name!r}; it may use: {', '.join(key.allowed_models)}",
                param="model",
            )

    # -- after a model call -----------------------------------------------------------------------
    def record(self, key_id: str | None, model: ChatModel, usage: Usage) -> None:
        TOKENS.labels(model.name, "prompt").inc(usage.prompt_tokens)
        TOKENS.labels(model.name, "completion").inc(usage.completion_tokens)
        info = model.info
        cost = (usage.prompt_tokens * info.input_price + usage.completion_tokens * info.output_price) / 1e6
        minute = int(time.time() // 60)
        with self.db.session() as s:
            s.add(
                UsageRow(
                    key_id=key_id,
                    model=model.name,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cost=cost,
                )
            )
        if key_id and key_id != "env":
            tokens = usage.total_tokens
            bump = (
                update(RateWindow)
                .where(RateWindow.key_id == key_id, RateWindow.minute == minute)
                .values(tokens=RateWindow.tokens + tokens)
            )
            for _ in range(2):
                with self.db.session() as s:
                    if s.execute(bump).rowcount:  # type: ignore[attr-defined]
                        return
                try:
                    with self.db.session() as s:
                        s.execute(insert(RateWindow).values(key_id=key_id, minute=minute, requests=0, tokens=tokens))
                    return
                except IntegrityError:
                    continue  # made meanwhile by another request: bump it

    # -- reports ----------------------------------------------------------------------------------
    def spent_this_month(self, key_id: str) -> float:
        with self.db.session() as s:
            return float(
                s.scalar(
                    select(func.coalesce(func.sum(UsageRow.cost), 0.0)).where(
                        UsageRow.key_id == key_id, UsageRow.at >= _month_start(datetime.now(UTC))
                    )
                )
                or 0.0
            )

    def usage(
        self, since: datetime | None = None, until: datetime | None = None, key_id: str | None = None
    ) -> list[dict]:
        """Requests, tokens and cost per key, model and day."""
        day = (
            func.date(UsageRow.at)
            if self.db.engine.dialect.name == "sqlite"
            else func.to_char(UsageRow.at, "YYYY-MM-DD")
        )
        q = select(
            UsageRow.key_id,
            UsageRow.model,
            day.label("day"),
            func.count().label("calls"),
            func.sum(UsageRow.prompt_tokens).label("prompt_tokens"),
            func.sum(UsageRow.completion_tokens).label("completion_tokens"),
            func.sum(UsageRow.cost).label("cost"),
        ).group_by(UsageRow.key_id, UsageRow.model, day)
        if since is not None:
            q = q.where(UsageRow.at >= since)
        if until is not None:
            q = q.where(UsageRow.at < until)
        if key_id is not None:
            q = q.where(UsageRow.key_id == key_id)
        with self.db.session() as s:
            rows = s.execute(q.order_by(day, UsageRow.key_id, UsageRow.model)).all()
        return [
            {
                "key_id": r.key_id,
                "model": r.model,
                "day": str(r.day),
                "calls": int(r.calls),
                "prompt_tokens": int(r.prompt_tokens or 0),
                "completion_tokens": int(r.completion_tokens or 0),
                "cost": round(float(r.cost or 0.0), 6),
            }
            for r in rows
        ]


class KeyMeter:
    """The Meter (models/metering.py) of one request made with `key` (None: no key in use)."""

    def __init__(self, accounting: Accounting, key: ApiKeyRecord | None):
        self.accounting, self.key = accounting, key

    def admit(self, model: ChatModel) -> None:
        if self.key is not None:
            self.accounting.check_model(self.key, model)

    def record(self, model: ChatModel, usage: Usage) -> None:
        self.accounting.record(self.key.id if self.key else None, model, usage)

"""Limits and usage per API key: expiry, allowed models, requests and tokens per minute, and a
monthly budget spent at each model's prices.

Counts live in the database (`rate_windows`: one row per key and minute; `budget_months`: one per
key and month), changed with conditional UPDATEs, so that every server process — and every thread
— sees the same limit: a request is let through only if its change keeps the count within the
limit. A model call's tokens and cost are known only after it, so before it runs it holds its
largest possible tokens (prompt + max_tokens) and cost; afterwards what it used replaces the hold.
Calls running at the same time therefore cannot together pass a limit."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Forbidden, RateLimited
from ..keys import ApiKeyRecord
from ..models.base import ChatModel
from ..models.registry import ModelRegistry
from ..models.types import GenerationParams, Message, Usage
from ..observability import TOKENS
from ..store import BudgetMonth, Database, RateWindow, UsageRow


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Hold:
    """What one model call set aside before it ran: its largest possible tokens and cost."""

    key_id: str
    month: str
    minute: int
    tokens: int = 0
    cost: float = 0.0


SIGN_IN_FAILURES = 10  # a minute, per user name


def _sign_in_window(name: str) -> tuple[str, int]:
    """The counter row of a user name's failed sign-ins this minute (the name hashed)."""
    return "signin:" + hashlib.sha256(name.encode()).hexdigest()[:32], int(time.time() // 60)


def _too_many_sign_ins() -> RateLimited:
    return RateLimited("too many failed sign-ins for this user: wait a minute", retry_after=60 - int(time.time() % 60))


def _largest_cost(model: ChatModel, prompt: int, completion: int) -> float:
    return (prompt * model.info.input_price + completion * model.info.output_price) / 1e6


class Accounting:
    def __init__(self, db: Database, models: ModelRegistry):
        self.db = db
        self.models = models

    # -- counters in the database -----------------------------------------------------------------
    def _add(self, row: type, pk: dict[str, Any], deltas: dict[str, float], *, within=(), seed=None) -> bool:
        """Add `deltas` to a counter row if the row then still satisfies `within` (conditions on
        the row before the change), atomically; the row is made if missing (`seed`: its start)."""
        cols = {c: getattr(row, c) for c in pk}
        bump = (
            update(row)
            .where(*(cols[c] == v for c, v in pk.items()), *within)
            .values({c: getattr(row, c) + d for c, d in deltas.items()})
        )
        for _ in range(3):
            with self.db.session() as s:
                if s.execute(bump).rowcount:  # type: ignore[attr-defined]
                    return True
                if s.get(row, tuple(pk.values())) is not None:
                    return False  # there, and the change would break the limit
            start = dict(seed() if seed else {})
            try:
                with self.db.session() as s:
                    s.execute(insert(row).values(**pk, **start))
            except IntegrityError:
                pass  # made meanwhile by another request
        return False

    # -- before a request -------------------------------------------------------------------------
    def admit(self, key: ApiKeyRecord) -> None:
        """Let a request made with `key` through, or raise RateLimited (429 with Retry-After):
        requests per minute are counted here; tokens and budget are held per model call (hold)."""
        if key.id == "env" or not (key.rpm or key.tpm or key.monthly_budget is not None):
            return
        now = time.time()
        minute = int(now // 60)
        retry = 60 - int(now % 60)
        if key.monthly_budget is not None:
            spent = self.spent_this_month(key.id)
            if spent >= key.monthly_budget:
                raise self._spent(key, spent)
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
        if key.rpm and not self._add(
            RateWindow,
            {"key_id": key.id, "minute": minute},
            {"requests": 1},
            within=[RateWindow.requests < key.rpm],
        ):
            raise RateLimited(
                f"this API key's limit of {key.rpm} requests per minute is reached; retry in {retry} s",
                retry_after=retry,
            )

    def sign_in_allowed(self, name: str, limit: int = SIGN_IN_FAILURES) -> None:
        """Refuse (429) a user name that failed `limit` sign-ins within this minute and the one
        before, whoever tries: passwords are not guessed at speed, and a minute's turn does not
        give a guesser a fresh `limit`."""
        key, minute = _sign_in_window(name)
        if self._sign_in_failures(key, minute) + self._sign_in_failures(key, minute - 1) >= limit:
            raise _too_many_sign_ins()

    def _sign_in_failures(self, key: str, minute: int) -> int:
        with self.db.session() as s:
            row = s.get(RateWindow, (key, minute))
        return int(row.requests) if row is not None else 0

    def failed_sign_in(self, name: str, limit: int = SIGN_IN_FAILURES) -> None:
        """Count a failed sign-in (the window's row, as the request counts of keys); the one that
        reaches the limit across this minute and the last is refused."""
        key, minute = _sign_in_window(name)
        room = limit - self._sign_in_failures(key, minute - 1)
        bump: dict[str, float] = {"requests": 1}
        if room <= 0 or not self._add(
            RateWindow, {"key_id": key, "minute": minute}, bump, within=[RateWindow.requests < room]
        ):
            raise _too_many_sign_ins()

    def _spent(self, key: ApiKeyRecord, spent: float) -> RateLimited:
        month = _month_start(datetime.now(UTC))
        nxt = month.replace(year=month.year + (month.month == 12), month=month.month % 12 + 1)
        return RateLimited(
            f"this API key's monthly budget of {key.monthly_budget:g} is spent ({spent:.4g} used, or held by "
            "calls in progress)",
            retry_after=int((nxt - datetime.now(UTC)).total_seconds()),
            code="insufficient_quota",
        )

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

    def hold(
        self, key: ApiKeyRecord, model: ChatModel, messages: Sequence[Message], params: GenerationParams
    ) -> Hold | None:
        """Before a model call: set aside its largest possible tokens (prompt + max_tokens) against
        the minute's tokens and its largest possible cost against the month's budget, so that calls
        running at the same time cannot together pass either limit."""
        if key.id == "env" or not (key.tpm or key.monthly_budget is not None):
            return None
        prompt = model.count_message_tokens(messages)
        completion = params.max_tokens or model.info.defaults.get("max_tokens") or max(model.context_window - prompt, 1)
        now = datetime.now(UTC)
        hold = Hold(key.id, now.strftime("%Y-%m"), int(time.time() // 60))
        if key.tpm:
            tokens = prompt + int(completion)
            if not self._add(
                RateWindow,
                {"key_id": key.id, "minute": hold.minute},
                {"tokens": tokens},
                within=[RateWindow.tokens + tokens <= key.tpm],
            ):
                retry = 60 - int(time.time() % 60)
                raise RateLimited(
                    f"this call may use up to {tokens} tokens, more than is left of this API key's {key.tpm} "
                    f"tokens per minute; retry in {retry} s or ask for fewer max_tokens",
                    retry_after=retry,
                )
            hold.tokens = tokens
        if key.monthly_budget is not None:
            cost = _largest_cost(model, prompt, int(completion))
            if not self._add(
                BudgetMonth,
                {"key_id": key.id, "month": hold.month},
                {"held": cost},
                within=[BudgetMonth.spent + BudgetMonth.held + cost <= key.monthly_budget],
                seed=lambda: {"spent": self.spent_this_month(key.id)},
            ):
                self.release(hold)
                raise self._spent(key, self.spent_this_month(key.id))
            hold.cost = cost
        return hold

    def release(self, hold: Hold | None, usage: Usage | None = None, model: ChatModel | None = None) -> None:
        """After a model call: what it used replaces what it held (nothing used: all given back)."""
        if hold is None:
            return
        used_tokens = usage.total_tokens if usage is not None else 0
        used_cost = _largest_cost(model, usage.prompt_tokens, usage.completion_tokens) if usage and model else 0.0
        with self.db.session() as s:
            if hold.tokens:
                s.execute(
                    update(RateWindow)
                    .where(RateWindow.key_id == hold.key_id, RateWindow.minute == hold.minute)
                    .values(tokens=RateWindow.tokens + (used_tokens - hold.tokens))
                )
            if hold.cost:
                s.execute(
                    update(BudgetMonth)
                    .where(BudgetMonth.key_id == hold.key_id, BudgetMonth.month == hold.month)
                    .values(held=BudgetMonth.held - hold.cost, spent=BudgetMonth.spent + used_cost)
                )
        hold.tokens, hold.cost = 0, 0.0

    # -- after a model call -----------------------------------------------------------------------
    def record(self, key: ApiKeyRecord | None, model: ChatModel, usage: Usage, hold: Hold | None = None) -> None:
        TOKENS.labels(model.name, "prompt").inc(usage.prompt_tokens)
        TOKENS.labels(model.name, "completion").inc(usage.completion_tokens)
        with self.db.session() as s:
            s.add(
                UsageRow(
                    key_id=key.id if key is not None else None,
                    model=model.name,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cost=_largest_cost(model, usage.prompt_tokens, usage.completion_tokens),
                )
            )
        if hold is not None:
            self.release(hold, usage, model)
        elif key is not None and key.id != "env" and key.tpm:
            minute = int(time.time() // 60)
            self._add(RateWindow, {"key_id": key.id, "minute": minute}, {"tokens": usage.total_tokens})

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

    def admit(self, model: ChatModel, messages: Sequence[Message], params: GenerationParams) -> Hold | None:
        if self.key is None:
            return None
        self.accounting.check_model(self.key, model)
        return self.accounting.hold(self.key, model, messages, params)

    def record(self, model: ChatModel, usage: Usage, hold: Hold | None) -> None:
        self.accounting.record(self.key, model, usage, hold)

    def release(self, hold: Hold | None) -> None:
        self.accounting.release(hold)

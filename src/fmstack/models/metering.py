"""Who a model call is for: the request's `Meter` (set by the server for the caller's API key)
sees every chat model call made while it handles the request — chat, grounded answers, agents,
evaluation — whichever provider serves it, because `ChatModel` subclasses are metered at
definition (base.py). The meter may refuse a model (a key limited to some models) and is told
the tokens each call used."""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

from .types import Event, Usage, UsageEvent

if TYPE_CHECKING:
    from .base import ChatModel


class Meter(Protocol):
    def admit(self, model: ChatModel) -> None:
        """Raise (Forbidden) when the caller may not use this model."""

    def record(self, model: ChatModel, usage: Usage) -> None:
        """The tokens one call used."""


METER: ContextVar[Meter | None] = ContextVar("fmstack_meter", default=None)


def metered(model: ChatModel, events: Iterator[Event], meter: Meter) -> Iterator[Event]:
    try:
        for ev in events:
            if isinstance(ev, UsageEvent) and not getattr(ev, "metered", False):
                ev.metered = True  # type: ignore[attr-defined]  # a subclass calling super().stream(): once
                meter.record(model, ev.usage)
            yield ev
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()

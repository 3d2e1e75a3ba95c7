"""Who a model call is for: the request's `Meter` (set by the server for the caller's API key)
sees every chat model call made while it handles the request — chat, grounded answers, agents,
evaluation — whichever provider serves it, because `ChatModel` subclasses are metered at
definition (base.py). The meter may refuse a model (a key limited to some models) and is told
the tokens each call used."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from .types import Event, GenerationParams, Message, StopGeneration, Usage, UsageEvent, stop_early

if TYPE_CHECKING:
    from .base import ChatModel


class Meter(Protocol):
    def admit(self, model: ChatModel, messages: Sequence[Message], params: GenerationParams) -> Any:
        """Before a call: raise when the caller may not make it (Forbidden: not this model;
        RateLimited: not within its limits); else a hold (anything) handed back below."""

    def record(self, model: ChatModel, usage: Usage, hold: Any) -> None:
        """The tokens the call used."""

    def release(self, hold: Any) -> None:
        """The call ended without saying what it used (an error, a client gone)."""


METER: ContextVar[Meter | None] = ContextVar("fmstack_meter", default=None)


def metered(model: ChatModel, events: Iterator[Event], meter: Meter, hold: Any) -> Iterator[Event]:
    recorded = False

    def note(ev: Event) -> None:
        nonlocal recorded
        if isinstance(ev, UsageEvent) and not getattr(ev, "metered", False):
            ev.metered = True  # type: ignore[attr-defined]  # a subclass calling super().stream(): once
            meter.record(model, ev.usage, hold)
            recorded = True

    try:
        for ev in events:
            note(ev)
            try:
                yield ev
            except StopGeneration:  # the reader stopped the model: what it did generate is counted
                for end in stop_early(events):
                    note(end)
                    yield end
                return
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        if not recorded:
            meter.release(hold)

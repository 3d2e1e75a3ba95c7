"""One model name served by several deployments (what LiteLLM's router does):

```yaml
models:
  gpu-a: {provider: openai, base_url: http://10.0.0.5:8000/v1, model: qwen2.5-7b, timeout: 60}
  gpu-b: {provider: openai, base_url: http://10.0.0.6:8000/v1, model: qwen2.5-7b, timeout: 60}
  qwen:
    provider: router
    deployments: [gpu-a, {model: gpu-b, weight: 2}]
    strategy: least-busy        # or weighted
    retries: 2                  # more tries on another deployment (429, 5xx, timeouts, refused connections)
    backoff: 0.2                # seconds before the 2nd try, doubled each time
    cooldown: 30                # seconds a deployment that failed `allowed_fails` times in a row is skipped
    fallbacks: [smollm2]        # other models when every deployment failed
    context_fallbacks: [big]    # other models when the prompt is too long for this one
```

A request goes to the healthy deployment with the fewest requests in flight (ties rotate), or one
drawn by weight. A failure before the answer's first event — a refused connection, a 429, a 5xx, a
timeout — sends the request to the next deployment; once the answer has begun it is never sent
again, so no request is answered twice. Each deployment's own `timeout` bounds its wait. Usage is
counted once, under the routed name (its prices); `/api/models` shows each deployment's health.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import (
    Busy,
    ConfigError,
    ContextLengthExceeded,
    FmstackError,
    InvalidInput,
    ProviderUnavailable,
    RateLimited,
)
from .base import ChatModel, ModelInfo
from .metering import METER
from .types import Event, GenerationParams, Message, StopGeneration, stop_early

if TYPE_CHECKING:
    from .registry import ModelRegistry


@dataclass
class Deployment:
    model: str
    weight: float = 1.0
    in_flight: int = 0
    fails: int = 0  # in a row
    cooling_until: float = 0.0
    served: int = 0
    failed: int = 0
    last_error: str | None = None

    def healthy(self, now: float) -> bool:
        return self.cooling_until <= now

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "model": self.model,
            "weight": self.weight,
            "in_flight": self.in_flight,
            "healthy": self.healthy(now),
            "cooling_for_s": round(max(0.0, self.cooling_until - now), 1),
            "served": self.served,
            "failed": self.failed,
            "last_error": self.last_error,
        }


def _retryable(e: Exception) -> bool:
    """Worth another deployment: the provider is down, overloaded, slow or failing, not the request."""
    return isinstance(e, ProviderUnavailable | Busy | RateLimited) or (isinstance(e, FmstackError) and e.status >= 500)


def _too_long(e: Exception) -> bool:
    if isinstance(e, ContextLengthExceeded):
        return True
    text = str(getattr(e, "message", e)).lower()
    return isinstance(e, InvalidInput) and (
        "context" in text and ("length" in text or "window" in text or "maximum" in text)
    )


def _relay(first: Event | None, events: Iterator[Event]) -> Iterator[Event]:
    """The answer: its first event (already read) and the rest; the model is freed when it ends."""
    try:
        if first is not None:
            try:
                yield first
            except StopGeneration:
                yield from stop_early(events)
                return
        yield from events  # passes StopGeneration on
    finally:
        events.close()  # type: ignore[attr-defined]


class RoutedChatModel(ChatModel):
    def __init__(self, info: ModelInfo, spec: Any, registry: ModelRegistry):
        self._info = info
        self.registry = registry
        self.deployments: list[Deployment] = []
        for d in spec.deployments or []:
            if isinstance(d, str):
                self.deployments.append(Deployment(d))
            else:
                self.deployments.append(Deployment(d["model"], float(d.get("weight", 1.0))))
        if not self.deployments:
            raise ConfigError(f"router {info.name!r} needs `deployments`: the models that serve it")
        self.strategy = spec.strategy or "least-busy"
        self.retries = spec.retries if spec.retries is not None else 2
        self.backoff = spec.backoff if spec.backoff is not None else 0.2
        self.cooldown = spec.cooldown if spec.cooldown is not None else 30.0
        self.allowed_fails = spec.allowed_fails or 1
        self.fallbacks = list(spec.fallbacks or [])
        self.context_fallbacks = list(spec.context_fallbacks or self.fallbacks)
        self._lock = threading.Lock()
        self._turn = itertools.count()

    @property
    def info(self) -> ModelInfo:  # type: ignore[override]
        now = time.monotonic()
        self._info.routing = {
            "strategy": self.strategy,
            "deployments": [d.to_dict(now) for d in self.deployments],
            "fallbacks": self.fallbacks,
            "context_fallbacks": self.context_fallbacks,
        }
        return self._info

    # -- choosing -------------------------------------------------------------------------------
    def _pick(self, tried: set[str]) -> Deployment | None:
        now = time.monotonic()
        with self._lock:
            fresh = [d for d in self.deployments if d.model not in tried]
            pool = [d for d in fresh if d.healthy(now)] or [d for d in self.deployments if d.healthy(now)]
            if not pool:  # all cooling down: the one that recovers first may have recovered already
                pool = [min(fresh or self.deployments, key=lambda d: d.cooling_until)]
            if self.strategy == "weighted":
                chosen = random.choices(pool, weights=[d.weight for d in pool])[0]
            else:
                turn = next(self._turn)
                chosen = min(
                    pool,
                    key=lambda d: (d.in_flight / d.weight, (self.deployments.index(d) - turn) % len(self.deployments)),
                )
            chosen.in_flight += 1
            return chosen

    def _done(self, d: Deployment, error: Exception | None, *, count: bool = True) -> None:
        with self._lock:
            d.in_flight -= 1
            if not count:
                return
            if error is None:
                d.fails, d.served = 0, d.served + 1
                return
            d.fails, d.failed = d.fails + 1, d.failed + 1
            d.last_error = str(getattr(error, "message", error))[:300]
            if d.fails >= self.allowed_fails:
                d.cooling_until = time.monotonic() + self.cooldown

    # -- serving ----------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return self.registry.chat(self.deployments[0].model).count_tokens(text)

    def count_message_tokens(self, messages: Sequence[Message]) -> int:
        return self.registry.chat(self.deployments[0].model).count_message_tokens(messages)

    @property
    def context_window(self) -> int:
        return self._info.context_window or self.registry.chat(self.deployments[0].model).context_window

    def _open(
        self, model: ChatModel, messages: Sequence[Message], params: GenerationParams
    ) -> tuple[Event | None, Iterator[Event]]:
        """Start the answer and read its first event (failures before it can go elsewhere). The
        deployment is not metered itself: the request's meter counts the routed name once."""
        token = METER.set(None)
        try:
            events = model.stream(messages, params)
        finally:
            METER.reset(token)
        first = next(events, None)
        return first, events

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        errors: list[str] = []
        tried: set[str] = set()
        for attempt in range(1 + self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            d = self._pick(tried)
            assert d is not None
            tried.add(d.model)
            try:
                first, events = self._open(self.registry.chat(d.model), messages, params)
            except Exception as e:
                failed = _retryable(e) or not isinstance(e, FmstackError)  # the deployment's fault, not the request's
                self._done(d, e if failed else None, count=failed)
                if _too_long(e):
                    yield from self._fall_back(
                        self.context_fallbacks, messages, params, errors + [f"{d.model}: {e}"], e
                    )
                    return
                if not failed:
                    raise
                errors.append(f"{d.model}: {getattr(e, 'message', e)}")
                continue
            try:
                yield from _relay(first, events)
            finally:
                self._done(d, None)
            return
        yield from self._fall_back(self.fallbacks, messages, params, errors, None)

    def _fall_back(
        self,
        names: list[str],
        messages: Sequence[Message],
        params: GenerationParams,
        errors: list[str],
        cause: Exception | None,
    ) -> Iterator[Event]:
        for name in names:
            try:
                first, events = self._open(self.registry.chat(name), messages, params)
            except Exception as e:
                if not (_retryable(e) or _too_long(e) or not isinstance(e, FmstackError)):
                    raise
                errors.append(f"{name} (fallback): {getattr(e, 'message', e)}")
                continue
            yield from _relay(first, events)
            return
        if cause is not None and not names:
            raise cause
        raise ProviderUnavailable(f"every deployment of {self.name!r} failed: " + "; ".join(errors))

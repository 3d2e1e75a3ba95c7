"""A first-come-first-served lock for a model that serves one request at a time.

llama.cpp is not re-entrant, so requests to one local model wait their turn in arrival order;
beyond `max_waiting` waiters a new request is refused at once (HTTP 429) instead of piling up.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from ..errors import Busy


class FairLock:
    def __init__(self, name: str, max_waiting: int = 64):
        self.name = name
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()

    @property
    def waiting(self) -> int:
        """Requests holding or waiting for the model."""
        with self._cond:
            return self._pending()

    def _pending(self) -> int:
        return self._next_ticket - self._serving - len(self._abandoned)

    def acquire(self, timeout: float | None = None) -> None:
        with self._cond:
            # `waiting` includes the holder, hence the +1.
            if self._pending() > self.max_waiting:
                raise Busy(
                    f"model {self.name!r} is busy and its queue is full ({self.max_waiting} waiting at most, FMSTACK_MAX_QUEUE); try again shortly"
                )
            ticket = self._next_ticket
            self._next_ticket += 1
            if not self._cond.wait_for(lambda: self._serving == ticket, timeout=timeout):
                # Give our place up without blocking those behind us: mark it abandoned.
                self._abandoned.add(ticket)
                raise Busy(f"model {self.name!r} stayed busy for {timeout}s; try again shortly")

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()

    @contextmanager
    def hold(self, timeout: float | None = None):
        self.acquire(timeout)
        try:
            yield
        finally:
            self.release()

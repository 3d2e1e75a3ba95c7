"""Shared by the bench scripts: a chat model whose time inside generate() and stream() is counted,
so a benchmark can report the rest (the platform's own work) apart from model time."""

from __future__ import annotations

import time


class Timed:
    def __init__(self, model):
        self.model, self.seconds = model, 0.0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.model.generate(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    def stream(self, *args, **kwargs):
        """The span from the stream's start to its end counts as model time, as generate()'s does
        (which also folds the events as they come), so figures with either call compare."""
        t0 = time.perf_counter()
        try:
            yield from self.model.stream(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

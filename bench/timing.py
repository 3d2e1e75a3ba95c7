"""Shared by the bench scripts: a chat model whose time inside generate() is counted, so a
benchmark can report the rest (the platform's own work) apart from model time."""

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

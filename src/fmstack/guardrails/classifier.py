"""Trained prompt-attack scores: a logistic model over hashed character n-grams, shipped with the
package (guardrails/models/attacks.npz, written by scripts/train_attack_classifier.py).

Character n-grams (1 to 5 code points of the normalised text) read English and Chinese alike, need
no tokenizer and survive typos ("igonre previus instrucitons" shares most of its n-grams with the
correct spelling). Hashing keeps the model a fixed size (2^18 weights a head). Two heads:

- `jailbreak`: a request that tries to turn the assistant against its instructions or rules
  (personas without rules, overrides, prompt leaks, fiction and encoding wrappers);
- `injection`: data (a passage, a tool's output) that addresses the assistant with instructions.

Each head's score is a calibrated probability (Platt scaling on held-out folds at training time);
its default threshold was set there for a false-positive rate of about 0.5% on benign texts of the
training sources. A long text is read in windows (at most MAX_WINDOWS of them, spread over the
text: bounded work whatever the length); its score is its most attack-like window's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..knowledge.text import normalize

BITS = 18
ORDERS = (1, 2, 3, 4, 5)
WINDOW = (
    600  # characters a window: one injected order is not diluted by a long carrier (chosen among 400, 600, 800, 1200)
)
MAX_WINDOWS = 12
MODEL = Path(__file__).with_name("models") / "attacks.npz"
_PRIMES = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1], dtype=np.uint64)


def features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The hashed n-gram features of a (normalised) text: (indices, values), values log(1 + count)
    scaled to unit length."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts = []
    for n in ORDERS:
        if len(codes) < n:
            break
        h = np.full(len(codes) - n + 1, n, dtype=np.uint64)
        for j in range(n):
            h = (h * _PRIMES[j] + codes[j : len(codes) - n + 1 + j]) & 0xFFFFFFFFFFFF
        parts.append(h ^ (h >> 23))
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx, counts = np.unique((np.concatenate(parts) % (1 << BITS)).astype(np.int64), return_counts=True)
    values = np.log1p(counts).astype(np.float32)
    values /= np.linalg.norm(values)
    return idx, values


def window_starts(text: str) -> list[int]:
    """Where each window begins: at most MAX_WINDOWS overlapping windows spread over the text."""
    if len(text) <= WINDOW:
        return [0]
    step = WINDOW // 2
    starts = list(range(0, len(text) - step, step))
    if len(starts) > MAX_WINDOWS:  # evenly spread, first and last kept
        pick = np.linspace(0, len(starts) - 1, MAX_WINDOWS).round().astype(int)
        starts = [starts[i] for i in sorted(set(pick))]
    return starts


def windows(text: str) -> list[str]:
    """The windows of a text (the whole text if short)."""
    return [text[s : s + WINDOW] for s in window_starts(text)]


@dataclass
class Head:
    weights: np.ndarray  # float32, 2**BITS
    bias: float
    a: float  # Platt scaling: p = 1 / (1 + exp(-(a * margin + b)))
    b: float
    threshold: float  # default probability threshold

    def margin(self, idx: np.ndarray, values: np.ndarray) -> float:
        return float(self.weights[idx] @ values) + self.bias

    def probability(self, margin: float) -> float:
        return float(1.0 / (1.0 + np.exp(-(self.a * margin + self.b))))


class AttackClassifier:
    """The shipped heads; `scores(text)` gives each head's probability for the text."""

    def __init__(self, heads: dict[str, Head]):
        self.heads = heads

    @classmethod
    def load(cls, path: Path = MODEL) -> AttackClassifier:
        with np.load(path) as z:
            meta = z["meta"]  # per head: bias, a, b, threshold
            names = [str(n) for n in z["names"]]
            heads = {
                name: Head(z[f"w_{name}"].astype(np.float32), *(float(x) for x in meta[i]))
                for i, name in enumerate(names)
            }
        return cls(heads)

    def scores(self, text: str, norm: str | None = None) -> dict[str, float]:
        """Each head's probability; `norm`: the text already normalised, where the caller has it."""
        best = {name: -np.inf for name in self.heads}
        for window in windows(normalize(text) if norm is None else norm):
            idx, values = features(window)
            for name, head in self.heads.items():
                best[name] = max(best[name], head.margin(idx, values))
        return {name: self.heads[name].probability(m) for name, m in best.items()}

    def threshold(self, head: str) -> float:
        return self.heads[head].threshold


@functools.cache
def shared() -> AttackClassifier:
    """The shipped classifier, loaded once per process."""
    return AttackClassifier.load()

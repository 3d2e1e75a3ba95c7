"""Trained harmful-content scores per category, shipped with the package
(guardrails/models/harm.npz, written by scripts/train_harm_classifier.py).

Per category one logistic head reads the multilingual-e5-small embedding of each of the text's
windows — the vectors a guardrail check computes once for every policy that compares meanings
(or a retrieved chunk's stored vector), so scoring costs a matrix product. A text's margin is its
most harmful window's, Platt-scaled into a probability. A strength is an operating point measured
at training time on benign texts: `high` flags about 5% of them, `medium` 2%, `low` 0.5%.
Meanings carry across languages: the Chinese texts of the training set are few, and Chinese
harmful texts of templates and fillers never trained on are found as often as English ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CATEGORIES = ("hate", "insults", "sexual", "violence", "misconduct")
STRENGTHS = ("low", "medium", "high")
MODEL = Path(__file__).with_name("models") / "harm.npz"


@dataclass
class Category:
    weights: np.ndarray  # float32, the embedding's dimension
    bias: float
    a: float  # Platt scaling: p = 1 / (1 + exp(-(a * margin + b)))
    b: float
    thresholds: dict[str, float]  # strength → probability


class HarmClassifier:
    def __init__(self, categories: dict[str, Category]):
        self.categories = categories
        self.names = list(categories)
        self.W = np.stack([c.weights for c in categories.values()])  # categories x dim
        self.bias = np.array([c.bias for c in categories.values()], dtype=np.float32)

    @classmethod
    def load(cls, path: Path = MODEL) -> HarmClassifier:
        with np.load(path) as z:
            meta = z["meta"]  # per category: (unused n-gram weight), a, b, thresholds by strength
            out = {}
            for i, name in enumerate(str(n) for n in z["categories"]):
                _, a, b, *thresholds = (float(x) for x in meta[i])
                out[name] = Category(
                    z[f"embed_{name}"].astype(np.float32),
                    float(z[f"embed_bias_{name}"][0]),
                    a,
                    b,
                    dict(zip(STRENGTHS, thresholds, strict=True)),
                )
        return cls(out)

    def scores(self, vectors: np.ndarray) -> dict[str, float]:
        """Each category's probability for a text, given its window embeddings (one row each)."""
        margins = (np.atleast_2d(vectors).astype(np.float32) @ self.W.T).max(axis=0) + self.bias
        return {
            name: float(1.0 / (1.0 + np.exp(-(c.a * m + c.b))))
            for (name, c), m in zip(self.categories.items(), margins, strict=True)
        }

    def threshold(self, category: str, strength: str) -> float:
        return self.categories[category].thresholds[strength]


@functools.cache
def shared() -> HarmClassifier:
    """The shipped classifier, loaded once per process."""
    return HarmClassifier.load()

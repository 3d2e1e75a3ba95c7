"""BM25 over an inverted index that grows: appending chunks to a knowledge base adds their
postings instead of indexing every chunk again (bm25s, used before, has no append: re-indexing
100k chunks took ~25 s, paid by the first query after every change).

Scores are Lucene's BM25, as bm25s computes them by default (k1 = 1.5, b = 0.75):
idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf part = tf / (tf + k1 (1 - b + b |d| / avgdl)).
An index is shared by the snapshots of one knowledge base; each searches only the rows it holds
(`n`), so a search on an older snapshot is not disturbed by an append.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import numpy as np


class KeywordIndex:
    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self._rows: list[list[int]] = []  # per term: the rows that hold it, ascending
        self._tfs: list[list[float]] = []  # per term: how often each of those rows holds it
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # term -> its postings as arrays
        self._total: list[float] = [0.0]  # cumulative lengths: _total[n] = words in the first n rows
        self._lengths: list[float] = []
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self._lengths)

    def add(self, docs: Iterable[list[str]]) -> None:
        """Append rows (each a list of terms), in order."""
        with self._lock:
            for doc in docs:
                row = len(self._lengths)
                for term, count in Counter(doc).items():
                    tid = self.vocab.get(term)
                    if tid is None:
                        tid = self.vocab[term] = len(self._rows)
                        self._rows.append([])
                        self._tfs.append([])
                    self._rows[tid].append(row)
                    self._tfs[tid].append(float(count))
                self._lengths.append(float(len(doc)))
                self._total.append(self._total[-1] + len(doc))
            self._lengths_array: np.ndarray | None = None

    def _postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        rows, tfs = self._rows[tid], self._tfs[tid]
        cached = self._cache.get(tid)
        if cached is None or len(cached[0]) != len(rows):
            n = len(rows)  # another thread may be appending: take what is there now
            cached = (np.array(rows[:n], dtype=np.int64), np.array(tfs[:n], dtype=np.float32))
            self._cache[tid] = cached
        return cached

    def lengths(self, n: int) -> np.ndarray:
        arr = getattr(self, "_lengths_array", None)
        if arr is None or len(arr) < n:
            arr = self._lengths_array = np.array(self._lengths, dtype=np.float32)
        return arr[:n]

    def scores(self, terms: list[str], n: int) -> np.ndarray:
        """BM25 of the first `n` rows for the query terms (0 where none occurs)."""
        out = np.zeros(n, dtype=np.float32)
        if n == 0:
            return out
        avgdl = self._total[n] / n or 1.0
        lengths = self.lengths(n)
        for term in terms:
            tid = self.vocab.get(term)
            if tid is None:
                continue
            rows, tfs = self._postings(tid)
            cut = int(np.searchsorted(rows, n))
            if cut == 0:
                continue
            rows, tfs = rows[:cut], tfs[:cut]
            idf = np.log(1 + (n - cut + 0.5) / (cut + 0.5))
            norm = self.k1 * (1 - self.b + self.b * lengths[rows] / avgdl)
            out[rows] += idf * tfs / (tfs + norm)
        return out

    def knows(self, term: str) -> bool:
        return term in self.vocab

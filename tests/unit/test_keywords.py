"""The incremental BM25 index scores exactly as bm25s (Lucene's BM25) does, whole or grown."""

from __future__ import annotations

import random

import numpy as np
import pytest

from fmstack.knowledge.keywords import KeywordIndex

pytestmark = pytest.mark.unit


def _corpus(n: int, seed: int = 1) -> list[list[str]]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(2000)] + ["长城", "熊猫", "咖啡"]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    return [rng.choices(vocab, weights=weights, k=rng.randint(3, 60)) for _ in range(n)]


@pytest.mark.parametrize("query", [["w5", "w100"], ["w3", "w3", "w1999"], ["长城", "w0"]])
def test_scores_equal_bm25s_on_the_whole_corpus_however_it_was_added(query):
    import bm25s  # the reference (test extra)

    corpus = _corpus(1500)
    reference = bm25s.BM25()
    reference.index(corpus, show_progress=False)
    grown = KeywordIndex()
    for start in range(0, len(corpus), 400):  # appended in four parts
        grown.add(corpus[start : start + 400])
    known = [t for t in query if t in reference.vocab_dict]
    expected = np.asarray(reference.get_scores(known))
    got = grown.scores(known, len(corpus))
    assert np.allclose(expected, got, atol=1e-5)
    assert list(np.argsort(-expected, kind="stable")[:10]) == list(np.argsort(-got, kind="stable")[:10])


def test_a_snapshot_searches_only_the_rows_it_holds():
    import bm25s  # the reference (test extra)

    corpus = _corpus(800, seed=2)
    index = KeywordIndex()
    index.add(corpus[:500])
    index.add(corpus[500:])  # a newer snapshot grew the shared index
    first = bm25s.BM25()
    first.index(corpus[:500], show_progress=False)
    assert np.allclose(np.asarray(first.get_scores(["w7", "w42"])), index.scores(["w7", "w42"], 500), atol=1e-5)
    assert index.scores(["nowhere"], 800).sum() == 0 and index.size == 800

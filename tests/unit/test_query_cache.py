"""A turn's readers of the question (guardrail, retrieval, answer check, grounding) embed it once."""

import numpy as np

from fmstack.models.base import EmbeddingModel, ModelInfo, embed_queries


class Counting(EmbeddingModel):
    QUERY_CACHE = 3

    def __init__(self):
        self.info = ModelInfo("counting", "test", "embedding", dimensions=4)
        self.seen: list[tuple[str, str]] = []

    def embed(self, texts, input_type="query"):
        self.seen += [(t, input_type) for t in texts]
        out = np.array([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def count_tokens(self, text):
        return len(text.split())


def test_each_query_text_is_embedded_once():
    m = Counting()
    first = embed_queries(m, ["a question", "another"])
    again = embed_queries(m, ["another", "a question", "another"])
    assert m.seen == [("a question", "query"), ("another", "query")]
    assert np.array_equal(again[1], first[0]) and np.array_equal(again[0], first[1]) and again.shape == (3, 4)
    assert np.array_equal(embed_queries(m, ["a question"])[0], m.embed(["a question"])[0])
    assert embed_queries(m, []).shape == (0, 4)


def test_the_cache_is_bounded_and_documents_are_not_cached():
    m = Counting()
    embed_queries(m, ["one", "two", "three", "four"])  # "one" leaves: the cache keeps 3
    m.seen.clear()
    embed_queries(m, ["four", "one"])
    assert m.seen == [("one", "query")]
    m.seen.clear()
    m.embed(["four"], input_type="document")  # documents go straight to the model
    assert m.seen == [("four", "document")]

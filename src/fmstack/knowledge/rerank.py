"""Reranking: the best candidates of hybrid retrieval scored again, question and passage together.

A knowledge base (or one request) names its reranker in the retrieval option `rerank`:

- `embedding`: the knowledge base's own embedding model (cosine of question and passage; what
  fmstack's `/v1/rerank` serves, so one fmstack can rerank for another);
- `http://…/rerank` or `https://…`: any endpoint of the Cohere / Jina / vLLM `/rerank` shape
  (`{model, query, documents, top_n}` → `{results: [{index, relevance_score}]}`), checked against
  the server's outbound policy like every URL a caller names; `rerank_model` is sent as `model`,
  and the key in the environment variable `FMSTACK_RERANK_API_KEY` as a bearer token;
- `cross-encoder:/path/to/model`: a sentence-transformers cross-encoder in a local folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import httpx
import numpy as np

from ..errors import InvalidInput, ProviderUnavailable

if TYPE_CHECKING:
    from ..models.base import EmbeddingModel
    from ..security import PathPolicy, UrlPolicy


class Reranker(Protocol):
    def scores(self, query: str, texts: Sequence[str]) -> list[float]: ...


class EmbeddingReranker:
    """Cosine similarity of the question (as a query) and each passage (as a document)."""

    def __init__(self, model: EmbeddingModel):
        self.model = model

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        q = self.model.embed([query], input_type="query")[0]
        docs = self.model.embed(list(texts), input_type="document")
        return [float(x) for x in docs @ q]


class HttpReranker:
    """A `/rerank` endpoint (Cohere, Jina, vLLM, Infinity, TEI's shape; fmstack serves it too)."""

    def __init__(self, url: str, model: str | None, outbound: UrlPolicy | None, timeout: float = 60.0):
        self.url, self.model, self.outbound, self.timeout = url, model, outbound, timeout

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        body: dict = {"query": query, "documents": list(texts), "top_n": len(texts), "return_documents": False}
        if self.model:
            body["model"] = self.model
        headers = {}
        if key := os.environ.get("FMSTACK_RERANK_API_KEY"):
            headers["Authorization"] = f"Bearer {key}"
        # the outbound policy's client checks the URL (and every redirect) before it connects
        client = self.outbound.client(timeout=self.timeout) if self.outbound else httpx.Client(timeout=self.timeout)
        try:
            with client:
                r = client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as e:
            raise ProviderUnavailable(f"the reranker at {self.url} could not be reached: {e}") from None
        if r.status_code >= 400:
            raise ProviderUnavailable(f"the reranker at {self.url} answered HTTP {r.status_code}: {r.text[:200]}")
        try:
            results = r.json()["results"]
            out = [0.0] * len(texts)
            for item in results:
                out[int(item["index"])] = float(item["relevance_score"])
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise ProviderUnavailable(f"the reranker at {self.url} did not answer in the /rerank shape: {e}") from None
        return out


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder from a local folder (nothing is downloaded)."""

    _loaded: dict[str, object] = {}

    def __init__(self, path: str):
        if not os.path.isdir(path):
            raise InvalidInput(f"rerank: no cross-encoder model folder at {path}", param="rerank")
        self.path = path

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError:
            raise InvalidInput(
                "a cross-encoder reranker needs sentence-transformers installed", param="rerank"
            ) from None
        model = self._loaded.get(self.path)
        if model is None:
            model = self._loaded[self.path] = CrossEncoder(self.path, local_files_only=True)
        return [float(x) for x in np.ravel(model.predict([(query, t) for t in texts]))]  # type: ignore[attr-defined]


def reranker(
    spec: str,
    embedding: EmbeddingModel,
    outbound: UrlPolicy | None,
    model: str | None = None,
    paths: PathPolicy | None = None,
) -> Reranker:
    """The reranker a `rerank` option names (see the module's docstring). A cross-encoder's folder
    must pass `paths` (a server's FMSTACK_INGEST_ROOTS): a caller over HTTP cannot have the server
    load a model from anywhere on its disk."""
    if spec == "embedding":
        return EmbeddingReranker(embedding)
    if spec.startswith(("http://", "https://")):
        return HttpReranker(spec, model, outbound)
    if spec.startswith("cross-encoder:"):
        folder = spec.split(":", 1)[1]
        return CrossEncoderReranker(str(paths.check(folder, param="rerank")) if paths else folder)
    raise InvalidInput(
        "rerank must be 'embedding', a /rerank endpoint URL (http:// or https://) or cross-encoder:/path",
        param="rerank",
    )

"""Retrieval: dense, keyword (BM25) or hybrid search over a knowledge base's chunks, rank fusion,
metadata filters, multi-query rewriting, MMR diversity, and the relevance test that decides
whether passages can ground an answer at all."""

from __future__ import annotations

import builtins
import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from ..errors import InvalidInput
from ..models.base import embed_queries
from ..store import KbChunk, KbDocument
from .index import Hit
from .text import simplified, terms

if TYPE_CHECKING:
    from .service import KnowledgeService


@dataclass
class Retrieved:
    chunk_id: int
    document_id: str
    source: str
    title: str
    text: str
    score: float
    page: int | None
    heading: str
    start_char: int
    end_char: int
    meta: dict
    scores: dict[str, float] = field(default_factory=dict)  # per retriever: dense, bm25, rank fusion

    def to_dict(self) -> dict:
        return dict(vars(self))


class Retriever:
    def __init__(self, kbs: KnowledgeService):
        self.kbs = kbs
        self.db, self.models, self.index = kbs.db, kbs.models, kbs.index

    def retrieve(
        self,
        name_or_id: str,
        query: str,
        *,
        mode: str | None = None,
        top_k: int | None = None,
        min_score: float | None = None,
        filters: dict | None = None,
        mmr: bool | None = None,
        multi_query: int | None = None,
        rewrite_model: str | None = None,
        rerank: str | None = None,
        rerank_model: str | None = None,
        rerank_candidates: int | None = None,
    ) -> builtins.list[Retrieved]:
        """The best chunks for `query`. Per call, any of the knowledge base's retrieval settings can
        be overridden: mode, top_k, min_score, MMR diversity, and multi-query rewriting by an LLM
        (each rewrite is searched too, and the rankings fused)."""
        kb = self.kbs.settings(name_or_id)
        override = {
            "mode": mode,
            "top_k": top_k,
            "min_score": min_score,
            "mmr": mmr,
            "multi_query": multi_query,
            "rewrite_model": rewrite_model,
            "rerank": rerank,
            "rerank_model": rerank_model,
            "rerank_candidates": rerank_candidates,
        }
        opts = RetrievalOptions.from_dict({**kb.retrieval, **{k: v for k, v in override.items() if v is not None}})
        if not query or not query.strip():
            raise InvalidInput("the query must not be empty", param="query")
        allowed = self._filter(kb.id, filters) if filters else None
        pool = max(opts.top_k * 4, 20)
        queries = [query]
        if opts.multi_query:
            from .rewrite import rewrite_queries

            queries += rewrite_queries(self.models.chat(opts.rewrite_model), query, opts.multi_query)
        embedder = self.models.embedding(kb.embedding_model)
        qvecs = embed_queries(embedder, queries) if opts.mode != "bm25" or opts.mmr else None
        rankings: builtins.list[builtins.list[tuple[int, float]]] = []
        per: dict[str, dict[int, float]] = {"dense": {}, "bm25": {}}
        for i, q in enumerate(queries):
            dense: builtins.list[Hit] = []
            keyword: builtins.list[Hit] = []
            if opts.mode in ("dense", "hybrid"):
                assert qvecs is not None
                dense = self.index.dense(kb.id, qvecs[i], pool, allowed)
            query_terms = terms(q)
            if opts.mode in ("bm25", "hybrid"):
                keyword = self.index.keyword(kb.id, query_terms, pool, allowed)
            if opts.mode == "dense":
                ranked = [(h.chunk_id, h.score) for h in dense]
            elif opts.mode == "bm25":
                ranked = [(h.chunk_id, h.score) for h in keyword]
            else:
                ranked = fuse(dense, keyword, opts, self._coverage(keyword, query_terms))
            rankings.append(ranked)
            if i == 0:  # scores shown are those of the user's own query
                per = {"dense": {h.chunk_id: h.score for h in dense}, "bm25": {h.chunk_id: h.score for h in keyword}}
        ranked = rankings[0] if len(rankings) == 1 else fuse_rankings(rankings, opts.rrf_k)
        if opts.min_score is not None and len(rankings) == 1:
            ranked = [(c, sc) for c, sc in ranked if sc >= opts.min_score]
        if opts.rerank:
            return self._rerank(kb, query, ranked, per, opts)
        if opts.mmr and len(ranked) > opts.top_k and qvecs is not None:
            ranked = self._mmr(kb.id, qvecs[0], ranked[:pool], opts.top_k, opts.mmr_lambda)
        return self._hydrate(ranked[: opts.top_k], per)

    def _rerank(
        self, kb, query: str, ranked: builtins.list[tuple[int, float]], per: dict, opts: RetrievalOptions
    ) -> builtins.list[Retrieved]:
        """The best `rerank_candidates` of the ranking scored again by the reranker, best first.
        Each passage keeps its earlier scores; `score` becomes the reranker's, also under
        scores["rerank"]."""
        from .rerank import reranker

        candidates = self._hydrate(ranked[: max(opts.rerank_candidates, opts.top_k)], per)
        scorer = reranker(
            opts.rerank or "",
            self.models.embedding(kb.embedding_model),
            self.kbs.outbound,
            opts.rerank_model,
            self.kbs.paths,
        )
        scores = scorer.scores(query, [c.text for c in candidates])
        for c, sc in zip(candidates, scores, strict=True):
            c.scores["fused"] = c.score
            c.scores["rerank"] = sc
            c.score = sc
        candidates.sort(key=lambda c: -c.score)
        return candidates[: opts.top_k]

    def _mmr(
        self, kb_id: str, qvec: np.ndarray, ranked: builtins.list[tuple[int, float]], k: int, lam: float
    ) -> builtins.list[tuple[int, float]]:
        """Maximal marginal relevance: keep the ranking's best, then pick, one at a time, the
        candidate most similar to the query and least similar to those already picked (λ weighs the
        two), so near-duplicates give way to passages that add something. Scores shown stay those
        of the ranking."""
        ids = [c for c, _ in ranked]
        vecs = self.index.vectors(kb_id, ids)
        relevance = vecs @ qvec
        sims = vecs @ vecs.T
        chosen: builtins.list[int] = [0]
        left = list(range(1, len(ids)))
        while left and len(chosen) < k:
            redundancy = sims[np.ix_(left, chosen)].max(axis=1)
            scores = lam * relevance[left] - (1 - lam) * redundancy
            best = left[int(np.argmax(scores))]
            chosen.append(best)
            left.remove(best)
        return [ranked[i] for i in chosen]

    def _coverage(self, keyword: builtins.list[Hit], query_terms: builtins.list[str]) -> float:
        """How far to trust the keyword ranking: the squared share of the query's keywords that its
        best match contains (a match on one word of three counts a ninth)."""
        if not keyword or not query_terms:
            return 0.0
        with self.db.session() as s:
            top = s.scalar(select(KbChunk.terms).where(KbChunk.id == keyword[0].chunk_id)) or ""
        q = set(query_terms)
        return (len(q & set(simplified(top).split())) / len(q)) ** 2

    def relevant(self, name_or_id: str, query: str, passages: builtins.list[Retrieved]) -> builtins.list[Retrieved]:
        """The passages that can ground an answer (see RetrievalOptions.min_relevance)."""
        kb = self.kbs.settings(name_or_id)
        opts = RetrievalOptions.from_dict(kb.retrieval)
        q_terms = set(terms(query))
        model = None
        out = []
        for p in passages:
            dense = p.scores.get("dense")
            if dense is None:
                if model is None:
                    model = self.models.embedding(kb.embedding_model)
                    qv = model.embed([query], input_type="query")[0]
                dense = float(model.embed([p.text], input_type="document")[0] @ qv)
            coverage = len(q_terms & set(terms(p.text))) / len(q_terms) if q_terms else 0.0
            if dense >= opts.min_relevance or coverage >= opts.min_term_coverage:
                out.append(p)
        return out

    def _filter(self, kb_id: str, filters: dict) -> set[str]:
        """Documents matching every filter: `source` (a glob), `format`, or a key of the document's metadata."""
        out = set()
        for doc in self.kbs.documents(kb_id):
            ok = True
            for key, want in filters.items():
                have = doc.source if key == "source" else doc.format if key == "format" else doc.meta.get(key)
                if key == "source":
                    ok = ok and fnmatch.fnmatch(have, str(want))
                elif isinstance(want, list):
                    ok = ok and have in want
                else:
                    ok = ok and have == want
            if ok:
                out.add(doc.id)
        return out

    def _hydrate(
        self, ranked: builtins.list[tuple[int, float]], per: dict[str, dict[int, float]]
    ) -> builtins.list[Retrieved]:
        if not ranked:
            return []
        ids = [c for c, _ in ranked]
        with self.db.session() as s:
            rows = {
                c.id: (c, d)
                for c, d in s.execute(
                    select(KbChunk, KbDocument)
                    .join(KbDocument, KbDocument.id == KbChunk.document_id)
                    .where(KbChunk.id.in_(ids))
                )
            }
            parents = {}
            wanted = [(c.document_id, c.parent_seq) for c, _ in rows.values() if c.parent_seq is not None]
            for doc_id, seq in set(wanted):
                parents[(doc_id, seq)] = s.scalar(
                    select(KbChunk).where(KbChunk.document_id == doc_id, KbChunk.seq == seq)
                )
        out, seen_parents = [], set()
        for cid, score in ranked:
            if cid not in rows:
                continue
            c, d = rows[cid]
            shown = c
            if c.parent_seq is not None:  # small-to-big: return the parent section once
                key = (c.document_id, c.parent_seq)
                if key in seen_parents:
                    continue
                seen_parents.add(key)
                shown = parents.get(key) or c
            out.append(
                Retrieved(
                    chunk_id=c.id,
                    document_id=d.id,
                    source=d.source,
                    title=d.title,
                    text=shown.text,
                    score=float(score),
                    page=shown.page,
                    heading=shown.heading,
                    start_char=shown.start_char,
                    end_char=shown.end_char,
                    meta={**d.meta, **(c.meta or {})},
                    scores={k: float(v[cid]) for k, v in per.items() if cid in v},
                )
            )
        return out


@dataclass
class RetrievalOptions:
    mode: str = "hybrid"  # dense | bm25 | hybrid
    top_k: int = 5
    fusion: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    weight_dense: float = 0.5  # weighted fusion: share of the (min-max normalised) dense score
    min_score: float | None = None
    # A passage may ground an answer when its dense similarity reaches this, or when it holds at
    # least `min_term_coverage` of the question's keywords; with none such the answer is "I don't know".
    min_relevance: float = 0.82
    min_term_coverage: float = 0.5
    mmr: bool = False  # diversify the top_k with maximal marginal relevance
    mmr_lambda: float = 0.5  # 1: relevance only; 0: diversity only
    multi_query: int = 0  # rewrites of the question an LLM writes, each searched too (0: off)
    rewrite_model: str | None = None  # the model that rewrites (default: the default chat model)
    rerank: str | None = None  # embedding | a /rerank URL | cross-encoder:/path (knowledge/rerank.py)
    rerank_model: str | None = None  # sent as `model` to a /rerank endpoint
    rerank_candidates: int = 20  # how many of the best candidates the reranker scores
    answer_mode: str | None = None  # generate | extract | auto (unset: the model's default)
    abstain_threshold: float | None = None  # "I don't know" below this answerability (unset: 0.67)

    @classmethod
    def from_dict(cls, d: dict | None) -> RetrievalOptions:
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInput(f"unknown retrieval options: {', '.join(sorted(unknown))}", param="retrieval")
        o = cls(**d)
        if o.mode not in ("dense", "bm25", "hybrid"):
            raise InvalidInput("mode must be dense, bm25 or hybrid", param="mode")
        if o.answer_mode not in (None, "generate", "extract", "auto"):
            raise InvalidInput("answer_mode must be generate, extract or auto", param="answer_mode")
        if o.abstain_threshold is not None and not 0 <= o.abstain_threshold <= 1:
            raise InvalidInput("abstain_threshold must be 0..1", param="abstain_threshold")
        if o.fusion not in ("rrf", "weighted"):
            raise InvalidInput("fusion must be rrf or weighted", param="fusion")
        if not 1 <= o.top_k <= 200:
            raise InvalidInput("top_k must be 1..200", param="top_k")
        if not 0 <= o.mmr_lambda <= 1:
            raise InvalidInput("mmr_lambda must be 0..1", param="mmr_lambda")
        if not 0 <= o.multi_query <= 5:
            raise InvalidInput("multi_query must be 0..5 rewrites", param="multi_query")
        if not 1 <= o.rerank_candidates <= 200:
            raise InvalidInput("rerank_candidates must be 1..200", param="rerank_candidates")
        if o.rerank is not None and not (
            o.rerank == "embedding" or o.rerank.startswith(("http://", "https://", "cross-encoder:"))
        ):
            raise InvalidInput(
                "rerank must be 'embedding', a /rerank endpoint URL (http:// or https://) or cross-encoder:/path",
                param="rerank",
            )
        return o

    def to_dict(self) -> dict:
        return dict(vars(self))


def fuse(
    dense: list[Hit], keyword: list[Hit], o: RetrievalOptions, keyword_trust: float = 1.0
) -> list[tuple[int, float]]:
    """Hybrid ranking. RRF adds 1/(k + rank) from each list, so a strong keyword match is not
    drowned by a weak dense score (or the reverse); the keyword list counts in proportion to how
    much of the query its best match covers (`keyword_trust`), so that a query whose words hardly
    occur (another language, a paraphrase) is ranked by meaning. Weighted mixes min-max normalised
    scores."""
    scores: dict[int, float] = {}
    if o.fusion == "rrf":
        for hits, weight in ((dense, 1.0), (keyword, keyword_trust)):
            for rank, h in enumerate(hits, start=1):
                scores[h.chunk_id] = scores.get(h.chunk_id, 0.0) + weight / (o.rrf_k + rank)
        # Equal fused scores (one list's first is the other's second) are common: the more
        # trusted list decides.
        lead = keyword if keyword_trust >= 1.0 else dense
        for rank, h in enumerate(lead, start=1):
            scores[h.chunk_id] += 1e-9 / rank
    else:
        for hits, w in ((dense, o.weight_dense), (keyword, 1 - o.weight_dense)):
            if not hits:
                continue
            vals = np.array([h.score for h in hits])
            lo, hi = vals.min(), vals.max()
            for h in hits:
                norm = (h.score - lo) / (hi - lo) if hi > lo else 1.0
                scores[h.chunk_id] = scores.get(h.chunk_id, 0.0) + w * norm
    return sorted(scores.items(), key=lambda kv: -kv[1])


def fuse_rankings(rankings: list[list[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of whole rankings (the question's and its rewrites'); the question's
    own ranking breaks ties."""
    scores: dict[int, float] = {}
    for ranked in rankings:
        for rank, (cid, _) in enumerate(ranked, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1 / (k + rank)
    for rank, (cid, _) in enumerate(rankings[0], start=1):
        scores[cid] += 1e-9 / rank
    return sorted(scores.items(), key=lambda kv: -kv[1])

"""Per-request retrieval and answering options: the one vocabulary of the SDK, the CLI, the HTTP
API, chat turns, agents and evaluation specs. Any option left unset takes the knowledge base's own
setting, then the model's (answer_mode), then the default."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidInput


class Retrieval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["hybrid", "dense", "bm25"] | None = None
    top_k: int | None = Field(default=None, ge=1, le=200)
    min_score: float | None = None
    # `source` (a glob), `format`, or a key of the document's metadata; every filter must match
    filters: dict[str, Any] | None = None
    mmr: bool | None = None  # diversify the top_k (maximal marginal relevance)
    multi_query: int | None = Field(default=None, ge=0, le=5)  # rewrites of the question, each searched too
    rewrite_model: str | None = None  # the model that rewrites (default: the turn's model)
    # Score the best candidates again with a reranker (knowledge/rerank.py): "embedding", a /rerank
    # endpoint's URL, or cross-encoder:/path; rerank_model is the endpoint's model name.
    rerank: str | None = None
    rerank_model: str | None = None
    rerank_candidates: int | None = Field(default=None, ge=1, le=200)
    # How the answer is made from what was found (knowledge/answers.py): the model writes it
    # (generate), it quotes the passages' best sentences (extract), or the model writes it and
    # sentences the passages do not support are dropped, the extract used when none is left (auto).
    answer_mode: Literal["generate", "extract", "auto"] | None = None
    # Below this answerability (0..1) the answer is "I don't know" (default 0.67; higher abstains more).
    abstain_threshold: float | None = Field(default=None, ge=0, le=1)

    ANSWERING: ClassVar[frozenset[str]] = frozenset({"answer_mode", "abstain_threshold"})

    @classmethod
    def parse(cls, value: Retrieval | dict[str, Any] | None, *, param: str = "retrieval") -> Retrieval:
        """Options from a request's dict, with a clear error naming what is wrong."""
        if isinstance(value, Retrieval):
            return value
        try:
            return cls.model_validate(value or {})
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                known = ", ".join(cls.model_fields)
                raise InvalidInput(f"unknown retrieval option {where!r}; known: {known}", param=param) from None
            raise InvalidInput(f"retrieval option {where}: {err['msg']}", param=param) from None

    def overrides(self) -> dict[str, Any]:
        """The options that are set, as keyword arguments of KnowledgeService.retrieve."""
        return self.model_dump(include=set(Retrieval.model_fields) - self.ANSWERING, exclude_none=True)

    def with_defaults(self, **defaults: Any) -> Retrieval:
        """These options, with unset ones taken from `defaults`."""
        return self.model_copy(update={k: v for k, v in defaults.items() if getattr(self, k) is None})

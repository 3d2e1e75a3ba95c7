"""Guardrails over HTTP under /api/guardrails: create, change (new version), list, versions,
delete, and apply to any text (like Bedrock's ApplyGuardrail)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..store import MAX_INT
from .deps import QueryVersion, fm

router = APIRouter(prefix="/api/guardrails", tags=["guardrails"])


@router.get("")
def list_guardrails(request: Request) -> dict:
    return {"data": [g.model_dump(mode="json") for g in fm(request).guardrails.list()]}


@router.post("", status_code=201)
def create_guardrail(body: dict[str, Any], request: Request) -> dict:
    """The body is the guardrail's configuration (see GuardrailConfig), `name` included."""
    return fm(request).guardrails.create(body).model_dump(mode="json")


@router.get("/{name}")
def get_guardrail(name: str, request: Request, version: QueryVersion = None) -> dict:
    return fm(request).guardrails.get(name, version).model_dump(mode="json")


@router.put("/{name}")
def update_guardrail(name: str, body: dict[str, Any], request: Request) -> dict:
    """Replace the configuration: a new version."""
    return fm(request).guardrails.update(name, body).model_dump(mode="json")


@router.get("/{name}/versions")
def guardrail_versions(name: str, request: Request) -> dict:
    return {"data": [g.model_dump(mode="json") for g in fm(request).guardrails.versions(name)]}


@router.delete("/{name}", status_code=204)
def delete_guardrail(name: str, request: Request) -> Response:
    fm(request).guardrails.delete(name)
    return Response(status_code=204)


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    source: Literal["input", "output", "context"] = "input"
    version: int | None = Field(default=None, ge=1, le=MAX_INT)
    question: str | None = None  # with `passages`: grounding and relevance of an answer
    passages: list[str] | None = None


@router.post("/{name}/apply")
async def apply_guardrail(name: str, body: ApplyIn, request: Request) -> dict:
    ref = f"{name}:{body.version}" if body.version else name
    res = await run_in_threadpool(
        fm(request).guardrails.apply, ref, body.text, body.source, question=body.question, passages=body.passages
    )
    return res.to_dict()

"""Prompt templates over HTTP under /api/prompts: create, change (new version), versions, diff,
render (a reference is NAME for the latest or NAME@VERSION)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from .deps import Version, fm

router = APIRouter(prefix="/api/prompts", tags=["prompts"])


class PromptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    template: str | None = None
    messages: list[dict] | None = None
    description: str | None = None
    note: str = ""


def _out(rec) -> dict:
    return {**rec.model_dump(mode="json"), "ref": rec.ref}


@router.get("")
def list_prompts(request: Request) -> dict:
    return {"data": [_out(p) for p in fm(request).prompts.list()]}


@router.post("", status_code=201)
def create_prompt(body: PromptIn, request: Request) -> dict:
    return _out(
        fm(request).prompts.create(
            body.name or "", template=body.template, messages=body.messages, description=body.description or ""
        )
    )


@router.get("/{ref}")
def get_prompt(ref: str, request: Request) -> dict:
    return _out(fm(request).prompts.get(ref))


@router.put("/{name}")
def update_prompt(name: str, body: PromptIn, request: Request) -> dict:
    """A new version of the prompt."""
    return _out(
        fm(request).prompts.update(
            name, template=body.template, messages=body.messages, description=body.description, note=body.note
        )
    )


@router.delete("/{name}", status_code=204)
def delete_prompt(name: str, request: Request) -> Response:
    fm(request).prompts.delete(name)
    return Response(status_code=204)


@router.get("/{name}/versions")
def prompt_versions(name: str, request: Request) -> dict:
    return {"data": [_out(p) for p in fm(request).prompts.versions(name)]}


@router.get("/{name}/diff")
def prompt_diff(name: str, a: Version, b: Version, request: Request) -> dict:
    return {"name": name, "a": a, "b": b, "diff": fm(request).prompts.diff(name, a, b)}


class RenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variables: dict[str, Any] = Field(default_factory=dict)


@router.post("/{ref}/render")
def render_prompt(ref: str, body: RenderIn, request: Request) -> dict:
    """The prompt's messages with the variables filled in (ready for /v1/chat/completions)."""
    rec = fm(request).prompts.get(ref)
    return {"ref": rec.ref, "messages": [m.to_openai() for m in fm(request).prompts.render(rec.ref, body.variables)]}

"""The platform API under /api: models, tokens, conversations, chat turns, feedback, API keys."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..access import at_least
from ..chat import ConversationRecord, MessageRecord, TurnSaved
from ..errors import Forbidden
from ..keys import ApiKeyRecord, KeyLimits
from ..sdk import as_messages
from ..store import MAX_INT
from .deps import RowId, caller_role, fm, key_guardrail, server_admin
from .schemas import ChatMessageIn, SamplingIn
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread, typed_sse

router = APIRouter(prefix="/api", tags=["platform"])


@router.get("/health")
def health(request: Request) -> dict:
    app = fm(request)
    return {
        "status": "ok",
        "version": __version__,
        "database": app.db.engine.dialect.name,
        "schema_revision": request.app.state.revision,
        "models": app.models.status(),
    }


# -- models ---------------------------------------------------------------------------------------
@router.get("/models")
def models(request: Request, kind: Literal["chat", "embedding"] | None = None) -> dict:
    app = fm(request)
    return {"models": [m.to_dict() for m in app.models.list(kind)], "aliases": app.models.aliases}


@router.get("/models/{name:path}")
def model(name: str, request: Request) -> dict:
    return fm(request).models.info(name).to_dict()


class TokenizeIn(BaseModel):
    model: str | None = None
    text: str | None = None
    messages: list[ChatMessageIn] | None = None


@router.post("/tokenize")
def tokenize(body: TokenizeIn, request: Request) -> dict:
    app = fm(request)
    m = app.models.chat(body.model)
    if body.messages:
        tokens = m.count_message_tokens(as_messages([x.to_message() for x in body.messages]))
    else:
        tokens = m.count_tokens(body.text or "")
    return {"model": m.name, "tokens": tokens, "context_window": m.context_window}


# -- conversations --------------------------------------------------------------------------------
class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=300)
    model: str | None = None
    system_prompt: str | None = None
    meta: dict[str, Any] | None = None


class ConversationPatch(ConversationIn):
    pass


@router.get("/conversations")
def list_conversations(
    request: Request,
    q: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_INT),
) -> dict:
    items = fm(request).conversations.list(query=q, limit=limit, offset=offset)
    return {"data": [c.model_dump(mode="json", exclude={"messages"}) for c in items]}


@router.post("/conversations", status_code=201)
def create_conversation(body: ConversationIn, request: Request) -> ConversationRecord:
    app = fm(request)
    if body.model:
        app.models.resolve(body.model)  # fail now, not at the first message
    return app.conversations.create(
        title=body.title, model=body.model, system_prompt=body.system_prompt, meta=body.meta
    )


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: str, request: Request) -> ConversationRecord:
    return fm(request).conversations.get(conversation_id)


@router.patch("/conversations/{conversation_id}")
def update_conversation(conversation_id: str, body: ConversationPatch, request: Request) -> ConversationRecord:
    app = fm(request)
    if body.model:
        app.models.resolve(body.model)
    return app.conversations.update(
        conversation_id, title=body.title, model=body.model, system_prompt=body.system_prompt, meta=body.meta
    )


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, request: Request) -> Response:
    fm(request).conversations.delete(conversation_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/export")
def export_conversation(
    conversation_id: str, request: Request, format: Literal["json", "markdown"] = "json"
) -> Response:
    text = fm(request).conversations.export(conversation_id, format)
    media = "application/json" if format == "json" else "text/markdown; charset=utf-8"
    ext = "json" if format == "json" else "md"
    return Response(
        text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{conversation_id}.{ext}"'}
    )


class TurnIn(SamplingIn):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1)
    model: str | None = None
    stream: bool = False
    summarize: bool | None = None
    knowledge_base: str | None = None  # answer from this knowledge base (else the conversation's meta.knowledge_base)
    # per-turn retrieval overrides, the fields of knowledge.options.Retrieval (mode, top_k, mmr…);
    # checked there, so that an unknown one is a 400 naming the known ones
    retrieval: dict[str, Any] | None = None
    guardrail: str | None = None  # NAME or NAME:VERSION (else the conversation's meta.guardrail)


def event_json(ev) -> dict:
    if isinstance(ev, TurnSaved):
        return {
            "type": "saved",
            "user_message": ev.user_message.model_dump(mode="json"),
            "assistant_message": ev.assistant_message.model_dump(mode="json"),
            "dropped_messages": ev.dropped_messages,
        }
    d = asdict(ev)
    kind = d.pop("kind")
    return {"type": kind, **d}


@router.post("/conversations/{conversation_id}/messages")
async def send_message(conversation_id: str, body: TurnIn, request: Request):
    app = fm(request)

    def turn():
        return app.chat.send(
            conversation_id,
            body.content,
            model=body.model,
            params=body.params(),
            summarize=body.summarize,
            knowledge_base=body.knowledge_base,
            retrieval=body.retrieval,
            guardrail=body.guardrail or key_guardrail(request),
        )

    if not body.stream:
        saved: TurnSaved = await run_in_threadpool(lambda: [ev for ev in turn()][-1])
        return {
            "user_message": saved.user_message.model_dump(mode="json"),
            "assistant_message": saved.assistant_message.model_dump(mode="json"),
            "dropped_messages": saved.dropped_messages,
        }

    _, events = await first_then_rest(iterate_in_thread(turn))

    return StreamingResponse(typed_sse(events, event_json), media_type="text/event-stream", headers=SSE_HEADERS)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["up", "down", 1, -1] | None
    comment: str | None = Field(default=None, max_length=10000)
    correction: str | None = Field(default=None, max_length=100000)  # the answer it should have been


@router.post("/messages/{message_id}/feedback")
def feedback(message_id: RowId, body: FeedbackIn, request: Request) -> MessageRecord:
    return fm(request).conversations.feedback(message_id, body.rating, body.comment, body.correction)


@router.get("/feedback")
def list_feedback(
    request: Request, rating: Literal["up", "down"] | None = None, limit: int = Query(1000, ge=1, le=10000)
) -> dict:
    value = {"up": 1, "down": -1}.get(rating) if rating else None
    return {"data": [m.model_dump(mode="json") for m in fm(request).conversations.rated_messages(value, limit)]}


# -- API keys -------------------------------------------------------------------------------------
class KeyIn(KeyLimits):
    name: str = Field(min_length=1, max_length=200)
    guardrail: str | None = None  # applied to every request made with this key


@router.get("/keys")
def list_keys(request: Request) -> dict:
    return {"data": [k.model_dump(mode="json") for k in fm(request).keys.list()]}


@router.post("/keys", status_code=201)
def create_key(body: KeyIn, request: Request) -> dict:
    if body.guardrail:
        fm(request).guardrails.load(body.guardrail)  # 404 now rather than on every request later
    role = caller_role(request)
    if not at_least(role, body.role):
        raise Forbidden(f"a key with the role {role} cannot make a key with the higher role {body.role}", param="role")
    limits = KeyLimits.model_validate(body.model_dump(exclude={"name", "guardrail"}))
    record, key = fm(request).keys.create(body.name, body.guardrail, limits)
    return {**record.model_dump(mode="json"), "key": key}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: str, request: Request) -> ApiKeyRecord:
    return fm(request).keys.revoke(key_id)


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    kind: Literal["chat", "embedding"] = "chat"
    api_key: str | None = None
    context_window: int | None = Field(default=None, gt=0)
    shared: bool = False  # for the whole server (server admins), not only the caller's workspace


class EndpointTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str = Field(min_length=1)
    model: str | None = None
    api_key: str | None = None


@router.get("/endpoints")
def list_endpoints(request: Request) -> dict:
    return {"data": [e.model_dump(mode="json") for e in fm(request).endpoints.list()]}


@router.post("/endpoints", status_code=201)
def add_endpoint(body: EndpointIn, request: Request) -> dict:
    """Serve a model of an OpenAI-compatible endpoint under `name` (kept across restarts), in the
    caller's workspace, or for the whole server (`shared`, server admins)."""
    if body.shared:
        server_admin(request)
    return (
        fm(request)
        .endpoints.add(
            body.name,
            base_url=body.base_url,
            model=body.model,
            kind=body.kind,
            api_key=body.api_key,
            context_window=body.context_window,
            shared=body.shared,
        )
        .model_dump(mode="json")
    )


@router.post("/endpoints/test")
def test_endpoint(body: EndpointTestIn, request: Request) -> dict:
    """Try an endpoint before saving it: reachable, key accepted, model served."""
    return fm(request).endpoints.test(base_url=body.base_url, api_key=body.api_key, model=body.model).model_dump()


@router.delete("/endpoints/{name:path}", status_code=204)
def remove_endpoint(name: str, request: Request, shared: bool = False) -> Response:
    if shared:
        server_admin(request)
    fm(request).endpoints.remove(name, shared=shared)
    return Response(status_code=204)

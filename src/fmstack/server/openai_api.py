"""The OpenAI-compatible API under /v1: models, chat completions (streaming too), legacy
completions, embeddings."""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..errors import FmstackError, InvalidInput, ModelError
from ..guardrails import Guardrail
from ..knowledge.rag import CitationsEvent
from ..knowledge.rerank import EmbeddingReranker
from ..models.types import ChatResult, Finish, Message, TextDelta, TokenLogprob, ToolCallDelta, UsageEvent, collect
from ..store import DEFAULT_WORKSPACE, current_workspace, in_workspace
from ..turns import TurnEvent
from .deps import fm, key_guardrail
from .schemas import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, RerankRequest
from .streaming import SSE_HEADERS, first_then_rest, iterate_in_thread, sse

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
FINGERPRINT = "fmstack"


def _model_obj(name: str, created: int) -> dict:
    return {"id": name, "object": "model", "created": created, "owned_by": "fmstack"}


@router.get("/models")
def list_models(request: Request) -> dict:
    app = fm(request)
    created = request.app.state.started
    return {"object": "list", "data": [_model_obj(n, created) for n in app.models.names()]}


@router.get("/models/{model:path}")
def get_model(model: str, request: Request) -> dict:
    app = fm(request)
    app.models.info(model)  # 404 when unknown
    return _model_obj(model, request.app.state.started)


def _usage(res_usage) -> dict:
    return {
        "prompt_tokens": res_usage.prompt_tokens,
        "completion_tokens": res_usage.completion_tokens,
        "total_tokens": res_usage.total_tokens,
    }


def _finish(reason: str) -> str:
    return reason if reason in ("stop", "length", "tool_calls", "content_filter") else "stop"


def completion_body(cid: str, created: int, res: ChatResult) -> dict:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": res.text if (res.text or not res.tool_calls) else None,
        "refusal": None,
    }
    if res.tool_calls:
        message["tool_calls"] = [c.to_openai() for c in res.tool_calls]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": res.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish(res.finish_reason),
                "logprobs": chat_logprobs(res.logprobs),
            }
        ],
        "usage": _usage(res.usage),
    }


def chat_logprobs(tokens: list[TokenLogprob] | None) -> dict | None:
    """A choice's `logprobs` in the chat shape (None where none were asked for or given)."""
    return None if tokens is None else {"content": [t.to_openai() for t in tokens], "refusal": None}


def legacy_logprobs(tokens: list[TokenLogprob] | None, offset: int) -> dict | None:
    """A choice's `logprobs` in the legacy completions shape; `offset`: where the tokens' text
    starts in the choice's whole text."""
    if tokens is None:
        return None
    out: dict[str, list] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    for t in tokens:
        out["tokens"].append(t.token)
        out["token_logprobs"].append(t.logprob)
        out["top_logprobs"].append({name: lp for name, _, lp in t.top})
        out["text_offset"].append(offset)
        offset += len(t.text)
    return out


def stream_error(e: Exception) -> str:
    """An `error` event for a failure after a stream began (its status line is already sent)."""
    if isinstance(e, FmstackError):
        return sse(e.to_openai())
    error = {"message": f"generation failed: {e}", "type": "server_error", "param": None, "code": "model_error"}
    return sse({"error": error})


def sse_chunks(
    events: Generator[TurnEvent, None, None], cid: str, created: int, model_name: str, include_usage: bool
) -> Iterator[str]:
    """OpenAI `chat.completion.chunk` SSE text for a stream of events.

    Runs in the generation thread, so serialising a token happens between two decode steps and
    the event loop only forwards bytes. The first event is awaited before anything is written, so
    an error before any output still becomes an HTTP error status."""

    def extra(**fields: Any) -> str:  # a chunk; without `choices`: citations, usage
        head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model_name}
        return sse({**head, "system_fingerprint": FINGERPRINT, "choices": [], **fields})

    def chunk(delta: dict, finish: str | None = None, logprobs: dict | None = None) -> str:
        return extra(choices=[{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}])

    first = next(events)
    yield chunk({"role": "assistant", "content": ""})
    usage = None
    try:
        for ev in itertools.chain([first], events):
            if isinstance(ev, TextDelta):
                yield chunk({"content": ev.text}, logprobs=chat_logprobs(ev.logprobs))
            elif isinstance(ev, ToolCallDelta):
                call: dict[str, Any] = {"index": ev.index, "function": {"arguments": ev.arguments}}
                if ev.id:
                    call["id"], call["type"] = ev.id, "function"
                if ev.name:
                    call["function"]["name"] = ev.name
                yield chunk({"tool_calls": [call]})
            elif isinstance(ev, UsageEvent):
                usage = ev.usage
            elif isinstance(ev, Finish):
                yield chunk({}, _finish(ev.reason))
            elif isinstance(ev, CitationsEvent):
                yield extra(**ev.to_dict())
    except Exception as e:  # the model broke mid-stream: say so in the stream
        yield stream_error(e)
        return
    finally:
        events.close()  # also when the client went away: frees the model now
    if include_usage and usage is not None:
        yield extra(usage=_usage(usage))
    yield sse("[DONE]")


def _in(workspace: str, fn, *args):
    with in_workspace(workspace):
        return fn(*args)


async def guardrail_for(request: Request, named: str | None, model: str) -> str | Guardrail | None:
    """The request's guardrail, else its key's, else the one the model's configuration names (the
    operator's: from the default workspace, whichever workspace the caller is in)."""
    app = fm(request)
    guardrail: str | Guardrail | None = named or key_guardrail(request)
    if guardrail is None and (configured := app.models.guardrail_of(model)):
        guardrail = await run_in_threadpool(lambda: _in(DEFAULT_WORKSPACE, app.guardrails.load, configured))
    return guardrail


@router.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request):
    app = fm(request)
    messages = [m.to_message() for m in body.messages]
    model = app.models.chat(body.model)
    # A prompt or guardrail the model's configuration names is the operator's: from the default
    # workspace, whichever workspace the caller is in; one the request or its key names is the caller's.
    configured_prompt = None if body.prompt else app.models.prompt_of(body.model)
    prompt_ref = body.prompt or configured_prompt
    if prompt_ref and not any(m.role == "system" for m in messages):  # a pinned prompt version as the system prompt
        workspace = DEFAULT_WORKSPACE if configured_prompt else current_workspace()
        system = await run_in_threadpool(
            lambda: _in(workspace, app.prompts.render_text, prompt_ref, body.prompt_variables or {})
        )
        messages.insert(0, Message("system", system))
    guardrail = await guardrail_for(request, body.guardrail, body.model)
    turn = await run_in_threadpool(
        lambda: app.turns.prepare(
            messages, model=model, params=body.params(), guardrail=guardrail, knowledge_base=body.knowledge_base
        )
    )
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        events = await run_in_threadpool(lambda: list(turn.stream()))
        out = completion_body(
            cid, created, collect(model.name, [e for e in events if not isinstance(e, CitationsEvent)])
        )
        if body.knowledge_base:
            found = next((e for e in events if isinstance(e, CitationsEvent)), CitationsEvent([]))
            out.update(found.to_dict())
        report = turn.guardrail_report()
        if report is not None:
            out["guardrail"] = report
        return out
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    _, chunks = await first_then_rest(
        iterate_in_thread(lambda: sse_chunks(turn.stream(), cid, created, model.name, include_usage))
    )
    return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/embeddings")
async def embeddings(body: EmbeddingRequest, request: Request) -> dict:
    app = fm(request)
    texts = body.texts()
    model = app.models.embedding(body.model)
    input_type: Literal["query", "document"] = "query" if body.input_type == "query" else "document"
    if body.dimensions is not None and model.dimensions and body.dimensions != model.dimensions:
        raise InvalidInput(
            f"model {model.name!r} gives {model.dimensions} dimensions; it cannot give {body.dimensions}",
            param="dimensions",
        )

    def run():
        vecs = model.embed(texts, input_type=input_type)
        tokens = sum(model.count_tokens(t) for t in texts)
        return vecs, tokens

    vecs, tokens = await run_in_threadpool(run)
    if body.encoding_format == "base64":
        data = [base64.b64encode(np.ascontiguousarray(v, dtype="<f4").tobytes()).decode("ascii") for v in vecs]
    else:
        data = vecs.tolist()
    return {
        "object": "list",
        "model": model.name,
        "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(data)],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


@router.post("/rerank")
async def rerank(body: RerankRequest, request: Request) -> dict:
    """Documents scored against a query by an embedding model (cosine of query and document), in
    the `/rerank` shape clients of Cohere, Jina and vLLM send; a knowledge base of another fmstack
    can use it as its reranker (knowledge/rerank.py)."""
    app = fm(request)
    model = app.models.embedding(body.model)
    texts = body.texts()

    def run():
        scores = EmbeddingReranker(model).scores(body.query, texts)
        tokens = model.count_tokens(body.query) + sum(model.count_tokens(t) for t in texts)
        return scores, tokens

    scores, tokens = await run_in_threadpool(run)
    order = sorted(range(len(texts)), key=lambda i: -scores[i])[: body.top_n or len(texts)]
    results = []
    for i in order:
        item: dict = {"index": i, "relevance_score": scores[i]}
        if body.return_documents:
            item["document"] = {"text": texts[i]}
        results.append(item)
    return {
        "id": f"rerank-{uuid.uuid4().hex}",
        "model": model.name,
        "results": results,
        "usage": {"total_tokens": tokens},
        "meta": {"billed_units": {"search_units": 1}},
    }


def completion_chunks(
    events: Generator[TurnEvent, None, None], head: dict, echo: str, include_usage: bool
) -> Iterator[str]:
    """`text_completion` SSE chunks for a stream of events (the first awaited before anything is
    written, so an error before any output is still an HTTP error)."""

    def chunk(text: str, finish: str | None = None, logprobs: dict | None = None) -> str:
        return sse({**head, "choices": [{"text": text, "index": 0, "logprobs": logprobs, "finish_reason": finish}]})

    first = next(events)
    if echo:
        yield chunk(echo)
    usage = None
    offset = len(echo)
    try:
        for ev in itertools.chain([first], events):
            if isinstance(ev, TextDelta):
                yield chunk(ev.text, logprobs=legacy_logprobs(ev.logprobs, offset))
                offset += len(ev.text)
            elif isinstance(ev, UsageEvent):
                usage = ev.usage
            elif isinstance(ev, Finish):
                yield chunk("", _finish(ev.reason))
    except Exception as e:  # the model broke mid-stream: say so in the stream
        yield stream_error(e)
        return
    finally:
        events.close()
    if include_usage and usage is not None:
        yield sse({**head, "choices": [], "usage": _usage(usage)})
    yield sse("[DONE]")


@router.post("/completions")
async def completions(body: CompletionRequest, request: Request):
    """Legacy completions: the model continues the prompt as it is (a local GGUF without its chat
    template; a model that only chats gets the prompt as a user message), through the same
    guardrail, usage and queue as chat completions."""
    app = fm(request)
    prompt, params = body.text(), body.params()
    model = app.models.chat(body.model)
    guardrail = await guardrail_for(request, body.guardrail, body.model)
    turn = await run_in_threadpool(
        lambda: app.turns.prepare([Message("user", prompt)], model=model, params=params, guardrail=guardrail)
    )
    turn.completion = turn.question  # the prompt as the guardrail let it through (masked where it masks)
    head = {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model.name,
        "system_fingerprint": FINGERPRINT,
    }
    echo = prompt if body.echo else ""
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        _, chunks = await first_then_rest(
            iterate_in_thread(lambda: completion_chunks(turn.stream(), head, echo, include_usage))
        )
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    res = collect(model.name, await run_in_threadpool(lambda: list(turn.stream())))
    if res.error:
        raise ModelError(res.error)
    out = {
        **head,
        "choices": [
            {
                "text": echo + res.text,
                "index": 0,
                "logprobs": legacy_logprobs(res.logprobs, len(echo)),
                "finish_reason": _finish(res.finish_reason),
            }
        ],
        "usage": _usage(res.usage),
    }
    report = turn.guardrail_report()
    if report is not None:
        out["guardrail"] = report
    return out

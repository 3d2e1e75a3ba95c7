"""The `openai` provider: any OpenAI-compatible server (OpenAI, DeepSeek, Qwen/DashScope, vLLM,
Ollama, another fmstack) reached by base URL and API key."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import httpx
import numpy as np

from ..errors import (
    Busy,
    ConfigError,
    FmstackError,
    InvalidInput,
    ModelError,
    ModelNotFound,
    ProviderUnavailable,
    Unauthorized,
)
from .base import ChatModel, EmbeddingModel, ModelInfo
from .types import (
    Event,
    Finish,
    GenerationParams,
    Message,
    StopGeneration,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    Usage,
    UsageEvent,
    finish_reason,
)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def estimate_tokens(text: str) -> int:
    """Token estimate for a provider whose tokenizer we do not have: ~4 characters per token for
    Latin text, ~1 per CJK character (what BPE vocabularies of current models give)."""
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


class _Remote:
    def __init__(
        self,
        info: ModelInfo,
        *,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 600.0,
        headers: dict | None = None,
    ):
        self.info = info
        self.base_url = base_url.rstrip("/")
        self.remote_model = model or info.name
        self.api_key = api_key
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.headers = headers or {}
        self._client: Any = None  # openai.OpenAI, made on first use

    def client(self):
        if self._client is None:
            import openai

            key = self.api_key
            if not key and self.api_key_env:
                key = os.environ.get(self.api_key_env)
                if not key:
                    raise ConfigError(
                        f"model {self.info.name!r} needs an API key for {self.base_url}: set the environment variable "
                        f"{self.api_key_env} (or `api_key` for this model in the config file)"
                    )
            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=key or "not-needed",
                timeout=self.timeout,
                max_retries=0,
                default_headers=self.headers,
            )
        return self._client

    def translate(self, e: Exception) -> FmstackError:
        import openai

        where = f"{self.info.name!r} at {self.base_url}"
        if isinstance(e, httpx.HTTPError):  # raised as-is while a stream is read
            return ProviderUnavailable(f"the connection to the provider for {where} broke: {e or type(e).__name__}")
        if isinstance(e, openai.APITimeoutError):
            return ProviderUnavailable(f"provider for {where} timed out after {self.timeout}s")
        if isinstance(e, openai.APIConnectionError):
            return ProviderUnavailable(
                f"cannot reach the provider for {where}: {e.__cause__ or e}; check base_url and that the server is running"
            )
        if isinstance(e, openai.AuthenticationError):
            return Unauthorized(
                f"the provider for {where} rejected the API key ({_detail(e)}); check {self.api_key_env or 'api_key'}"
            )
        if isinstance(e, openai.NotFoundError):
            return ModelNotFound(f"the provider at {self.base_url} has no model {self.remote_model!r} ({_detail(e)})")
        if isinstance(e, openai.RateLimitError):
            return Busy(f"the provider for {where} is rate limiting: {_detail(e)}")
        if isinstance(e, openai.APIStatusError):
            if e.status_code in (400, 413, 422):
                err = InvalidInput(f"{where}: {_detail(e)}")
                err.status = e.status_code
                return err
            if e.status_code >= 500:
                return ProviderUnavailable(f"the provider for {where} failed ({e.status_code}): {_detail(e)}")
        return ModelError(f"{where}: {e}")


def _detail(e) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return err["message"]
    return str(e)


class OpenAIChatModel(_Remote, ChatModel):
    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        import openai

        params = params.merged_over(self.info.defaults)
        kwargs = {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "stop": params.stop,
            "presence_penalty": params.presence_penalty,
            "frequency_penalty": params.frequency_penalty,
            "seed": params.seed,
            "response_format": params.response_format,
            "tools": params.tools,
            "tool_choice": params.tool_choice,
            "parallel_tool_calls": params.parallel_tool_calls if params.tools else None,
            "logprobs": True if params.logprobs is not None else None,
            "top_logprobs": params.logprobs or None,
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        extra = {"top_k": params.top_k, "repetition_penalty": params.repetition_penalty}
        extra = {k: v for k, v in extra.items() if v is not None}
        try:
            stream = self.client().chat.completions.create(
                model=self.remote_model,
                messages=[m.to_openai() for m in messages],
                stream=True,
                stream_options={"include_usage": True},
                extra_body=extra or None,
                **kwargs,
            )
        except openai.OpenAIError as e:
            raise self.translate(e) from e
        usage = None
        finish = "stop"
        parts: list[str] = []
        stopped = False
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # tokens' bytes -> the text they add
        try:
            with stream:
                for chunk in stream:
                    if chunk.usage:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices[:1]:
                        delta = choice.delta
                        tokens = _tokens(choice.logprobs, decoder) if params.logprobs is not None else None
                        if delta.content or tokens:
                            parts.append(delta.content or "")
                            try:
                                yield TextDelta(delta.content or "", tokens)
                            except StopGeneration:  # closing the response stops the provider
                                stopped = True
                                break
                        for call in delta.tool_calls or []:
                            fn = call.function
                            yield ToolCallDelta(
                                index=call.index,
                                id=call.id,
                                name=fn.name if fn else None,
                                arguments=(fn.arguments or "") if fn else "",
                            )
                        if choice.finish_reason:
                            finish = choice.finish_reason
                    if stopped:
                        break
        except (openai.OpenAIError, httpx.HTTPError) as e:
            raise self.translate(e) from e
        if stopped:  # the provider's count comes at the end, which was not waited for: an estimate
            usage = Usage(self.count_message_tokens(messages), self.count_tokens("".join(parts)))
        yield UsageEvent(usage or Usage(self.count_message_tokens(messages), 0))
        yield Finish(finish_reason("stop" if stopped else finish))

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


def _tokens(logprobs: Any, decoder: codecs.IncrementalDecoder) -> list[TokenLogprob] | None:
    """A chunk's `logprobs.content` as our tokens (None where the provider sent none)."""
    content = getattr(logprobs, "content", None)
    if not content:
        return None
    out = []
    for t in content:
        raw = list(t.bytes) if t.bytes is not None else list(t.token.encode("utf-8"))
        top = [(a.token, list(a.bytes or a.token.encode("utf-8")), a.logprob) for a in t.top_logprobs or []]
        out.append(TokenLogprob(t.token, raw, t.logprob, top, decoder.decode(bytes(raw))))
    return out


class OpenAIEmbeddingModel(_Remote, EmbeddingModel):
    def embed(self, texts: Sequence[str], input_type: Literal["query", "document"] = "query") -> np.ndarray:
        import openai

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        try:
            resp = self.client().embeddings.create(model=self.remote_model, input=list(texts), encoding_format="float")
        except openai.OpenAIError as e:
            raise self.translate(e) from e
        vecs = np.array([d.embedding for d in sorted(resp.data, key=lambda d: d.index)], dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

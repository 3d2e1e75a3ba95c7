"""Request bodies of the OpenAI-compatible API, validated before anything runs."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InvalidInput
from ..models.types import GenerationParams, Message


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class FunctionCallIn(BaseModel):
    name: str
    arguments: str = ""


class ToolCallIn(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    def to_message(self) -> Message:
        d = self.model_dump(exclude_none=True)
        if d["role"] == "developer":
            d["role"] = "system"
        if isinstance(self.content, list):
            parts = [p for p in self.content if p.type not in ("text", "image_url")]
            if parts:
                raise InvalidInput(
                    f"content parts of type {parts[0].type!r} are not supported; send text or image_url",
                    param="messages",
                )
        return Message.from_openai(d)


class FunctionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(BaseModel):
    """A function tool (OpenAI's shape)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function"] = "function"
    function: FunctionIn


class NamedFunction(BaseModel):
    name: str = Field(min_length=1)


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


class AllowedTools(BaseModel):
    mode: Literal["auto", "required"]
    tools: list[NamedToolChoice] = Field(min_length=1)


class AllowedToolsChoice(BaseModel):
    """The tools a turn may call, out of all those sent (the others stay in the request unchanged)."""

    type: Literal["allowed_tools"]
    allowed_tools: AllowedTools

    def names(self) -> list[str]:
        return [t.function.name for t in self.allowed_tools.tools]


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice | AllowedToolsChoice
TOOL_CHOICES = (
    "tool_choice must be 'none', 'auto', 'required', {'type': 'function', 'function': {'name': ...}} or "
    "{'type': 'allowed_tools', 'allowed_tools': {'mode': 'auto' or 'required', 'tools': [...]}}"
)


def tool_choice_shape(v: Any, choices: str = TOOL_CHOICES) -> Any:
    """A tool_choice that is none of the shapes fails with the shapes named, not with one error per
    member of the union."""
    if v is None or v in ("none", "auto", "required"):
        return v
    if isinstance(v, dict) and v.get("type") in ("function", "allowed_tools"):
        return v
    raise ValueError(choices)


def check_tool_choice(tools: list[ToolIn] | None, choice: ToolChoice | None) -> None:
    """A named tool must be one of the tools; `required` needs tools to choose from."""
    names = [t.function.name for t in tools or []]
    if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
        raise ValueError(f"tool_choice names {choice.function.name!r}, which is not among the tools")
    if isinstance(choice, AllowedToolsChoice):
        for name in choice.names():
            if name not in names:
                raise ValueError(f"tool_choice.allowed_tools names {name!r}, which is not among the tools")
    if choice == "required" and not names:
        raise ValueError("tool_choice 'required' needs tools")
    if len(set(names)) != len(names):
        raise ValueError("tools must have distinct function names")


def allowed(tools: list[dict] | None, choice: Any) -> tuple[list[dict] | None, Any]:
    """The tools a turn may call and its plain tool choice: `allowed_tools` narrows the tools to
    those it names and becomes its mode."""
    if isinstance(choice, AllowedToolsChoice):
        names = set(choice.names())
        return [t for t in tools or [] if t["function"]["name"] in names], choice.allowed_tools.mode
    return tools, choice.model_dump() if isinstance(choice, BaseModel) else choice


class StreamOptions(BaseModel):
    include_usage: bool = False


class SamplingIn(BaseModel):
    """Generation parameters as every request body spells them (OpenAI's names and ranges)."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    repetition_penalty: float | None = Field(default=None, gt=0)
    seed: int | None = None

    @field_validator("stop")
    @classmethod
    def _stop(cls, v):
        if isinstance(v, str):
            v = [v]
        if v is not None and len(v) > 16:
            raise ValueError("at most 16 stop sequences")
        return v

    def params(self, **extra: Any) -> GenerationParams:
        names = set(GenerationParams.names()) & set(type(self).model_fields) - set(self.not_sampling)
        return GenerationParams(**{**self.model_dump(include=names, exclude_none=True), **extra})

    # fields a subclass reuses under the same name for something else (retrieval's top_k)
    not_sampling: ClassVar[tuple[str, ...]] = ()


class ChatCompletionRequest(SamplingIn):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: dict[str, Any] | None = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    user: str | None = None
    # fmstack extension: answer from this knowledge base; the response carries `citations`.
    knowledge_base: str | None = None
    guardrail: str | None = None  # NAME or NAME:VERSION; else the model's configured guardrail
    prompt: str | None = None  # a stored prompt (NAME or NAME@VERSION) as the system prompt; else the model's
    prompt_variables: dict[str, Any] | None = None

    @field_validator("response_format")
    @classmethod
    def _response_format(cls, v):
        if v is not None and v.get("type") not in ("text", "json_object", "json_schema"):
            raise ValueError("type must be one of text, json_object, json_schema")
        if (
            v is not None
            and v.get("type") == "json_schema"
            and not isinstance((v.get("json_schema") or {}).get("schema"), dict)
        ):
            raise ValueError("json_schema.schema must be an object")
        return v

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice(cls, v):
        return tool_choice_shape(v)

    @model_validator(mode="after")
    def _tools(self):
        check_tool_choice(self.tools, self.tool_choice)
        return self

    def params(self) -> GenerationParams:  # type: ignore[override]
        if self.n != 1:
            raise InvalidInput("only n=1 is supported", param="n")
        if self.top_logprobs is not None and not self.logprobs:
            raise InvalidInput("top_logprobs needs logprobs: true", param="top_logprobs")
        fmt = self.response_format if self.response_format and self.response_format.get("type") != "text" else None
        tools, choice = allowed([t.model_dump(exclude_none=True) for t in self.tools or []] or None, self.tool_choice)
        return super().params(
            max_tokens=self.max_completion_tokens or self.max_tokens,
            response_format=fmt,
            tools=tools,
            tool_choice=choice,
            logprobs=(self.top_logprobs or 0) if self.logprobs else None,
        )


class CompletionRequest(SamplingIn):
    """A legacy completions request: the model continues the prompt as it is."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=16, ge=1)
    n: int = Field(default=1, ge=1)
    best_of: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    echo: bool = False
    logprobs: int | None = Field(default=None, ge=0, le=5)
    suffix: str | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    guardrail: str | None = None  # NAME or NAME:VERSION; else the key's or the model's configured guardrail

    def text(self) -> str:
        if isinstance(self.prompt, str):
            prompt = self.prompt
        elif not all(isinstance(p, str) for p in self.prompt):
            raise InvalidInput("token arrays are not supported as prompt; send text", param="prompt")
        elif len(self.prompt) != 1:
            raise InvalidInput("send one prompt per request (a list of exactly one string)", param="prompt")
        else:
            prompt = str(self.prompt[0])
        if not prompt:
            raise InvalidInput("prompt must not be empty", param="prompt")
        return prompt

    def params(self) -> GenerationParams:  # type: ignore[override]
        for name, ok in (
            ("n", self.n == 1),
            ("best_of", self.best_of in (None, 1)),
            ("suffix", not self.suffix),
            ("logit_bias", not self.logit_bias),
        ):
            if not ok:
                raise InvalidInput(f"{name} is not supported", param=name)
        if self.logprobs is not None and self.echo:
            raise InvalidInput("logprobs of the prompt (echo with logprobs) are not available", param="echo")
        return super().params()


class RerankDocument(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str


class RerankRequest(BaseModel):
    """The `/rerank` shape of Cohere, Jina, vLLM and TEI: documents scored against a query."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None  # an embedding model (default: the default one)
    query: str = Field(min_length=1, max_length=32_000)
    documents: list[str | RerankDocument] = Field(min_length=1, max_length=1000)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False

    def texts(self) -> list[str]:
        return [d if isinstance(d, str) else d.text for d in self.documents]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    # fmstack extension for asymmetric models (E5): "query" (default) or "document"/"passage".
    input_type: Literal["query", "document", "passage"] = "query"
    user: str | None = None

    def texts(self) -> list[str]:
        data = self.input
        if isinstance(data, str):
            data = [data]
        if not data:
            raise InvalidInput("input must not be empty", param="input")
        if not all(isinstance(x, str) for x in data):
            raise InvalidInput("token arrays are not supported as input; send strings", param="input")
        if len(data) > 2048:
            raise InvalidInput("at most 2048 inputs per request", param="input")
        if any(not x for x in data):
            raise InvalidInput("input strings must not be empty", param="input")
        return [str(x) for x in data]

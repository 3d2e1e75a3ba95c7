"""Models on OpenAI-compatible endpoints added while running (from the console or the API):
stored in the database, registered with the model registry at start, testable before saving.
Their URLs pass the outbound policy (no requests into the server's own network unless allowed);
their API keys are stored encrypted and never returned. An endpoint belongs to the whole server
(added by a server admin, `shared=True`) or to the workspace that added it, which alone sees it."""

from __future__ import annotations

import builtins
import re
import time
from datetime import datetime
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from .errors import InvalidInput, NotFound
from .models.registry import ModelRegistry, ModelSpec, scoped_name
from .security import SecretBox, UrlPolicy
from .store import Database, ModelEndpoint, current_workspace


class EndpointRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    base_url: str
    model: str
    context_window: int | None = None
    created_at: datetime
    has_api_key: bool = False
    shared: bool = False  # the whole server's, not one workspace's


class ConnectionTest(BaseModel):
    ok: bool
    latency_ms: int
    models: list[str] = []  # what the endpoint serves (GET /models)
    model_listed: bool | None = None  # whether the chosen model is among them
    error: str | None = None


def _spec(row: ModelEndpoint, secrets: SecretBox) -> ModelSpec:
    return ModelSpec(
        provider="openai",
        base_url=row.base_url,
        model=row.model,
        api_key=secrets.open(row.api_key),
        context_window=row.context_window,
        description=f"{row.model} at {row.base_url}",
    )


def _record(row: ModelEndpoint) -> EndpointRecord:
    rec = EndpointRecord.model_validate(row)
    rec.has_api_key = bool(row.api_key)
    rec.shared = row.scope == ""
    return rec


def _registered(row: ModelEndpoint) -> str:
    return row.name if row.scope == "" else scoped_name(row.scope, row.name)


def _mine():
    """The endpoints the current workspace sees: the server's and its own."""
    return ModelEndpoint.scope.in_(("", current_workspace()))


class EndpointStore:
    def __init__(self, db: Database, registry: ModelRegistry, secrets: SecretBox, outbound: UrlPolicy | None = None):
        self.db = db
        self.registry = registry
        self.secrets = secrets
        self.outbound = outbound
        with self.db.session() as s:
            for row in s.scalars(select(ModelEndpoint)):
                try:
                    self.registry.register(_registered(row), row.kind, _spec(row, secrets))  # type: ignore[arg-type]  # stored as chat|embedding
                except InvalidInput:
                    pass  # the configuration now defines that name itself; the configuration wins

    def list(self) -> builtins.list[EndpointRecord]:
        with self.db.session() as s:
            return [_record(r) for r in s.scalars(select(ModelEndpoint).where(_mine()).order_by(ModelEndpoint.name))]

    def add(
        self,
        name: str,
        *,
        base_url: str,
        model: str,
        kind: Literal["chat", "embedding"] = "chat",
        api_key: str | None = None,
        context_window: int | None = None,
        shared: bool = False,
    ) -> EndpointRecord:
        """Add (or replace) an endpoint's model: the current workspace's, or the server's (`shared`)."""
        if not re.fullmatch(r"[\w][\w.:/\-]{0,199}", name or ""):
            raise InvalidInput("a model name is 1-200 letters, digits, '_', '-', '.', ':' or '/'", param="name")
        base_url = self._check_url(base_url)
        if not model or not model.strip():
            raise InvalidInput("give the endpoint's own model name", param="model")
        if kind not in ("chat", "embedding"):
            raise InvalidInput("kind is chat or embedding", param="kind")
        row = ModelEndpoint(
            scope="" if shared else current_workspace(),
            name=name,
            kind=kind,
            base_url=base_url,
            model=model.strip(),
            api_key=self.secrets.seal(api_key),
            context_window=context_window,
        )
        self.registry.register(_registered(row), kind, _spec(row, self.secrets))
        with self.db.session() as s:
            s.merge(row)
        with self.db.session() as s:
            return _record(s.get_one(ModelEndpoint, (row.scope, name)))

    def remove(self, name: str, *, shared: bool = False) -> None:
        scope = "" if shared else current_workspace()
        with self.db.session() as s:
            row = s.get(ModelEndpoint, (scope, name))
            if row is None:
                raise NotFound(f"no endpoint named {name!r}", param="name")
            s.delete(row)
        self.registry.unregister(_registered(row))

    def test(
        self, *, base_url: str, api_key: str | None = None, model: str | None = None, timeout: float = 10.0
    ) -> ConnectionTest:
        """Reach the endpoint's model list (GET {base_url}/models) and say what went wrong if it fails."""
        base_url = self._check_url(base_url)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        started = time.perf_counter()
        hooks = {"request": [self.outbound.hook]} if self.outbound is not None else {}
        try:
            with httpx.Client(event_hooks=hooks, timeout=timeout) as http:
                r = http.get(f"{base_url}/models", headers=headers)
        except httpx.ConnectError:
            return ConnectionTest(
                ok=False, latency_ms=_ms(started), error=f"cannot connect to {base_url}: is the server running?"
            )
        except httpx.TimeoutException:
            return ConnectionTest(
                ok=False, latency_ms=_ms(started), error=f"{base_url} did not answer within {timeout:.0f} s"
            )
        except httpx.HTTPError as e:
            return ConnectionTest(ok=False, latency_ms=_ms(started), error=f"{base_url}: {e}")
        if r.status_code in (401, 403):
            return ConnectionTest(
                ok=False, latency_ms=_ms(started), error=f"the endpoint refused the API key ({r.status_code})"
            )
        if r.status_code >= 400:
            return ConnectionTest(
                ok=False,
                latency_ms=_ms(started),
                error=f"GET {base_url}/models answered {r.status_code}: is this an OpenAI-compatible base URL (ending in /v1)?",
            )
        try:
            ids = [m["id"] for m in r.json().get("data", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            return ConnectionTest(
                ok=False, latency_ms=_ms(started), error="the endpoint's /models answer is not OpenAI's format"
            )
        return ConnectionTest(
            ok=True, latency_ms=_ms(started), models=ids, model_listed=(model in ids) if model else None
        )

    def reseal(self, secrets: SecretBox) -> int:
        """Encrypt every stored key with `secrets`' first key (after a rotation); how many."""
        n = 0
        with self.db.session() as s:
            for row in s.scalars(select(ModelEndpoint).where(ModelEndpoint.api_key.is_not(None))):
                row.api_key = secrets.reseal(row.api_key)  # the new box still reads the old keys
                n += 1
        self.secrets = secrets
        return n

    def _check_url(self, url: str) -> str:
        url = (url or "").strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", url):
            raise InvalidInput(
                "the base URL must start with http:// or https://, e.g. http://127.0.0.1:8000/v1", param="base_url"
            )
        if self.outbound is not None:
            self.outbound.check(url, param="base_url")
        return url


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)

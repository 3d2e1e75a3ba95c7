"""Settings: where data lives, which database, which config file, API keys and limits.

Everything comes from one `Settings` object built from the environment (`Settings.from_env`) and
passed down explicitly; nothing reads os.environ behind the caller's back except here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

ENV_PREFIX = "FMSTACK_"


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "fmstack"


@dataclass
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    # where knowledge bases are searched: "auto" (pgvector when the database is PostgreSQL with the
    # extension, else in-process), "memory" or "pgvector"
    search_backend: str = "auto"
    ray_address: str | None = None  # a Ray cluster that embeds ingestion's batches (models/ray_cluster.py)
    config_file: Path | None = None
    api_keys: list[str] = field(default_factory=list)
    max_body_bytes: int = 8 * 1024 * 1024
    max_upload_bytes: int = 100 * 1024 * 1024  # multipart uploads (knowledge-base files)
    # Requests waiting for one local model beyond this many are refused with 429.
    max_queue: int = 64
    threads: int | None = None
    # What the server may touch because a caller named it (see fmstack.security).
    ingest_roots: list[str] = field(default_factory=list)  # folders callers may ingest from over HTTP
    outbound_allow: str = ""  # hosts, addresses, CIDRs reachable besides public addresses ("*": all)
    outbound_deny: str = ""  # never reachable
    command_tools: str = "admin"  # MCP command / Python-import tools: "admin" (admins define them) or "off"
    audit_retention_days: int = 365  # 0: keep forever
    log_format: str = "text"  # or "json": one JSON object per log line
    # console sign-in through an OpenID Connect provider (access/oidc.py); off unless an issuer is set
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_create_users: str | None = None  # a role: a first sign-in creates the user
    secret_key: str | None = None  # Fernet key(s) for secrets at rest; default: data_dir/secret.key
    # The parsed config file (models, embeddings, aliases); environment overrides applied.
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        if v := env.get("FMSTACK_DATA_DIR"):
            s.data_dir = Path(v).expanduser()
        s.database_url = env.get("FMSTACK_DATABASE_URL") or None
        if v := env.get("FMSTACK_SEARCH_BACKEND"):
            if v not in ("auto", "memory", "pgvector"):
                raise ConfigError(f"FMSTACK_SEARCH_BACKEND must be auto, memory or pgvector, not {v!r}")
            s.search_backend = v
        s.ray_address = env.get("FMSTACK_RAY_ADDRESS") or None
        if v := env.get("FMSTACK_CONFIG"):
            s.config_file = Path(v).expanduser()
        if v := env.get("FMSTACK_API_KEYS"):
            s.api_keys = [k.strip() for k in v.split(",") if k.strip()]
        if v := env.get("FMSTACK_MAX_BODY_BYTES"):
            s.max_body_bytes = _int(v, "FMSTACK_MAX_BODY_BYTES")
        if v := env.get("FMSTACK_MAX_UPLOAD_BYTES"):
            s.max_upload_bytes = _int(v, "FMSTACK_MAX_UPLOAD_BYTES")
        if v := env.get("FMSTACK_MAX_QUEUE"):
            s.max_queue = _int(v, "FMSTACK_MAX_QUEUE")
        if v := env.get("FMSTACK_THREADS"):
            s.threads = _int(v, "FMSTACK_THREADS")
        if v := env.get("FMSTACK_INGEST_ROOTS"):
            s.ingest_roots = [r for r in v.replace(os.pathsep, ",").split(",") if r.strip()]
        s.outbound_allow = env.get("FMSTACK_OUTBOUND_ALLOW", "")
        s.outbound_deny = env.get("FMSTACK_OUTBOUND_DENY", "")
        if v := env.get("FMSTACK_COMMAND_TOOLS"):
            if v not in ("admin", "off"):
                raise ConfigError(f"FMSTACK_COMMAND_TOOLS is 'admin' or 'off', got {v!r}")
            s.command_tools = v
        s.secret_key = env.get("FMSTACK_SECRET_KEY") or None
        s.oidc_issuer = env.get("FMSTACK_OIDC_ISSUER") or None
        s.oidc_client_id = env.get("FMSTACK_OIDC_CLIENT_ID") or None
        s.oidc_client_secret = env.get("FMSTACK_OIDC_CLIENT_SECRET") or None
        s.oidc_create_users = env.get("FMSTACK_OIDC_CREATE_USERS") or None
        if s.oidc_issuer and not s.oidc_client_id:
            raise ConfigError("FMSTACK_OIDC_ISSUER is set: set FMSTACK_OIDC_CLIENT_ID (and _CLIENT_SECRET) too")
        if v := env.get("FMSTACK_LOG_FORMAT"):
            if v not in ("text", "json"):
                raise ConfigError(f"FMSTACK_LOG_FORMAT is 'text' or 'json', got {v!r}")
            s.log_format = v
        if v := env.get("FMSTACK_AUDIT_RETENTION_DAYS"):
            s.audit_retention_days = _int(v, "FMSTACK_AUDIT_RETENTION_DAYS")
        for k, v in overrides.items():
            setattr(s, k, v)
        s.data_dir = Path(s.data_dir)
        if s.config_file is None:
            for candidate in (
                Path("fmstack.yaml"),
                Path("fmstack.toml"),
                s.data_dir / "config.yaml",
                s.data_dir / "config.toml",
            ):
                if candidate.is_file():
                    s.config_file = candidate
                    break
        if not overrides.get("config"):
            s.config = load_config_file(s.config_file) if s.config_file else {}
        apply_env_overrides(s.config, env)
        return s

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'fmstack.db'}"


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


def load_config_file(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (set FMSTACK_CONFIG to a YAML or TOML file)")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(
            f"config file {path} is not valid {'TOML' if path.suffix == '.toml' else 'YAML'}: {e}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping with keys models/embeddings/aliases")
    return data


def apply_env_overrides(config: dict[str, Any], env: dict[str, str]) -> None:
    """Environment variables that change the registry without a config file.

    FMSTACK_ALIAS_<NAME>=model           point an alias (default, fast, embedding, ...) at a model
    FMSTACK_OPENAI_BASE_URL / _API_KEY   register an OpenAI-compatible provider...
    FMSTACK_OPENAI_MODELS=a,b            ...with these model names (registered as openai/a, openai/b)
    """
    aliases = config.setdefault("aliases", {})
    for key, value in env.items():
        if key.startswith("FMSTACK_ALIAS_") and value:
            aliases[key.removeprefix("FMSTACK_ALIAS_").lower()] = value
    if base := env.get("FMSTACK_OPENAI_BASE_URL"):
        models = config.setdefault("models", {})
        for name in (env.get("FMSTACK_OPENAI_MODELS") or "").split(","):
            if name.strip():
                models[f"openai/{name.strip()}"] = {
                    "provider": "openai",
                    "base_url": base,
                    "api_key_env": "FMSTACK_OPENAI_API_KEY",
                    "model": name.strip(),
                }

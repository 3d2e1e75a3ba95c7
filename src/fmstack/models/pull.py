"""`fmstack models pull`: a GGUF from a Hugging Face repository (or any URL) into the data directory,
registered as a local chat model with the chat template and context window its metadata gives.

    fmstack models pull Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf
    fmstack models pull https://example.org/models/my-model.gguf --name mine --sha256 ...

A repository path is fetched from `$HF_ENDPOINT/<owner>/<repo>/resolve/<revision>/<file>` (the hub's
layout; HF_ENDPOINT defaults to https://huggingface.co, so a mirror works the same). The download
resumes from what an interrupted one left (`<file>.part`, an HTTP range request), and is checked
against the SHA-256 the hub announces for the file (its `X-Linked-Etag`) or the one given; a file
that does not match, or is not a GGUF, is not registered. Pulled models are listed in
`<data dir>/models/pulled.json` and read from there when fmstack starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidInput, ModelError, NotFound

MANIFEST = "pulled.json"
MAX_CONTEXT = 32768  # the window a pulled model gets at most (a 128k window costs gigabytes of KV cache)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


def models_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "models"


def manifest(data_dir: Path) -> dict[str, dict[str, Any]]:
    path = models_dir(data_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path} is unreadable ({e}); fix or remove it") from None
    return data if isinstance(data, dict) else {}


def _save(data_dir: Path, entries: dict[str, dict[str, Any]]) -> None:
    path = models_dir(data_dir) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _origin(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def source_url(source: str, revision: str = "main") -> str:
    """The URL of a pull source: a URL as it is, or <owner>/<repo>/<path to .gguf> on the hub."""
    if source.startswith(("http://", "https://")):
        return source
    parts = source.strip("/").split("/")
    if len(parts) < 3 or not parts[-1].lower().endswith(".gguf"):
        raise InvalidInput(
            "pull a URL or <owner>/<repo>/<file>.gguf, e.g. Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf",
            param="source",
        )
    return f"{hub_endpoint()}/{parts[0]}/{parts[1]}/resolve/{revision}/{'/'.join(parts[2:])}"


def _download(url: str, dest: Path, sha256: str | None, progress: Progress | None) -> str:
    """Fetch `url` into `dest` (resuming `dest.part`); returns the file's SHA-256."""
    import httpx

    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    have = part.stat().st_size if part.exists() else 0
    if have:
        with part.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    headers = {"Range": f"bytes={have}-"} if have else {}
    token = os.environ.get("HF_TOKEN")
    if token and _origin(url) == _origin(hub_endpoint()):  # the hub's token goes to the hub only
        headers["Authorization"] = f"Bearer {token}"
    try:
        with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=60) as r:
            if r.status_code == 416 and have:  # the part is the whole file already
                pass
            elif r.status_code == 404:
                raise NotFound(f"nothing at {url} (404): check the repository and file name")
            elif r.status_code >= 400:
                raise ModelError(f"{url} answered {r.status_code}")
            else:
                if r.status_code == 200 and have:  # the server ignored the range: start again
                    have, digest = 0, hashlib.sha256()
                announced = r.headers.get("x-linked-etag") or r.headers.get("etag") or ""
                announced = announced.strip('"').removeprefix("W/").strip('"').lower()
                sha256 = sha256 or (announced if _SHA256.match(announced) else None)
                length = r.headers.get("content-length")
                total = have + int(length) if length and length.isdigit() else None
                with part.open("ab" if have else "wb") as f:
                    done = have
                    for chunk in r.iter_bytes(1 << 20):
                        f.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
    except httpx.HTTPError as e:
        raise ModelError(f"the download from {url} broke ({e}); run the same command again to resume") from None
    got = digest.hexdigest()
    if sha256 and got != sha256.lower():
        part.unlink(missing_ok=True)
        raise ModelError(f"the file from {url} has SHA-256 {got}, not {sha256}: it was not kept")
    with part.open("rb") as f:
        if f.read(4) != b"GGUF":
            part.unlink(missing_ok=True)
            raise InvalidInput(f"{url} is not a GGUF file", param="source")
    os.replace(part, dest)
    return got


def read_metadata(path: Path) -> dict[str, Any]:
    """What the GGUF says of itself: its name, trained context length and chat template."""
    from .local import llama_class

    try:
        llm = llama_class()(model_path=str(path), vocab_only=True, verbose=False)
    except Exception as e:
        raise ModelError(f"llama.cpp cannot read {path}: {e}") from None
    try:
        meta = dict(llm.metadata)
    finally:
        llm.close()
    arch = meta.get("general.architecture", "")
    context = meta.get(f"{arch}.context_length")
    return {
        "name": meta.get("general.name"),
        "architecture": arch,
        "context_length": int(str(context)) if str(context or "").isdigit() else None,
        "chat_template": meta.get("tokenizer.chat_template"),
    }


def pull(
    data_dir: Path,
    source: str,
    *,
    name: str | None = None,
    sha256: str | None = None,
    revision: str = "main",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Download (or resume) a GGUF and register it; returns its manifest entry."""
    url = source_url(source, revision)
    filename = Path(url.split("?", 1)[0]).name
    if not filename.lower().endswith(".gguf"):
        raise InvalidInput("the file to pull must be a .gguf", param="source")
    name = name or re.sub(r"[^a-z0-9._-]+", "-", filename[: -len(".gguf")].lower()).strip("-")
    if not name:
        raise InvalidInput("give the model a --name", param="name")
    dest_dir = models_dir(data_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / filename
    digest = _download(url, dest, sha256, progress)
    meta = read_metadata(dest)
    if not meta["chat_template"]:
        dest.unlink(missing_ok=True)
        raise InvalidInput(
            f"{filename} has no chat template in its metadata: it is not a chat model fmstack can serve", param="source"
        )
    context = min(meta["context_length"] or 4096, MAX_CONTEXT)
    entry = {
        "path": str(dest),
        "origin": source,
        "url": url,
        "sha256": digest,
        "bytes": dest.stat().st_size,
        "context_window": context,
        "trained_context": meta["context_length"],
        "description": f"{meta['name'] or filename} ({meta['architecture']}), pulled {datetime.now(UTC):%Y-%m-%d}",
        "supports_tools": "<|im_start|>" in meta["chat_template"],  # ChatML: the local tool-calling handler speaks it
    }
    entries = manifest(data_dir)
    entries[name] = entry
    _save(data_dir, entries)
    return {"name": name, **entry}


def remove(data_dir: Path, name: str) -> dict[str, Any]:
    entries = manifest(data_dir)
    if name not in entries:
        raise NotFound(f"{name!r} is not a pulled model; pulled: {', '.join(entries) or 'none'}", param="name")
    entry = entries.pop(name)
    if not any(e.get("path") == entry.get("path") for e in entries.values()):  # another name may share the file
        Path(entry["path"]).unlink(missing_ok=True)
    _save(data_dir, entries)
    return entry

"""Secrets at rest (endpoint API keys): encrypted with the server key before they reach the
database, decrypted only to call the provider, never returned by the API.

The key comes from FMSTACK_SECRET_KEY or, when that is unset, from `secret.key` in the data
directory (generated on first start, mode 0600). `fmstack keys rotate-secret` adds a new key in
front: values are re-encrypted with it, and older keys stay readable until then (Fernet's
MultiFernet)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import ConfigError

PREFIX = "enc:"  # stored values that carry it are ciphertext; others are legacy plain text


def load_keys(data_dir: Path, env_key: str | None) -> list[bytes]:
    if env_key:
        return [k.strip().encode() for k in env_key.split(",") if k.strip()]
    path = Path(data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key() + b"\n")
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


class SecretBox:
    def __init__(self, keys: list[bytes], path: Path | None = None):
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as e:
            raise ConfigError(f"the secret key is not a valid Fernet key ({e}); see FMSTACK_SECRET_KEY") from None
        self.keys, self.path = keys, path

    @classmethod
    def for_data_dir(cls, data_dir: Path, env_key: str | None = None) -> SecretBox:
        return cls(load_keys(data_dir, env_key), None if env_key else Path(data_dir) / "secret.key")

    def seal(self, value: str | None) -> str | None:
        if not value:
            return None
        return PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        if not stored:
            return None
        if not stored.startswith(PREFIX):
            return stored  # written before encryption existed; sealed on the next rotation
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted with the server key: FMSTACK_SECRET_KEY or secret.key "
                "changed (rotate with `fmstack keys rotate-secret`, which keeps the old key readable)"
            ) from None

    def rotated(self) -> SecretBox:
        """A box whose first key is new (the old ones still decrypt); written to the key file."""
        keys = [Fernet.generate_key(), *self.keys]
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(b"\n".join(keys) + b"\n")
            os.replace(tmp, self.path)
        return SecretBox(keys, self.path)

    def reseal(self, stored: str | None) -> str | None:
        """The value encrypted with the first key (plain-text legacy values included)."""
        return self.seal(self.open(stored))

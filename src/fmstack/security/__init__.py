"""What the server may touch because a caller named it: files under configured roots
(`PathPolicy`), URLs that pass an allow/deny policy (`UrlPolicy`), and secrets encrypted at rest
(`SecretBox`)."""

from .network import UrlPolicy
from .paths import PathPolicy
from .secrets import SecretBox

__all__ = ["PathPolicy", "SecretBox", "UrlPolicy"]

"""Server-side file access: a caller over HTTP may name files only under the configured roots
(FMSTACK_INGEST_ROOTS; none by default, so uploads are the way in). A path is resolved the way the
operating system would open it (symlinks followed, `..` collapsed) before it is compared with the
roots, and every file under a named folder is checked too: a symlink inside a root that points
outside it is refused like the outside path itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import Forbidden, InvalidInput, NotFound


@dataclass(frozen=True)
class PathPolicy:
    """`roots=None`: no restriction (the SDK and CLI, where the caller is the machine's own user);
    `roots=()`: nothing may be read (the server's default)."""

    roots: tuple[Path, ...] | None = ()

    @classmethod
    def under(cls, roots: list[str] | tuple[str, ...] | None) -> PathPolicy:
        if roots is None:
            return cls(None)
        return cls(tuple(Path(os.path.realpath(Path(r).expanduser())) for r in roots if str(r).strip()))

    def _inside(self, real: Path) -> bool:
        return any(real == root or root in real.parents for root in self.roots or ())

    def check(self, path: str | Path, param: str = "paths") -> Path:
        """The resolved path when it may be read, else Forbidden (NotFound when it is inside a root
        but missing). Outside the roots a missing and an existing file get the same answer."""
        if self.roots is None:
            return Path(path).expanduser()
        if not self.roots:
            raise Forbidden(
                "reading files on the server is off: upload the files instead (an evaluation's examples go "
                "inline), or have the operator list the folders callers may read from in FMSTACK_INGEST_ROOTS",
                param=param,
            )
        if "\x00" in str(path):
            raise InvalidInput(f"{str(path)!r} is not a valid path", param=param)
        raw = Path(str(path))
        if ".." in raw.parts:
            raise Forbidden(f"{path}: '..' is not allowed in a server path", param=param)
        if not raw.is_absolute():
            raw = self.roots[0] / raw
        real = Path(os.path.realpath(raw))
        if not self._inside(real):
            raise Forbidden(f"{path} is outside the folders this server may read (FMSTACK_INGEST_ROOTS)", param=param)
        if not real.exists():
            raise NotFound(f"{path} does not exist on the server", param=param)
        if real.is_dir():
            for dirpath, dirnames, filenames in os.walk(real, followlinks=False):
                for name in [*filenames, *dirnames]:
                    child = Path(dirpath) / name
                    if child.is_symlink() and not self._inside(Path(os.path.realpath(child))):
                        raise Forbidden(
                            f"{child} links outside the folders this server may read (FMSTACK_INGEST_ROOTS)",
                            param=param,
                        )
        return real

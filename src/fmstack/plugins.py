"""Extensions from other packages, found through Python entry points.

A package declares in its pyproject.toml

    [project.entry-points.fmstack]
    my_extension = "my_package.fmstack_extension"

and that module registers what it adds with the decorators fmstack's own parts use:
`@chat_provider` / `@embedding_provider` (fmstack.models.registry), `@loader`
(fmstack.knowledge.loaders), `@guardrail_policy` (fmstack.guardrails.policies), `@tool_kind`
(fmstack.agents.kinds) and `@metric` (fmstack.evaluation.scoring). docs/extending.md has an
example of each. Extensions are loaded once, when the first Fmstack is made; one that fails to
load is skipped with a warning naming it and the reason, and listed in `failed()`.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points

GROUP = "fmstack"
log = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[str, str] = {}  # entry point name -> module
_failed: dict[str, str] = {}  # entry point name -> why


def load() -> dict[str, str]:
    """Import every installed extension once; returns {name: module} of those loaded."""
    with _lock:
        if _loaded or _failed:
            return dict(_loaded)
        # fmstack's own parts register on import: make sure they exist before extensions add to them
        from .agents import kinds  # noqa: F401
        from .evaluation import scoring  # noqa: F401
        from .guardrails import policies  # noqa: F401
        from .knowledge import loaders  # noqa: F401
        from .models import registry  # noqa: F401

        for ep in entry_points(group=GROUP):
            try:
                ep.load()
                _loaded[ep.name] = ep.value
            except Exception as e:  # one broken extension must not stop fmstack
                _failed[ep.name] = f"{type(e).__name__}: {e}"
                log.warning("fmstack extension %s (%s) was not loaded: %s", ep.name, ep.value, _failed[ep.name])
        return dict(_loaded)


def failed() -> dict[str, str]:
    return dict(_failed)

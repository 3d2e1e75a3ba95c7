"""The ASGI application: the OpenAI-compatible API, the platform API, one Fmstack behind both."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__, console
from ..config import Settings
from ..observability import REGISTRY, FmstackCollector
from ..sdk import Fmstack
from . import (
    agents_api,
    anthropic_api,
    batches_api,
    errors,
    evaluations_api,
    fine_tuning_api,
    guardrails_api,
    jobs_api,
    knowledge_api,
    openai_api,
    operations,
    platform_api,
    prompts_api,
    responses_api,
    teams_api,
    tuning_api,
)
from .middleware import Access, BodyLimit


def create_app(fm: Fmstack | None = None, settings: Settings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """The application over `fm` (made from `settings` if not given). With `run_jobs` the server also
    runs queued jobs — its own and other processes' — else it only queues them for `fmstack worker`s."""
    fm = fm or Fmstack(settings)
    fm.serve_callers()
    if not run_jobs:
        fm.leave_jobs_to_workers()

    collector = FmstackCollector(fm)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        REGISTRY.register(collector)
        fm.audit.prune()
        if run_jobs:
            fm.resume_unfinished()
            fm.start_jobs()
        try:
            yield
        finally:
            REGISTRY.unregister(collector)
            fm.close()

    app = FastAPI(
        title="fmstack",
        version=__version__,
        description="OpenAI-compatible API (/v1) and platform API (/api) over local and remote foundation models.",
        lifespan=lifespan,
    )
    app.state.fm = fm
    app.state.collector = collector
    fm.asgi_app = app  # batch lines go through this application's routes
    app.state.started = int(time.time())
    app.state.revision = fm.db.revision()
    errors.install(app)
    app.include_router(operations.router)
    app.include_router(openai_api.router)
    app.include_router(anthropic_api.router)
    app.include_router(responses_api.router)
    app.include_router(batches_api.router)
    app.include_router(platform_api.router)
    app.include_router(knowledge_api.router)
    app.include_router(jobs_api.router)
    app.include_router(guardrails_api.router)
    app.include_router(agents_api.router)
    app.include_router(prompts_api.router)
    app.include_router(evaluations_api.router)
    app.include_router(teams_api.router)
    app.include_router(fine_tuning_api.router)
    app.include_router(tuning_api.router)
    console.mount(app)
    # Each added one wraps those before it: the size limit applies before authentication reads
    # anything; Unexpected, outermost, answers errors no handler knew (the middleware's own too).
    app.add_middleware(Access, fm=fm)
    app.add_middleware(BodyLimit, max_bytes=fm.settings.max_body_bytes, upload_bytes=fm.settings.max_upload_bytes)
    app.add_middleware(errors.Unexpected)
    return app


def from_environment() -> FastAPI:
    """The application of one `fmstack serve --workers N` process (uvicorn calls this in each):
    settings from the environment, jobs run here unless FMSTACK_SERVE_JOBS=0."""
    import os

    from ..observability import configure_tracing

    configure_tracing()
    return create_app(run_jobs=os.environ.get("FMSTACK_SERVE_JOBS", "1") != "0")

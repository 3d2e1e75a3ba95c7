"""The web console: one page of static HTML, CSS and JavaScript served at `/`, talking to the same
/api and /v1 routes as every other client (it has no logic of its own on the server). Nothing is
fetched from the network: the two libraries it uses (marked, DOMPurify) ship in static/vendor/."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PUBLIC_PREFIX = "/console/"  # the page and its assets need no API key; every API call does

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def mount(app) -> None:
    app.include_router(router)
    app.mount("/console", StaticFiles(directory=STATIC), name="console")


def is_public(path: str) -> bool:
    return path == "/" or path.startswith(PUBLIC_PREFIX)

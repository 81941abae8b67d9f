"""The interactive API docs at ``/api/v1/docs``: Swagger UI over ``/api/v1/openapi.json``.

Swagger UI's files come from the ``swagger-ui-py`` package (its ``static/`` folder, served
at ``/api/v1/docs/assets``); nothing is fetched from a CDN and nothing third-party is
copied into the repository. FastAPI's own docs page starts Swagger UI with an inline
``<script>``, which our Content-Security-Policy forbids; this page loads the same bundle
and starts it from our own file (``static/backfill_api_docs.js``), so the page keeps the
app's policy unchanged. "Try it out" sends the session cookie, and the session's CSRF
token for writes, like the UI's own scripts.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from headwater.auth.principals import Principal
from headwater.web.security import authenticate

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"


def swagger_ui_folder() -> Path:
    """Swagger UI's files as ``swagger-ui-py`` installs them."""
    return Path(str(files("swagger_ui") / "static"))


router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, response_class=HTMLResponse)
def api_docs(
    request: Request, principal: Annotated[Principal | None, Depends(authenticate)]
) -> HTMLResponse:
    """Public, like the spec it shows; a logged-in user's calls from it are theirs."""
    from headwater.web.ui.templating import render

    return render(
        request,
        "backfill_api_docs.html",
        principal,
        {"spec_url": request.app.openapi_url, "assets": ASSETS_PATH},
    )


def mount_api_docs(app: FastAPI) -> None:
    """Add the docs page and Swagger UI's files to ``app``."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_folder()), name="swagger-ui")
    app.include_router(router)

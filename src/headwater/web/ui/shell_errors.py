"""Errors of the UI's pages as HTML: a page that is not found or forbidden answers a small
page in the app's layout (``shell_error.html``), not the API's JSON.

The JSON handlers installed by :func:`headwater.web.errors.install_error_handlers` stay the
answer for the API (``/api/...``) and for any client that does not ask for HTML; for a
page request that does (a browser's ``Accept: text/html``) the same status and message are
rendered as HTML. The JSON handler always runs first, so the status and the logging of
unexpected errors are decided in one place.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater.exceptions import HeadwaterError
from headwater.web.app import API_PREFIX

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]

HEADINGS = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Bad request",
    503: "Database unavailable",
}


def wants_html(request: Request) -> bool:
    """A page request from a browser: not the API, and HTML is what the client accepts."""
    path = request.url.path
    if path == API_PREFIX or path.startswith((API_PREFIX + "/", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _detail(response: Response) -> str:
    try:
        body: Any = json.loads(bytes(response.body))
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else ""


def _html_or(json_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        answer = json_handler(request, exc)
        response = await answer if inspect.isawaitable(answer) else answer
        if not wants_html(request) or response.status_code < 400:
            return response
        from headwater.web.ui.templating import render

        status = response.status_code
        context = {
            "status_code": status,
            "heading": HEADINGS.get(status, "Something went wrong"),
            "detail": _detail(response),
        }
        principal = getattr(request.state, "principal", None)
        return render(request, "shell_error.html", principal, context, status_code=status)

    return handle


def install_html_errors(app: FastAPI) -> None:
    """Wrap the app's JSON error handlers so pages answer HTML errors (call after
    :func:`~headwater.web.errors.install_error_handlers`)."""
    for kind in (HeadwaterError, RequestValidationError, StarletteHTTPException, Exception):
        json_handler = app.exception_handlers.get(kind)
        if json_handler is not None:
            app.add_exception_handler(kind, _html_or(json_handler))

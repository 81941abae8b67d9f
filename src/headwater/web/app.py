"""The web application: the REST API under ``/api/v1`` and the UI's pages, in one process.

``create_app(settings)`` builds it; the store is opened when the server starts (one
:class:`~headwater.services.context.ServiceContext` for all requests) and closed when it
stops. ``headwater api-server`` serves it with uvicorn; tests use it with FastAPI's
``TestClient`` (``with TestClient(create_app(settings)) as client: ...``, so the store
opens) or a real uvicorn server on 127.0.0.1.

``create_app`` is :func:`build_app` (the routes, handlers and middleware) then
:func:`serve_settings` (the database it opens when it starts). Building costs about a
fifth of a second of CPU, on the first request or spec: FastAPI builds the models and
dependency graph of every route again for each app it is included in. A server builds one
app per process; tests build one per process too and point it at each test's settings
before starting it (``tests/web_fixtures.py``).

Every answer carries a Content-Security-Policy that allows only the app's own scripts and
styles (no inline script runs, whatever a stored value holds), and headers that keep
browsers from guessing content types or framing the pages.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response

from headwater.web.errors import ERROR_RESPONSES, install_error_handlers

if TYPE_CHECKING:
    from headwater.clock import Clock
    from headwater.settings import Settings

API_PREFIX = "/api/v1"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""Only the app's own files: an inline ``<script>`` or ``onclick=`` never runs."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The API and UI on the database of ``settings`` (default: loaded at startup), which
    must exist and be migrated; ``clock`` is the store's clock (a fake one in tests)."""
    app = build_app(metrics_endpoint=settings is None or settings.metrics.api_endpoint)
    serve_settings(app, settings, clock=clock)
    return app


@dataclass(frozen=True)
class _Startup:
    """What the app opens when it starts (see :func:`serve_settings`)."""

    settings: Settings | None
    clock: Clock | None


def serve_settings(app: FastAPI, settings: Settings | None, *, clock: Clock | None = None) -> None:
    """Make ``app`` (of :func:`build_app`) open the database of ``settings`` (None: loaded
    at startup) with store clock ``clock`` when it next starts. Raises ``RuntimeError``
    while it is serving: a running app keeps the context it opened until it stops."""
    if hasattr(app.state, "ctx"):
        raise RuntimeError("the app is serving: stop it before pointing it at other settings")
    app.state.startup = _Startup(settings, clock)


def build_app(*, metrics_endpoint: bool = True) -> FastAPI:
    """The API and UI, with ``GET /metrics`` if ``metrics_endpoint``; it starts only once
    :func:`serve_settings` has said what it opens (:func:`create_app` does both)."""
    from headwater import __version__
    from headwater.web.api import api_router
    from headwater.web.api_docs import mount_api_docs
    from headwater.web.metrics_route import router as metrics_router
    from headwater.web.ui import mount_ui

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from headwater.sentry_reports import init_sentry
        from headwater.services.context import open_context

        startup: _Startup = app.state.startup
        with open_context(startup.settings, clock=startup.clock) as ctx:
            app.state.ctx = ctx
            try:
                init_sentry(ctx.settings, "api-server")  # each worker process; once per process
                # What was loaded at start (modules, the store) lives as long as the server:
                # moved out of the collector's sight, so a full collection no longer walks
                # half a million objects, which made about one request in twelve ~100 ms
                # slower.
                gc.freeze()
                try:
                    yield
                finally:
                    gc.unfreeze()  # served in-process again and again (tests): collectable
            finally:
                del app.state.ctx  # closed: the app may start again, on other settings

    app = FastAPI(
        title="headwater",
        version=__version__,
        description="The REST API of headwater: DAGs, runs, task instances, logs and more.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.include_router(api_router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    if metrics_endpoint:  # the service checks [metrics] api_endpoint again
        app.include_router(metrics_router)
    mount_api_docs(app)
    mount_ui(app)
    return app

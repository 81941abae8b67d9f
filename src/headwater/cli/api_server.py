"""``headwater api-server``: the REST API and the web UI, served by uvicorn."""

from __future__ import annotations

import sys

import click

from headwater.cli._common import console, handle_errors


@click.command("api-server")
@click.option(
    "--host", help="Address to listen on; default: api.host (127.0.0.1: this machine only)."
)
@click.option("--port", type=click.IntRange(1, 65535), help="Port; default: api.port (8080).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Server processes; default: api.workers (1).",
)
@handle_errors
def api_server(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the REST API (/api/v1, docs at /api/v1/docs) and the web UI until Ctrl-C or
    SIGTERM, which stop it cleanly (exit 0).

    The database must exist and be migrated (`headwater db migrate`); the scheduler runs
    separately (`headwater scheduler`), or use `headwater standalone` for everything.

    Example: headwater api-server --port 8080
    """
    from headwater.cli.services import _configure_logging
    from headwater.sentry_reports import init_sentry
    from headwater.services.context import open_context
    from headwater.settings import load_settings
    from headwater.web.server import serve, server_url

    settings = load_settings()
    if settings.logging.format == "json":  # text: uvicorn's own lines, as they always were
        _configure_logging(quiet=False, log_format="json")
    init_sentry(settings, "api-server")  # a DSN Sentry refuses: said here, once
    host = settings.api.host if host is None else host
    port = settings.api.port if port is None else port
    workers = settings.api.workers if workers is None else workers
    with open_context(settings):
        pass  # refused now, in one line, when the database is missing or not migrated
    console().print(f"headwater UI: {server_url(settings, host, port)}", soft_wrap=True)
    sys.stdout.flush()  # seen at once, also through a pipe (a supervisor's log)
    serve(settings, host=host, port=port, workers=workers)

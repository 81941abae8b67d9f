"""``headwater api-server``: the REST API and the web UI."""

from __future__ import annotations

import click


@click.command("api-server")
def api_server() -> None:
    """Serve the REST API and the web UI (not built yet)."""
    raise click.ClickException("not built yet")

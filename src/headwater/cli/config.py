"""``headwater config``: the effective settings and where each came from."""

from __future__ import annotations

import click

from headwater.cli._common import console, emit_schema, handle_errors, output_option, table


@click.group()
def config() -> None:
    """Show the effective settings."""


@config.command("show")
@output_option
@handle_errors
def show(output: str) -> None:
    """Print every setting, its effective value, and where it came from (default, file or env).

    Set ``section.key`` with ``[section] key = value`` in $HEADWATER_HOME/headwater.toml or
    with the environment variable HEADWATER__SECTION__KEY (which wins).
    """
    from headwater.services.config import list_settings
    from headwater.settings import load_settings

    rows = list_settings(load_settings())
    if output == "json":
        emit_schema(rows)
        return
    console().print(
        table(None, ["setting", "value", "source"], [[r.setting, r.value, r.source] for r in rows])
    )

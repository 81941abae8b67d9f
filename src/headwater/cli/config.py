"""``headwater config``: the effective settings and where each came from."""

from __future__ import annotations

import dataclasses

import click

from headwater.cli._common import console, emit_json, handle_errors, output_option, table


@click.group()
def config() -> None:
    """Show the effective settings."""


@config.command("show")
@output_option
@handle_errors
def show(output: str) -> None:
    """Print every setting, its value, and where it came from (default, file or env)."""
    from headwater.settings import SECTIONS, load_settings

    settings = load_settings()
    rows = [{"setting": "home", "value": str(settings.home), "source": settings.sources["home"]}]
    for section, cls in SECTIONS.items():
        values = getattr(settings, section)
        for f in dataclasses.fields(cls):
            name = f"{section}.{f.name}"
            rows.append(
                {
                    "setting": name,
                    "value": getattr(values, f.name),
                    "source": settings.sources[name],
                }
            )
    if output == "json":
        emit_json(rows)
        return
    console().print(table(None, ["setting", "value", "source"], [list(r.values()) for r in rows]))

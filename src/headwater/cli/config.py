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
    """Print every setting, its effective value, and where it came from (default, file or env).

    Set ``section.key`` with ``[section] key = value`` in $HEADWATER_HOME/headwater.toml or
    with the environment variable HEADWATER__SECTION__KEY (which wins).
    """
    from headwater.settings import SECTIONS, load_settings

    settings = load_settings()
    effective: dict[str, object] = {
        "core.dags_folder": settings.dags_folder,
        "logging.logs_folder": settings.logs_folder,
        "database.url": settings.database_url,
    }
    rows: list[dict[str, object]] = [
        {"setting": "home", "value": str(settings.home), "source": settings.sources["home"]}
    ]
    for section, cls in SECTIONS.items():
        values = getattr(settings, section)
        for f in dataclasses.fields(cls):
            name = f"{section}.{f.name}"
            rows.append(
                {
                    "setting": name,
                    "value": _shown(name, getattr(values, f.name), effective),
                    "source": settings.sources[name],
                }
            )
    if output == "json":
        emit_json(rows)
        return
    console().print(table(None, ["setting", "value", "source"], [list(r.values()) for r in rows]))


def _shown(name: str, value: object, effective: dict[str, object]) -> object:
    """The value to print: the effective one for an empty default, no password in a URL."""
    if value == "" and name in effective:
        value = str(effective[name])
    if name == "database.url" and isinstance(value, str):
        from headwater.cli._store import shown_url

        value = shown_url(value)
    return value

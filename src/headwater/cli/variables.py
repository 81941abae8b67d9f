"""``headwater variables``: values tasks read as ``var.value.<key>`` in templates."""

from __future__ import annotations

from pathlib import Path

import click

from headwater.cli._common import (
    console,
    emit_schema,
    file_format_option,
    handle_errors,
    output_option,
    table,
)


@click.group()
def variables() -> None:
    """Get, set, list, delete, export and import variables (values are stored encrypted
    when secrets.fernet_key is set)."""


@variables.command("get")
@click.argument("key")
@output_option
@handle_errors
def get(key: str, output: str) -> None:
    """Print the value of variable KEY (exit 1 when there is none).

    \b
    Example:
        headwater variables get region
    """
    from headwater.services.context import open_context
    from headwater.services.variables import get_variable

    with open_context() as ctx:
        variable = get_variable(ctx, key)
    if output == "json":
        emit_schema(variable)
    else:
        click.echo(variable.value)


@variables.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--description", help="What it is for; default: keep the current one.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="VALUE must be standard JSON (for var.json.KEY); it is checked, then kept as written.",
)
@output_option
@handle_errors
def set_(key: str, value: str, description: str | None, as_json: bool, output: str) -> None:
    """Set variable KEY to VALUE (text; JSON is kept as written).

    \b
    Example:
        headwater variables set region eu --description "where reports are made"
        headwater variables set limits '{"rows": 10}' --json
    """
    from headwater.services.context import open_context
    from headwater.services.variables import set_variable
    from headwater.strict_json import InvalidJsonError, loads

    if as_json:
        try:
            loads(value, "VALUE")
        except InvalidJsonError as exc:
            message = str(exc).removeprefix("VALUE: ")
            raise click.BadParameter(message, param_hint="VALUE (--json)") from None

    with open_context() as ctx:
        row = set_variable(ctx, key, value, description)
    if output == "json":
        emit_schema(row)
    else:
        console().print(f"Variable {row.key} set")


@variables.command("list")
@output_option
@handle_errors
def list_variables(output: str) -> None:
    """List every variable with its value and description (the value of a key that looks
    secret, like api_token, shows as ***; `variables get` prints it).

    \b
    Example:
        headwater variables list -o json
    """
    from headwater.services.context import open_context
    from headwater.services.variables import list_variables as list_stored

    with open_context() as ctx:
        rows = list_stored(ctx)
    if output == "json":
        emit_schema(rows)
    elif not rows:
        console().print("No variables.")
    else:
        console().print(
            table(
                None,
                ["key", "value", "description"],
                [[v.key, v.value, v.description] for v in rows],
            )
        )


@variables.command("delete")
@click.argument("key")
@output_option
@handle_errors
def delete(key: str, output: str) -> None:
    """Delete variable KEY.

    \b
    Example:
        headwater variables delete region
    """
    from headwater.services.context import open_context
    from headwater.services.variables import delete_variable

    with open_context() as ctx:
        deleted = delete_variable(ctx, key)
    if output == "json":
        emit_schema(deleted)
    else:
        console().print(f"Deleted variable {key}")


@variables.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@file_format_option
@output_option
@handle_errors
def export(file: Path, fmt: str | None, output: str) -> None:
    """Write every variable to FILE as {key: value}.

    Values are in clear in FILE, so it is written with mode 0600 (only its owner can read
    it); an existing FILE is replaced. `variables import` reads it back.

    \b
    Example:
        headwater variables export variables.json
    """
    from headwater.services.context import open_context
    from headwater.services.variables import export_variables

    with open_context() as ctx:
        exported = export_variables(ctx, file, fmt)
    if output == "json":
        emit_schema(exported)
    else:
        console().print(
            f"Exported {exported.count} variable(s) to {file} ({exported.format}, mode 0600)"
        )


@variables.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@file_format_option
@click.option("--overwrite", is_flag=True, help="Replace variables that exist already.")
@output_option
@handle_errors
def import_(file: Path, fmt: str | None, overwrite: bool, output: str) -> None:
    """Set the variables in FILE (JSON or YAML: {key: value}; a value that is not text is
    stored as its JSON text, for var.json).

    Every entry is checked first; a bad one is named, and then nothing is imported.
    Existing keys are refused unless --overwrite.

    \b
    Example:
        headwater variables import variables.json --overwrite
    """
    from headwater.services.context import open_context
    from headwater.services.variables import import_variables

    with open_context() as ctx:
        imported = import_variables(ctx, file, fmt, overwrite=overwrite)
    if output == "json":
        emit_schema(imported)
    else:
        console().print(
            f"Imported {len(imported.added) + len(imported.replaced)} variable(s) from {file}"
            f" ({len(imported.added)} added, {len(imported.replaced)} replaced)"
        )

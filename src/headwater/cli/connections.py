"""``headwater connections``: where and how tasks reach other systems (``conn.<id>``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from headwater.cli._common import (
    console,
    emit_schema,
    file_format_option,
    handle_errors,
    output_option,
    parse_json_object,
    table,
)


@click.group()
def connections() -> None:
    """Add, show, list, test, delete, export and import connections (passwords are never
    printed; an export file holds them in clear, readable by its owner only)."""


@connections.command("add")
@click.argument("conn_id")
@click.option(
    "--conn-uri",
    "--uri",
    "uri",
    help="All of it as a URI: type://login:password@host:port/schema?key=value, each part "
    "percent-encoded (a '@' in a password is %40).",
)
@click.option("--conn-type", "--type", "conn_type", help="Connection type (postgres, http, ...).")
@click.option("--conn-host", "--host", "host", help="Host name.")
@click.option("--conn-login", "--login", "login", help="User name.")
@click.option("--conn-password", "--password", "password", help="Password.")
@click.option("--conn-schema", "--schema", "schema", help="Schema or database.")
@click.option("--conn-port", "--port", "port", type=click.IntRange(1, 65535), help="Port.")
@click.option("--conn-extra", "--extra", "extra", help="JSON object of extra settings.")
@click.option(
    "--conn-description", "--description", "description", help="What the connection is for."
)
@output_option
@handle_errors
def add(
    conn_id: str,
    uri: str | None,
    conn_type: str | None,
    host: str | None,
    login: str | None,
    password: str | None,
    schema: str | None,
    port: int | None,
    extra: str | None,
    description: str | None,
    output: str,
) -> None:
    """Add connection CONN_ID, from --conn-uri or from --conn-type and the other fields.

    An existing CONN_ID is refused: delete it first to replace it. The type must be one a
    hook serves (the error lists them); postgresql is postgres, '-' becomes '_'. The
    password (and the extra) are stored encrypted when secrets.fernet_key is set.

    \b
    Example:
        headwater connections add warehouse --conn-uri 'postgresql://etl:s3cret@db:5432/reports'
        headwater connections add api --conn-type http --conn-host api.example.com \\
            --conn-extra '{"timeout": 30}'
    """
    from headwater.services.connections import (
        ConnectionIn,
        add_connection,
        connection_from_uri,
    )
    from headwater.services.context import open_context

    fields = {
        "--conn-type": conn_type,
        "--conn-host": host,
        "--conn-login": login,
        "--conn-password": password,
        "--conn-schema": schema,
        "--conn-port": port,
        "--conn-extra": extra,
    }
    if uri is not None:
        given = [name for name, value in fields.items() if value is not None]
        if given:
            raise click.UsageError(f"--conn-uri cannot be combined with {', '.join(given)}")
        connection = connection_from_uri(conn_id, uri)
        if description is not None:
            connection = connection.model_copy(update={"description": description})
    elif conn_type is None:
        raise click.UsageError("give --conn-uri, or --conn-type with the other fields")
    else:
        connection = ConnectionIn(
            conn_id=conn_id,
            conn_type=conn_type,
            description=description,
            host=host,
            login=login,
            password=password,
            schema=schema,
            port=port,
            extra=parse_json_object(extra, "--conn-extra"),
        )
    with open_context() as ctx:
        added = add_connection(ctx, connection)
    if output == "json":
        emit_schema(added)
    else:
        console().print(f"Added connection {conn_id} ({added.conn_type})")


@connections.command("get")
@click.argument("conn_id")
@output_option
@handle_errors
def get(conn_id: str, output: str) -> None:
    """Show connection CONN_ID; its password shows as *** (never in clear), and so do
    the values of extras whose key looks secret.

    \b
    Example:
        headwater connections get warehouse -o json
    """
    from headwater.services.connections import get_connection
    from headwater.services.context import open_context

    with open_context() as ctx:
        connection = get_connection(ctx, conn_id)
    if output == "json":
        emit_schema(connection)
        return
    data = connection.to_json()
    rows = [[name, data[name]] for name in ("conn_id", "conn_type", "description", "host")]
    rows += [[name, data[name]] for name in ("port", "schema", "login")]
    rows.append(["password", "***" if data["has_password"] else ""])
    rows.append(["extra", json.dumps(data["extra"]) if data["extra"] else ""])
    console().print(table(None, ["field", "value"], rows))


@connections.command("list")
@output_option
@handle_errors
def list_connections(output: str) -> None:
    """List every connection, without passwords (extras that look secret show ***).

    \b
    Example:
        headwater connections list -o json
    """
    from headwater.services.connections import list_connections as list_stored
    from headwater.services.context import open_context

    with open_context() as ctx:
        connections = list_stored(ctx)
    if output == "json":
        emit_schema(connections)
        return
    data = [c.to_json() for c in connections]
    if not data:
        console().print("No connections.")
        return
    columns = ["conn_id", "conn_type", "host", "port", "schema", "login"]
    console().print(
        table(
            None,
            [*columns, "password", "extra"],
            [
                [
                    *(d[c] for c in columns),
                    "***" if d["has_password"] else "",
                    json.dumps(d["extra"]) if d["extra"] else "",
                ]
                for d in data
            ],
        )
    )


@connections.command("delete")
@click.argument("conn_id")
@output_option
@handle_errors
def delete(conn_id: str, output: str) -> None:
    """Delete connection CONN_ID.

    \b
    Example:
        headwater connections delete warehouse
    """
    from headwater.services.connections import delete_connection
    from headwater.services.context import open_context

    with open_context() as ctx:
        deleted = delete_connection(ctx, conn_id)
    if output == "json":
        emit_schema(deleted)
    else:
        console().print(f"Deleted connection {conn_id}")


@connections.command("test")
@click.argument("conn_id")
@output_option
@handle_errors
def test(conn_id: str, output: str) -> None:
    """Ask the hook of CONN_ID's type to reach its system; exit 1 when it cannot.

    CONN_ID is looked up as tasks look it up: the secrets backends, then the database.

    \b
    Example:
        headwater connections test warehouse
    """
    from headwater.services.connections import test_connection
    from headwater.services.context import open_context

    with open_context() as ctx:
        tested = test_connection(ctx, conn_id)
    if output == "json":
        emit_schema(tested)
    elif tested.ok:
        console().print(f"Connection {conn_id} ({tested.conn_type}) works: {tested.message}")
    else:
        console(stderr=True).print(
            f"Connection {conn_id} ({tested.conn_type}) failed: {tested.message}"
        )
    if not tested.ok:
        raise SystemExit(1)


@connections.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@file_format_option
@output_option
@handle_errors
def export(file: Path, fmt: str | None, output: str) -> None:
    """Write every connection to FILE, keyed by id, in Airflow's JSON form.

    Passwords and extras are in clear in FILE, so it is written with mode 0600 (only its
    owner can read it); an existing FILE is replaced. `connections import` reads it back.

    \b
    Example:
        headwater connections export connections.yaml
    """
    from headwater.services.connections import export_connections
    from headwater.services.context import open_context

    with open_context() as ctx:
        exported = export_connections(ctx, file, fmt)
    if output == "json":
        emit_schema(exported)
    else:
        console().print(
            f"Exported {exported.count} connection(s) to {file} ({exported.format}, mode 0600: "
            "it holds passwords in clear)"
        )


@connections.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@file_format_option
@click.option("--overwrite", is_flag=True, help="Replace connections that exist already.")
@output_option
@handle_errors
def import_(file: Path, fmt: str | None, overwrite: bool, output: str) -> None:
    """Add the connections in FILE (JSON or YAML: id -> Airflow's JSON form, or a URI).

    Every entry is checked first; a bad one is named with its id and field, and then
    nothing is imported. Existing ids are refused unless --overwrite.

    \b
    Example:
        headwater connections import connections.yaml --overwrite
    """
    from headwater.services.connections import import_connections
    from headwater.services.context import open_context

    with open_context() as ctx:
        imported = import_connections(ctx, file, fmt, overwrite=overwrite)
    if output == "json":
        emit_schema(imported)
    else:
        console().print(
            f"Imported {len(imported.added) + len(imported.replaced)} connection(s) from {file}"
            f" ({len(imported.added)} added, {len(imported.replaced)} replaced)"
        )
